package main

import (
	"context"
	"encoding/csv"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"golang.org/x/text/encoding/simplifiedchinese"

	"minyi/sql/pgtest"
	"minyi/survey"
)

// TestValueLabelsAndSPSSSyntax: beside the responses file, the value
// labels list every question of the wave's questionnaire with every answer
// option, and every district; the SPSS syntax reads the responses file of
// its own name and encoding and declares, labels every column of it.
func TestValueLabelsAndSPSSSyntax(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	mustRun(t, dsn, "wave", "create", "w")
	mustRun(t, dsn, "responses", "import", "--wave", "w", writeFile(t, "r.csv", responsesCSV()))
	t.Chdir(t.TempDir())
	for _, kind := range []string{"responses", "value-labels", "spss"} {
		mustRun(t, dsn, "export", kind, "--wave", "w")
		mustRun(t, dsn, "export", kind, "--wave", "w", "--encoding", "gb18030")
	}

	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, q, err := survey.WaveQuestionnaire(context.Background(), db, "w")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("value-labels-w-utf8.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "variable,variable_label,value,value_label" {
		t.Fatalf("header %v", recs[0])
	}
	listed := map[string]bool{}
	for _, r := range recs[1:] {
		listed[r[0]+"="+r[2]+"="+r[3]] = true
		listed[r[0]] = true
	}
	for _, qu := range q.Questions {
		if !listed[qu.ID] {
			t.Errorf("question %s is not in the value labels", qu.ID)
		}
		for _, o := range qu.Options {
			if !listed[qu.ID+"="+strconv.Itoa(o.Code)+"="+o.Label.ZH] {
				t.Errorf("option %d %s of %s is not in the value labels", o.Code, o.Label.ZH, qu.ID)
			}
		}
	}
	if !listed["district_code=500101=万州区"] || !listed["mode=phone=电话访问"] || !listed["interview_id"] || !listed["weight"] {
		t.Errorf("the value labels lack the file's other columns:\n%s", b)
	}

	// The syntax names every column of the responses file, in its order.
	data, _ := os.ReadFile("responses-w-utf8.csv")
	columns := strings.Split(strings.TrimPrefix(strings.SplitN(string(data), "\r\n", 2)[0], "\ufeff"), ",")
	sps, err := os.ReadFile("responses-w-utf8.sps")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(sps), "EXECUTE.\r\n") {
		t.Fatal("the syntax does not have Windows line ends")
	}
	syntax, ok := strings.CutPrefix(strings.ReplaceAll(string(sps), "\r\n", "\n"), "\ufeff")
	if !ok {
		t.Fatal("the UTF-8 syntax has no byte-order mark, by which SPSS knows its encoding")
	}
	if !strings.Contains(syntax, "/FILE='responses-w-utf8.csv'") || !strings.Contains(syntax, "/ENCODING='UTF8'") || !strings.Contains(syntax, "/FIRSTCASE=2") {
		t.Fatalf("GET DATA does not read the responses file:\n%s", syntax)
	}
	vars := regexp.MustCompile(`(?s)/VARIABLES=\n(.*?)\n\.\n`).FindStringSubmatch(syntax)
	if vars == nil {
		t.Fatalf("no /VARIABLES:\n%s", syntax)
	}
	var declared []string
	for _, line := range strings.Split(vars[1], "\n") {
		declared = append(declared, strings.Fields(line)[0])
	}
	if strings.Join(declared, ",") != strings.Join(columns, ",") {
		t.Fatalf("the syntax declares %v, the file has %v", declared, columns)
	}
	for _, col := range columns {
		if !regexp.MustCompile(`(?m)^\s*/?` + col + ` '[^']+'$`).MatchString(syntax) {
			t.Errorf("VARIABLE LABELS lacks %s", col)
		}
	}
	if !strings.Contains(syntax, "VALUE LABELS\n") || !strings.Contains(syntax, "    1 '很满意'\n") || !strings.Contains(syntax, "    '500101' '万州区'\n") || !strings.HasSuffix(syntax, "EXECUTE.\n") {
		t.Fatalf("value labels:\n%s", syntax)
	}

	// The GB18030 syntax reads the GB18030 file, in GB18030.
	gb, _ := os.ReadFile("responses-w-gb18030.sps")
	text, err := simplifiedchinese.GB18030.NewDecoder().String(string(gb))
	if err != nil || !strings.Contains(text, "/FILE='responses-w-gb18030.csv'") || !strings.Contains(text, "/ENCODING='GB18030'") || !strings.Contains(text, "'万州区'") {
		t.Fatalf("GB18030 syntax (%v):\n%s", err, text)
	}
	if _, err := os.Stat("responses-w-gb18030.csv"); err != nil {
		t.Fatal(err)
	}
}
