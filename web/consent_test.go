package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"minyi/sql/pg"
	"minyi/survey"
)

// TestConsentScriptOnTheCasePage: the case page shows the questionnaire's
// introduction and consent script; the respondent's answer is stored with
// who read it, when and from which questionnaire version, and audited. An
// agreement opens the questionnaire; a refusal codes the case a refusal in
// the same step. Nobody but the case's interviewer can record an answer.
func TestConsentScriptOnTheCasePage(t *testing.T) {
	fx := newFixture(t, 0.0005)
	a := fx.signIn(t, "interviewer")
	b := fx.signIn(t, "interviewer2")
	sup := fx.signIn(t, "supervisor")
	intro := survey.Default().Introduction.ZH

	id := a.nextCase()
	page := a.get("/cases/" + id)
	if !strings.Contains(page, intro) || !strings.Contains(page, survey.DefaultConsent.ZH) || !strings.Contains(page, `id="consent-declined"`) {
		t.Fatalf("the case page does not show the introduction and the consent script:\n%s", page)
	}

	// Attacks first: another interviewer, a supervisor and a field
	// interviewer (neither holds the case), a forged form,
	// an answer that is neither.
	if res := b.post("/cases/"+id+"/participation", url.Values{"answer": {"yes"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("consent on another interviewer's case: %d", res.StatusCode)
	}
	if res := sup.post("/cases/"+id+"/participation", url.Values{"answer": {"yes"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("consent by a supervisor on a case they do not hold: %d", res.StatusCode)
	}
	field := fx.signIn(t, "field_interviewer")
	if res := field.post("/cases/"+id+"/participation", url.Values{"answer": {"yes"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("consent by a field interviewer: %d", res.StatusCode)
	}
	if res := a.post("/cases/"+id+"/participation", url.Values{"csrf": {"forged"}, "answer": {"yes"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("consent with a forged token: %d", res.StatusCode)
	}
	res := a.post("/cases/"+id+"/participation", url.Values{"answer": {"maybe"}})
	if body := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "请记录受访者是否同意接受访问") {
		t.Errorf("an answer that is neither: %d", res.StatusCode)
	}
	var n int
	fx.db.Get(&n, `SELECT count(*) FROM participation_consents`)
	if n != 0 {
		t.Fatalf("%d answers stored by the attempts", n)
	}

	// Agreed: the questionnaire opens, the answer is kept.
	res = a.post("/cases/"+id+"/participation", url.Values{"answer": {"yes"}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/cases/"+id+"/interview" {
		t.Fatalf("agreed: %d to %q", res.StatusCode, loc)
	}
	var got struct {
		Answer        string `db:"answer"`
		Interviewer   string `db:"username"`
		Questionnaire bool   `db:"same_questionnaire"`
		Recent        bool   `db:"recent"`
	}
	if err := fx.db.Get(&got, `SELECT p.answer, u.username, p.questionnaire_id = w.questionnaire_id AS same_questionnaire, p.created_at > now() - interval '1 minute' AS recent
		FROM participation_consents p JOIN users u ON u.id = p.interviewer_id JOIN cases c ON c.id = p.case_id JOIN waves w ON w.id = c.wave_id
		WHERE p.case_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if got.Answer != "yes" || got.Interviewer != "interviewer" || !got.Questionnaire || !got.Recent {
		t.Fatalf("stored: %+v", got)
	}
	if page := a.get("/cases/" + id); !strings.Contains(page, "受访者同意") {
		t.Error("the case page does not show the answer recorded")
	}

	// Declined: the case is a final refusal, answered in the same step.
	a.post("/cases/"+id+"/outcome", url.Values{"outcome": {"busy"}})
	id2 := a.nextCase()
	if id2 == id {
		t.Fatal("the same case again")
	}
	a.csrf = formValue(a.get("/cases/"+id2), "csrf")
	if res := a.post("/cases/"+id2+"/participation", url.Values{"answer": {"no"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("declined: %d", res.StatusCode)
	}
	var c struct {
		Status string `db:"status"`
		Final  string `db:"final_code"`
		Last   string `db:"outcome"`
		Answer string `db:"answer"`
	}
	if err := fx.db.Get(&c, `SELECT k.status, coalesce(k.final_code, '') AS final_code,
		(SELECT outcome FROM attempts WHERE case_id = k.id ORDER BY id DESC LIMIT 1) AS outcome,
		(SELECT answer FROM participation_consents WHERE case_id = k.id) AS answer
		FROM cases k WHERE k.id = $1`, id2); err != nil {
		t.Fatal(err)
	}
	if c.Status != "final" || c.Final != "2.11" || c.Last != "refusal" || c.Answer != "no" {
		t.Fatalf("after a refusal of consent: %+v", c)
	}
	var audited int
	fx.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'participation-consent' AND actor = 'interviewer'`)
	if audited != 2 {
		t.Errorf("%d answers audited, want 2", audited)
	}
	// The case is no longer theirs: a second answer is refused.
	if res := a.post("/cases/"+id2+"/participation", url.Values{"answer": {"yes"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("an answer on a closed case: %d", res.StatusCode)
	}

	// The server's role may only append.
	for _, q := range []string{`UPDATE participation_consents SET answer = 'yes'`, `DELETE FROM participation_consents`} {
		tx := fx.db.MustBegin()
		tx.MustExec(`SET LOCAL ROLE ` + pg.AppRole)
		if _, err := tx.Exec(q); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as the server's role: %v", q, err)
		}
		tx.Rollback()
	}
}

// TestInterviewWithoutConsentIsFlagged: a telephone interview submitted
// without the respondent's agreement recorded on its case is flagged to
// whoever reviews it, and one with the agreement shows who recorded it.
func TestInterviewWithoutConsentIsFlagged(t *testing.T) {
	fx := newFixture(t, 0.0005)
	a := fx.signIn(t, "interviewer")
	sup := fx.signIn(t, "supervisor")

	without := completeOne(t, fx, a, "")
	page := sup.get("/interviews/" + strconv.FormatInt(without, 10))
	if !strings.Contains(page, `id="no-consent"`) || !strings.Contains(page, "未记录受访者同意接受访问") {
		t.Errorf("an interview without consent is not flagged:\n%s", page)
	}

	id := a.nextCase()
	a.csrf = formValue(a.get("/cases/"+id), "csrf")
	if res := a.post("/cases/"+id+"/participation", url.Values{"answer": {"yes"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("agreed: %d", res.StatusCode)
	}
	form := a.get("/cases/" + id + "/interview")
	ans := completeAnswers("500103")
	ans.Set("key", formValue(form, "key"))
	ans.Set("draft_version", formValue(form, "draft_version"))
	if res := a.post("/cases/"+id+"/interview", ans); res.Header.Get("Location") != "/calls?msg=saved" {
		t.Fatalf("save: %d %s", res.StatusCode, readAll(res))
	}
	var with int64
	if err := fx.db.Get(&with, `SELECT id FROM interviews WHERE case_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	page = sup.get("/interviews/" + strconv.FormatInt(with, 10))
	if strings.Contains(page, `id="no-consent"`) {
		t.Error("an interview with consent is flagged")
	}
	if i := strings.Index(page, `id="participation"`); i < 0 || !strings.Contains(page[i:], "同意 · ") || !strings.Contains(page[i:], "interviewer") {
		t.Errorf("the agreement is not shown on the interview:\n%s", page)
	}
}
