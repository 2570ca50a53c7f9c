package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"minyi/users"
)

// caseOf asks for the next case and returns its id from the redirect.
func (c *client) nextCase() string {
	c.t.Helper()
	res := c.post("/calls/next", url.Values{})
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "/cases/") {
		c.t.Fatalf("next case: %d %s", res.StatusCode, loc)
	}
	return strings.TrimPrefix(loc, "/cases/")
}

func completeAnswers(district string) url.Values {
	v := url.Values{"q_s1": {"1"}, "q_s2": {"1"}, "q_district": {district}, "q_sex": {"2"}, "q_age_group": {"3"}, "q_urban": {"1"}}
	for i := 1; i <= 13; i++ {
		v.Set(fmt.Sprintf("q_q%02d", i), fmt.Sprint(1+i%5))
	}
	v.Set("q_q13", "8")
	return v
}

// TestNoCaseHeldByTwo lets many interviewers ask for cases at once; no case
// may be handed to two of them.
func TestNoCaseHeldByTwo(t *testing.T) {
	fx := newFixture(t, 0.0005)
	ctx := t.Context()
	const n = 12
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("caller%02d", i)
		if _, err := users.Add(ctx, fx.db, name, "", testPassword, users.RoleInterview); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("caller%02d", i)
			c := fx.signIn(t, name)
			for k := 0; k < 3; k++ {
				id := c.nextCase()
				mu.Lock()
				if other, dup := seen[id]; dup && other != name {
					t.Errorf("case %s handed to %s and %s", id, other, name)
				}
				seen[id] = name
				mu.Unlock()
				// Release it with a retry outcome and take another.
				res := c.post("/cases/"+id+"/outcome", url.Values{"outcome": {"busy"}})
				if res.StatusCode != http.StatusSeeOther {
					t.Errorf("outcome: %d", res.StatusCode)
				}
			}
		}(i)
	}
	wg.Wait()
	if len(seen) != 3*n {
		t.Fatalf("%d distinct cases for %d requests", len(seen), 3*n)
	}
}

// TestInterviewSubmittedTwiceStoredOnce sends the same interview twice (a
// double click, or a resend after a lost reply) and once more concurrently.
func TestInterviewSubmittedTwiceStoredOnce(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	id := c.nextCase()
	page := c.get("/cases/" + id + "/interview")
	form := completeAnswers("500103")
	form.Set("key", formValue(page, "key"))
	form.Set("started", formValue(page, "started"))
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			res := c.post("/cases/"+id+"/interview", f)
			codes[i] = res.StatusCode
			if loc := res.Header.Get("Location"); loc != "/calls?msg=saved" {
				t.Errorf("submission %d: %d %s", i, res.StatusCode, loc)
			}
		}(i)
	}
	wg.Wait()
	var n int
	fx.db.Get(&n, `SELECT count(*) FROM interviews`)
	if n != 1 {
		t.Fatalf("%d interviews stored, want 1", n)
	}
	var code string
	fx.db.Get(&code, `SELECT final_code FROM cases WHERE id = $1`, id)
	if code != "1.1" {
		t.Fatalf("case final code %q, want 1.1", code)
	}
	var attempts int
	fx.db.Get(&attempts, `SELECT count(*) FROM attempts WHERE case_id = $1`, id)
	if attempts != 1 {
		t.Fatalf("%d attempts recorded, want 1", attempts)
	}
}

func TestBadAnswersStoreNothing(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	id := c.nextCase()
	page := c.get("/cases/" + id + "/interview")
	form := completeAnswers("500103")
	form.Set("q_q05", "7")        // not an option
	form.Set("q_district", "999") // not a district
	form.Del("q_sex")
	form.Set("key", formValue(page, "key"))
	res := c.post("/cases/"+id+"/interview", form)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", res.StatusCode)
	}
	body := readAll(res)
	for _, want := range []string{"答案不在允许的选项中", "请选择一个本市的区县", "请回答此题", "有 3 道题需要改正"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The answers given are kept in the form.
	if !strings.Contains(body, `value="1" id="q_q01_1" checked`) && !strings.Contains(body, `id="q_q02_3" checked`) {
		t.Errorf("answers were not kept")
	}
	var n int
	fx.db.Get(&n, `SELECT count(*) FROM interviews`)
	if n != 0 {
		t.Fatalf("%d interviews stored after a bad submission", n)
	}
}

func TestScreenedOutAndOutcomes(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	id := c.nextCase()
	res := c.post("/cases/"+id+"/interview", url.Values{"q_s1": {"1"}, "q_s2": {"2"}, "key": {"k1"}})
	if loc := res.Header.Get("Location"); loc != "/calls?msg=screened" {
		t.Fatalf("screen-out: %d %s", res.StatusCode, loc)
	}
	var code string
	fx.db.Get(&code, `SELECT final_code FROM cases WHERE id = $1`, id)
	if code != "4.70" {
		t.Fatalf("screened-out case code %q", code)
	}

	// An appointment needs a time in the future.
	id = c.nextCase()
	res = c.post("/cases/"+id+"/outcome", url.Values{"outcome": {"appointment"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("appointment without time: %d", res.StatusCode)
	}
	res = c.post("/cases/"+id+"/outcome", url.Values{"outcome": {"appointment"}, "appointment": {"2099-01-02T19:30"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("appointment: %d", res.StatusCode)
	}
	var status string
	fx.db.Get(&status, `SELECT status || ' ' || to_char(next_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') FROM cases WHERE id = $1`, id)
	if status != "appointment 2099-01-02 19:30" {
		t.Fatalf("appointment stored as %q", status)
	}

	// Another interviewer cannot open a case held by someone else.
	id = c.nextCase()
	other := fx.signIn(t, "interviewer2")
	if res := other.do("GET", "/cases/"+id, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("another interviewer's case: %d, want 404", res.StatusCode)
	}
	if res := other.post("/cases/"+id+"/outcome", url.Values{"outcome": {"refusal"}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("outcome on another interviewer's case: %d, want 404", res.StatusCode)
	}
	for _, o := range []string{"refusal", "wrong_number", "not_eligible"} {
		res := c.post("/cases/"+id+"/outcome", url.Values{"outcome": {o}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", o, res.StatusCode)
		}
		// The number is shown only while the case is held.
		if res := c.do("GET", "/cases/"+id, nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("a released case is still shown to its interviewer: %d", res.StatusCode)
		}
		id = c.nextCase()
	}
	var finals []string
	fx.db.Select(&finals, `SELECT final_code FROM cases WHERE status = 'final' ORDER BY updated_at, id`)
	if strings.Join(finals, ",") != "4.70,2.11,4.30,4.70" {
		t.Fatalf("final codes %v", finals)
	}
}

func readAll(res *http.Response) string {
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestVanishedInterviewerAndExhaustedAttempts: a case whose interviewer
// vanished returns to the queue when the lease runs out, and a number tried
// the maximum number of times without an answer ends as 3.13.
func TestVanishedInterviewerAndExhaustedAttempts(t *testing.T) {
	fx := newFixture(t, 0.0005)
	a := fx.signIn(t, "interviewer")
	b := fx.signIn(t, "interviewer2")
	// b asks for each case, rather than being handed the next on recording.
	if res := b.post("/calls/settings", url.Values{"auto_next": {"0"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("turn off the next case: %d", res.StatusCode)
	}
	id := a.nextCase()
	// Interviewer a's browser is gone; the lease runs out.
	fx.db.Exec(`UPDATE cases SET held_until = now() - interval '1 second' WHERE id = $1`, id)
	// Only fresh cases compete: make the abandoned one the first in line.
	fx.db.Exec(`UPDATE cases SET priority = 10 WHERE id = $1`, id)
	if got := b.nextCase(); got != id {
		t.Fatalf("interviewer2 got case %s, want the abandoned case %s", got, id)
	}
	// The first interviewer can no longer record anything on it.
	if res := a.post("/cases/"+id+"/outcome", url.Values{"outcome": {"busy"}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("the vanished interviewer recorded on a case now held by another: %d", res.StatusCode)
	}
	for i := 1; i <= 6; i++ {
		res := b.post("/cases/"+id+"/outcome", url.Values{"outcome": {"no_answer"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("attempt %d: %d", i, res.StatusCode)
		}
		if i < 6 {
			// Make the retry due now and hand it straight back.
			fx.db.Exec(`UPDATE cases SET next_at = now() - interval '1 second' WHERE id = $1`, id)
			if got := b.nextCase(); got != id {
				t.Fatalf("attempt %d: got case %s, want %s again", i+1, got, id)
			}
		}
	}
	var status, code string
	var attempts int
	fx.db.QueryRow(`SELECT status, coalesce(final_code, ''), attempts FROM cases WHERE id = $1`, id).Scan(&status, &code, &attempts)
	if status != "final" || code != "3.13" || attempts != 6 {
		t.Fatalf("after six unanswered calls: %s %s %d attempts", status, code, attempts)
	}
}

// TestTwoServersOneDatabase runs two servers on one database, as behind a
// load balancer: a session made on one works on the other, and
// interviewers spread over both never get the same case.
func TestTwoServersOneDatabase(t *testing.T) {
	fx := newFixture(t, 0.0005)
	other, err := New(fx.db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(other.Handler())
	defer srv2.Close()

	a := fx.signIn(t, "interviewer")
	// The same cookies, sent to the second server.
	b := &client{t: t, fx: &fixture{db: fx.db, srv: srv2, s: other}, http: a.http, csrf: a.csrf}
	if page := b.get("/calls"); !strings.Contains(page, "next-case") {
		t.Fatal("the session made on the first server does not work on the second")
	}
	id := b.nextCase()
	if res := a.do("GET", "/cases/"+id, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("the case taken on the second server is not the interviewer's on the first: %d", res.StatusCode)
	}

	const n = 8
	seen := map[string]bool{id: true}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("two%02d", i)
		if _, err := users.Add(t.Context(), fx.db, name, "", testPassword, users.RoleInterview); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := fx.signIn(t, fmt.Sprintf("two%02d", i))
			if i%2 == 1 {
				c = &client{t: t, fx: &fixture{db: fx.db, srv: srv2, s: other}, http: c.http, csrf: c.csrf}
			}
			for k := 0; k < 3; k++ {
				got := c.nextCase()
				mu.Lock()
				if seen[got] {
					t.Errorf("case %s handed out twice", got)
				}
				seen[got] = true
				mu.Unlock()
				c.post("/cases/"+got+"/outcome", url.Values{"outcome": {"refusal"}})
			}
		}(i)
	}
	wg.Wait()
}
