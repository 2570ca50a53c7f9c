package survey

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qGetQuestionnaire    = pg.Q("survey/get-questionnaire")
	qInsertQuestionnaire = pg.Q("survey/insert-questionnaire")
	qInterviewByKey      = pg.Q("survey/interview-by-key")
	qWaveRespondents     = pg.Q("survey/wave-respondents")
	qExportSnapshot      = pg.Q("survey/export-snapshot")
	qWaveIDRange         = pg.Q("survey/wave-id-range")
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
			return nil, core.Errorf(core.ENotFound, "没有编号为 %d 的问卷", "no questionnaire with id %d", id)
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
	// Partial marks a break-off late enough to count (AAPOR 1.2).
	Partial bool
	// Paradata and the browser's User-Agent, for interviews entered in a
	// form; nil for imported ones.
	Paradata  *Paradata
	UserAgent string
}

// InsertInterview stores an interview inside the caller's transaction,
// with its evidence (docs/evidence.md §2). A repeat of the same submission
// (same idempotency key, or the same case) stores nothing and returns the
// first one's id with created=false.
func InsertInterview(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, iv Interview) (id int64, created bool, err error) {
	ans, err := json.Marshal(iv.Answers)
	if err != nil {
		return 0, false, err
	}
	st, err := pg.TxStmt(ctx, db, tx, "survey/insert-interview")
	if err != nil {
		return 0, false, err
	}
	err = st.GetContext(ctx, &id,
		iv.WaveID, nullInt(iv.CaseID), nullStr(iv.ExternalID), iv.QuestionnaireID, nullInt(iv.InterviewerID),
		iv.District, iv.Mode, nullStr(iv.PSU), nullFloat(iv.Weight), nullInt(int64(iv.Sex)), nullInt(int64(iv.AgeGroup)),
		string(ans), nullStr(iv.IdempotencyKey), iv.Source, nullTime(iv.StartedAt), iv.Partial)
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
		return 0, false, core.Errorf(core.EConflict, "访问编号 %q 已存在", "interview id %q already exists", iv.ExternalID)
	}
	return id, false, nil
}

// respondentKeys are the answers read besides the indicators, in the
// order they come before them; sex and age_group first (their columns
// are read when set, see respondentsQuery).
var respondentKeys = []string{"sex", "age_group", "urban"}

// respondentsQuery expands the wave-respondents query for n answer keys.
func respondentsQuery(n int) string {
	var b strings.Builder
	for k := range n {
		b.WriteString(", ")
		switch k {
		// The sex and age group columns hold the answers' codes (or NULL)
		// and are cheaper to read than the jsonb.
		case 0:
			fmt.Fprintf(&b, "CASE WHEN i.sex IS NULL THEN i.answers->>$%d END", k+4)
		case 1:
			fmt.Fprintf(&b, "CASE WHEN i.age_group IS NULL THEN i.answers->>$%d END", k+4)
		default:
			fmt.Fprintf(&b, "i.answers->>$%d", k+4)
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
		return mergeParts([]*respondentPart{part}, len(ids)), nil
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
		tx, err := pool.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
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
	// The wave's ids are cut into several ranges per connection, which
	// each connection takes in turn: one that happens to be slowed down
	// then reads fewer, and all finish at about the same time.
	parts := make([]*respondentPart, respondentParts*respondentRanges)
	errs := make([]error, respondentParts)
	var next atomic.Int32
	var wg sync.WaitGroup
	for k := range txs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			width := span.Hi - span.Lo + 1
			for {
				r := int(next.Add(1)) - 1
				if r >= len(parts) || ctx.Err() != nil {
					return
				}
				from, to := span.Lo+width*int64(r)/int64(len(parts)), span.Lo+width*int64(r+1)/int64(len(parts))
				if r == len(parts)-1 {
					to = math.MaxInt64
				}
				if parts[r], errs[k] = readRespondents(ctx, txs[k], query, waveID, from, to, keys, len(ids)); errs[k] != nil {
					next.Store(int32(len(parts))) // the others stop too
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return mergeParts(parts, len(ids)), nil
}

// respondentRanges is how many ranges of ids each connection reads.
const respondentRanges = 4

// respondentRow is one interview as read, without pointers, so that the
// garbage collector has nothing to trace in a million of them while they
// are being read.
type respondentRow struct {
	id                   int64
	weight               float64
	sex, ageGroup, urban int
	district, psu        int32 // indices into the part's names
	door                 bool
}

// respondentPart is the rows of one range of ids, with their answer codes
// one after another, in chunks so that no row is copied when it grows.
type respondentPart struct {
	rows  [][]respondentRow
	codes [][]int
	names []string
	n     int
}

const chunkRows = 1 << 13

func (p *respondentPart) add(r respondentRow, codes []int) {
	k := len(p.rows) - 1
	if k < 0 || len(p.rows[k]) == chunkRows {
		p.rows = append(p.rows, make([]respondentRow, 0, chunkRows))
		p.codes = append(p.codes, make([]int, 0, chunkRows*len(codes)))
		k++
	}
	p.rows[k] = append(p.rows[k], r)
	p.codes[k] = append(p.codes[k], codes...)
	p.n++
}

func (p *respondentPart) row(i int) *respondentRow { return &p.rows[i/chunkRows][i%chunkRows] }

// mergeParts puts the parts, ranges of ids in increasing order, together
// in the order of the interview ids: one after another when each is in
// order, as a scan usually returns them, else sorted.
func mergeParts(parts []*respondentPart, items int) []Respondent {
	n, inOrder := 0, true
	for _, p := range parts {
		n += p.n
		last := int64(math.MinInt64)
		for _, rows := range p.rows {
			for _, row := range rows {
				inOrder = inOrder && row.id > last
				last = row.id
			}
		}
	}
	out := make([]Respondent, 0, n)
	at := func(p *respondentPart, i int) Respondent {
		row := p.row(i)
		codes := p.codes[i/chunkRows][i%chunkRows*items:]
		r := Respondent{District: p.names[row.district], Weight: row.weight, Codes: codes[:items:items],
			Sex: row.sex, AgeGroup: row.ageGroup, Urban: row.urban, FixedWeight: row.weight > 0, Mode: "phone"}
		if row.door {
			r.Mode, r.PSU = "door", p.names[row.psu]
		}
		return r
	}
	if inOrder {
		// Each part has its place in out: they are filled side by side.
		out = out[:n]
		jobs := make([]int, len(parts))
		start := make([]int, len(parts))
		for k := range parts {
			jobs[k] = k
			if k > 0 {
				start[k] = start[k-1] + parts[k-1].n
			}
		}
		shareOut(jobs, func(k int) {
			for i := range parts[k].n {
				out[start[k]+i] = at(parts[k], i)
			}
		})
		return out
	}
	type place struct {
		id   int64
		part int32
		i    int32
	}
	all := make([]place, 0, n)
	for k, p := range parts {
		for i := range p.n {
			all = append(all, place{p.row(i).id, int32(k), int32(i)})
		}
	}
	slices.SortFunc(all, func(a, b place) int { return cmp.Compare(a.id, b.id) })
	for _, a := range all {
		out = append(out, at(parts[a.part], int(a.i)))
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
	// Scanned into interface values, which take the driver's values as
	// they are: int64 for id, sex and age group, float64 for the weight,
	// nil for NULL. The array comes as raw text, parsed here.
	var id, weight, sex, age any
	var fields sql.RawBytes
	out := &respondentPart{}
	// Few distinct districts and PSUs: each name is kept once.
	names := map[string]int32{}
	name := func(b []byte) int32 {
		k, ok := names[string(b)]
		if !ok {
			k = int32(len(out.names))
			out.names = append(out.names, string(b))
			names[out.names[k]] = k
		}
		return k
	}
	a := make([]int, len(keys))
	var arr textArray
	for rows.Next() {
		if err := rows.Scan(&id, &weight, &sex, &age, &fields); err != nil {
			return nil, err
		}
		iid, ok := id.(int64)
		if !ok {
			return nil, fmt.Errorf("survey: load interviews: unexpected id %v", id)
		}
		r := respondentRow{id: iid}
		if err := arr.reset(fields); err != nil {
			return nil, fmt.Errorf("survey: interview %d: %w", iid, err)
		}
		d, null, _ := arr.next()
		if null {
			return nil, fmt.Errorf("survey: interview %d: no district", iid)
		}
		r.district = name(d)
		if psu, null, _ := arr.next(); !null { // NULL: a telephone interview
			r.door, r.psu = true, name(psu)
		}
		for k := range a {
			e, null, ok := arr.next()
			if !ok {
				return nil, fmt.Errorf("survey: interview %d: %d answers, want %d", iid, k, len(a))
			}
			a[k] = 0
			if !null {
				a[k] = answerCode(e)
			}
		}
		if err := arr.end(); err != nil {
			return nil, fmt.Errorf("survey: interview %d: %w", iid, err)
		}
		r.sex, r.ageGroup, r.urban = a[0], a[1], a[2]
		if w, ok := weight.(float64); ok { // NULL: no weight given, computed by the weighting rules
			r.weight = w
		}
		if c, ok := sex.(int64); ok {
			r.sex = int(c)
		}
		if c, ok := age.(int64); ok {
			r.ageGroup = int(c)
		}
		out.add(r, a[3:])
	}
	return out, rows.Err()
}

// textArray reads the elements of a one-dimensional text array in
// PostgreSQL's output form, such as {500101,NULL,"a b","x\"y"}, one after
// another.
type textArray struct {
	b   []byte
	i   int
	buf []byte // a quoted element without its quotes and escapes
	err error
}

func (a *textArray) reset(b []byte) error {
	a.b, a.i, a.err = b, 1, nil
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		a.i = len(b)
		return fmt.Errorf("not an array: %.40q", b)
	}
	return nil
}

// next returns the next element, valid until the next call; null for an
// unquoted NULL; ok false when there is none left.
func (a *textArray) next() (elem []byte, null, ok bool) {
	b, i := a.b, a.i
	if i >= len(b)-1 {
		return nil, true, false
	}
	if b[i] == '"' {
		a.buf = a.buf[:0]
		for i++; i < len(b)-1 && b[i] != '"'; i++ {
			if b[i] == '\\' {
				i++
			}
			a.buf = append(a.buf, b[i])
		}
		elem = a.buf
		i++ // the closing quote
	} else {
		j := i
		for j < len(b)-1 && b[j] != ',' {
			j++
		}
		elem, i = b[i:j], j
		null = string(elem) == "NULL"
	}
	switch {
	case i == len(b)-1:
	case i < len(b)-1 && b[i] == ',':
		i++
	default:
		a.err = fmt.Errorf("malformed array: %.40q", b)
		i = len(b)
	}
	a.i = i
	return elem, null, true
}

// end reports whether the array was read to its end without a fault.
func (a *textArray) end() error {
	if a.err == nil && a.i < len(a.b)-1 {
		return fmt.Errorf("more elements than expected: %.40q", a.b)
	}
	return a.err
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
