package web

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"minyi/users"
)

var issuedPassword = regexp.MustCompile(`<code id="issued-password">([^<]+)</code>`)

// signInWith signs in through the form with a given password and returns
// the client and the response.
func (fx *fixture) signInWith(t *testing.T, username, password string) (*client, *http.Response) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, fx: fx, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	token := formValue(c.get("/login"), "csrf")
	res := c.post("/login", url.Values{"csrf": {token}, "username": {username}, "password": {password}})
	res.Body.Close()
	return c, res
}

func auditActions(t *testing.T, fx *fixture, subject string) string {
	var as []string
	if err := fx.db.Select(&as, `SELECT action FROM audit_log WHERE subject = $1 ORDER BY seq`, subject); err != nil {
		t.Fatal(err)
	}
	return strings.Join(as, ",")
}

// TestUserManagement: an admin creates an account, whose temporary
// password must be replaced before anything else; resets it; ends its
// sessions; deactivates it (its open session stops at once) and activates
// it again; every action is audited, admins cannot deactivate themselves,
// and nobody else may do any of it.
func TestUserManagement(t *testing.T) {
	fx := newFixture(t, 0.0001)
	adm := fx.signIn(t, "admin")

	// Create: the temporary password is shown once.
	res := adm.post("/users", url.Values{"username": {"wang.fang"}, "display_name": {"王芳"}, "role": {"interviewer"}})
	page := readAll(res)
	m := issuedPassword.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("create user: %d\n%s", res.StatusCode, page)
	}
	temp := m[1]
	if again := adm.get("/users"); strings.Contains(again, temp) {
		t.Fatal("the temporary password is shown again")
	}
	res = adm.post("/users", url.Values{"username": {"wang.fang"}, "role": {"interviewer"}})
	if page := readAll(res); res.StatusCode != http.StatusConflict || !strings.Contains(page, "已被使用") {
		t.Errorf("a taken username: %d", res.StatusCode)
	}
	res = adm.post("/users", url.Values{"username": {"王芳"}, "role": {"interviewer"}})
	if page := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "用户名须为") {
		t.Errorf("a username of Chinese characters: %d", res.StatusCode)
	}

	// The new user can do nothing but replace the temporary password.
	wang, res := fx.signInWith(t, "wang.fang", temp)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with the temporary password: %d", res.StatusCode)
	}
	if r := wang.do("GET", "/calls", nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/password" {
		t.Fatalf("with a temporary password /calls gave %d %s, want the password page", r.StatusCode, r.Header.Get("Location"))
	}
	pw := readAll(wang.do("GET", "/password", nil))
	if !strings.Contains(pw, `id="must-change"`) {
		t.Fatal("the password page does not say the password must be changed")
	}
	wang.csrf = formValue(pw, "csrf")
	if r := wang.post("/calls/next", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("with a temporary password POST /calls/next gave %d, want 403", r.StatusCode)
	}
	const own = "rain on the jialing river"
	if r := wang.post("/password", url.Values{"current": {temp}, "new": {own}, "repeat": {own}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("change the temporary password: %d %s", r.StatusCode, readAll(r))
	}
	if r := wang.do("GET", "/calls", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("/calls after the change: %d", r.StatusCode)
	}

	id := func(name string) string {
		var n int64
		fx.db.Get(&n, `SELECT id FROM users WHERE username = $1`, name)
		return strconv.FormatInt(n, 10)
	}
	wid := id("wang.fang")

	// Nobody but an admin may manage users.
	sup := fx.signIn(t, "supervisor")
	for _, p := range []string{"/users", "/users/" + wid + "/deactivate", "/users/" + wid + "/activate", "/users/" + wid + "/reset", "/users/" + wid + "/signout"} {
		if r := sup.post(p, url.Values{"username": {"evil"}, "role": {"admin"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("supervisor POST %s: %d, want 403", p, r.StatusCode)
		}
	}

	// End all sessions: the open one stops at once.
	if r := adm.post("/users/"+wid+"/signout", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end sessions: %d", r.StatusCode)
	}
	if r := wang.do("GET", "/calls", nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("a session after it was ended: %d %s", r.StatusCode, r.Header.Get("Location"))
	}

	// Deactivate: the session stops at once and sign-in fails.
	wang, _ = fx.signInWith(t, "wang.fang", own)
	if r := adm.post("/users/"+wid+"/deactivate", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", r.StatusCode)
	}
	if r := wang.do("GET", "/calls", nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("the session of a deactivated user: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if _, r := fx.signInWith(t, "wang.fang", own); r.StatusCode == http.StatusSeeOther {
		t.Fatal("a deactivated user signed in")
	}
	if r := adm.post("/users/"+wid+"/activate", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("activate: %d", r.StatusCode)
	}
	if _, r := fx.signInWith(t, "wang.fang", own); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in after activation: %d", r.StatusCode)
	}

	// Reset: a new temporary password, to be changed again.
	res = adm.post("/users/"+wid+"/reset", url.Values{})
	m = issuedPassword.FindStringSubmatch(readAll(res))
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("reset: %d", res.StatusCode)
	}
	if _, r := fx.signInWith(t, "wang.fang", own); r.StatusCode == http.StatusSeeOther {
		t.Fatal("the old password still works after a reset")
	}
	wang, _ = fx.signInWith(t, "wang.fang", m[1])
	if r := wang.do("GET", "/calls", nil); r.Header.Get("Location") != "/password" {
		t.Fatalf("after a reset /calls: %d %s, want the password page", r.StatusCode, r.Header.Get("Location"))
	}

	// Admins cannot deactivate or reset themselves.
	aid := id("admin")
	for _, p := range []string{"/users/" + aid + "/deactivate", "/users/" + aid + "/reset"} {
		if r := adm.post(p, url.Values{}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("admin POST %s on themselves: %d, want 422", p, r.StatusCode)
		}
	}
	var active bool
	fx.db.Get(&active, `SELECT active FROM users WHERE username = 'admin'`)
	if !active {
		t.Fatal("the admin deactivated themselves")
	}

	want := "user-add,user-sessions-end,user-deactivate,user-activate,user-password-reset"
	if got := auditActions(t, fx, "wang.fang"); got != want {
		t.Errorf("audit of the account: %s, want %s", got, want)
	}
	var changes int
	fx.db.Get(&changes, `SELECT count(*) FROM audit_log WHERE action = 'password-change' AND actor = 'wang.fang'`)
	if changes != 1 {
		t.Errorf("%d password changes audited, want 1", changes)
	}
}

// TestPasswordRules: a short password, the username, and a common one are
// refused in the user's language; the current password is required.
func TestPasswordRules(t *testing.T) {
	fx := newFixture(t, 0)
	c := fx.signIn(t, "supervisor")
	cases := []struct{ pw, zh, en string }{
		{"short1", "至少需要 10 个字符", "at least 10 characters"},
		{"Supervisor", "不能与用户名相同", "may not be the username"},
		{"1234567890", "最常见的一万个密码", "10,000 most common"},
		{"Qwertyuiop", "最常见的一万个密码", "10,000 most common"},
	}
	for _, lang := range []string{"zh", "en"} {
		c.http.Jar.SetCookies(mustURL(fx.srv.URL), []*http.Cookie{{Name: "lang", Value: lang, Path: "/"}})
		for _, k := range cases {
			if k.pw == "Supervisor" {
				k.pw = "supervisor"
			}
			res := c.post("/password", url.Values{"current": {testPassword}, "new": {k.pw}, "repeat": {k.pw}})
			page := readAll(res)
			want, other := k.zh, k.en
			if lang == "en" {
				want, other = k.en, k.zh
			}
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, want) || strings.Contains(page, other) {
				t.Errorf("%s: new password %q: %d, want 422 saying %q only", lang, k.pw, res.StatusCode, want)
			}
		}
	}
	res := c.post("/password", url.Values{"current": {"not my password"}, "new": {"a perfectly fine one"}, "repeat": {"a perfectly fine one"}})
	if page := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "current password is wrong") {
		t.Errorf("a wrong current password: %d", res.StatusCode)
	}
	if _, err := users.Add(t.Context(), fx.db, "li.lei", "", "password", users.RoleOffice); err == nil {
		t.Error("users.Add accepted the password \"password\"")
	}
	if !users.IsCommonPassword("PASSWORD") || users.IsCommonPassword(testPassword) {
		t.Error("the common-password list is not read as it should be")
	}
}
