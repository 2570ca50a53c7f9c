package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"minyi/door"
	"minyi/users"
)

func keying(number string, ans url.Values) url.Values {
	f := url.Values{"number": {number}}
	for k, v := range ans {
		f[k] = v
	}
	return f
}

// sheetRow is a household of a visit sheet as its page shows it.
var sheetRow = regexp.MustCompile(`<tr id="sheet-(\d+)"><td>[^<]*</td><td>[^<]*</td><td class="form-number">([0-9A-Z-]+)</td>`)

// issuedForms assigns the wave's first door-to-door community to the field
// interviewer, as a supervisor does, and returns the form numbers on their
// visit sheet by household case.
func issuedForms(t *testing.T, d *doorFixture) map[int64]string {
	t.Helper()
	cs, err := door.Communities(context.Background(), d.db, d.wave.ID)
	if err != nil || len(cs) == 0 {
		t.Fatalf("%d communities: %v", len(cs), err)
	}
	d.assign(t, d.signIn(t, "supervisor"), d.users[users.RoleField], cs[0])
	sheet := d.signIn(t, "field_interviewer").get("/field/sheet")
	out := map[int64]string{}
	for _, m := range sheetRow.FindAllStringSubmatch(sheet, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		out[id] = m[2]
	}
	if len(out) != cs[0].Households {
		t.Fatalf("the visit sheet has %d form numbers for %d households:\n%s", len(out), cs[0].Households, sheet)
	}
	return out
}

// TestPaperFormsOnlyUnderIssuedNumbers performs the attack that got an
// invented paper form into the scores: two accounts double-key a form
// number no one issued. It is refused. A number printed on a field
// interviewer's visit sheet, keyed by two operators, becomes one interview
// of that household by that interviewer, with every keying and the
// interview in the audit log, and the number cannot be used again.
func TestPaperFormsOnlyUnderIssuedNumbers(t *testing.T) {
	d := newDoorFixture(t)
	forms := issuedForms(t, d)
	op1 := d.signIn(t, "interviewer")
	op2 := d.signIn(t, "interviewer2")
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := d.db.Get(&n, q, args...); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ans := completeAnswers("500103")

	for _, invented := range []string{"P001", "7KQM-3XPD-9R2T", strings.Repeat("9", 12)} {
		if page := op1.get("/paper?number=" + url.QueryEscape(invented)); strings.Contains(page, `id="questionnaire"`) || !strings.Contains(page, "没有发放过") {
			t.Errorf("%s: a keying form for a number never issued", invented)
		}
		for _, op := range []*client{op1, op2} {
			res := op.post("/paper", keying(invented, ans))
			if body := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "没有发放过") {
				t.Errorf("%s: keying a number never issued: %d", invented, res.StatusCode)
			}
		}
	}
	if n := count(`SELECT count(*) FROM paper_forms`) + count(`SELECT count(*) FROM paper_entries`) + count(`SELECT count(*) FROM interviews`); n != 0 {
		t.Fatalf("invented numbers left %d rows", n)
	}

	var caseID int64
	var number string
	for id, n := range forms {
		if caseID == 0 || id < caseID {
			caseID, number = id, n
		}
	}
	if page := d.signIn(t, "field_interviewer").get("/field/cases/" + strconv.FormatInt(caseID, 10)); !strings.Contains(page, `id="form-number">`+number+`<`) {
		t.Errorf("the household's page does not show its form number %s", number)
	}
	// Operators type what they read: lower case, no dashes, an O for a 0.
	typed := strings.ToLower(strings.ReplaceAll(number, "-", ""))
	typed = strings.ReplaceAll(typed, "0", "o")
	page := op1.get("/paper?number=" + url.QueryEscape(typed))
	if !strings.Contains(page, `id="questionnaire"`) || !strings.Contains(page, `name="number" value="`+number+`"`) ||
		!strings.Contains(page, "<strong>field_interviewer</strong>") || strings.Contains(page, "解放碑") {
		t.Fatalf("the keying form of %s (typed %s) does not name the household and interviewer, or shows the address:\n%s", number, typed, page)
	}
	if res := op1.post("/paper", keying(typed, ans)); res.Header.Get("Location") != "/paper?msg=paper1" {
		t.Fatalf("first keying: %d %s", res.StatusCode, readAll(res))
	}
	if res := op2.post("/paper", keying(number, ans)); res.Header.Get("Location") != "/paper?msg=paper2" {
		t.Fatalf("second keying: %d %s", res.StatusCode, readAll(res))
	}
	var iv struct {
		ID          int64  `db:"id"`
		CaseID      int64  `db:"case_id"`
		Interviewer int64  `db:"interviewer_id"`
		Source      string `db:"source"`
		Mode        string `db:"mode"`
		PSU         string `db:"psu"`
	}
	if err := d.db.Get(&iv, `SELECT id, case_id, interviewer_id, source, mode, coalesce(psu, '') AS psu FROM interviews`); err != nil {
		t.Fatalf("the keyed form is not one interview: %v", err)
	}
	var casePSU, code string
	d.db.Get(&casePSU, `SELECT coalesce(psu, '') FROM cases WHERE id = $1`, caseID)
	d.db.Get(&code, `SELECT coalesce(final_code, '') FROM cases WHERE id = $1`, caseID)
	if iv.CaseID != caseID || iv.Interviewer != d.users[users.RoleField] || iv.Source != "paper" || iv.Mode != "door" || iv.PSU != casePSU || casePSU == "" {
		t.Fatalf("stored %+v, want household %d by field interviewer %d in cluster %q", iv, caseID, d.users[users.RoleField], casePSU)
	}
	if code != "1.1" || count(`SELECT count(*) FROM attempts WHERE case_id = $1 AND outcome = 'paper' AND interviewer_id = $2`, caseID, d.users[users.RoleField]) != 1 {
		t.Fatalf("the household ends as %q without its paper interview recorded", code)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE action = 'paper-key' AND subject = $1`, "paper:"+number); n != 2 {
		t.Errorf("%d audit entries of the keyings, want 2", n)
	}
	var details []byte
	if err := d.db.Get(&details, `SELECT details FROM audit_log WHERE action = 'paper-accept' AND subject = $1`, "interview:"+strconv.FormatInt(iv.ID, 10)); err != nil {
		t.Fatalf("no audit entry of the stored interview: %v", err)
	}
	var accepted struct {
		Form        string   `json:"form"`
		CaseID      int64    `json:"case_id"`
		Interviewer string   `json:"interviewer"`
		Operators   []string `json:"operators"`
	}
	json.Unmarshal(details, &accepted)
	if accepted.Form != number || accepted.CaseID != caseID || accepted.Interviewer != "field_interviewer" || strings.Join(accepted.Operators, ",") != "interviewer,interviewer2" {
		t.Errorf("audit entry of the stored interview: %s", details)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE action = 'field-assign' AND (details->>'form_numbers_issued')::int = $1`, len(forms)); n != 1 {
		t.Errorf("the assignment's audit entry does not count the %d numbers issued", len(forms))
	}

	// The number is used: a third keying, by anyone, is refused.
	sup := d.signIn(t, "supervisor")
	if res := sup.post("/paper", keying(number, ans)); res.StatusCode != http.StatusConflict {
		t.Fatalf("a used number keyed again: %d", res.StatusCode)
	}
	if n := count(`SELECT count(*) FROM interviews`); n != 1 {
		t.Fatalf("%d interviews after the number was used again", n)
	}
	// A household that ended otherwise takes no paper form.
	var other int64
	for id := range forms {
		if id != caseID {
			other = id
			break
		}
	}
	if _, err := door.RecordVisit(context.Background(), d.db, other, d.users[users.RoleField], "refusal", false, d.now); err != nil {
		t.Fatal(err)
	}
	res := op1.post("/paper", keying(forms[other], ans))
	if body := readAll(res); res.StatusCode != http.StatusConflict || !strings.Contains(body, "已经结束") {
		t.Fatalf("keying the form of a household that refused: %d", res.StatusCode)
	}
	// The sheet lists the households still to visit.
	sheet := d.signIn(t, "field_interviewer").get("/field/sheet")
	if strings.Contains(sheet, number) || strings.Contains(sheet, forms[other]) || len(sheetRow.FindAllString(sheet, -1)) != len(forms)-2 {
		t.Errorf("the visit sheet still lists finished households")
	}
	// An admin prints an interviewer's sheet; a supervisor, who may not see
	// addresses, cannot.
	path := "/waves/door-w/field/sheet/" + strconv.FormatInt(d.users[users.RoleField], 10)
	if page := d.signIn(t, "admin").get(path); len(sheetRow.FindAllString(page, -1)) != len(forms)-2 {
		t.Errorf("the admin's print of the sheet:\n%s", page)
	}
	if res := sup.do("GET", path, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a supervisor opened a visit sheet: %d", res.StatusCode)
	}
}

// TestPaperDoubleEntry: a paper form counts only when two operators keyed
// it alike, or when a supervisor has decided every difference.
func TestPaperDoubleEntry(t *testing.T) {
	d := newDoorFixture(t)
	forms := issuedForms(t, d)
	var numbers []string
	for _, n := range forms {
		numbers = append(numbers, n)
	}
	p1, p2 := numbers[0], numbers[1]
	op1 := d.signIn(t, "interviewer")
	op2 := d.signIn(t, "interviewer2")
	sup := d.signIn(t, "supervisor")
	count := func(q string, args ...any) int {
		var n int
		if err := d.db.Get(&n, q, args...); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A bad answer stores nothing.
	bad := completeAnswers("500103")
	bad.Set("q_q01", "77")
	if res := op1.post("/paper", keying(p1, bad)); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad keying: %d", res.StatusCode)
	}
	if n := count(`SELECT count(*) FROM paper_entries`); n != 0 {
		t.Fatalf("%d entries after a bad keying", n)
	}

	first := completeAnswers("500103")
	if res := op1.post("/paper", keying(p1, first)); res.Header.Get("Location") != "/paper?msg=paper1" {
		t.Fatalf("first keying: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// The same operator cannot key it a second time.
	res := op1.post("/paper", keying(p1, first))
	if body := readAll(res); res.StatusCode != http.StatusConflict || !strings.Contains(body, "另一位录入员") {
		t.Fatalf("second keying by the same operator: %d", res.StatusCode)
	}
	// The second operator reads two answers differently.
	second := completeAnswers("500103")
	second.Set("q_q01", "1")
	second.Set("q_q05", "8")
	if res := op2.post("/paper", keying(p1, second)); res.Header.Get("Location") != "/paper?msg=papermismatch" {
		t.Fatalf("second keying: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if n := count(`SELECT count(*) FROM interviews`); n != 0 {
		t.Fatalf("%d interviews before the differences are decided", n)
	}
	var formID int64
	d.db.Get(&formID, `SELECT id FROM paper_forms WHERE form_number = $1`, p1)
	path := "/paper/" + strconv.FormatInt(formID, 10)
	if res := op1.do("GET", path, nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("an operator opened the decision page: %d", res.StatusCode)
	}
	page := sup.get(path)
	if !strings.Contains(page, `id="choose_q01_0"`) || !strings.Contains(page, `id="choose_q05_1"`) || strings.Contains(page, `id="choose_q02_0"`) ||
		!strings.Contains(page, "field_interviewer") {
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
		Interviewer                      int64
	}
	if err := d.db.QueryRow(`SELECT answers->>'q01', answers->>'q05', source, mode, external_id, interviewer_id FROM interviews`).Scan(&iv.Q01, &iv.Q05, &iv.Source, &iv.Mode, &iv.External, &iv.Interviewer); err != nil {
		t.Fatal(err)
	}
	if iv.Q01 != "1" || iv.Q05 != first.Get("q_q05") || iv.Source != "paper" || iv.Mode != "door" || iv.External != "paper-"+p1 || iv.Interviewer != d.users[users.RoleField] {
		t.Fatalf("stored interview %+v", iv)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE action = 'paper-resolve' AND details::text LIKE '%"entry2": "8"%' AND (details->>'case_id')::bigint > 0`); n != 1 {
		t.Fatalf("%d audit entries of the decision", n)
	}

	// Two keyings alike are stored at once; a third is refused.
	if res := op2.post("/paper", keying(p2, first)); res.Header.Get("Location") != "/paper?msg=paper1" {
		t.Fatalf("second form, first keying: %s", res.Header.Get("Location"))
	}
	if res := op1.post("/paper", keying(p2, first)); res.Header.Get("Location") != "/paper?msg=paper2" {
		t.Fatalf("second form, second keying: %s", res.Header.Get("Location"))
	}
	if res := sup.post("/paper", keying(p2, first)); res.StatusCode != http.StatusConflict {
		t.Fatalf("third keying: %d", res.StatusCode)
	}
	if n := count(`SELECT count(*) FROM interviews WHERE source = 'paper'`); n != 2 {
		t.Fatalf("%d paper interviews, want 2", n)
	}
	if list := op1.get("/paper"); !strings.Contains(list, p1) || !strings.Contains(list, "已入库") {
		t.Fatal("the operator's list does not show their forms")
	}
}
