package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"minyi/dialer"
	"minyi/sampler"
	"minyi/users"
)

// withServer is the fixture served by a second server with other options
// (a clock, a dialer) on the same database.
func (fx *fixture) withServer(t *testing.T, opt Options) *fixture {
	t.Helper()
	s, err := New(fx.db, opt)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &fixture{db: fx.db, srv: srv, s: s, wave: fx.wave, users: fx.users}
}

func (fx *fixture) setRules(t *testing.T, edit func(*dialer.Rules)) {
	t.Helper()
	ctx := context.Background()
	w, err := sampler.GetWave(ctx, fx.db, fx.wave)
	if err != nil {
		t.Fatal(err)
	}
	r, err := dialer.GetRules(ctx, fx.db, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	edit(&r)
	if err := dialer.SetRules(ctx, fx.db, w.ID, r); err != nil {
		t.Fatal(err)
	}
}

// TestCallingHoursOnTheCallsPage: outside the wave's calling hours the
// next-case button hands out nothing and the interviewer reads why, and
// when calling resumes, in Chinese or English.
func TestCallingHoursOnTheCallsPage(t *testing.T) {
	fx := newFixture(t, 0.0001)
	fx.setRules(t, func(r *dialer.Rules) { r.From, r.To, r.Days = 9*60, 21*60, 0b0111110 })
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, dialer.Shanghai) // a Saturday
	sat := fx.withServer(t, Options{Now: func() time.Time { return now }})
	c := sat.signIn(t, "interviewer")
	if page := c.get("/calls"); !strings.Contains(page, "09:00–21:00（周一至周五）") {
		t.Error("the calls page does not show the calling hours")
	}
	res := c.post("/calls/next", url.Values{})
	body := readAll(res)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "现在不在本轮的拨打时段内") || !strings.Contains(body, "2026-11-30 09:00") {
		t.Fatalf("next case on a Saturday: %d\n%s", res.StatusCode, body)
	}
	c.get("/lang/en")
	if body := readAll(c.post("/calls/next", url.Values{})); !strings.Contains(body, "calling hours (09:00–21:00, Mon–Fri), so no case is handed out") {
		t.Fatalf("the English message is missing:\n%s", body)
	}
	var held int
	fx.db.Get(&held, `SELECT count(*) FROM cases WHERE held_by IS NOT NULL`)
	if held != 0 {
		t.Fatalf("%d cases handed out on a Saturday", held)
	}
	now = time.Date(2026, 11, 30, 9, 0, 0, 0, dialer.Shanghai)
	c.nextCase()
}

// fakeSwitch is a telephony integration that places the call itself.
type fakeSwitch struct{ calls []string }

func (f *fakeSwitch) Dial(_ context.Context, c *dialer.Case) (dialer.DialResult, error) {
	f.calls = append(f.calls, c.Phone)
	return dialer.DialResult{Display: c.Phone, Placed: true}, nil
}

// TestCasePageDialsThroughTheDialer: by default the number is a tel: link
// (preview dialing); another Dialer decides instead.
func TestCasePageDialsThroughTheDialer(t *testing.T) {
	fx := newFixture(t, 0.0001)
	c := fx.signIn(t, "interviewer")
	id := c.nextCase()
	var phone string
	fx.db.Get(&phone, `SELECT phone FROM cases WHERE id = $1`, id)
	if page := c.get("/cases/" + id); !strings.Contains(page, `href="tel:`+phone+`" id="dial"`) {
		t.Fatalf("the case page has no tel: link for %s", phone)
	}
	sw := &fakeSwitch{}
	c2 := fx.withServer(t, Options{Dialer: sw}).signIn(t, "interviewer")
	page := c2.get("/cases/" + id)
	if len(sw.calls) != 1 || sw.calls[0] != phone || !strings.Contains(page, `id="dial-placed"`) || strings.Contains(page, "tel:") {
		t.Fatalf("the switch placed %v; page with tel: link %v", sw.calls, strings.Contains(page, "tel:"))
	}
	for in, want := range map[string]string{"tel:+8613900001111": "tel:+8613900001111", "sip:8001@pbx": "sip:8001@pbx", "javascript:alert(1)": "", `tel:1" onclick="x`: ""} {
		if got := string(linkOf(dialer.DialResult{Href: in}).Href); got != want {
			t.Errorf("link of %q: %q, want %q", in, got, want)
		}
	}
}

// TestRulesFormAndConverters: a supervisor sets the calling rules on the
// wave page; an admin marks a refusal converter on the users page.
func TestRulesFormAndConverters(t *testing.T) {
	fx := newFixture(t, 0.0001)
	sup := fx.signIn(t, "supervisor")
	page := sup.get("/waves/" + fx.wave)
	if !strings.Contains(page, `id="calling-rules"`) || formValue(page, "hours") != "00:00–24:00" {
		t.Fatalf("the wave page does not show the rules form (hours %q)", formValue(page, "hours"))
	}
	form := url.Values{"hours": {"08:00-20:30"}, "days": {"mon-sat"}, "grace": {"20"}, "max_attempts": {"5"}, "retry_busy": {"10"},
		"retry_no_answer": {"90"}, "retry_soft_refusal": {"4320"}, "verify_share": {"0.15"}, "quota_by_sex_age": {"1"}}
	res := sup.post("/waves/"+fx.wave+"/rules", form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save rules: %d %s", res.StatusCode, readAll(res))
	}
	page = sup.get("/waves/" + fx.wave + "?msg=rules")
	for _, want := range []string{"08:00–20:30（周一至周六）", `name="max_attempts" value="5"`, `name="quota_by_sex_age" value="1" checked`, "拨打规则已保存"} {
		if !strings.Contains(page, want) {
			t.Errorf("the wave page lacks %q after saving", want)
		}
	}
	form.Set("hours", "21:00-09:00")
	if res := sup.post("/waves/"+fx.wave+"/rules", form); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(readAll(res), "拨打时段") {
		t.Fatalf("bad hours: %d", res.StatusCode)
	}

	adm := fx.signIn(t, "admin")
	id := fx.users[users.RoleInterview]
	res = adm.post("/users/"+itoa(id)+"/converter", url.Values{"converter": {"1"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark converter: %d", res.StatusCode)
	}
	if page := adm.get("/users"); !strings.Contains(page, `<span id="converter-interviewer">是</span>`) {
		t.Fatal("the users page does not show the converter")
	}
	var on bool
	fx.db.Get(&on, `SELECT refusal_converter FROM users WHERE id = $1`, id)
	if !on {
		t.Fatal("the converter flag is not stored")
	}
}

// TestVerificationAndQuotaOverHTTP: a verified complete becomes a call for
// another interviewer, with its own outcomes, seen by supervisors; an
// interview in a district whose quota is full is not kept.
func TestVerificationAndQuotaOverHTTP(t *testing.T) {
	fx := newFixture(t, 0.0005)
	fx.setRules(t, func(r *dialer.Rules) { r.VerifyShare = 1 })
	a := fx.signIn(t, "interviewer")
	id := a.nextCase()
	page := a.get("/cases/" + id + "/interview")
	form := completeAnswers("500103")
	form.Set("key", formValue(page, "key"))
	if res := a.post("/cases/"+id+"/interview", form); res.Header.Get("Location") != "/calls?msg=saved" {
		t.Fatalf("save: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	fx.db.Exec(`UPDATE verification_calls SET next_at = now() - interval '1 minute'`)
	var vid int64
	fx.db.Get(&vid, `SELECT id FROM verification_calls`)
	b := fx.signIn(t, "interviewer2")
	res := b.post("/calls/next", url.Values{})
	if loc := res.Header.Get("Location"); loc != "/verifications/"+itoa(vid) {
		t.Fatalf("interviewer2's next task: %s", loc)
	}
	if res := a.do("GET", "/verifications/"+itoa(vid), nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("the interviewer verified can open the call-back: %d", res.StatusCode)
	}
	vpage := b.get("/verifications/" + itoa(vid))
	if !strings.Contains(vpage, `href="tel:`) || !strings.Contains(vpage, "确认接受过访问") {
		t.Fatal("the verification page lacks its number or outcomes")
	}
	if res := b.post("/verifications/"+itoa(vid)+"/outcome", url.Values{"outcome": {"confirmed"}, "note": {"上周接过"}}); res.Header.Get("Location") != "/calls?msg=verified" {
		t.Fatalf("verification outcome: %d", res.StatusCode)
	}
	sup := fx.signIn(t, "supervisor").get("/waves/" + fx.wave + "/supervision")
	for _, want := range []string{`id="verifications"`, "V" + itoa(vid), "上周接过", "已确认"} {
		if !strings.Contains(sup, want) {
			t.Errorf("supervision page lacks %q", want)
		}
	}
	// The filter's choices name every reason: look at the list itself.
	toReview := func() string {
		return regexp.MustCompile(`(?s)id="to-review".*?</table>`).FindString(fx.signIn(t, "supervisor").get("/waves/" + fx.wave + "/reviews"))
	}
	if strings.Contains(toReview(), "回访未确认") {
		t.Error("a confirmed interview is flagged as not confirmed")
	}
	// Had the respondent denied it, the interview would be up for review.
	fx.db.Exec(`UPDATE verification_calls SET result = 'not_confirmed' WHERE id = $1`, vid)
	if !strings.Contains(toReview(), "回访未确认") {
		t.Error("the review list does not show the interview its respondent denied")
	}

	// 500104's telephone target is 0: an interview naming it is not kept.
	fx.db.Exec(`UPDATE allocations SET target = door_target WHERE district_code = '500104'`)
	id = a.nextCase()
	page = a.get("/cases/" + id + "/interview")
	form = completeAnswers("500104")
	form.Set("key", formValue(page, "key"))
	res = a.post("/cases/"+id+"/interview", form)
	if loc := res.Header.Get("Location"); loc != "/calls?msg=quotafull" {
		t.Fatalf("an interview in a full district: %d %s", res.StatusCode, loc)
	}
	if !strings.Contains(a.get("/calls?msg=quotafull"), "配额已满") {
		t.Error("the calls page does not say the quota is full")
	}
	var code string
	fx.db.Get(&code, `SELECT final_code FROM cases WHERE id = $1`, id)
	if code != "4.80" {
		t.Fatalf("its case ended as %q, want 4.80", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
