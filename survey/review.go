package survey

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

// Review statuses of an interview. Every interview starts unreviewed
// (ReviewNone); only an invalid one is left out of the estimates.
const (
	ReviewNone      = "none"
	ReviewApproved  = "approved"
	ReviewReturned  = "returned"  // sent back to its interviewer with a note
	ReviewCorrected = "corrected" // the interviewer answered the note
	ReviewInvalid   = "invalid"
)

// ReviewLabels names the statuses for people.
var ReviewLabels = map[string]core.Text{
	ReviewNone:      {ZH: "未复核", EN: "not reviewed"},
	ReviewApproved:  {ZH: "已通过", EN: "approved"},
	ReviewReturned:  {ZH: "已退回访员", EN: "sent back"},
	ReviewCorrected: {ZH: "访员已修改，待复核", EN: "corrected, to review"},
	ReviewInvalid:   {ZH: "无效", EN: "invalid"},
}

var (
	qGetInterview     = pg.Q("survey/get-interview")
	qInterviewChanges = pg.Q("survey/interview-changes")
	qLockInterview    = pg.Q("survey/lock-interview")
	qSetReview        = pg.Q("survey/set-review")
	qSetAnswers       = pg.Q("survey/set-answers")
	qAddChange        = pg.Q("survey/add-change")
	qReturned         = pg.Q("survey/returned-interviews")
	qReviewed         = pg.Q("survey/reviewed-interviews")
)

// StoredInterview is an interview as saved, with its review state.
type StoredInterview struct {
	ID              int64      `db:"id"`
	WaveID          int64      `db:"wave_id"`
	WaveName        string     `db:"wave_name"`
	CaseID          *int64     `db:"case_id"`
	QuestionnaireID int64      `db:"questionnaire_id"`
	InterviewerID   *int64     `db:"interviewer_id"`
	Interviewer     string     `db:"interviewer"`
	District        string     `db:"district_code"`
	Mode            string     `db:"mode"`
	Source          string     `db:"source"`
	Partial         bool       `db:"partial"`
	RawAnswers      []byte     `db:"answers"`
	Answers         Answers    `db:"-"`
	StartedAt       *time.Time `db:"started_at"`
	CompletedAt     time.Time  `db:"completed_at"`
	ReviewStatus    string     `db:"review_status"`
	ReviewNote      string     `db:"review_note"`
	ReviewedBy      string     `db:"reviewed_by"`
	ReviewedAt      *time.Time `db:"reviewed_at"`
	Version         int        `db:"row_version"`
}

// Seconds is how long the interview took, 0 when its start is unknown.
func (iv *StoredInterview) Seconds() float64 {
	if iv.StartedAt == nil {
		return 0
	}
	return iv.CompletedAt.Sub(*iv.StartedAt).Seconds()
}

// ReviewLabel names the review status.
func (iv *StoredInterview) ReviewLabel() core.Text { return ReviewLabels[iv.ReviewStatus] }

// GetInterview loads one interview.
func GetInterview(ctx context.Context, db sqlx.QueryerContext, id int64) (*StoredInterview, error) {
	var iv StoredInterview
	if err := sqlx.GetContext(ctx, db, &iv, qGetInterview, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "没有编号为 %d 的访问", "no interview with id %d", id)
		}
		return nil, fmt.Errorf("survey: get interview: %w", err)
	}
	if err := json.Unmarshal(iv.RawAnswers, &iv.Answers); err != nil {
		return nil, fmt.Errorf("survey: interview %d answers: %w", id, err)
	}
	return &iv, nil
}

// Change is one recorded change to a saved interview.
type Change struct {
	Field string    `db:"field"`
	Old   string    `db:"old_value"`
	New   string    `db:"new_value"`
	Note  string    `db:"note"`
	By    string    `db:"changed_by"`
	At    time.Time `db:"changed_at"`
}

// InterviewChanges lists an interview's changes, oldest first.
func InterviewChanges(ctx context.Context, db sqlx.QueryerContext, id int64) ([]Change, error) {
	var out []Change
	if err := sqlx.SelectContext(ctx, db, &out, qInterviewChanges, id); err != nil {
		return nil, fmt.Errorf("survey: interview changes: %w", err)
	}
	return out, nil
}

// Editor is who makes a change.
type Editor struct {
	ID       int64
	Username string
}

// ErrStale is the answer to a change made from a page showing a version of
// the interview that is no longer the newest: someone else changed it in
// between, and overwriting their change unseen is refused.
var ErrStale = core.Errorf(core.EConflict,
	"这份访问在您打开之后已被他人修改，您的修改没有保存。页面已显示最新内容，请核对后再改。",
	"Someone else changed this interview after you opened it; your change was not saved. The page now shows the latest version: check it and change it again.")

// Review actions a supervisor takes.
const (
	ActionApprove = "approve"
	ActionReturn  = "return"
	ActionInvalid = "invalid"
	ActionReopen  = "reopen" // an invalid interview counts again
)

// ReviewInterview records a supervisor's decision on an interview shown at
// version. Sending back and marking invalid need a note saying why.
func ReviewInterview(ctx context.Context, db *sqlx.DB, id int64, version int, by Editor, action, note string) error {
	note = strings.TrimSpace(note)
	status := map[string]string{ActionApprove: ReviewApproved, ActionReturn: ReviewReturned, ActionInvalid: ReviewInvalid, ActionReopen: ReviewNone}[action]
	switch {
	case status == "":
		return core.Errorf(core.EInvalid, "未知的复核操作 %q", "unknown review action %q", action)
	case note == "" && (action == ActionReturn || action == ActionInvalid):
		return core.Errorf(core.EInvalid, "退回或判为无效时须写明原因", "say why when sending an interview back or marking it invalid")
	case len([]rune(note)) > 1000:
		return core.Errorf(core.EInvalid, "说明最多 1000 字", "the note may have at most 1000 characters")
	}
	return withInterview(ctx, db, id, version, func(tx *sqlx.Tx, iv *StoredInterview) error {
		if action == ActionApprove && iv.InterviewerID != nil && *iv.InterviewerID == by.ID {
			return errOwnInterview
		}
		if iv.ReviewStatus == status && action != ActionReturn {
			return nil
		}
		if _, err := tx.ExecContext(ctx, qSetReview, id, status, note, by.ID); err != nil {
			return fmt.Errorf("survey: review: %w", err)
		}
		return recordChanges(ctx, tx, iv, by, note, []fieldChange{{"review_status", iv.ReviewStatus, status}})
	})
}

// errOwnInterview: a supervisor who continued a call-back did the
// interview themselves, and nobody approves their own interview.
var errOwnInterview = core.Errorf(core.EConflict, "不能通过自己做的访问，请由另一位督导复核。", "you cannot approve an interview you did yourself: another supervisor reviews it.")

// EditAnswers replaces the answers of an interview shown at version, after
// checking them against its questionnaire version exactly as when it was
// first saved (a partial or imported interview may leave questions
// unanswered). Every
// changed answer is recorded with its old and new value. An interviewer may
// edit only their own interview that was sent back to them; their edit
// marks it corrected for the supervisor to look at again.
func EditAnswers(ctx context.Context, db *sqlx.DB, id int64, version int, by Editor, asInterviewer bool, answers Answers, note string, districts map[string]bool) (*Validation, error) {
	note = strings.TrimSpace(note)
	if len([]rune(note)) > 1000 {
		return nil, core.Errorf(core.EInvalid, "说明最多 1000 字", "the note may have at most 1000 characters")
	}
	var val Validation
	err := withInterview(ctx, db, id, version, func(tx *sqlx.Tx, iv *StoredInterview) error {
		if asInterviewer && (iv.InterviewerID == nil || *iv.InterviewerID != by.ID || iv.ReviewStatus != ReviewReturned) {
			return core.Errorf(core.ENotFound, "没有编号为 %d 的访问", "no interview with id %d", id)
		}
		q, err := GetQuestionnaire(ctx, tx, iv.QuestionnaireID)
		if err != nil {
			return err
		}
		if iv.Partial || iv.Source == "import" {
			// A partial interview stops early; an imported one carries
			// only the scored questions and demographics.
			q = q.AllOptional()
		}
		val = q.Validate(answers, districts)
		if !val.Eligible {
			return core.Errorf(core.EInvalid, "按这些答案受访者不符合条件；不符合条件的访问不能保存，如确实不符合请判为无效", "by these answers the respondent is not eligible; mark the interview invalid instead")
		}
		if len(val.Errors) > 0 {
			return errInvalidAnswers
		}
		changes := diffAnswers(iv.Answers, val.Answers)
		status := iv.ReviewStatus
		if asInterviewer {
			status = ReviewCorrected
		}
		if len(changes) == 0 && status == iv.ReviewStatus {
			return nil
		}
		b, err := json.Marshal(val.Answers)
		if err != nil {
			return err
		}
		sex, _ := strconv.Atoi(val.Answers["sex"])
		age, _ := strconv.Atoi(val.Answers["age_group"])
		district := val.Answers["district"]
		if district == "" {
			district = iv.District
		}
		if _, err := tx.ExecContext(ctx, qSetAnswers, id, string(b), district, nullInt(int64(sex)), nullInt(int64(age)), status); err != nil {
			return fmt.Errorf("survey: edit answers: %w", err)
		}
		if status != iv.ReviewStatus {
			changes = append(changes, fieldChange{"review_status", iv.ReviewStatus, status})
		}
		return recordChanges(ctx, tx, iv, by, note, changes)
	})
	if errors.Is(err, errInvalidAnswers) {
		return &val, nil
	}
	return nil, err
}

var errInvalidAnswers = errors.New("invalid answers")

// AllOptional is a copy of the questionnaire in which no question must be
// answered, for checking an interview that was ended early.
func (q *Questionnaire) AllOptional() *Questionnaire {
	c := *q
	c.Questions = append([]Question(nil), q.Questions...)
	for i := range c.Questions {
		c.Questions[i].Optional = true
	}
	return &c
}

type fieldChange struct{ field, old, new string }

func diffAnswers(old, new Answers) []fieldChange {
	var out []fieldChange
	for k, v := range new {
		if old[k] != v {
			out = append(out, fieldChange{k, old[k], v})
		}
	}
	for k, v := range old {
		if _, ok := new[k]; !ok {
			out = append(out, fieldChange{k, v, ""})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].field < out[j].field })
	return out
}

// withInterview runs fn in a transaction holding the interview's row lock,
// after checking that the caller saw its newest version; a successful fn
// moves the version on.
func withInterview(ctx context.Context, db *sqlx.DB, id int64, version int, fn func(*sqlx.Tx, *StoredInterview) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var locked int
	if err := tx.GetContext(ctx, &locked, qLockInterview, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return core.Errorf(core.ENotFound, "没有编号为 %d 的访问", "no interview with id %d", id)
		}
		return fmt.Errorf("survey: lock interview: %w", err)
	}
	iv, err := GetInterview(ctx, tx, id)
	if err != nil {
		return err
	}
	if iv.Version != version {
		return ErrStale
	}
	if err := fn(tx, iv); err != nil {
		return err
	}
	return tx.Commit()
}

// recordChanges keeps each change in the interview's history, its new
// content as evidence, and both in the audit log, in the transaction that
// makes it (whose UPDATE moved the version on).
func recordChanges(ctx context.Context, tx *sqlx.Tx, iv *StoredInterview, by Editor, note string, changes []fieldChange) error {
	if len(changes) == 0 {
		return nil
	}
	version, hash, err := RecordEvidence(ctx, tx, iv.ID)
	if err != nil {
		return err
	}
	details := make([]map[string]string, 0, len(changes))
	for _, c := range changes {
		if _, err := tx.ExecContext(ctx, qAddChange, iv.ID, c.field, c.old, c.new, note, by.ID); err != nil {
			return fmt.Errorf("survey: record change: %w", err)
		}
		details = append(details, map[string]string{"field": c.field, "old": c.old, "new": c.new})
	}
	return core.Audit(ctx, tx, core.AuditEntry{ActorID: by.ID, Actor: by.Username, Action: "interview-change",
		Subject: "interview:" + strconv.FormatInt(iv.ID, 10),
		Details: map[string]any{"wave": iv.WaveName, "changes": details, "note": note, "version": version, "hash": hash}})
}

// ReviewItem is a line of a review list.
type ReviewItem struct {
	ID          int64      `db:"id"`
	Interviewer string     `db:"interviewer"`
	District    string     `db:"district_code"`
	Status      string     `db:"review_status"`
	Note        string     `db:"review_note"`
	ReviewedAt  *time.Time `db:"reviewed_at"`
	CompletedAt time.Time  `db:"completed_at"`
}

// StatusLabel names the item's review status.
func (r ReviewItem) StatusLabel() core.Text { return ReviewLabels[r.Status] }

// ReturnedTo lists the interviews sent back to an interviewer, oldest first.
func ReturnedTo(ctx context.Context, db sqlx.QueryerContext, interviewerID int64) ([]ReviewItem, error) {
	var out []ReviewItem
	if err := sqlx.SelectContext(ctx, db, &out, qReturned, interviewerID); err != nil {
		return nil, fmt.Errorf("survey: returned interviews: %w", err)
	}
	return out, nil
}

// Reviewed lists a wave's interviews with a review status other than none,
// newest decision first.
func Reviewed(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]ReviewItem, error) {
	var out []ReviewItem
	if err := sqlx.SelectContext(ctx, db, &out, qReviewed, waveID); err != nil {
		return nil, fmt.Errorf("survey: reviewed interviews: %w", err)
	}
	return out, nil
}
