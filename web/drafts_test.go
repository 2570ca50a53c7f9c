package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"minyi/dialer"
)

// saveDraft posts a draft as the page script does: JSON with the CSRF
// token in a header.
func (c *client) saveDraft(caseID string, version int, current string, answers map[string]string) (int, map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"version": version, "current": current, "answers": answers})
	req, err := http.NewRequest("POST", c.fx.srv.URL+"/cases/"+caseID+"/draft", strings.NewReader(string(b)))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// openInterview takes the next case and opens its form, which starts the
// draft; it returns the case id and the form page.
func (c *client) openInterview() (string, string) {
	c.t.Helper()
	id := c.nextCase()
	return id, c.get("/cases/" + id + "/interview")
}

func TestDraftOptimisticLocking(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	id, page := c.openInterview()
	if v := formValue(page, "draft_version"); v != "1" {
		t.Fatalf("a new form starts at draft version %q", v)
	}
	// Two tabs opened the form at version 1; the first writes, the second
	// is refused and told so.
	code, out := c.saveDraft(id, 1, "q01", map[string]string{"s1": "1", "s2": "1", "district": "500103", "nonsense": "x"})
	if code != http.StatusOK || out["version"] != float64(2) {
		t.Fatalf("first write: %d %v", code, out)
	}
	code, out = c.saveDraft(id, 1, "s2", map[string]string{"s1": "1"})
	if code != http.StatusConflict || out["version"] != float64(2) || !strings.Contains(fmt.Sprint(out["error"]), "另一个窗口") {
		t.Fatalf("stale write: %d %v", code, out)
	}
	d, err := dialer.GetDraft(t.Context(), fx.db, mustID(t, id))
	if err != nil {
		t.Fatal(err)
	}
	if d.Current != "q01" || d.Answers["district"] != "500103" || d.Answers["nonsense"] != "" || d.Version != 2 {
		t.Fatalf("draft after a stale write: %+v", d)
	}
	// Reopening resumes the draft: same key, newest version, answers filled.
	again := c.get("/cases/" + id + "/interview")
	if formValue(again, "key") != formValue(page, "key") || formValue(again, "draft_version") != "2" || !strings.Contains(again, `data-current="q01"`) {
		t.Fatal("the reopened form does not resume the draft")
	}
	// Saving with answers older than the draft stores nothing.
	form := completeAnswers("500103")
	form.Set("key", formValue(page, "key"))
	form.Set("started", formValue(page, "started"))
	form.Set("draft_version", "1")
	res := c.post("/cases/"+id+"/interview", form)
	body := readAll(res)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "另一个窗口") {
		t.Fatalf("stale save: %d", res.StatusCode)
	}
	var n int
	fx.db.Get(&n, `SELECT count(*) FROM interviews`)
	if n != 0 {
		t.Fatalf("a stale save stored %d interviews", n)
	}
	// With the current version it is saved, and the draft goes with it.
	form.Set("draft_version", "2")
	if res := c.post("/cases/"+id+"/interview", form); res.Header.Get("Location") != "/calls?msg=saved" {
		t.Fatalf("save: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	fx.db.Get(&n, `SELECT count(*) FROM interview_drafts`)
	if n != 0 {
		t.Fatalf("%d drafts left after saving", n)
	}
	// The case is closed: a late draft write from the page finds nothing.
	if code, _ := c.saveDraft(id, 2, "", nil); code != http.StatusNotFound {
		t.Fatalf("draft write on a closed case: %d", code)
	}
	// Another interviewer cannot write the draft of a case they do not hold.
	other := fx.signIn(t, "interviewer2")
	oid, _ := other.openInterview()
	if code, _ := c.saveDraft(oid, 1, "", nil); code != http.StatusNotFound {
		t.Fatalf("draft write on someone else's case: %d", code)
	}
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscan(s, &id); err != nil {
		t.Fatal(err)
	}
	return id
}

// indicatorAnswers answers the screener and the first n indicators.
func indicatorAnswers(n int) map[string]string {
	a := map[string]string{"s1": "1", "s2": "1", "district": "500103"}
	for i := 1; i <= n; i++ {
		a[fmt.Sprintf("q%02d", i)] = fmt.Sprint(1 + i%5)
	}
	return a
}

func TestBreakOff(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	breakOff := func(answered map[string]string) (string, string) {
		t.Helper()
		id, _ := c.openInterview()
		if !strings.Contains(c.get("/cases/"+id), `id="breakoff"`) {
			t.Fatal("the case page of a started interview offers no break-off")
		}
		if code, out := c.saveDraft(id, 1, "", answered); code != http.StatusOK {
			t.Fatalf("draft: %d %v", code, out)
		}
		res := c.post("/cases/"+id+"/breakoff", url.Values{})
		return id, res.Header.Get("Location")
	}
	type caseRow struct {
		Status string  `db:"status"`
		Final  *string `db:"final_code"`
	}
	caseOf := func(id string) caseRow {
		var r caseRow
		if err := fx.db.Get(&r, `SELECT status, final_code FROM cases WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return r
	}

	// 7 of 13 indicators: a partial interview with what was answered.
	id, loc := breakOff(indicatorAnswers(7))
	if loc != "/calls?msg=partial" {
		t.Fatalf("7 of 13: redirect %q", loc)
	}
	if r := caseOf(id); r.Status != "final" || r.Final == nil || *r.Final != "1.2" {
		t.Fatalf("7 of 13: case %+v", r)
	}
	var iv struct {
		Partial bool   `db:"partial"`
		Answers string `db:"answers"`
	}
	if err := fx.db.Get(&iv, `SELECT partial, answers::text FROM interviews WHERE case_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if !iv.Partial || !strings.Contains(iv.Answers, `"q07": "3"`) || strings.Contains(iv.Answers, `"q08"`) {
		t.Fatalf("partial interview %+v", iv)
	}
	if page := c.get("/calls?msg=partial"); !strings.Contains(page, "部分完成") {
		t.Fatal("the calls page does not say the break-off was kept as a partial")
	}

	// 6 of 13: a break-off, nothing stored.
	id, loc = breakOff(indicatorAnswers(6))
	if r := caseOf(id); loc != "/calls?msg=breakoff" || r.Final == nil || *r.Final != "2.12" {
		t.Fatalf("6 of 13: %q, case %+v", loc, r)
	}
	// Before the indicators: back to the queue for a callback.
	id, loc = breakOff(indicatorAnswers(0))
	if r := caseOf(id); loc != "/calls?msg=callback" || r.Status != "pending" || r.Final != nil {
		t.Fatalf("before the indicators: %q, case %+v", loc, r)
	}
	var interviews, drafts int
	fx.db.Get(&interviews, `SELECT count(*) FROM interviews`)
	fx.db.Get(&drafts, `SELECT count(*) FROM interview_drafts`)
	if interviews != 1 || drafts != 0 {
		t.Fatalf("%d interviews and %d drafts after three break-offs, want 1 and 0", interviews, drafts)
	}

	// A stricter rule, as `minyi serve --partial-share 0.8` configures it,
	// makes 7 of 13 a break-off.
	fx.s.opt.PartialRule = dialer.BreakOffRule{MinShare: 0.8}
	if _, loc = breakOff(indicatorAnswers(7)); loc != "/calls?msg=breakoff" {
		t.Fatalf("7 of 13 with an 80%% rule: %q", loc)
	}
	fx.s.opt.PartialRule = dialer.BreakOffRule{}

	// A case whose questionnaire was never opened has nothing to break off.
	id = c.nextCase()
	if page := c.get("/cases/" + id); strings.Contains(page, `id="breakoff"`) {
		t.Fatal("a case not started offers a break-off")
	}
	if res := c.post("/cases/"+id+"/breakoff", url.Values{}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("break-off before the interview: %d", res.StatusCode)
	}
}

func TestScreenOutDeletesDraft(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	id, page := c.openInterview()
	form := url.Values{"q_s1": {"2"}, "key": {formValue(page, "key")}, "started": {formValue(page, "started")}, "draft_version": {"1"}}
	if res := c.post("/cases/"+id+"/interview", form); res.Header.Get("Location") != "/calls?msg=screened" {
		t.Fatalf("screen out: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	var drafts, interviews int
	var code string
	fx.db.Get(&drafts, `SELECT count(*) FROM interview_drafts`)
	fx.db.Get(&interviews, `SELECT count(*) FROM interviews`)
	fx.db.Get(&code, `SELECT final_code FROM cases WHERE id = $1`, id)
	if drafts != 0 || interviews != 0 || code != "4.70" {
		t.Fatalf("after screening out: %d drafts, %d interviews, code %q", drafts, interviews, code)
	}
}
