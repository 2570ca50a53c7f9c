package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func keying(wave, number string, ans url.Values) url.Values {
	f := url.Values{"wave": {wave}, "number": {number}}
	for k, v := range ans {
		f[k] = v
	}
	return f
}

// TestPaperDoubleEntry: a paper form counts only when two operators keyed
// it alike, or when a supervisor has decided every difference.
func TestPaperDoubleEntry(t *testing.T) {
	fx := newFixture(t, 0.0005)
	op1 := fx.signIn(t, "interviewer")
	op2 := fx.signIn(t, "interviewer2")
	sup := fx.signIn(t, "supervisor")
	count := func(q string, args ...any) int {
		var n int
		if err := fx.db.Get(&n, q, args...); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if page := op1.get("/paper?wave=" + fx.wave + "&number=P001"); !strings.Contains(page, `id="questionnaire"`) || !strings.Contains(page, `name="number" value="P001"`) {
		t.Fatal("no keying form")
	}

	// A bad answer stores nothing.
	bad := completeAnswers("500103")
	bad.Set("q_q01", "77")
	if res := op1.post("/paper", keying(fx.wave, "P001", bad)); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad keying: %d", res.StatusCode)
	}
	if n := count(`SELECT count(*) FROM paper_entries`); n != 0 {
		t.Fatalf("%d entries after a bad keying", n)
	}

	first := completeAnswers("500103")
	if res := op1.post("/paper", keying(fx.wave, "P001", first)); res.Header.Get("Location") != "/paper?msg=paper1" {
		t.Fatalf("first keying: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// The same operator cannot key it a second time.
	res := op1.post("/paper", keying(fx.wave, "P001", first))
	if body := readAll(res); res.StatusCode != http.StatusConflict || !strings.Contains(body, "另一位录入员") {
		t.Fatalf("second keying by the same operator: %d", res.StatusCode)
	}
	// The second operator reads two answers differently.
	second := completeAnswers("500103")
	second.Set("q_q01", "1")
	second.Set("q_q05", "8")
	if res := op2.post("/paper", keying(fx.wave, "P001", second)); res.Header.Get("Location") != "/paper?msg=papermismatch" {
		t.Fatalf("second keying: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if n := count(`SELECT count(*) FROM interviews`); n != 0 {
		t.Fatalf("%d interviews before the differences are decided", n)
	}
	var formID int64
	fx.db.Get(&formID, `SELECT id FROM paper_forms WHERE form_number = 'P001'`)
	path := "/paper/" + strconv.FormatInt(formID, 10)
	if res := op1.do("GET", path, nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("an operator opened the decision page: %d", res.StatusCode)
	}
	page := sup.get(path)
	if !strings.Contains(page, `id="choose_q01_0"`) || !strings.Contains(page, `id="choose_q05_1"`) || strings.Contains(page, `id="choose_q02_0"`) {
		t.Fatalf("differences not shown:\n%s", page)
	}
	// Every difference needs a decision.
	if res := sup.post(path+"/resolve", url.Values{"choose_q01": {"1"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("partial decision: %d", res.StatusCode)
	}
	if res := sup.post(path+"/resolve", url.Values{"choose_q01": {"1"}, "choose_q05": {first.Get("q_q05")}}); res.Header.Get("Location") != "/paper?msg=paperresolved" {
		t.Fatalf("decision: %d %s", res.StatusCode, readAll(res))
	}
	var iv struct {
		Q01, Q05, Source, Mode, External string
	}
	if err := fx.db.QueryRow(`SELECT answers->>'q01', answers->>'q05', source, mode, external_id FROM interviews`).Scan(&iv.Q01, &iv.Q05, &iv.Source, &iv.Mode, &iv.External); err != nil {
		t.Fatal(err)
	}
	if iv.Q01 != "1" || iv.Q05 != first.Get("q_q05") || iv.Source != "paper" || iv.Mode != "door" || iv.External != "paper-P001" {
		t.Fatalf("stored interview %+v", iv)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE action = 'paper-resolve' AND details::text LIKE '%"entry2": "8"%'`); n != 1 {
		t.Fatalf("%d audit entries of the decision", n)
	}

	// Two keyings alike are stored at once; a third is refused.
	if res := op2.post("/paper", keying(fx.wave, "P002", first)); res.Header.Get("Location") != "/paper?msg=paper1" {
		t.Fatalf("P002 first: %s", res.Header.Get("Location"))
	}
	if res := op1.post("/paper", keying(fx.wave, "P002", first)); res.Header.Get("Location") != "/paper?msg=paper2" {
		t.Fatalf("P002 second: %s", res.Header.Get("Location"))
	}
	if res := sup.post("/paper", keying(fx.wave, "P002", first)); res.StatusCode != http.StatusConflict {
		t.Fatalf("third keying: %d", res.StatusCode)
	}
	if n := count(`SELECT count(*) FROM interviews WHERE source = 'paper'`); n != 2 {
		t.Fatalf("%d paper interviews, want 2", n)
	}
	if list := op1.get("/paper"); !strings.Contains(list, "P001") || !strings.Contains(list, "已入库") {
		t.Fatal("the operator's list does not show their forms")
	}
}
