package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/sampler"
	"minyi/sql/pg"
	"minyi/sql/pgtest"
	"minyi/survey"
	"minyi/users"
	"minyi/web"
)

// submitter is one interviewer saving interviews for the cases they hold.
type submitter struct {
	token, csrf string
	cases       []int64
}

// heldCases makes $3 cases of wave $1 held by interviewer $2, so that each
// submission completes one without asking for the next case first.
const heldCases = `INSERT INTO cases (wave_id, district_code, phone, status, held_by, held_until)
SELECT $1, '500101', '1390230' || lpad(g::text, 4, '0'), 'pending', $2, now() + interval '2 hours'
FROM generate_series(1, $3) g RETURNING id`

// seedSubmitters makes a wave with n interviewers each holding k cases.
func seedSubmitters(t *testing.T, db *sqlx.DB, n, k int) []submitter {
	t.Helper()
	ctx := context.Background()
	if _, err := sampler.SaveDistricts(ctx, db, []sampler.District{{Code: "500101", Name: "万州区", Population: 1000}}); err != nil {
		t.Fatal(err)
	}
	qid, err := survey.SaveQuestionnaire(ctx, db, survey.Default())
	if err != nil {
		t.Fatal(err)
	}
	w, err := sampler.CreateWave(ctx, db, sampler.WaveSpec{Name: "crash", Rate: 0.002, QuestionnaireID: qid})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("crash%02d", i)
	}
	ids, err := users.AddMany(ctx, db, names, "crash-password", users.RoleInterview)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]submitter, n)
	for i, id := range ids {
		tok, csrf, err := users.SessionFor(ctx, db, id)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = submitter{token: tok, csrf: csrf}
		if err := db.Select(&out[i].cases, heldCases, w.ID, id, k); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

var interviewForm = func() url.Values {
	f := url.Values{"q_s1": {"1"}, "q_s2": {"1"}, "q_district": {"500101"}, "q_sex": {"1"}, "q_age_group": {"2"}, "q_urban": {"1"}}
	for i := 1; i <= 13; i++ {
		f.Set(fmt.Sprintf("q_q%02d", i), strconv.Itoa(1+i%5))
	}
	return f
}()

// submit sends one interview; ok reports a success reply.
func submit(base string, s submitter, caseID int64, key string) (status int, retryAfter string, ok bool) {
	f := url.Values{}
	for k, v := range interviewForm {
		f[k] = v
	}
	f.Set("key", key)
	req, _ := http.NewRequest(http.MethodPost, base+"/cases/"+strconv.FormatInt(caseID, 10)+"/interview", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", s.csrf)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: s.token})
	cl := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		return 0, "", false
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Retry-After"), res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == "/calls?msg=saved"
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServerKilledMidRun: interviewers keep saving while the server is
// killed with SIGKILL and started again; each resends what got no success
// reply, with the same idempotency key. Every submission acknowledged is
// stored exactly once, and nothing is stored twice.
func TestServerKilledMidRun(t *testing.T) {
	bin := buildMinyi(t)
	dsn := pgtest.NewDatabase(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	subs := seedSubmitters(t, db, 8, 60)
	addr := freePort(t)
	base := "http://" + addr
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--addr", addr)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving on") {
				go func() {
					for sc.Scan() {
					}
				}()
				return cmd
			}
		}
		t.Fatal("serve did not start")
		return nil
	}
	srv := start()
	var acked sync.Map // key -> case id
	var sent atomic.Int64
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Add(1)
		go func(i int, s submitter) {
			defer wg.Done()
			for k, caseID := range s.cases {
				key := fmt.Sprintf("crash-%d-%d", i, k)
				for try := 0; ; try++ {
					sent.Add(1)
					if _, _, ok := submit(base, s, caseID, key); ok {
						acked.Store(key, caseID)
						break
					}
					if try > 400 {
						t.Errorf("submission %s never succeeded", key)
						return
					}
					time.Sleep(25 * time.Millisecond)
				}
			}
		}(i, s)
	}
	// Kill the server twice while they work.
	for round := 0; round < 2; round++ {
		time.Sleep(700 * time.Millisecond)
		srv.Process.Kill()
		srv.Wait()
		time.Sleep(300 * time.Millisecond)
		srv = start()
	}
	wg.Wait()
	srv.Process.Signal(os.Interrupt)
	srv.Wait()

	want := 0
	for _, s := range subs {
		want += len(s.cases)
	}
	var stored, distinctCases, distinctKeys int
	db.Get(&stored, `SELECT count(*) FROM interviews`)
	db.Get(&distinctCases, `SELECT count(DISTINCT case_id) FROM interviews`)
	db.Get(&distinctKeys, `SELECT count(DISTINCT idempotency_key) FROM interviews`)
	if stored != want || distinctCases != want || distinctKeys != want {
		t.Fatalf("%d interviews stored (%d cases, %d keys), want %d, each once", stored, distinctCases, distinctKeys, want)
	}
	missing := 0
	acked.Range(func(k, v any) bool {
		var n int
		db.Get(&n, `SELECT count(*) FROM interviews WHERE idempotency_key = $1 AND case_id = $2`, k, v)
		if n != 1 {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d acknowledged submissions not stored exactly once", missing)
	}
	var attempts int
	db.Get(&attempts, `SELECT count(*) FROM attempts`)
	if attempts != want {
		t.Fatalf("%d attempts for %d interviews", attempts, want)
	}
	t.Logf("%d requests for %d interviews across two kills", sent.Load(), want)
}

// TestDatabaseRestartedMidRun: while PostgreSQL is stopped the server
// answers 503 with Retry-After and keeps running; when it is back, saving
// works again without restarting the server.
func TestDatabaseRestartedMidRun(t *testing.T) {
	data := dataDir(t)
	c, err := pg.StartCluster(data, pg.ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.ForceStop() })
	db, err := c.Connect("minyi")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := pg.Migrate(db); err != nil {
		t.Fatal(err)
	}
	subs := seedSubmitters(t, db, 1, 10)
	srv, err := web.New(db, web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(ctx, ln)
	base := "http://" + ln.Addr().String()
	s := subs[0]
	if _, _, ok := submit(base, s, s.cases[0], "k0"); !ok {
		t.Fatal("first save failed")
	}
	if err := c.ForceStop(); err != nil {
		t.Fatal(err)
	}
	status, retry, ok := submit(base, s, s.cases[1], "k1")
	if ok || status != http.StatusServiceUnavailable || retry == "" {
		t.Fatalf("with the database down: status %d, Retry-After %q", status, retry)
	}
	// The server is still up: its pages answer.
	if res, err := http.Get(base + "/login"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the server went down with the database: %v", err)
	}
	c2, err := pg.StartCluster(data, pg.ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c2.ForceStop() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, ok := submit(base, s, s.cases[1], "k1"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("saving did not recover after the database came back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	var n int
	db.Get(&n, `SELECT count(*) FROM interviews`)
	if n != 2 {
		t.Fatalf("%d interviews stored, want 2", n)
	}
}
