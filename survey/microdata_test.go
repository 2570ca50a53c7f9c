package survey

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
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
// (raked, base or given on import) and the answer codes — numbered 1…n in
// an order that changes from one export to the next.
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
	var ids []int
	for _, rec := range got[1:] {
		id, _ := strconv.Atoi(rec[0])
		ids = append(ids, id)
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
	if !slices.Equal(ids, seq(1, 90)) {
		t.Fatalf("interview ids are not 1…n in file order: %v", ids)
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

	// Another export lists the interviews in another order.
	var again recordRows
	if _, err := WriteResponses(ctx, db, wave, &again); err != nil {
		t.Fatal(err)
	}
	same := true
	for i := range got {
		if strings.Join(got[i][1:], ",") != strings.Join(again[i][1:], ",") {
			same = false
		}
	}
	if same {
		t.Fatal("two exports list the interviews in the same order")
	}
}

func seq(a, b int) []int {
	var s []int
	for i := a; i <= b; i++ {
		s = append(s, i)
	}
	return s
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
