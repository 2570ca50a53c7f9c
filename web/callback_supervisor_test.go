package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSupervisorCallbackAttacksAndOwnInterview: a respondent calls back and reaches a
// supervisor, who finds the case by the end of its number, takes it up,
// records the respondent's agreement and completes the interview, as an
// interviewer would; the call is logged and audited. A supervisor cannot
// pull a case from an interviewer who holds it, nor open a case they have
// not taken; an administrator or office user cannot take one; a forged
// form takes nothing; and the supervisor cannot approve their own interview.
func TestSupervisorCallbackAttacksAndOwnInterview(t *testing.T) {
	fx := newFixture(t, 0.0005)
	b := fx.signIn(t, "interviewer2")
	sup := fx.signIn(t, "supervisor")

	held := b.nextCase()
	var target string
	fx.db.Get(&target, `SELECT id::text FROM cases WHERE wave_id = (SELECT id FROM waves WHERE name = $1) AND status = 'fresh' AND held_by IS NULL ORDER BY id DESC LIMIT 1`, fx.wave)
	fx.db.MustExec(`UPDATE cases SET priority = -100 WHERE id = $1`, target)
	end := uniqueEnd(t, fx, target)

	// Attacks first.
	if res := sup.post("/callbacks/"+held+"/take", url.Values{"digits": {uniqueEnd(t, fx, held)}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("a supervisor pulled a case an interviewer holds: %d", res.StatusCode)
	}
	if res := sup.do("GET", "/cases/"+held, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("a supervisor opened a case held by an interviewer: %d", res.StatusCode)
	}
	if res := sup.post("/cases/"+held+"/outcome", url.Values{"outcome": {"refusal"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("a supervisor coded a case held by an interviewer: %d", res.StatusCode)
	}
	if res := sup.post("/callbacks/"+target+"/take", url.Values{"csrf": {"forged"}, "digits": {end}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a forged take: %d", res.StatusCode)
	}
	for _, who := range []string{"admin", "office"} {
		if res := fx.signIn(t, who).post("/callbacks/"+target+"/take", url.Values{"digits": {end}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s took a case: %d", who, res.StatusCode)
		}
	}
	var holder *int64
	fx.db.Get(&holder, `SELECT held_by FROM cases WHERE id = $1`, target)
	if holder != nil {
		t.Fatalf("the case was taken by an attack (held by %d)", *holder)
	}

	// The supervisor finds, takes and continues the case.
	page := readAll(sup.post("/callbacks", url.Values{"digits": {end}}))
	if !strings.Contains(page, `action="/callbacks/`+target+`/take"`) {
		t.Fatalf("the supervisor cannot take the case from the search:\n%s", page)
	}
	res := sup.post("/callbacks/"+target+"/take", url.Values{"digits": {end}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/cases/"+target+"?msg=callback-taken" {
		t.Fatalf("take: %d %s", res.StatusCode, loc)
	}
	if page := sup.get("/cases/" + target); !strings.Contains(page, phoneOf(t, fx, target)) || !strings.Contains(page, "来电回拨") {
		t.Fatal("the taken case does not show its number and the call-back")
	}
	// Nobody else can take it now.
	if res := b.post("/callbacks/"+target+"/take", url.Values{"digits": {end}}); res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusConflict {
		t.Errorf("an interviewer pulled the case from the supervisor: %d", res.StatusCode)
	}
	if res := sup.post("/cases/"+target+"/participation", url.Values{"answer": {"yes"}}); res.Header.Get("Location") != "/cases/"+target+"/interview" {
		t.Fatalf("agreed: %d", res.StatusCode)
	}
	form := sup.get("/cases/" + target + "/interview")
	ans := completeAnswers("500103")
	ans.Set("key", formValue(form, "key"))
	ans.Set("draft_version", formValue(form, "draft_version"))
	if res := sup.post("/cases/"+target+"/interview", ans); res.Header.Get("Location") != "/callbacks?msg=saved" {
		t.Fatalf("save: %d %s %s", res.StatusCode, res.Header.Get("Location"), readAll(res))
	}
	var got struct {
		Status      string `db:"status"`
		Interviewer string `db:"interviewer"`
		Consent     string `db:"consent"`
		Taken       int    `db:"taken"`
		Logged      int    `db:"logged"`
	}
	if err := fx.db.Get(&got, `SELECT c.status,
		(SELECT u.username FROM interviews i JOIN users u ON u.id = i.interviewer_id WHERE i.case_id = c.id) AS interviewer,
		(SELECT answer FROM participation_consents WHERE case_id = c.id) AS consent,
		(SELECT count(*) FROM audit_log WHERE action = 'callback-take' AND actor = 'supervisor' AND subject = 'case:' || c.id) AS taken,
		(SELECT count(*) FROM case_notes WHERE case_id = c.id AND kind = 'callback') AS logged
		FROM cases c WHERE c.id = $1`, target); err != nil {
		t.Fatal(err)
	}
	if got.Status != "final" || got.Interviewer != "supervisor" || got.Consent != "yes" || got.Taken != 1 || got.Logged != 1 {
		t.Fatalf("after the supervisor's interview: %+v", got)
	}
	// Nobody approves their own interview.
	var iv struct {
		ID      string `db:"id"`
		Version string `db:"row_version"`
	}
	fx.db.Get(&iv, `SELECT id::text, row_version::text FROM interviews WHERE case_id = $1`, target)
	if res := sup.post("/interviews/"+iv.ID+"/review", url.Values{"action": {"approve"}, "version": {iv.Version}}); res.StatusCode != http.StatusConflict {
		t.Errorf("a supervisor approved their own interview: %d", res.StatusCode)
	}
	var review string
	fx.db.Get(&review, `SELECT review_status FROM interviews WHERE id = $1`, iv.ID)
	if review == "approved" {
		t.Error("the supervisor's own interview is approved")
	}
	if page := sup.get("/callbacks?msg=saved"); !strings.Contains(page, `id="digits"`) {
		t.Error("the supervisor is not back at the call-back search")
	}
}
