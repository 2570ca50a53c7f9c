package survey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/sql"
)

var (
	qFindQuestionnaire   = sql.Q("survey/find-questionnaire")
	qGetQuestionnaire    = sql.Q("survey/get-questionnaire")
	qInsertQuestionnaire = sql.Q("survey/insert-questionnaire")
	qInterviewByKey      = sql.Q("survey/interview-by-key")
	qWaveRespondents     = sql.Q("survey/wave-respondents")
)

// SaveQuestionnaire stores a version unless that name and version exist, and
// returns its id either way.
func SaveQuestionnaire(ctx context.Context, db *sqlx.DB, q *Questionnaire) (int64, error) {
	b, err := json.Marshal(q)
	if err != nil {
		return 0, err
	}
	var id int64
	err = db.GetContext(ctx, &id, qInsertQuestionnaire, q.Name, q.Version, string(b))
	if errors.Is(err, sql.ErrNoRows) {
		err = db.GetContext(ctx, &id, `SELECT id FROM questionnaires WHERE name = $1 AND version = $2`, q.Name, q.Version)
	}
	if err != nil {
		return 0, fmt.Errorf("survey: save questionnaire: %w", err)
	}
	q.ID = id
	return id, nil
}

// GetQuestionnaire loads a stored version.
func GetQuestionnaire(ctx context.Context, db sqlx.QueryerContext, id int64) (*Questionnaire, error) {
	var row struct {
		ID         int64  `db:"id"`
		Definition []byte `db:"definition"`
	}
	if err := sqlx.GetContext(ctx, db, &row, qGetQuestionnaire, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, Errorf(ENotFound, "没有编号为 %d 的问卷", "no questionnaire with id %d", id)
		}
		return nil, fmt.Errorf("survey: get questionnaire: %w", err)
	}
	q, err := ParseQuestionnaire(row.Definition)
	if err != nil {
		return nil, err
	}
	q.ID = row.ID
	return q, nil
}

// Interview is one completed interview to store.
type Interview struct {
	WaveID          int64
	CaseID          int64 // 0 for imported interviews
	ExternalID      string
	QuestionnaireID int64
	InterviewerID   int64
	District        string
	Mode            string
	PSU             string
	Weight          float64 // 0 = computed by the weighting rules
	Sex, AgeGroup   int
	Answers         Answers
	IdempotencyKey  string
	Source          string // cati, capi, import
	StartedAt       time.Time
	// Paradata and the browser's User-Agent, for interviews entered in a
	// form; nil for imported ones.
	Paradata  *Paradata
	UserAgent string
}

// InsertInterview stores an interview inside the caller's transaction. A
// repeat of the same submission (same idempotency key, or the same case)
// stores nothing and returns the first one's id with created=false.
func InsertInterview(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, iv Interview) (id int64, created bool, err error) {
	ans, err := json.Marshal(iv.Answers)
	if err != nil {
		return 0, false, err
	}
	st, err := sql.TxStmt(ctx, db, tx, "survey/insert-interview")
	if err != nil {
		return 0, false, err
	}
	err = st.GetContext(ctx, &id,
		iv.WaveID, nullInt(iv.CaseID), nullStr(iv.ExternalID), iv.QuestionnaireID, nullInt(iv.InterviewerID),
		iv.District, iv.Mode, nullStr(iv.PSU), nullFloat(iv.Weight), nullInt(int64(iv.Sex)), nullInt(int64(iv.AgeGroup)),
		string(ans), nullStr(iv.IdempotencyKey), iv.Source, nullTime(iv.StartedAt))
	if err == nil {
		if iv.Source == "cati" || iv.Source == "capi" {
			if err := SaveParadata(ctx, tx, id, iv.Paradata, iv.UserAgent); err != nil {
				return 0, false, err
			}
		}
		return id, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("survey: insert interview: %w", err)
	}
	if err := tx.GetContext(ctx, &id, qInterviewByKey, iv.IdempotencyKey, iv.CaseID); err != nil {
		return 0, false, Errorf(EConflict, "访问编号 %q 已存在", "interview id %q already exists", iv.ExternalID)
	}
	return id, false, nil
}

// Respondents loads a wave's interviews for estimation, with the codes of
// the questionnaire's indicators.
func Respondents(ctx context.Context, db sqlx.QueryerContext, waveID int64, q *Questionnaire) ([]Respondent, error) {
	rows, err := db.QueryxContext(ctx, qWaveRespondents, waveID)
	if err != nil {
		return nil, fmt.Errorf("survey: load interviews: %w", err)
	}
	defer rows.Close()
	ids := q.IndicatorIDs()
	var out []Respondent
	for rows.Next() {
		var r Respondent
		var raw []byte
		if err := rows.Scan(&r.District, &r.PSU, &r.Weight, &raw, &r.Mode); err != nil {
			return nil, err
		}
		var a map[string]string
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("survey: answers: %w", err)
		}
		r.Codes = make([]int, len(ids))
		for i, id := range ids {
			r.Codes[i], _ = strconv.Atoi(a[id])
		}
		r.Sex, _ = strconv.Atoi(a["sex"])
		r.AgeGroup, _ = strconv.Atoi(a["age_group"])
		r.Urban, _ = strconv.Atoi(a["urban"])
		r.FixedWeight = r.Weight > 0
		out = append(out, r)
	}
	return out, rows.Err()
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(i int64) any {
	if i == 0 {
		return nil
	}
	return i
}

func nullFloat(f float64) any {
	if f == 0 {
		return nil
	}
	return f
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
