package survey

import (
	"bytes"
	"cmp"
	"context"
	dbsql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/sql"
)

var (
	qFindQuestionnaire   = sql.Q("survey/find-questionnaire")
	qGetQuestionnaire    = sql.Q("survey/get-questionnaire")
	qInsertQuestionnaire = sql.Q("survey/insert-questionnaire")
	qInterviewByKey      = sql.Q("survey/interview-by-key")
	qWaveRespondents     = sql.Q("survey/wave-respondents")
	qExportSnapshot      = sql.Q("survey/export-snapshot")
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

// respondentKeys are the answers read besides the indicators, in the
// order of the fields after id, weight and mode.
var respondentKeys = []string{"sex", "age_group", "urban"}

// respondentsQuery expands the wave-respondents query for n answer keys.
func respondentsQuery(n int) string {
	var b strings.Builder
	for k := range n {
		fmt.Fprintf(&b, ", coalesce(i.answers->>$%d, '')", k+4)
	}
	return strings.Replace(qWaveRespondents, "/*answers*/", b.String(), 1)
}

// respondentParts is how many connections read a wave side by side.
const respondentParts = 3

// Respondents loads a wave's interviews for estimation, with the codes of
// the questionnaire's indicators, in the order they were stored. An answer
// that is missing or not a whole number is code 0 (not asked).
//
// A wave can hold a million interviews. PostgreSQL extracts the answers
// from the jsonb, and when db is a connection pool, several connections
// read a share of the rows each, in one snapshot so that together they
// see the wave as it was at one moment.
func Respondents(ctx context.Context, db sqlx.QueryerContext, waveID int64, q *Questionnaire) ([]Respondent, error) {
	ids := q.IndicatorIDs()
	keys := append(append([]string(nil), respondentKeys...), ids...)
	query := respondentsQuery(len(keys))
	pool, ok := db.(*sqlx.DB)
	if max := 0; ok {
		max = pool.Stats().MaxOpenConnections
		ok = max == 0 || max >= 4*respondentParts
	}
	if !ok {
		part, err := readRespondents(ctx, db, query, waveID, 1, 0, keys, len(ids))
		if err != nil {
			return nil, err
		}
		return part.merge(nil), nil
	}
	txs := make([]*sqlx.Tx, respondentParts)
	defer func() {
		for _, tx := range txs {
			if tx != nil {
				tx.Rollback()
			}
		}
	}()
	var snapshot string
	for k := range txs {
		tx, err := pool.BeginTxx(ctx, &dbsql.TxOptions{Isolation: dbsql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			return nil, err
		}
		txs[k] = tx
		if k == 0 {
			if err := tx.GetContext(ctx, &snapshot, qExportSnapshot); err != nil {
				return nil, err
			}
			continue
		}
		// SET TRANSACTION takes no parameters; the snapshot name comes from
		// the server and is quoted as a literal.
		if _, err := tx.ExecContext(ctx, "SET TRANSACTION SNAPSHOT "+pq.QuoteLiteral(snapshot)); err != nil {
			return nil, err
		}
	}
	parts := make([]*respondentPart, respondentParts)
	errs := make([]error, respondentParts)
	var wg sync.WaitGroup
	for k := range txs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[k], errs[k] = readRespondents(ctx, txs[k], query, waveID, respondentParts, k, keys, len(ids))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return parts[0].merge(parts[1:]), nil
}

// respondentPart is the rows one connection read, with their ids.
type respondentPart struct {
	rs  []Respondent
	ids []int64
}

// merge puts the parts together in the order of the interview ids.
func (p *respondentPart) merge(others []*respondentPart) []Respondent {
	rs, ids := p.rs, p.ids
	for _, o := range others {
		rs, ids = append(rs, o.rs...), append(ids, o.ids...)
	}
	if slices.IsSorted(ids) {
		return rs
	}
	perm := make([]int32, len(rs))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int { return cmp.Compare(ids[a], ids[b]) })
	out := make([]Respondent, len(rs))
	for i, k := range perm {
		out[i] = rs[k]
	}
	return out
}

func readRespondents(ctx context.Context, db sqlx.QueryerContext, query string, waveID int64, parts, part int, keys []string, items int) (*respondentPart, error) {
	args := make([]any, 0, 3+len(keys))
	args = append(args, waveID, parts, part)
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("survey: load interviews: %w", err)
	}
	defer rows.Close()
	var district, psu, fields dbsql.RawBytes
	// Few distinct districts, PSUs and modes: share their strings.
	intern := map[string]string{}
	str := func(b []byte) string {
		if s, ok := intern[string(b)]; ok {
			return s
		}
		s := string(b)
		intern[s] = s
		return s
	}
	out := &respondentPart{}
	want := 3 + len(keys)
	f := make([][]byte, 0, want)
	var codes []int
	for rows.Next() {
		if err := rows.Scan(&district, &psu, &fields); err != nil {
			return nil, err
		}
		f = f[:0]
		for rest := []byte(fields); ; {
			i := bytes.IndexByte(rest, 0x1f)
			if i < 0 {
				f = append(f, rest)
				break
			}
			f = append(f, rest[:i])
			rest = rest[i+1:]
		}
		if len(f) != want {
			return nil, fmt.Errorf("survey: interview %s: an answer contains the control character U+001F", f[0])
		}
		id, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("survey: interview id %q: %w", f[0], err)
		}
		r := Respondent{District: str(district), PSU: str(psu), Mode: str(f[2])}
		if r.Weight, err = strconv.ParseFloat(string(f[1]), 64); err != nil {
			return nil, fmt.Errorf("survey: weight of interview %d: %w", id, err)
		}
		a := f[3:]
		r.Sex, r.AgeGroup, r.Urban = answerCode(a[0]), answerCode(a[1]), answerCode(a[2])
		if cap(codes)-len(codes) < items {
			codes = make([]int, 0, 4096*max(1, items))
		}
		for _, v := range a[3:] {
			codes = append(codes, answerCode(v))
		}
		r.Codes = codes[len(codes)-items : len(codes) : len(codes)]
		r.FixedWeight = r.Weight > 0
		out.rs = append(out.rs, r)
		out.ids = append(out.ids, id)
	}
	return out, rows.Err()
}

// answerCode reads an answer as strconv.Atoi would, 0 when it is missing
// or not a whole number.
func answerCode(b []byte) int {
	if len(b) == 1 && b[0] >= '0' && b[0] <= '9' {
		return int(b[0] - '0')
	}
	c, _ := strconv.Atoi(string(b))
	return c
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
