package survey

import (
	"bytes"
	"cmp"
	"context"
	dbsql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
	qWaveIDRange         = sql.Q("survey/wave-id-range")
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
// order of the fields after id, weight and mode; sex and age_group come
// first (respondentsQuery reads their columns).
var respondentKeys = []string{"sex", "age_group", "urban"}

// respondentsQuery expands the wave-respondents query for n answer keys.
func respondentsQuery(n int) string {
	var b strings.Builder
	for k := range n {
		// The sex and age group columns hold the answers' codes (or NULL)
		// and are cheaper to read than the jsonb.
		switch k {
		case 0:
			fmt.Fprintf(&b, ", E'\\x1f', coalesce(i.sex::text, i.answers->>$%d)", k+4)
		case 1:
			fmt.Fprintf(&b, ", E'\\x1f', coalesce(i.age_group::text, i.answers->>$%d)", k+4)
		default:
			fmt.Fprintf(&b, ", E'\\x1f', i.answers->>$%d", k+4)
		}
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
// read a range of the wave's ids each, in one snapshot so that together
// they see the wave as it was at one moment.
func Respondents(ctx context.Context, db sqlx.QueryerContext, waveID int64, q *Questionnaire) ([]Respondent, error) {
	ids := q.IndicatorIDs()
	keys := append(append([]string(nil), respondentKeys...), ids...)
	query := respondentsQuery(len(keys))
	// Several connections only from a pool with room to spare: a small
	// pool could be left waiting for its own connections.
	pool, ok := db.(*sqlx.DB)
	if ok {
		limit := pool.Stats().MaxOpenConnections
		ok = limit == 0 || limit >= 4*respondentParts
	}
	if !ok {
		part, err := readRespondents(ctx, db, query, waveID, 0, math.MaxInt64, keys, len(ids))
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
	var span struct{ Lo, Hi int64 }
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
			if err := tx.GetContext(ctx, &span, qWaveIDRange, waveID); err != nil {
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
			width := span.Hi - span.Lo + 1
			from, to := span.Lo+width*int64(k)/respondentParts, span.Lo+width*int64(k+1)/respondentParts
			if k == respondentParts-1 {
				to = math.MaxInt64
			}
			parts[k], errs[k] = readRespondents(ctx, txs[k], query, waveID, from, to, keys, len(ids))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return parts[0].merge(parts[1:]), nil
}

// respondentPart is the rows one connection read, with their ids, in
// chunks so that a million rows are not copied each time a slice grows.
type respondentPart struct {
	chunks [][]Respondent
	ids    []int64
}

const chunkSize = 1 << 14

func (p *respondentPart) add(r Respondent, id int64) {
	if n := len(p.chunks); n == 0 || len(p.chunks[n-1]) == chunkSize {
		p.chunks = append(p.chunks, make([]Respondent, 0, chunkSize))
	}
	p.chunks[len(p.chunks)-1] = append(p.chunks[len(p.chunks)-1], r)
	p.ids = append(p.ids, id)
}

func (p *respondentPart) at(i int) Respondent { return p.chunks[i/chunkSize][i%chunkSize] }

// merge puts the parts together in the order of the interview ids: a
// merge of the parts when each is in order, as a scan usually returns
// them, else a sort.
func (p *respondentPart) merge(others []*respondentPart) []Respondent {
	parts := append([]*respondentPart{p}, others...)
	n, inOrder := 0, true
	for _, q := range parts {
		n += len(q.ids)
		inOrder = inOrder && slices.IsSorted(q.ids)
	}
	out := make([]Respondent, 0, n)
	if inOrder {
		next := make([]int, len(parts))
		for len(out) < n {
			best := -1
			for k, q := range parts {
				if next[k] < len(q.ids) && (best < 0 || q.ids[next[k]] < parts[best].ids[next[best]]) {
					best = k
				}
			}
			out = append(out, parts[best].at(next[best]))
			next[best]++
		}
		return out
	}
	type at struct {
		id   int64
		part int32
		i    int32
	}
	all := make([]at, 0, n)
	for k, q := range parts {
		for i, id := range q.ids {
			all = append(all, at{id, int32(k), int32(i)})
		}
	}
	slices.SortFunc(all, func(a, b at) int { return cmp.Compare(a.id, b.id) })
	for _, a := range all {
		out = append(out, parts[a.part].at(int(a.i)))
	}
	return out
}

// readRespondents reads the interviews with ids in [from, to).
func readRespondents(ctx context.Context, db sqlx.QueryerContext, query string, waveID, from, to int64, keys []string, items int) (*respondentPart, error) {
	args := make([]any, 0, 3+len(keys))
	args = append(args, waveID, from, to)
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
		if len(f[1]) > 0 { // empty: no weight given, computed by the weighting rules
			if r.Weight, err = strconv.ParseFloat(string(f[1]), 64); err != nil {
				return nil, fmt.Errorf("survey: weight of interview %d: %w", id, err)
			}
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
		out.add(r, id)
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
