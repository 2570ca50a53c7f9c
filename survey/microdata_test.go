package survey

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/csvfile"
	"minyi/sql/pgtest"
)

// recordRows collects written records.
type recordRows [][]string

func (r *recordRows) Write(rec []string) error {
	*r = append(*r, slices.Clone(rec))
	return nil
}

// seedScoredWave makes a wave of the default questionnaire with n random
// interviews over three districts, some with a weight given on import, and
// census margins for sex and age group in two districts, so that the
// export's weights go through raking. It returns the wave's name.
func seedScoredWave(t *testing.T, db *sqlx.DB, n int) string {
	t.Helper()
	ctx := context.Background()
	qid, err := SaveQuestionnaire(ctx, db, Default())
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `INSERT INTO districts (code, name, population) VALUES ('500101', '万州区', 1000), ('500102', '涪陵区', 2000), ('500103', '渝中区', 500)`)
	var waveID int64
	if err := db.Get(&waveID, `INSERT INTO waves (name, questionnaire_id) VALUES ('w', $1) RETURNING id`, qid); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"500101", "500102"} {
		mustExec(t, db, `INSERT INTO margins (district_code, variable, category, population) VALUES
			($1, 'sex', 1, 480), ($1, 'sex', 2, 520),
			($1, 'age_group', 1, 150), ($1, 'age_group', 2, 200), ($1, 'age_group', 3, 200), ($1, 'age_group', 4, 200), ($1, 'age_group', 5, 250)`, d)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	codes := []string{"1", "2", "3", "4", "5", "8", "9"}
	for i := 0; i < n; i++ {
		d := []string{"500101", "500102", "500103"}[i%3]
		a := map[string]string{"sex": strconv.Itoa(1 + i%2), "age_group": strconv.Itoa(1 + (i/2)%5), "urban": strconv.Itoa(1 + rng.IntN(2))}
		for j := 1; j <= 13; j++ {
			a[fmt.Sprintf("q%02d", j)] = codes[rng.IntN(len(codes))]
		}
		if i == 7 {
			delete(a, "q05") // a question not asked
		}
		var parts []string
		for k, v := range a {
			parts = append(parts, fmt.Sprintf("%q: %q", k, v))
		}
		var weight any
		if d == "500103" && i%2 == 0 {
			weight = 1.5 + float64(i)/7 // given on import
		}
		mustExec(t, db, `INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, weight, answers, source, external_id)
			VALUES ($1, $2, $3, $4, $5, $6, 'import', $7)`, waveID, qid, d, []string{"phone", "door"}[i%2], weight, "{"+strings.Join(parts, ", ")+"}", fmt.Sprintf("x%d", i))
	}
	return "w"
}

func mustExec(t *testing.T, db *sqlx.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// TestResponsesExportStreamsTheEstimatorsData: the streamed microdata carry,
// for every interview, exactly what the estimator uses — the final weight
// (raked, base or given on import) and the answer codes — under the
// interview's public id, in the order of those ids.
func TestResponsesExportStreamsTheEstimatorsData(t *testing.T) {
	ctx := context.Background()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	wave := seedScoredWave(t, db, 91)
	// An interview found invalid in review is in neither the estimates
	// nor the microdata.
	mustExec(t, db, `UPDATE interviews SET review_status = 'invalid' WHERE external_id = 'x90'`)

	var got recordRows
	n, err := WriteResponses(ctx, db, wave, &got)
	if err != nil {
		t.Fatal(err)
	}
	if n != 90 || len(got) != 91 {
		t.Fatalf("%d rows, %d records", n, len(got))
	}
	if strings.Join(got[0], ",") != "interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03,q04,q05,q06,q07,q08,q09,q10,q11,q12,q13" {
		t.Fatalf("header %v", got[0])
	}

	// What the estimator sees, weights included.
	waveID, q, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		t.Fatal(err)
	}
	sc, rs, err := scoreWave(ctx, db, waveID, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Weighting) != 3 || len(sc.Weighting[0].Raked) != 2 {
		t.Fatalf("the fixture is not raked: %+v", sc.Weighting)
	}
	key := func(district, mode, sex, age string, codes []string) string {
		return strings.Join(append([]string{district, mode, sex, age}, codes...), ",")
	}
	want := map[string][]float64{}
	for _, r := range rs {
		var cs []string
		for _, c := range r.Codes {
			cs = append(cs, code(c))
		}
		k := key(r.District, r.Mode, code(r.Sex), code(r.AgeGroup), cs)
		want[k] = append(want[k], r.Weight)
	}
	var ids []string
	for _, rec := range got[1:] {
		ids = append(ids, rec[0])
		k := key(rec[1], rec[2], rec[4], rec[5], rec[6:])
		w, _ := strconv.ParseFloat(rec[3], 64)
		ws := want[k]
		i := slices.IndexFunc(ws, func(x float64) bool { return math.Abs(x-w) < 5e-7 })
		if i < 0 {
			t.Fatalf("row %v: no interview with these answers and weight %s (estimator: %v)", rec, rec[3], ws)
		}
		want[k] = slices.Delete(ws, i, i+1)
	}
	for k, ws := range want {
		if len(ws) > 0 {
			t.Fatalf("interview %s with weight %v not exported", k, ws)
		}
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != 90 {
		t.Fatalf("interview ids are not distinct and in file order: %v", ids)
	}
	if !slices.ContainsFunc(got[1:], func(rec []string) bool { return rec[1] == "500102" && rec[10] == "" }) {
		t.Fatal("the question not asked is not empty")
	}

	// The file for people has the same rows, written the fast way for
	// plain rows and cell by cell for the rest (here a code stored as
	// "03", printed 3 as the estimator reads it).
	mustExec(t, db, `UPDATE interviews SET answers = jsonb_set(answers, '{q03}', '"03"') WHERE external_id = 'x5'`)
	var buf bytes.Buffer
	cw, _ := csvfile.NewWriter(&buf, csvfile.GB18030)
	if _, err := WriteResponses(ctx, db, wave, cw); err != nil {
		t.Fatal(err)
	}
	cw.Flush()
	if !strings.HasSuffix(buf.String(), "\r\n") || strings.Count(buf.String(), "\r\n") != 91 {
		t.Fatalf("not 91 CRLF lines:\n%s", buf.String())
	}
	file, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	sorted := func(rs [][]string) []string {
		var out []string
		for i, r := range rs {
			if i > 0 {
				out = append(out, strings.Join(r[1:], ","))
			}
		}
		slices.Sort(out)
		return out
	}
	var records recordRows
	if _, err := WriteResponses(ctx, db, wave, &records); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sorted(file), sorted(records)) || !slices.ContainsFunc(records, func(r []string) bool { return r[8] == "3" }) {
		t.Fatalf("the file differs from the records:\n%v\n%v", sorted(file), sorted(records))
	}

}

// TestResponsesExportKeepsInterviewIDs: an interview has the same
// interview_id in every export, after interviews are added and others
// found invalid; the ids are no row numbers, do not follow the order of
// interviewing and are not the database's ids.
func TestResponsesExportKeepsInterviewIDs(t *testing.T) {
	ctx := context.Background()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	wave := seedScoredWave(t, db, 40)
	byID := func() map[string]string {
		t.Helper()
		var got recordRows
		if _, err := WriteResponses(ctx, db, wave, &got); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, rec := range got[1:] {
			if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(rec[0]) {
				t.Fatalf("interview_id %q is not 16 hex digits", rec[0])
			}
			if _, dup := m[rec[0]]; dup {
				t.Fatalf("interview_id %s twice", rec[0])
			}
			// The weights move with the interviews added; the rest stays.
			m[rec[0]] = strings.Join(append(slices.Clone(rec[1:3]), rec[4:]...), ",")
		}
		return m
	}
	first := byID()
	// An interview is added (a copy of another's answers) and one is
	// found invalid.
	mustExec(t, db, `INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, weight, answers, source, external_id)
		SELECT wave_id, questionnaire_id, district_code, mode, weight, answers, source, 'added' FROM interviews WHERE external_id = 'x3'`)
	mustExec(t, db, `UPDATE interviews SET review_status = 'invalid' WHERE external_id = 'x10'`)
	var added, dropped string
	if err := db.Get(&added, `SELECT public_id FROM interviews WHERE external_id = 'added'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&dropped, `SELECT public_id FROM interviews WHERE external_id = 'x10'`); err != nil {
		t.Fatal(err)
	}
	second := byID()
	if len(second) != len(first) {
		t.Fatalf("%d rows, then %d", len(first), len(second))
	}
	for id, row := range first {
		if id == dropped {
			if _, ok := second[id]; ok {
				t.Fatal("the invalid interview is still exported")
			}
			continue
		}
		if second[id] != row {
			t.Fatalf("interview %s was %s, now %q", id, row, second[id])
		}
	}
	if _, ok := second[added]; !ok {
		t.Fatal("the added interview is missing")
	}

	// In the order of interviewing, the ids are not sorted, and no id is
	// a row's database id.
	var order []string
	if err := db.Select(&order, `SELECT public_id FROM interviews WHERE review_status <> 'invalid' ORDER BY completed_at, id`); err != nil {
		t.Fatal(err)
	}
	if slices.IsSorted(order) || slices.IsSortedFunc(order, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Fatalf("ids follow the order of interviewing: %v", order)
	}
	var rowIDs []string
	if err := db.Select(&rowIDs, `SELECT id::text FROM interviews`); err != nil {
		t.Fatal(err)
	}
	for _, id := range rowIDs {
		if _, ok := second[id]; ok {
			t.Fatalf("the database id %s is an interview_id", id)
		}
	}
}

// TestResponsesExportOfAnEmptyWave: before the first interview the file
// has its header and nothing else.
func TestResponsesExportOfAnEmptyWave(t *testing.T) {
	ctx := context.Background()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	qid, err := SaveQuestionnaire(ctx, db, Default())
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `INSERT INTO waves (name, questionnaire_id) VALUES ('empty', $1)`, qid)
	var buf bytes.Buffer
	w, _ := csvfile.NewWriter(&buf, csvfile.UTF8)
	n, err := WriteResponses(ctx, db, "empty", w)
	w.Flush()
	if err != nil || n != 0 || strings.Count(buf.String(), "\r\n") != 1 {
		t.Fatalf("%d rows, %v:\n%s", n, err, buf.String())
	}
	if _, err := WriteResponses(ctx, db, "nope", w); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("unknown wave: %v", err)
	}
}
