package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"minyi/users"
)

// TestEveryRouteEveryRole checks the route table against every role and an
// anonymous visitor: allowed roles pass the gate, other roles get 403, and
// anonymous visitors are sent to sign in (a GET) or refused with 401 and a
// link to sign in (anything else).
func TestEveryRouteEveryRole(t *testing.T) {
	fx := newFixture(t, 0.0001)
	ctx := context.Background()
	for _, r := range fx.s.Routes() {
		path := strings.NewReplacer(":wave", fx.wave, ":id", "1", ":file", "app.css", ":lang", "en", ":kind", "codebook").Replace(r.Path)
		if r.Roles == nil {
			continue
		}
		// Anonymous.
		res := rawRequest(t, fx, r.Method, path, "", "")
		if !isUnsafe(r.Method) && (res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=")) {
			t.Errorf("%s %s anonymous: got %d %s, want redirect to sign-in", r.Method, r.Path, res.StatusCode, res.Header.Get("Location"))
		}
		if isUnsafe(r.Method) && res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s anonymous: got %d, want 401", r.Method, r.Path, res.StatusCode)
		}
		for _, role := range users.Roles {
			token, err := users.StartSession(ctx, fx.db, fx.users[role])
			if err != nil {
				t.Fatal(err)
			}
			u, err := users.SessionUser(ctx, fx.db, token)
			if err != nil {
				t.Fatal(err)
			}
			res := rawRequest(t, fx, r.Method, path, token, u.CSRF)
			loc := res.Header.Get("Location")
			gated := res.StatusCode == http.StatusForbidden || strings.HasPrefix(loc, "/login?next=")
			if hasRole(r.Roles, role) && gated {
				t.Errorf("%s %s as %s: got %d %s, want allowed", r.Method, r.Path, role, res.StatusCode, loc)
			}
			if !hasRole(r.Roles, role) && res.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s as %s: got %d, want 403", r.Method, r.Path, role, res.StatusCode)
			}
			// A state-changing request without the CSRF token is refused
			// even for an allowed role.
			if isUnsafe(r.Method) && hasRole(r.Roles, role) {
				token, err := users.StartSession(ctx, fx.db, fx.users[role])
				if err != nil {
					t.Fatal(err)
				}
				res := rawRequest(t, fx, r.Method, path, token, "")
				if res.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s as %s without CSRF token: got %d, want 403", r.Method, r.Path, role, res.StatusCode)
				}
			}
		}
	}
}

func rawRequest(t *testing.T, fx *fixture, method, path, session, csrf string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, fx.srv.URL+path, strings.NewReader(""))
	if session != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func TestSessionCookieFlagsAndHeaders(t *testing.T) {
	fx := newFixture(t, 0)
	c := fx.signIn(t, "admin")
	_ = c
	// Sign in again by hand to see the Set-Cookie header.
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Get(fx.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options"} {
		if res.Header.Get(h) == "" {
			t.Errorf("missing header %s", h)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	var found bool
	for _, ck := range c.http.Jar.Cookies(mustURL(fx.srv.URL)) {
		if ck.Name == sessionCookie {
			found = true
		}
	}
	if !found {
		t.Fatal("no session cookie after sign-in")
	}
	// The raw Set-Cookie of a sign-in.
	body := c.get("/login") // signed in: redirect, but sets nothing
	_ = body
	jarless := &client{t: t, fx: fx, http: cl}
	page := jarless.get("/login")
	token := formValue(page, "csrf")
	req, _ := http.NewRequest("POST", fx.srv.URL+"/login", strings.NewReader("username=admin&password="+strings.ReplaceAll(testPassword, " ", "+")+"&csrf="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: loginCSRF, Value: token})
	res, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := strings.Join(res.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(sc, sessionCookie+"=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Fatalf("session cookie flags: %s", sc)
	}
}
