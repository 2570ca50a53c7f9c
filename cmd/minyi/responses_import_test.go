package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/dialer"
	"minyi/sql/pgtest"
	"minyi/survey"
)

// weightedResponses is a responses file of n interviews weighted about 500
// (as a 2‰ sample is), with the weights of the lines given replaced; the
// header is line 1, interview i is on line i+2.
func weightedResponses(n int, weights map[int]string) string {
	var b strings.Builder
	b.WriteString("interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03,q04,q05,q06,q07,q08,q09,q10,q11,q12,q13\n")
	for i := range n {
		w, ok := weights[i+2]
		if !ok {
			w = fmt.Sprint(480 + i%40)
		}
		fmt.Fprintf(&b, "h%d,%s,phone,%s,%d,%d,%d%s\n", i, []string{"500101", "500102"}[i%2], w, 1+i%2, 1+i%5, 1+i%5, strings.Repeat(",3", 12))
	}
	return b.String()
}

// TestResponsesImportRefusesImplausibleWeights performs the attack of the
// weight 1e12 that moved a district from rank 4 to 20, and of a weight
// near 0 that silences a respondent: both are refused with their lines,
// and nothing is stored; with --allow-weights and a reason the file is
// imported, and the audit log keeps the reason and the rows. Imported
// interviews are on the supervisors' review list, not yet reviewed.
func TestResponsesImportRefusesImplausibleWeights(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	mustRun(t, dsn, "wave", "create", "hist")
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	file := writeFile(t, "r.csv", weightedResponses(30, map[int]string{7: "1e12", 19: "0.0000001"}))

	_, err = minyi(t, dsn, "responses", "import", "--wave", "hist", file)
	if err == nil {
		t.Fatal("a file with a weight of 1e12 was imported")
	}
	for _, want := range []string{"nothing was imported", "第 7 行：权重 1e+12 超出合理范围", "第 19 行：权重 1e-07", "--allow-weights"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q:\n%v", want, err)
		}
	}
	var n int
	db.Get(&n, `SELECT count(*) FROM interviews`)
	if n != 0 {
		t.Fatalf("%d interviews stored from a refused file", n)
	}
	if _, err := minyi(t, dsn, "responses", "import", "--wave", "hist", "--allow-weights", "  ", file); err == nil {
		t.Fatal("a blank reason allowed the weights")
	}

	const reason = "历史轮次按区县人口重新加权,见 2025 年报告附表 3"
	out := mustRun(t, dsn, "responses", "import", "--wave", "hist", "--allow-weights", reason, file)
	if !strings.Contains(out, "imported 30 interviews") || !strings.Contains(out, "2 of them have weights outside") {
		t.Fatalf("import with --allow-weights: %s", out)
	}
	var entry struct {
		Actor   string `db:"actor"`
		Details []byte `db:"details"`
	}
	if err := db.Get(&entry, `SELECT actor, details FROM audit_log WHERE action = 'responses-import' AND subject = 'hist'`); err != nil {
		t.Fatalf("no audit entry for the import: %v", err)
	}
	var details struct {
		Rows    int    `json:"rows"`
		SHA256  string `json:"sha256"`
		Outside struct {
			Reason string `json:"reason"`
			Rows   int    `json:"rows"`
			Lines  []int  `json:"lines"`
		} `json:"weights_outside"`
	}
	if err := json.Unmarshal(entry.Details, &details); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(entry.Actor, "minyi responses import") || details.Rows != 30 || len(details.SHA256) != 64 ||
		details.Outside.Reason != reason || details.Outside.Rows != 2 || fmt.Sprint(details.Outside.Lines) != "[7 19]" {
		t.Fatalf("audit entry %s: %s", entry.Actor, entry.Details)
	}

	var wave int64
	db.Get(&wave, `SELECT id FROM waves WHERE name = 'hist'`)
	flagged, err := dialer.FlaggedInterviews(t.Context(), db, wave, 2*time.Minute, survey.Default().IndicatorIDs(), false)
	if err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, f := range flagged {
		if f.Imported {
			listed++
		}
	}
	var pending int
	db.Get(&pending, `SELECT count(*) FROM interviews WHERE source = 'import' AND review_status = 'none'`)
	if listed != 30 || pending != 30 {
		t.Fatalf("%d imported interviews on the review list and %d not yet reviewed, want 30 and 30", listed, pending)
	}
}
