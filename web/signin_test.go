package web

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"minyi/users"
)

// attempt is one sign-in as a browser makes it (the form's double-submit
// token in a cookie and the form), with extra headers such as a proxy's.
type attempt struct {
	status     int
	retryAfter int // seconds; 0 when absent
	page       string
}

func signInAt(t *testing.T, base, username, password string, header http.Header) attempt {
	t.Helper()
	const token = "test-login-token"
	form := url.Values{"csrf": {token}, "username": {username}, "password": {password}}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: loginCSRF, Value: token})
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	a := attempt{status: res.StatusCode}
	a.retryAfter, _ = strconv.Atoi(res.Header.Get("Retry-After"))
	a.page = readAll(res)
	return a
}

func from(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }

// behindProxy is a second server on the fixture's database that trusts
// the loopback addresses as its reverse proxy.
func behindProxy(t *testing.T, fx *fixture, ranges ...string) string {
	t.Helper()
	var nets []*net.IPNet
	for _, r := range ranges {
		_, n, err := net.ParseCIDR(r)
		if err != nil {
			t.Fatal(err)
		}
		nets = append(nets, n)
	}
	s, err := New(fx.db, Options{TrustedProxies: nets})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func checkedAttempts(t *testing.T, fx *fixture, username string) int {
	var n int
	if err := fx.db.Get(&n, `SELECT count(*) FROM sign_in_attempts WHERE username = $1`, username); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestParallelGuessesAreThrottledAtomically: 200 wrong passwords for one
// account at once from one address; no more than the free failures reach
// bcrypt, and every other one gets 429 with Retry-After. The account's
// owner still signs in from another address.
func TestParallelGuessesAreThrottledAtomically(t *testing.T) {
	fx := newFixture(t, 0)
	base := behindProxy(t, fx, "127.0.0.0/8")
	const n = 200
	results := make([]attempt, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = signInAt(t, base, "supervisor", fmt.Sprintf("guess number %d", i), from("203.0.113.7"))
		}()
	}
	wg.Wait()
	wrong, throttled := 0, 0
	for _, a := range results {
		switch {
		case a.status == http.StatusUnauthorized:
			wrong++
		case a.status == http.StatusTooManyRequests && a.retryAfter > 0 && strings.Contains(a.page, "登录失败次数过多"):
			throttled++
		default:
			t.Errorf("a guess got %d (Retry-After %d)", a.status, a.retryAfter)
		}
	}
	checked := checkedAttempts(t, fx, "supervisor")
	if wrong > users.PairLimit.Free || checked > users.PairLimit.Free || wrong+throttled != n {
		t.Fatalf("%d guesses were checked (%d rows), %d throttled; at most %d may reach bcrypt", wrong, checked, throttled, users.PairLimit.Free)
	}
	if a := signInAt(t, base, "supervisor", testPassword, from("203.0.113.7")); a.status != http.StatusTooManyRequests {
		t.Errorf("the guessing address signed in while throttled: %d", a.status)
	}
	if a := signInAt(t, base, "supervisor", testPassword, from("198.51.100.20")); a.status != http.StatusSeeOther {
		t.Fatalf("the owner from another address: %d %s", a.status, a.page)
	}
}

// TestBackOffGrowsAndIsCapped: after the free failures each wait doubles,
// up to the cap and no further; waiting it out lets the right password in,
// and the success is audited with the failures and refusals before it.
// (Replaces the old rule, under which five failures from anywhere locked
// an account for 15 minutes.)
func TestBackOffGrowsAndIsCapped(t *testing.T) {
	fx := newFixture(t, 0)
	base := fx.srv.URL
	l := users.PairLimit
	for i := 1; i <= l.Free; i++ {
		if a := signInAt(t, base, "office", "wrong password", nil); a.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, a.status)
		}
	}
	passTime := func() {
		if _, err := fx.db.Exec(`UPDATE sign_in_throttle SET blocked_until = now() - interval '1 second' WHERE blocked_until IS NOT NULL`); err != nil {
			t.Fatal(err)
		}
	}
	want := l.Base
	var waits []int
	for round := 0; round < 8; round++ {
		a := signInAt(t, base, "office", testPassword, nil)
		if a.status != http.StatusTooManyRequests {
			t.Fatalf("round %d: the right password during the wait got %d, want 429", round, a.status)
		}
		waits = append(waits, a.retryAfter)
		if d := a.retryAfter - int(want.Seconds()); d < -3 || d > 1 {
			t.Errorf("round %d: Retry-After %d, want about %v", round, a.retryAfter, want)
		}
		passTime()
		if a := signInAt(t, base, "office", "wrong again", nil); a.status != http.StatusUnauthorized {
			t.Fatalf("round %d: a guess after the wait: %d", round, a.status)
		}
		want = min(2*want, l.Cap)
	}
	if waits[len(waits)-1] > int(l.Cap.Seconds()) {
		t.Errorf("waits %v pass the cap %v", waits, l.Cap)
	}
	passTime()
	if a := signInAt(t, base, "office", testPassword, nil); a.status != http.StatusSeeOther {
		t.Fatalf("the right password after the wait: %d", a.status)
	}
	var details string
	fx.db.Get(&details, `SELECT details::text FROM audit_log WHERE action = 'sign-in' AND actor = 'office' ORDER BY seq DESC LIMIT 1`)
	if !strings.Contains(details, `"failed_before": 13`) || !strings.Contains(details, `"refused_before": 8`) {
		t.Errorf("the sign-in's audit entry: %s, want 13 failures and 8 refusals before it", details)
	}
	// The success starts the account afresh.
	if a := signInAt(t, base, "office", "wrong password", nil); a.status != http.StatusUnauthorized {
		t.Errorf("a failure after a success: %d, want 401", a.status)
	}
}

// TestAccountBackOffSparesKnownAddresses: failures from many addresses
// slow down the account everywhere, but not from an address its owner
// signed in from, and never for longer than the cap.
func TestAccountBackOffSparesKnownAddresses(t *testing.T) {
	fx := newFixture(t, 0)
	base := behindProxy(t, fx, "127.0.0.1/32")
	if a := signInAt(t, base, "admin", testPassword, from("198.51.100.20")); a.status != http.StatusSeeOther {
		t.Fatalf("sign-in from the office: %d", a.status)
	}
	for i := 1; i <= users.AccountLimit.Free+5; i++ {
		signInAt(t, base, "admin", "wrong password", from(fmt.Sprintf("203.0.113.%d", i)))
	}
	a := signInAt(t, base, "admin", testPassword, from("192.0.2.50"))
	if a.status != http.StatusTooManyRequests || a.retryAfter > int(users.AccountLimit.Cap.Seconds()) {
		t.Errorf("the right password from a new address during a distributed attack: %d, Retry-After %d", a.status, a.retryAfter)
	}
	if a := signInAt(t, base, "admin", testPassword, from("198.51.100.20")); a.status != http.StatusSeeOther {
		t.Fatalf("the owner from their usual address during a distributed attack: %d", a.status)
	}
}

// TestForwardedForOnlyFromTrustedProxies: a client that makes up
// X-Forwarded-For does not get a fresh address per guess; a trusted proxy's
// header is believed.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	fx := newFixture(t, 0)
	for _, base := range []string{fx.srv.URL, behindProxy(t, fx, "10.0.0.0/8")} {
		fx.db.MustExec(`DELETE FROM sign_in_throttle`)
		throttled := 0
		for i := 0; i < 10; i++ {
			a := signInAt(t, base, "supervisor", "wrong password", from(fmt.Sprintf("203.0.113.%d", 100+i)))
			if a.status == http.StatusTooManyRequests {
				throttled++
			}
		}
		if throttled != 10-users.PairLimit.Free {
			t.Errorf("%s: made-up X-Forwarded-For: %d of 10 guesses throttled, want %d", base, throttled, 10-users.PairLimit.Free)
		}
	}
	var spoofed int
	fx.db.Get(&spoofed, `SELECT count(*) FROM sign_in_attempts WHERE address <> '127.0.0.1'`)
	if spoofed > 0 {
		t.Errorf("%d attempts were recorded under a made-up address", spoofed)
	}
	base := behindProxy(t, fx, "127.0.0.1/32")
	signInAt(t, base, "interviewer", "wrong password", from("198.51.100.77"))
	var addr string
	fx.db.Get(&addr, `SELECT address FROM sign_in_attempts WHERE username = 'interviewer'`)
	if addr != "198.51.100.77" {
		t.Errorf("behind a trusted proxy the attempt was recorded from %q", addr)
	}
}

// TestSignInFloodIsSummarised: 2,000 failed sign-ins, for an account and
// for made-up names, with made-up forwarding headers, add a handful of
// audit entries, and only the free failures are checked with bcrypt.
func TestSignInFloodIsSummarised(t *testing.T) {
	fx := newFixture(t, 0)
	var before int
	fx.db.Get(&before, `SELECT count(*) FROM audit_log`)
	const n, workers = 2000, 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				name := "admin"
				if i%2 == 1 {
					name = fmt.Sprintf("nobody%d", i)
				}
				a := signInAt(t, fx.srv.URL, name, "wrong password", from(fmt.Sprintf("198.18.%d.%d", i/250, i%250)))
				mu.Lock()
				statuses[a.status]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var after, checked int
	fx.db.Get(&after, `SELECT count(*) FROM audit_log`)
	fx.db.Get(&checked, `SELECT count(*) FROM sign_in_attempts`)
	if after-before > 5 {
		t.Errorf("2,000 failed sign-ins wrote %d audit entries", after-before)
	}
	if checked > users.AddressLimit.Free || statuses[http.StatusTooManyRequests] < n-users.AddressLimit.Free {
		t.Errorf("%d attempts reached bcrypt; statuses %v", checked, statuses)
	}
	t.Logf("2,000 sign-ins in %v: %v; %d audit entries", time.Since(start), statuses, after-before)
}

// TestOldAttemptsAreRemoved: the attempts and back-off state do not grow
// with time.
func TestOldAttemptsAreRemoved(t *testing.T) {
	fx := newFixture(t, 0)
	fx.db.MustExec(`INSERT INTO sign_in_attempts (username, address, ok, at) SELECT 'x' || g, '192.0.2.1', false, now() - interval '40 days' FROM generate_series(1, 500) g`)
	fx.db.MustExec(`INSERT INTO sign_in_throttle (key, failures, last_at) SELECT 'p|x' || g || '|192.0.2.1', 1, now() - interval '8 days' FROM generate_series(1, 500) g`)
	if a := signInAt(t, fx.srv.URL, "admin", testPassword, nil); a.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", a.status)
	}
	var attempts, keys int
	fx.db.Get(&attempts, `SELECT count(*) FROM sign_in_attempts`)
	fx.db.Get(&keys, `SELECT count(*) FROM sign_in_throttle`)
	if attempts != 1 || keys > 3 {
		t.Errorf("after a sign-in %d attempts and %d keys are kept, want the new ones only", attempts, keys)
	}
}

// TestSecureCookies: cookies are Secure over TLS and behind a trusted
// proxy that says https, and not otherwise (a client saying https itself
// is not believed).
func TestSecureCookies(t *testing.T) {
	fx := newFixture(t, 0)
	secure := func(base string, cl *http.Client, header http.Header) bool {
		t.Helper()
		form := url.Values{"csrf": {"tok"}, "username": {"admin"}, "password": {testPassword}}
		req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: loginCSRF, Value: "tok"})
		for k, v := range header {
			req.Header[k] = v
		}
		cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", res.StatusCode)
		}
		for _, ck := range res.Cookies() {
			if ck.Name == sessionCookie {
				return ck.Secure
			}
		}
		t.Fatal("no session cookie")
		return false
	}
	tls := httptest.NewTLSServer(fx.s.Handler())
	defer tls.Close()
	if !secure(tls.URL, tls.Client(), nil) {
		t.Error("the session cookie over TLS is not Secure")
	}
	https := http.Header{"X-Forwarded-Proto": {"https"}}
	if secure(fx.srv.URL, &http.Client{}, nil) {
		t.Error("the session cookie over plain HTTP is Secure")
	}
	if secure(fx.srv.URL, &http.Client{}, https) {
		t.Error("an untrusted client's X-Forwarded-Proto made the cookie Secure")
	}
	if !secure(behindProxy(t, fx, "127.0.0.1/32"), &http.Client{}, https) {
		t.Error("behind a trusted proxy saying https the cookie is not Secure")
	}
	if secure(behindProxy(t, fx, "127.0.0.1/32"), &http.Client{}, http.Header{"X-Forwarded-Proto": {"http"}}) {
		t.Error("behind a trusted proxy saying http the cookie is Secure")
	}
}
