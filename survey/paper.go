package survey

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

// Paper forms are keyed twice, by two operators working independently. The
// interview is stored only when the second keying agrees with the first
// in every answer, or, when they differ, once a supervisor has chosen the
// right value of each difference. Until then the form counts nowhere.

// Paper form statuses.
const (
	PaperEntering = "entering" // keyed once, waiting for the second keying
	PaperMismatch = "mismatch" // the two keyings differ: a supervisor resolves
	PaperAccepted = "accepted" // stored as an interview
)

var (
	qPaperUpsert  = pg.Q("survey/paper-form-upsert")
	qPaperEntries = pg.Q("survey/paper-entries")
	qPaperInsert  = pg.Q("survey/paper-entry-insert")
	qPaperSet     = pg.Q("survey/paper-form-set")
	qPaperForm    = pg.Q("survey/paper-form")
	qPaperLock    = pg.Q("survey/paper-form-lock")
	qPaperForms   = pg.Q("survey/paper-forms")
	qPaperStatus  = pg.Q("survey/paper-form-status")
)

var formNumberRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// PaperForm is a paper form and its keyings.
type PaperForm struct {
	ID          int64     `db:"id"`
	WaveID      int64     `db:"wave_id"`
	WaveName    string    `db:"wave_name"`
	Number      string    `db:"form_number"`
	Status      string    `db:"status"`
	InterviewID int64     `db:"interview_id"`
	UpdatedAt   time.Time `db:"updated_at"`
	// Interviewer is the field interviewer the number was issued to.
	Interviewer string `db:"interviewer"`
	Entries     []PaperEntry
}

// StatusLabel names the form's status for people.
func (f PaperForm) StatusLabel() core.Text {
	return map[string]core.Text{
		PaperEntering: {ZH: "已录入一次，待第二次录入", EN: "keyed once, awaiting the second keying"},
		PaperMismatch: {ZH: "两次录入不一致，待督导裁定", EN: "the keyings differ: a supervisor decides"},
		PaperAccepted: {ZH: "已入库", EN: "stored as an interview"},
	}[f.Status]
}

// PaperEntry is one operator's keying of a form.
type PaperEntry struct {
	Entry      int       `db:"entry"`
	OperatorID int64     `db:"operator_id"`
	Operator   string    `db:"operator"`
	RawAnswers []byte    `db:"answers"`
	EnteredAt  time.Time `db:"entered_at"`
	Answers    Answers   `db:"-"`
}

// Differences lists the questions whose answers differ between the two
// keyings, in questionnaire order.
func (f *PaperForm) Differences(q *Questionnaire) []string {
	if len(f.Entries) < 2 {
		return nil
	}
	a, b := f.Entries[0].Answers, f.Entries[1].Answers
	var out []string
	for _, qu := range q.Questions {
		if a[qu.ID] != b[qu.ID] {
			out = append(out, qu.ID)
		}
	}
	return out
}

// PaperResult says what a keying led to.
type PaperResult struct {
	FormID      int64
	Entry       int
	Status      string
	InterviewID int64
	Differences []string
}

// PaperKeying is the issued form a keying is for: its number, its wave,
// and the household and field interviewer it was issued to.
type PaperKeying struct {
	Number        string
	WaveID        int64
	Wave          string
	CaseID        int64 // 0 for a form keyed before numbers were issued
	InterviewerID int64
	Interviewer   string
	PSU           string
	// Close, when set, finishes the household as interviewed inside the
	// transaction that stores the interview, before it is stored (so that
	// the household's row is locked before its interview, as an interview
	// at the door locks it); it fails when the household is finished
	// already, which stores nothing.
	Close func(ctx context.Context, tx *sqlx.Tx) error
}

// KeyPaperForm stores one operator's keying of an issued paper form. The
// answers are checked as an interview's are (a returned Validation with
// errors means nothing was stored). The second keying, by another
// operator, is compared with the first: equal, the interview is stored,
// tied to the form's household and field interviewer; different, the form
// waits for a supervisor. Each keying, and the interview stored, is
// audited.
func KeyPaperForm(ctx context.Context, db *sqlx.DB, k PaperKeying, op Editor, answers Answers, districts map[string]bool) (PaperResult, *Validation, error) {
	if !formNumberRE.MatchString(k.Number) {
		return PaperResult{}, nil, core.Errorf(core.EInvalid, "问卷编号只能由 1–40 个字母、数字、- 或 _ 组成", "the form number must be 1–40 letters, digits, - or _")
	}
	waveID, q, err := WaveQuestionnaire(ctx, db, k.Wave)
	if err != nil {
		return PaperResult{}, nil, err
	}
	if waveID != k.WaveID {
		return PaperResult{}, nil, fmt.Errorf("survey: form %s is of wave %d, not %s", k.Number, k.WaveID, k.Wave)
	}
	val := q.Validate(answers, districts)
	if !val.Eligible {
		return PaperResult{}, nil, core.Errorf(core.EInvalid, "按甄别题的答案，受访者不符合条件：不符合条件的纸质问卷不录入", "by the screener the respondent is not eligible: such paper forms are not keyed")
	}
	if len(val.Errors) > 0 {
		return PaperResult{}, &val, nil
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return PaperResult{}, nil, err
	}
	defer tx.Rollback()
	var form struct {
		ID          int64  `db:"id"`
		Status      string `db:"status"`
		InterviewID int64  `db:"interview_id"`
	}
	if err := tx.GetContext(ctx, &form, qPaperUpsert, waveID, k.Number); err != nil {
		return PaperResult{}, nil, fmt.Errorf("survey: paper form: %w", err)
	}
	switch form.Status {
	case PaperAccepted:
		return PaperResult{}, nil, core.Errorf(core.EConflict, "问卷 %s 已录入完毕（访问 #%d）", "form %s is already stored (interview #%d)", k.Number, form.InterviewID)
	case PaperMismatch:
		return PaperResult{}, nil, core.Errorf(core.EConflict, "问卷 %s 已录入两次，正等待督导裁定不一致之处", "form %s has been keyed twice and awaits a supervisor's decision on the differences", k.Number)
	}
	entries, err := paperEntries(ctx, tx, form.ID)
	if err != nil {
		return PaperResult{}, nil, err
	}
	for _, e := range entries {
		if e.OperatorID == op.ID {
			return PaperResult{}, nil, core.Errorf(core.EConflict, "您已录入过问卷 %s；第二次录入须由另一位录入员独立完成", "you have keyed form %s already; the second keying must be done independently by another operator", k.Number)
		}
	}
	b, err := json.Marshal(val.Answers)
	if err != nil {
		return PaperResult{}, nil, err
	}
	res := PaperResult{FormID: form.ID, Entry: len(entries) + 1, Status: PaperEntering}
	if _, err := tx.ExecContext(ctx, qPaperInsert, form.ID, res.Entry, op.ID, string(b)); err != nil {
		return PaperResult{}, nil, fmt.Errorf("survey: paper entry: %w", err)
	}
	if res.Entry == 2 {
		f := PaperForm{Entries: append(entries, PaperEntry{Entry: 2, Answers: val.Answers})}
		res.Differences = f.Differences(q)
		if len(res.Differences) == 0 {
			res.Status = PaperAccepted
			res.InterviewID, err = acceptPaper(ctx, db, tx, form.ID, k, q, val.Answers, 0)
		} else {
			res.Status = PaperMismatch
			_, err = tx.ExecContext(ctx, qPaperSet, form.ID, PaperMismatch, nil, nil)
		}
		if err != nil {
			return PaperResult{}, nil, err
		}
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: op.ID, Actor: op.Username, Action: "paper-key", Subject: "paper:" + k.Number,
		Details: map[string]any{"wave": k.Wave, "entry": res.Entry, "status": res.Status, "case_id": k.CaseID,
			"interviewer_id": k.InterviewerID, "interviewer": k.Interviewer, "differences": res.Differences}}); err != nil {
		return PaperResult{}, nil, err
	}
	if res.Status == PaperAccepted {
		operators := []string{entries[0].Operator, op.Username}
		if err := auditAccepted(ctx, tx, op, "paper-accept", res.InterviewID, k, map[string]any{"operators": operators}); err != nil {
			return PaperResult{}, nil, err
		}
	}
	return res, nil, tx.Commit()
}

// auditAccepted records the interview a paper form became, with its
// household and field interviewer.
func auditAccepted(ctx context.Context, tx *sqlx.Tx, by Editor, action string, interviewID int64, k PaperKeying, more map[string]any) error {
	d := map[string]any{"wave": k.Wave, "form": k.Number, "case_id": k.CaseID, "interviewer_id": k.InterviewerID, "interviewer": k.Interviewer}
	for key, v := range more {
		d[key] = v
	}
	return core.Audit(ctx, tx, core.AuditEntry{ActorID: by.ID, Actor: by.Username, Action: action,
		Subject: "interview:" + strconv.FormatInt(interviewID, 10), Details: d})
}

// acceptPaper stores a paper form's agreed answers as the interview of its
// household, by its field interviewer, and finishes the household.
func acceptPaper(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, formID int64, k PaperKeying, q *Questionnaire, ans Answers, resolvedBy int64) (int64, error) {
	if k.Close != nil {
		if err := k.Close(ctx, tx); err != nil {
			return 0, err
		}
	}
	sex, _ := strconv.Atoi(ans["sex"])
	age, _ := strconv.Atoi(ans["age_group"])
	id, created, err := InsertInterview(ctx, db, tx, Interview{
		WaveID: k.WaveID, CaseID: k.CaseID, InterviewerID: k.InterviewerID, ExternalID: "paper-" + k.Number, QuestionnaireID: q.ID,
		District: ans["district"], Mode: "door", PSU: k.PSU, Sex: sex, AgeGroup: age, Answers: ans, Source: "paper",
	})
	if err != nil {
		return 0, err
	}
	if !created {
		return 0, core.Errorf(core.EConflict, "问卷 %s 已作为访问入库", "form %s is already stored as an interview", k.Number)
	}
	var by any
	if resolvedBy > 0 {
		by = resolvedBy
	}
	if _, err := tx.ExecContext(ctx, qPaperSet, formID, PaperAccepted, id, by); err != nil {
		return 0, fmt.Errorf("survey: paper form: %w", err)
	}
	return id, nil
}

func paperEntries(ctx context.Context, db sqlx.QueryerContext, formID int64) ([]PaperEntry, error) {
	var es []PaperEntry
	if err := sqlx.SelectContext(ctx, db, &es, qPaperEntries, formID); err != nil {
		return nil, fmt.Errorf("survey: paper entries: %w", err)
	}
	for i := range es {
		if err := json.Unmarshal(es[i].RawAnswers, &es[i].Answers); err != nil {
			return nil, err
		}
	}
	return es, nil
}

// PaperFormStatus is the status of the form with a number in a wave, ""
// when it has not been keyed.
func PaperFormStatus(ctx context.Context, db sqlx.QueryerContext, waveID int64, number string) (string, error) {
	var status string
	err := sqlx.GetContext(ctx, db, &status, qPaperStatus, waveID, number)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("survey: paper form status: %w", err)
	}
	return status, nil
}

// GetPaperForm loads a paper form with its keyings.
func GetPaperForm(ctx context.Context, db sqlx.QueryerContext, id int64) (*PaperForm, error) {
	var f PaperForm
	if err := sqlx.GetContext(ctx, db, &f, qPaperForm, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "没有编号为 %d 的纸质问卷", "no paper form with id %d", id)
		}
		return nil, fmt.Errorf("survey: paper form: %w", err)
	}
	var err error
	f.Entries, err = paperEntries(ctx, db, id)
	return &f, err
}

// PaperForms lists paper forms, those awaiting a decision first; with
// operatorID > 0 only the forms that operator keyed.
func PaperForms(ctx context.Context, db sqlx.QueryerContext, operatorID int64) ([]PaperForm, error) {
	var out []PaperForm
	if err := sqlx.SelectContext(ctx, db, &out, qPaperForms, operatorID); err != nil {
		return nil, fmt.Errorf("survey: paper forms: %w", err)
	}
	return out, nil
}

// ResolvePaperForm stores a form whose keyings differ, with the value a
// supervisor chose for each difference (chosen maps every differing
// question to its right answer, "" for no answer), as the interview of the
// household k says. The choices are checked as an interview's answers are;
// each is audited with both keyings.
func ResolvePaperForm(ctx context.Context, db *sqlx.DB, id int64, k PaperKeying, by Editor, chosen map[string]string, districts map[string]bool) (int64, *Validation, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, nil, err
	}
	defer tx.Rollback()
	var status string
	if err := tx.GetContext(ctx, &status, qPaperLock, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil, core.Errorf(core.ENotFound, "没有编号为 %d 的纸质问卷", "no paper form with id %d", id)
		}
		return 0, nil, err
	}
	if status != PaperMismatch {
		return 0, nil, core.Errorf(core.EConflict, "这份问卷没有待裁定的不一致（可能已被他人裁定）", "this form has no differences to decide (someone may have decided them already)")
	}
	f, err := GetPaperForm(ctx, tx, id)
	if err != nil {
		return 0, nil, err
	}
	_, q, err := WaveQuestionnaire(ctx, tx, f.WaveName)
	if err != nil {
		return 0, nil, err
	}
	ans := Answers{}
	for k, v := range f.Entries[0].Answers {
		ans[k] = v
	}
	var decided []map[string]string
	for _, qid := range f.Differences(q) {
		v, ok := chosen[qid]
		if !ok {
			return 0, nil, core.Errorf(core.EInvalid, "第 %s 题的两次录入不一致，请选择正确的答案", "the keyings of question %s differ: choose the right answer", qid)
		}
		if v == "" {
			delete(ans, qid)
		} else {
			ans[qid] = v
		}
		decided = append(decided, map[string]string{"question": qid, "entry1": f.Entries[0].Answers[qid], "entry2": f.Entries[1].Answers[qid], "chosen": v})
	}
	val := q.Validate(ans, districts)
	if !val.Eligible || len(val.Errors) > 0 {
		if !val.Eligible {
			val.Errors = append(val.Errors, FieldError{Question: "", Message: core.Text{ZH: "按这些答案受访者不符合条件", EN: "by these answers the respondent is not eligible"}})
		}
		sort.Slice(val.Errors, func(i, j int) bool { return val.Errors[i].Question < val.Errors[j].Question })
		return 0, &val, nil
	}
	if k.Number != f.Number || k.WaveID != f.WaveID {
		return 0, nil, fmt.Errorf("survey: resolving form %s of wave %d as form %s of wave %d", f.Number, f.WaveID, k.Number, k.WaveID)
	}
	k.Wave = f.WaveName
	ivID, err := acceptPaper(ctx, db, tx, id, k, q, val.Answers, by.ID)
	if err != nil {
		return 0, nil, err
	}
	operators := []string{f.Entries[0].Operator, f.Entries[1].Operator}
	if err := auditAccepted(ctx, tx, by, "paper-resolve", ivID, k, map[string]any{"decisions": decided, "operators": operators}); err != nil {
		return 0, nil, err
	}
	return ivID, nil, tx.Commit()
}
