package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"minyi/core"
	"minyi/survey"
)

// completeOne has the interviewer take a case and save a full interview,
// with paradata when given; it returns the interview's id.
func completeOne(t *testing.T, fx *fixture, c *client, paradata string) int64 {
	t.Helper()
	id, page := c.openInterview()
	form := completeAnswers("500103")
	form.Set("key", formValue(page, "key"))
	form.Set("started", formValue(page, "started"))
	form.Set("draft_version", formValue(page, "draft_version"))
	if paradata != "" {
		form.Set("paradata", paradata)
	}
	if res := c.post("/cases/"+id+"/interview", form); res.Header.Get("Location") != "/calls?msg=saved" {
		t.Fatalf("save: %d %s", res.StatusCode, readAll(res))
	}
	var iv int64
	if err := fx.db.Get(&iv, `SELECT id FROM interviews WHERE case_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return iv
}

func editForm(ans url.Values, version int, note string) url.Values {
	f := url.Values{}
	for k, v := range ans {
		f[k] = v
	}
	f.Set("version", strconv.Itoa(version))
	f.Set("note", note)
	return f
}

// TestReviewSendBackCorrectAndInvalid walks an interview through review:
// sent back with a note, corrected by its interviewer, a stale edit by the
// supervisor refused, marked invalid and left out of the scores; every
// change keeps its old and new value, who and when, in the audit log too.
func TestReviewSendBackCorrectAndInvalid(t *testing.T) {
	fx := newFixture(t, 0.0005)
	ctx := context.Background()
	iv := completeOne(t, fx, fx.signIn(t, "interviewer"), "")
	path := "/interviews/" + strconv.FormatInt(iv, 10)
	sup := fx.signIn(t, "supervisor")
	owner := fx.signIn(t, "interviewer")
	other := fx.signIn(t, "interviewer2")

	page := sup.get(path)
	if !strings.Contains(page, "未复核") || !strings.Contains(page, `id="approve"`) {
		t.Fatalf("review page:\n%s", page)
	}
	// Before it is sent back, not even its interviewer may open it; another
	// interviewer never.
	for _, c := range []*client{owner, other} {
		if res := c.do("GET", path, nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("interviewer opened an interview not sent back: %d", res.StatusCode)
		}
	}

	// Sending back needs a note.
	res := sup.post(path+"/review", url.Values{"action": {"return"}, "version": {"1"}})
	if body := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "须写明原因") {
		t.Fatalf("send back without a note: %d", res.StatusCode)
	}
	res = sup.post(path+"/review", url.Values{"action": {"return"}, "version": {"1"}, "note": {"第1题请再核实"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send back: %d %s", res.StatusCode, readAll(res))
	}
	if list := owner.get("/returned"); !strings.Contains(list, "第1题请再核实") || !strings.Contains(list, path) {
		t.Fatalf("returned list:\n%s", list)
	}
	if res := other.do("GET", path, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("another interviewer opened it: %d", res.StatusCode)
	}
	if res := other.post(path+"/answers", editForm(completeAnswers("500103"), 2, "")); res.StatusCode != http.StatusNotFound {
		t.Fatalf("another interviewer edited it: %d", res.StatusCode)
	}

	// The supervisor's page shows version 2. Meanwhile the interviewer
	// corrects q01; a bad answer first stores nothing.
	ans := completeAnswers("500103")
	ans.Set("q_q01", "77")
	res = owner.post(path+"/answers", editForm(ans, 2, ""))
	if body := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "需要改正") {
		t.Fatalf("bad correction: %d", res.StatusCode)
	}
	ans.Set("q_q01", "5")
	res = owner.post(path+"/answers", editForm(ans, 2, "受访者改口"))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/returned?msg=corrected" {
		t.Fatalf("correction: %d %s", res.StatusCode, readAll(res))
	}
	// The supervisor's edit from the stale page is refused, and the page
	// shows the interviewer's answer.
	stale := completeAnswers("500103")
	stale.Set("q_q01", "1")
	res = sup.post(path+"/answers", editForm(stale, 2, ""))
	body := readAll(res)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "已被他人修改") {
		t.Fatalf("stale edit: %d", res.StatusCode)
	}
	stored, err := survey.GetInterview(ctx, fx.db, iv)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Answers["q01"] != "5" || stored.ReviewStatus != survey.ReviewCorrected || stored.Version != 3 {
		t.Fatalf("after the stale edit: q01=%s status=%s version=%d", stored.Answers["q01"], stored.ReviewStatus, stored.Version)
	}
	if !strings.Contains(body, `name="version" value="3"`) {
		t.Fatal("the conflict page does not carry the newest version")
	}
	// Corrected interviews come back to the review list.
	if list := sup.get("/waves/" + fx.wave + "/reviews"); !strings.Contains(list, path) {
		t.Fatal("corrected interview not in the review list")
	}

	// Marked invalid with a reason: out of the scores, never deleted.
	_, q, err := survey.WaveQuestionnaire(ctx, fx.db, fx.wave)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := survey.Respondents(ctx, fx.db, stored.WaveID, q)
	res = sup.post(path+"/review", url.Values{"action": {"invalid"}, "version": {"3"}, "note": {"录音核实为代答"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("invalid: %d %s", res.StatusCode, readAll(res))
	}
	after, _ := survey.Respondents(ctx, fx.db, stored.WaveID, q)
	if len(before) != 1 || len(after) != 0 {
		t.Fatalf("respondents before %d after %d, want 1 and 0", len(before), len(after))
	}
	if _, err := fx.db.Exec(`DELETE FROM interviews WHERE id = $1`, iv); err == nil {
		t.Fatal("an interview could be deleted")
	}

	// The history: who changed what from what to what.
	changes, err := survey.InterviewChanges(ctx, fx.db, iv)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.By+":"+c.Field+":"+c.Old+"→"+c.New)
	}
	want := []string{"supervisor:review_status:none→returned", "interviewer:q01:2→5", "interviewer:review_status:returned→corrected", "supervisor:review_status:corrected→invalid"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("changes:\n%v\nwant\n%v", got, want)
	}
	if page := sup.get(path); !strings.Contains(page, "受访者改口") || !strings.Contains(page, "录音核实为代答") {
		t.Fatal("the review page does not show the history")
	}
	var audited []string
	fx.db.Select(&audited, `SELECT details::text FROM audit_log WHERE action = 'interview-change' AND subject = $1 ORDER BY seq`, "interview:"+strconv.FormatInt(iv, 10))
	if len(audited) != 3 || !strings.Contains(audited[1], `"old": "2"`) || !strings.Contains(audited[1], `"new": "5"`) {
		t.Fatalf("audit entries: %v", audited)
	}
	if rep, err := core.VerifyAudit(ctx, fx.db); err != nil || len(rep.Problems) > 0 {
		t.Fatalf("audit chain: %v %v", err, rep.Problems)
	}
	// Office users and field interviewers cannot review.
	if res := fx.signIn(t, "office").post(path+"/review", url.Values{"action": {"approve"}, "version": {"4"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("office reviewed: %d", res.StatusCode)
	}
}

// TestParadataStoredShownAndExported: the paradata the page sends is kept
// (only what fits the questionnaire), shown to supervisors and exported on
// its own; without it the draft's paradata is kept.
func TestParadataStoredShownAndExported(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	pd := `{"device":"1280x800","question_ms":{"q01":1500,"s1":2500,"nosuch":99,"q02":-5},
	        "changes":[{"q":"q01","from":"1","to":"2","t":4000},{"q":"nosuch","from":"1","to":"2","t":1}]}`
	iv := completeOne(t, fx, c, pd)
	var device, qms, changes string
	if err := fx.db.QueryRow(`SELECT device, question_ms::text, changes::text FROM interview_paradata WHERE interview_id = $1`, iv).Scan(&device, &qms, &changes); err != nil {
		t.Fatal(err)
	}
	if device != "computer 1280x800" || qms != `{"s1": 2500, "q01": 1500}` || !strings.Contains(changes, `"q": "q01"`) || strings.Contains(changes, "nosuch") {
		t.Fatalf("paradata: %q %s %s", device, qms, changes)
	}

	// Without the script the draft's paradata is what is kept.
	id, page := c.openInterview()
	b, _ := json.Marshal(map[string]any{"version": 1, "current": "q02", "answers": map[string]string{"s1": "1"},
		"paradata": map[string]any{"device": "390x844", "question_ms": map[string]int{"s1": 700}}})
	req, _ := http.NewRequest("POST", fx.srv.URL+"/cases/"+id+"/draft", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	if res, err := c.http.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("draft: %v", err)
	}
	form := completeAnswers("500104")
	form.Set("key", formValue(page, "key"))
	form.Set("started", formValue(page, "started"))
	if res := c.post("/cases/"+id+"/interview", form); res.Header.Get("Location") != "/calls?msg=saved" {
		t.Fatalf("save: %d", res.StatusCode)
	}
	if err := fx.db.QueryRow(`SELECT p.question_ms::text FROM interview_paradata p JOIN interviews i ON i.id = p.interview_id WHERE i.case_id = $1`, id).Scan(&qms); err != nil || qms != `{"s1": 700}` {
		t.Fatalf("paradata from the draft: %q %v", qms, err)
	}

	sup := fx.signIn(t, "supervisor")
	if page := sup.get("/interviews/" + strconv.FormatInt(iv, 10)); !strings.Contains(page, "computer 1280x800") || !strings.Contains(page, "<td class=\"n\">1.5</td>") {
		t.Fatalf("paradata not shown:\n%s", page)
	}
	res := sup.do("GET", "/waves/"+fx.wave+"/export/paradata?header=codes", nil)
	csv := readAll(res)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimPrefix(csv, "\ufeff"), strings.Join(survey.ParadataHeader, ",")+"\r\n") {
		t.Fatalf("paradata export: %d\n%s", res.StatusCode, csv)
	}
	if !strings.Contains(csv, ",interviewer,phone,") || !strings.Contains(csv, ",q01,1.5,1\r\n") || !strings.Contains(csv, ",s1,2.5,0\r\n") {
		t.Fatalf("paradata rows:\n%s", csv)
	}
	// Answers are not in it, and the office may not have it.
	if strings.Contains(csv, "500103") {
		t.Fatal("paradata export carries answers")
	}
	if res := fx.signIn(t, "office").do("GET", "/waves/"+fx.wave+"/export/paradata", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("office downloaded paradata: %d", res.StatusCode)
	}
}
