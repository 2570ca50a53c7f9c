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
	Entries     []PaperEntry
}

// StatusLabel names the form's status for people.
func (f PaperForm) StatusLabel() core.Text {
	return map[string]core.Text{
		PaperEntering: {ZH: "已录入一次,待第二次录入", EN: "keyed once, awaiting the second keying"},
		PaperMismatch: {ZH: "两次录入不一致,待督导裁定", EN: "the keyings differ: a supervisor decides"},
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

// KeyPaperForm stores one operator's keying of paper form number in a wave.
// The answers are checked as an interview's are (a returned Validation with
// errors means nothing was stored). The second keying, by another
// operator, is compared with the first: equal, the interview is stored;
// different, the form waits for a supervisor.
func KeyPaperForm(ctx context.Context, db *sqlx.DB, wave, number string, op Editor, answers Answers, districts map[string]bool) (PaperResult, *Validation, error) {
	if !formNumberRE.MatchString(number) {
		return PaperResult{}, nil, core.Errorf(core.EInvalid, "问卷编号只能由 1–40 个字母、数字、- 或 _ 组成", "the form number must be 1–40 letters, digits, - or _")
	}
	waveID, q, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return PaperResult{}, nil, err
	}
	val := q.Validate(answers, districts)
	if !val.Eligible {
		return PaperResult{}, nil, core.Errorf(core.EInvalid, "按甄别题的答案,受访者不符合条件:不符合条件的纸质问卷不录入", "by the screener the respondent is not eligible: such paper forms are not keyed")
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
	if err := tx.GetContext(ctx, &form, qPaperUpsert, waveID, number); err != nil {
		return PaperResult{}, nil, fmt.Errorf("survey: paper form: %w", err)
	}
	switch form.Status {
	case PaperAccepted:
		return PaperResult{}, nil, core.Errorf(core.EConflict, "问卷 %s 已录入完毕(访问 #%d)", "form %s is already stored (interview #%d)", number, form.InterviewID)
	case PaperMismatch:
		return PaperResult{}, nil, core.Errorf(core.EConflict, "问卷 %s 已录入两次,正等待督导裁定不一致之处", "form %s has been keyed twice and awaits a supervisor's decision on the differences", number)
	}
	entries, err := paperEntries(ctx, tx, form.ID)
	if err != nil {
		return PaperResult{}, nil, err
	}
	for _, e := range entries {
		if e.OperatorID == op.ID {
			return PaperResult{}, nil, core.Errorf(core.EConflict, "您已录入过问卷 %s;第二次录入须由另一位录入员独立完成", "you have keyed form %s already; the second keying must be done independently by another operator", number)
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
			res.InterviewID, err = acceptPaper(ctx, db, tx, form.ID, waveID, number, q, val.Answers, 0)
		} else {
			res.Status = PaperMismatch
			_, err = tx.ExecContext(ctx, qPaperSet, form.ID, PaperMismatch, nil, nil)
		}
		if err != nil {
			return PaperResult{}, nil, err
		}
	}
	return res, nil, tx.Commit()
}

// acceptPaper stores a paper form's agreed answers as an interview.
func acceptPaper(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, formID, waveID int64, number string, q *Questionnaire, ans Answers, resolvedBy int64) (int64, error) {
	sex, _ := strconv.Atoi(ans["sex"])
	age, _ := strconv.Atoi(ans["age_group"])
	id, created, err := InsertInterview(ctx, db, tx, Interview{
		WaveID: waveID, ExternalID: "paper-" + number, QuestionnaireID: q.ID, District: ans["district"],
		Mode: "door", Sex: sex, AgeGroup: age, Answers: ans, Source: "paper",
	})
	if err != nil {
		return 0, err
	}
	if !created {
		return 0, core.Errorf(core.EConflict, "问卷 %s 已作为访问入库", "form %s is already stored as an interview", number)
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
// question to its right answer, "" for no answer). The choices are checked
// as an interview's answers are; each is audited with both keyings.
func ResolvePaperForm(ctx context.Context, db *sqlx.DB, id int64, by Editor, chosen map[string]string, districts map[string]bool) (int64, *Validation, error) {
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
		return 0, nil, core.Errorf(core.EConflict, "这份问卷没有待裁定的不一致(可能已被他人裁定)", "this form has no differences to decide (someone may have decided them already)")
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
			return 0, nil, core.Errorf(core.EInvalid, "第 %s 题的两次录入不一致,请选择正确的答案", "the keyings of question %s differ: choose the right answer", qid)
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
	ivID, err := acceptPaper(ctx, db, tx, id, f.WaveID, f.Number, q, val.Answers, by.ID)
	if err != nil {
		return 0, nil, err
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: by.ID, Actor: by.Username, Action: "paper-resolve",
		Subject: "interview:" + strconv.FormatInt(ivID, 10),
		Details: map[string]any{"wave": f.WaveName, "form": f.Number, "decisions": decided}}); err != nil {
		return 0, nil, err
	}
	return ivID, nil, tx.Commit()
}
