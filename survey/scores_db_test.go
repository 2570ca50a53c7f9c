package survey

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pgtest"
)

// scoringDB is a database with two districts, the default questionnaire
// and an empty wave.
func scoringDB(t *testing.T) (*sqlx.DB, int64, *Questionnaire) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q := Default()
	if _, err := SaveQuestionnaire(ctx, db, q); err != nil {
		t.Fatal(err)
	}
	db.MustExec(`INSERT INTO districts (code, name, population) VALUES ('500101', '万州区', 1000), ('500102', '涪陵区', 2000), ('500103', '渝中区', 3000)`)
	var wave int64
	if err := db.Get(&wave, `INSERT INTO waves (name, questionnaire_id) VALUES ('w', $1) RETURNING id`, q.ID); err != nil {
		t.Fatal(err)
	}
	return db, wave, q
}

type storedInterview struct {
	district, mode, psu string
	weight              float64
	answers             map[string]any
}

func store(t *testing.T, db *sqlx.DB, wave int64, q *Questionnaire, ivs []storedInterview) {
	t.Helper()
	tx := db.MustBegin()
	for _, iv := range ivs {
		b, err := json.Marshal(iv.answers)
		if err != nil {
			t.Fatal(err)
		}
		var psu, weight any
		if iv.psu != "" {
			psu = iv.psu
		}
		if iv.weight > 0 {
			weight = iv.weight
		}
		tx.MustExec(`INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, psu, weight, answers, source) VALUES ($1, $2, $3, $4, $5, $6, $7, 'import')`,
			wave, q.ID, iv.district, iv.mode, psu, weight, string(b))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func sameAnswer(code string) map[string]any {
	a := map[string]any{}
	for i := 1; i <= 13; i++ {
		a[fmt.Sprintf("q%02d", i)] = code
	}
	return a
}

// Telephone and door-to-door interviews of one district, worked by hand
// (docs/estimation.md). Weights 1, every item answered alike:
//
//	phone 100 (psu "c1" given, ignored), phone 60 (psu "c1", ignored),
//	door 80 and door 40, both in community c1.
//
// R = 280/4 = 70; z: phone (100−70)/4 = 7.5, phone (60−70)/4 = −2.5, the
// community (10 − 30)/4 = −5; three PSUs, z̄ = 0, v = 3/2 · 87.5 = 131.25.
// Clustering the phone interviews too would leave one PSU and no SE;
// clustering nothing would give v = 4/3 · 125 = 166.67.
func TestModesAndCommunitiesByHand(t *testing.T) {
	db, wave, q := scoringDB(t)
	store(t, db, wave, q, []storedInterview{
		{"500101", "phone", "c1", 1, sameAnswer("1")},
		{"500101", "phone", "c1", 1, sameAnswer("3")},
		{"500101", "door", "c1", 1, sameAnswer("2")},
		{"500101", "door", "c1", 1, sameAnswer("4")},
		// One door-to-door interview: a score, never an interval.
		{"500102", "door", "c9", 1, sameAnswer("2")},
		// Two interviews in one community are one PSU: no interval either.
		{"500103", "door", "c7", 1, sameAnswer("2")},
		{"500103", "door", "c7", 1, sameAnswer("3")},
		// Judged invalid on review: left out.
		{"500101", "phone", "", 1, sameAnswer("5")},
	})
	db.MustExec(`UPDATE interviews SET review_status = 'invalid' WHERE id = (SELECT max(id) FROM interviews)`)
	sc, err := ScoreWave(context.Background(), db, wave, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range []string{"q01", "q13", CompositeItem} {
		a := sc.Row("500101", item)
		if !a.HasScore || math.Abs(a.Score-70) > 1e-12 || !a.HasSE || math.Abs(a.SE-math.Sqrt(131.25)) > 1e-12 || a.N != 4 {
			t.Errorf("500101/%s: %+v, want 70 ± %.6f", item, a, math.Sqrt(131.25))
		}
		for _, d := range []string{"500102", "500103"} {
			if e := sc.Row(d, item); !e.HasScore || e.HasSE || e.SE != 0 || e.CILow != 0 || e.CIHigh != 0 {
				t.Errorf("%s/%s has a single PSU, so no SE: %+v", d, item, e)
			}
		}
		if all := sc.Row(AllDistricts, item); !all.HasScore || all.HasSE {
			t.Errorf("ALL/%s contains strata without variance: %+v", item, all)
		}
	}
	if r := sc.RankOf("500102"); r != nil {
		t.Errorf("a district without an interval is ranked: %+v", r)
	}
	var long string
	if long, err = longCSV(sc); err != nil {
		t.Fatal(err)
	}
	if want := "500102,composite,1,1,80.0000,,,\n"; !strings.Contains(long, want) {
		t.Errorf("the long CSV should leave the single interview's SE empty:\n%s", long)
	}
}

// Random interviews stored in the database and scored there give what the
// plain reference computes from the same interviews held in memory, with
// the rule of docs/estimation.md applied by hand: a telephone interview is
// its own PSU, a door-to-door interview belongs to its community.
func TestScoreWaveAgainstReference(t *testing.T) {
	db, wave, q := scoringDB(t)
	rng := rand.New(rand.NewPCG(11, 12))
	d := q.Design()
	var ivs []storedInterview
	var rs []Respondent
	for _, district := range []string{"500101", "500102", "500103"} {
		for range 40 + rng.IntN(80) {
			iv := storedInterview{district: district, mode: "phone", weight: 0.5 + 3*rng.Float64(), answers: map[string]any{}}
			r := Respondent{District: district, Weight: iv.weight, Codes: make([]int, len(d.Items))}
			if rng.IntN(3) == 0 {
				iv.mode, iv.psu = "door", fmt.Sprintf("c%d", rng.IntN(6))
				r.PSU = iv.psu
			} else if rng.IntN(4) == 0 {
				iv.psu = "ignored"
			}
			for j, it := range d.Items {
				switch u := rng.IntN(10); {
				case u == 0: // not asked
				case u == 1:
					iv.answers[it] = []string{"8", "9"}[rng.IntN(2)]
					r.Codes[j], _ = strconv.Atoi(iv.answers[it].(string))
				default:
					r.Codes[j] = 1 + rng.IntN(5)
					iv.answers[it] = strconv.Itoa(r.Codes[j])
				}
			}
			ivs, rs = append(ivs, iv), append(rs, r)
		}
	}
	store(t, db, wave, q, ivs)
	sc, err := ScoreWave(context.Background(), db, wave, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Estimates) != 4*(len(d.Items)+1) {
		t.Fatalf("%d estimates", len(sc.Estimates))
	}
	refs := map[string]refResult{}
	for _, e := range sc.Estimates {
		ref, ok := refs[e.District]
		if !ok {
			ref = reference(d, rs, e.District, false)
			refs[e.District] = ref
		}
		j := itemIndex(d, e.Item)
		if e.HasScore != ref.hasScore[j] || e.HasSE != ref.hasSE[j] || !near(e.Score, ref.score[j], 1e-10) ||
			math.Abs(e.SE*e.SE-ref.se[j]*ref.se[j]) > 1e-8*(1+ref.se[j]*ref.se[j]) {
			t.Errorf("%s/%s: %v ± %v, reference %v ± %v", e.District, e.Item, e.Score, e.SE, ref.score[j], ref.se[j])
		}
	}
}

// What Respondents decodes from the database is what a plain JSON decode
// of the stored answers gives, whether it reads through a pool (several
// connections, one snapshot) or inside a transaction (one query).
func TestRespondentsDecodeLikeJSON(t *testing.T) {
	db, wave, q := scoringDB(t)
	rng := rand.New(rand.NewPCG(3, 4))
	odd := []any{"1", "5", "8", "10", "-1", "x", "", " 2", "+3", nil, 4}
	var ivs []storedInterview
	for i := range 500 {
		iv := storedInterview{district: []string{"500101", "500102", "500103"}[rng.IntN(3)], mode: "phone", answers: map[string]any{}}
		if i%3 == 0 {
			iv.mode, iv.psu = "door", fmt.Sprintf("社区,%d", rng.IntN(4))
		}
		if i%5 == 0 {
			iv.weight = 1 + rng.Float64()/3
		}
		for _, k := range append(q.IndicatorIDs(), "sex", "age_group", "urban") {
			if rng.IntN(8) != 0 {
				iv.answers[k] = odd[rng.IntN(len(odd))]
			}
		}
		ivs = append(ivs, iv)
	}
	store(t, db, wave, q, ivs)
	atoi := func(v any) int {
		s, _ := v.(string)
		c, _ := strconv.Atoi(s)
		if n, ok := v.(int); ok { // a number rather than a string: read as its value
			c = n
		}
		return c
	}
	var want []Respondent
	for _, iv := range ivs {
		r := Respondent{District: iv.district, Mode: iv.mode, Weight: iv.weight, FixedWeight: iv.weight > 0,
			Sex: atoi(iv.answers["sex"]), AgeGroup: atoi(iv.answers["age_group"]), Urban: atoi(iv.answers["urban"])}
		if iv.mode == "door" {
			r.PSU = iv.psu
		}
		for _, it := range q.IndicatorIDs() {
			r.Codes = append(r.Codes, atoi(iv.answers[it]))
		}
		want = append(want, r)
	}
	ctx := context.Background()
	got, err := Respondents(ctx, db, wave, q)
	if err != nil {
		t.Fatal(err)
	}
	tx := db.MustBegin()
	defer tx.Rollback()
	inTx, err := Respondents(ctx, tx, wave, q)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		// The float weights went through PostgreSQL's float8 and back.
		if i >= len(got) || !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("interview %d:\n got %+v\nwant %+v", i+1, got[min(i, len(got)-1)], want[i])
		}
	}
	if len(got) != len(want) || !reflect.DeepEqual(got, inTx) {
		t.Fatalf("%d respondents through the pool, %d in a transaction, want %d (or they differ)", len(got), len(inTx), len(want))
	}
}

// Names and answers with quotes, backslashes, braces, commas and spaces,
// and an answer that reads "NULL", come through as stored, whether read
// through a pool or inside a transaction.
func TestRespondentsReadAwkwardText(t *testing.T) {
	db, wave, q := scoringDB(t)
	psus := []string{`社区 "甲"`, `c\1`, `{c,2}`, `NULL`, ` `, ``}
	answers := []any{`"3"`, `\4`, `NULL`, `null`, `{5}`, `5`}
	var ivs []storedInterview
	for k, psu := range psus {
		iv := storedInterview{district: "500101", mode: "door", psu: psu, answers: map[string]any{}}
		for _, it := range q.IndicatorIDs() {
			iv.answers[it] = answers[k]
		}
		ivs = append(ivs, iv)
	}
	store(t, db, wave, q, ivs)
	ctx := context.Background()
	tx := db.MustBegin()
	defer tx.Rollback()
	for _, from := range []sqlx.QueryerContext{db, tx} {
		rs, err := Respondents(ctx, from, wave, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != len(psus) {
			t.Fatalf("%d respondents, want %d", len(rs), len(psus))
		}
		for k, r := range rs {
			want := 0
			if k == len(psus)-1 {
				want = 5
			}
			if r.PSU != psus[k] || r.Mode != "door" || r.Codes[0] != want || r.Codes[len(r.Codes)-1] != want {
				t.Errorf("interview %d: PSU %q, mode %s, codes %v; want PSU %q and code %d", k+1, r.PSU, r.Mode, r.Codes, psus[k], want)
			}
		}
	}
}
