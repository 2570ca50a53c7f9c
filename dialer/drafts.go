package dialer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
	"minyi/survey"
)

var (
	qOpenDraft         = pg.Q("dialer/open-draft")
	qSaveDraft         = pg.Q("dialer/save-draft")
	qHeldDraftVersion  = pg.Q("dialer/held-draft-version")
	qGetDraft          = pg.Q("dialer/get-draft")
	errDraftNotStarted = core.Errorf(core.EInvalid, "访问尚未开始，没有可中断的问卷", "the interview has not started: there is nothing to break off")
)

// Draft is an interview in progress: the answers given so far, kept on the
// server so that the interview survives a closed tab, a lost connection or
// a browser restart, and resumes at the question where it stopped.
type Draft struct {
	CaseID        int64          `db:"case_id"`
	InterviewerID int64          `db:"interviewer_id"`
	RawAnswers    []byte         `db:"answers"`
	Answers       survey.Answers `db:"-"`
	Current       string         `db:"current_question"`
	Key           string         `db:"key"` // the interview's idempotency key, kept across reloads
	StartedAt     time.Time      `db:"started_at"`
	UpdatedAt     time.Time      `db:"updated_at"`
	Version       int            `db:"version"`
	// Paradata gathered so far, as JSON (already checked when written).
	RawParadata []byte `db:"paradata"`
}

// Paradata decodes the draft's paradata; nil when there is none.
func (d *Draft) Paradata() *survey.Paradata {
	if d == nil || len(d.RawParadata) == 0 || string(d.RawParadata) == "{}" {
		return nil
	}
	var p survey.Paradata
	if json.Unmarshal(d.RawParadata, &p) != nil {
		return nil
	}
	return &p
}

func (d *Draft) decode() error {
	d.Answers = survey.Answers{}
	if len(d.RawAnswers) == 0 {
		return nil
	}
	if err := json.Unmarshal(d.RawAnswers, &d.Answers); err != nil {
		return fmt.Errorf("dialer: draft of case %d: %w", d.CaseID, err)
	}
	return nil
}

// DraftConflict means a page wrote over a draft version that is no longer
// the newest: another tab or device saved in between. Current is the
// version on the server.
type DraftConflict struct{ Current int }

func (e *DraftConflict) Error() string {
	return "dialer: draft changed elsewhere (now version " + strconv.Itoa(e.Current) + ")"
}

// ConflictMessage is what the interviewer is told.
var ConflictMessage = core.Text{
	ZH: "这份问卷已在另一个窗口或设备上修改，本页的修改没有保存。请刷新页面，核对最新的答案后继续。",
	EN: "This interview was changed in another tab or device; the changes on this page were not saved. Reload the page, check the latest answers and go on.",
}

// OpenDraft returns the draft of a case the interviewer holds, starting one
// with the idempotency key and start time given when there is none yet.
func OpenDraft(ctx context.Context, db sqlx.QueryerContext, caseID, userID int64, key string, now time.Time) (*Draft, error) {
	var d Draft
	if err := sqlx.GetContext(ctx, db, &d, qOpenDraft, caseID, userID, key, now); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "没有这个样本，或它不在您手上", "no such case, or you do not hold it")
		}
		return nil, fmt.Errorf("dialer: open draft: %w", err)
	}
	return &d, d.decode()
}

// GetDraft returns a case's draft, or an ENotFound error when the case has
// none (the interview has not started, or has ended).
func GetDraft(ctx context.Context, db sqlx.QueryerContext, caseID int64) (*Draft, error) {
	var d Draft
	if err := sqlx.GetContext(ctx, db, &d, qGetDraft, caseID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "这个样本没有进行中的访问", "this case has no interview in progress")
		}
		return nil, fmt.Errorf("dialer: get draft: %w", err)
	}
	return &d, d.decode()
}

// SaveDraft writes the answers given so far over draft version `version`
// and returns the new version. When another page has written since, it
// stores nothing and returns a *DraftConflict, so that two tabs cannot
// silently overwrite each other's answers.
func SaveDraft(ctx context.Context, db *sqlx.DB, caseID, userID int64, version int, answers survey.Answers, current string, paradata *survey.Paradata) (int, error) {
	if answers == nil {
		answers = survey.Answers{}
	}
	b, err := json.Marshal(answers)
	if err != nil {
		return 0, err
	}
	var v int
	pd := "{}"
	if paradata != nil {
		pd = paradata.JSON()
	}
	err = db.GetContext(ctx, &v, qSaveDraft, caseID, userID, version, string(b), current, pd)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("dialer: save draft: %w", err)
	}
	if err := db.GetContext(ctx, &v, qHeldDraftVersion, caseID, userID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, core.Errorf(core.ENotFound, "这个样本已结束或不在您手上，草稿没有保存", "this case is closed or not yours: the draft was not saved")
		}
		return 0, fmt.Errorf("dialer: save draft: %w", err)
	}
	return 0, &DraftConflict{Current: v}
}

// takeDraft deletes a case's draft inside the transaction that ends the
// interview. With version > 0 the draft must still be at that version: a
// page submitting answers older than another tab's draft is refused.
func takeDraft(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, caseID int64, version int) (*Draft, error) {
	lock, err := pg.TxStmt(ctx, db, tx, "dialer/lock-draft")
	if err != nil {
		return nil, err
	}
	var d Draft
	if err := lock.GetContext(ctx, &d, caseID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("dialer: lock draft: %w", err)
	}
	if version > 0 && d.Version != version {
		return nil, &DraftConflict{Current: d.Version}
	}
	del, err := pg.TxStmt(ctx, db, tx, "dialer/delete-draft")
	if err != nil {
		return nil, err
	}
	if _, err := del.ExecContext(ctx, caseID); err != nil {
		return nil, fmt.Errorf("dialer: delete draft: %w", err)
	}
	return &d, d.decode()
}

// BreakOffRule decides what a break-off counts as once the indicator
// questions have begun: a partial interview (AAPOR 1.2) when at least
// MinShare of the indicator questions asked have an answer, otherwise a
// break-off (2.12).
type BreakOffRule struct {
	MinShare float64
}

// PartialRule is the default rule: half of the indicator questions asked
// (`minyi serve --partial-share` sets another).
var PartialRule = BreakOffRule{MinShare: 0.5}

// BreakOffResult says what a break-off was recorded as.
type BreakOffResult struct {
	Code        string // CodePartial, CodeBreakOff, or "" for a callback
	InterviewID int64  // the partial interview stored, for CodePartial
	Answered    int    // indicator questions answered
	Asked       int    // indicator questions asked given the answers
}

// classify applies the rule to a draft's answers. It returns the answers
// that may be stored: those valid and asked, in normal form.
func (r BreakOffRule) classify(q *survey.Questionnaire, raw survey.Answers, districts map[string]bool) (BreakOffResult, survey.Answers) {
	ans := partialAnswers(q, raw, districts)
	var res BreakOffResult
	for _, id := range q.IndicatorIDs() {
		if ans == nil || !q.Shown(id, ans) {
			continue
		}
		res.Asked++
		if ans[id] != "" {
			res.Answered++
		}
	}
	switch {
	case res.Answered == 0:
		// The indicators had not begun: call back later.
	case float64(res.Answered) >= r.MinShare*float64(res.Asked) && ans["district"] != "":
		res.Code = CodePartial
	default:
		// Too little to count, or no district to count it in.
		res.Code = CodeBreakOff
	}
	return res, ans
}

// partialAnswers returns the valid answers of an unfinished interview, in
// normal form, dropping answers that are invalid or to questions that were
// not asked; nil when the screener found the respondent not eligible.
func partialAnswers(q *survey.Questionnaire, raw survey.Answers, districts map[string]bool) survey.Answers {
	// Every question optional: an unfinished interview leaves questions
	// unanswered, and only the answers given are of interest.
	lenient := q.AllOptional()
	a := survey.Answers{}
	for k, v := range raw {
		a[k] = v
	}
	// Dropping a bad answer can change which questions are asked, so check
	// again until nothing is left to drop.
	for range len(q.Questions) + 1 {
		v := lenient.Validate(a, districts)
		if !v.Eligible {
			return nil
		}
		if len(v.Errors) == 0 {
			return v.Answers
		}
		for _, fe := range v.Errors {
			delete(a, fe.Question)
		}
	}
	return nil
}
