package main

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/cmd/internal/cli"
	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/sql/pg"
	"minyi/survey"
	"minyi/users"
	"minyi/web"
)

func cmdSimulate(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "simulate", "simulate --wave NAME --interviewers N --duration D [--think D]")
	wave := fs.String("wave", "", "轮次 / wave")
	n := fs.Int("interviewers", 10, "模拟访员人数 / simulated interviewers")
	d := fs.Duration("duration", time.Minute, "运行时长 / how long to run")
	think := fs.Duration("think", 0, "每次操作间的停顿(演示和培训时用 1s 以上)/ pause between actions (1s or more for demos and training)")
	db, _, err := cli.OpenWith(fs, args, "wave")
	if err != nil {
		return err
	}
	defer db.Close()
	sim, err := newSimulation(ctx, db.DB, *wave, *n, *think, "")
	if err != nil {
		return err
	}
	defer sim.close()
	fmt.Fprintf(e.Stderr, "simulate: %d interviewers on wave %s for %s at %s\n", *n, *wave, *d, sim.base)
	rep := sim.run(ctx, *d, 0, nil)
	rep.print(e)
	if err := sim.check(ctx, &rep); err != nil {
		return err
	}
	if len(rep.Violations) > 0 || rep.Errors > 0 {
		return fmt.Errorf("模拟发现问题 / the simulation found problems: %d errors, %d violations", rep.Errors, len(rep.Violations))
	}
	return nil
}

// simulation drives simulated interviewers through the HTTP interface of a
// server on the same database — one it runs itself, or another at a given
// address: next case, a call outcome in realistic proportions, and for about
// a third an interview.
type simulation struct {
	db        *sqlx.DB
	base      string
	stop      context.CancelFunc
	wave      *sampler.Wave
	rules     dialer.Rules
	q         *survey.Questionnaire
	districts []string
	agents    []*agent
	think     time.Duration
	// pace, when set, starts each agent's cases pace apart (whatever the
	// case took, so long as it took less), which holds the whole
	// simulation at len(agents)/pace cases a second, as interviewers
	// talking to respondents would.
	pace   time.Duration
	client *http.Client

	holders sync.Map // case id -> agent index, while held
	acked   sync.Map // idempotency key -> case id, for interviews acknowledged
}

type agent struct {
	name, token, csrf string
	rng               *rand.Rand
}

// newSimulation prepares n interviewers on the wave. With base empty it
// runs a server of its own in this process; otherwise it talks to the server
// at base (http://host:port).
func newSimulation(ctx context.Context, db *sqlx.DB, waveName string, n int, think time.Duration, base string) (*simulation, error) {
	w, err := sampler.GetWave(ctx, db, waveName)
	if err != nil {
		return nil, err
	}
	if !w.Drawn() {
		return nil, core.Errorf(core.EInvalid, "轮次 %q 还没有抽样", "wave %q has not been drawn", waveName)
	}
	_, q, err := survey.WaveQuestionnaire(ctx, db, waveName)
	if err != nil {
		return nil, err
	}
	ds, err := sampler.ListDistricts(ctx, db)
	if err != nil {
		return nil, err
	}
	rules, err := dialer.GetRules(ctx, db, w.ID)
	if err != nil {
		return nil, err
	}
	s := &simulation{db: db, wave: w, rules: rules, q: q, think: think}
	for _, d := range ds {
		s.districts = append(s.districts, d.Code)
	}
	// Accounts of their own, so that a simulation never acts as a person.
	prefix := fmt.Sprintf("sim%d-", time.Now().UnixNano()%1_000_000)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	// Signed in by session below; nobody needs to know the password.
	ids, err := users.AddMany(ctx, db, names, crand.Text(), users.RoleInterview)
	if err != nil {
		return nil, err
	}
	// They are a group of their own, calling the wave simulated.
	team := strings.TrimSuffix(prefix, "-")
	by := &users.User{Username: "minyi-bench simulate"}
	for _, id := range ids {
		if err := users.SetTeam(ctx, db, by, id, team); err != nil {
			return nil, err
		}
	}
	if err := dialer.SetTeamWave(ctx, db, 0, by.Username, team, waveName); err != nil {
		return nil, err
	}
	for i, id := range ids {
		tok, csrf, err := users.SessionFor(ctx, db, id)
		if err != nil {
			return nil, err
		}
		s.agents = append(s.agents, &agent{name: names[i], token: tok, csrf: csrf, rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))})
	}
	s.base, s.stop = base, func() {}
	if base == "" {
		srv, err := web.New(db, web.Options{})
		if err != nil {
			return nil, err
		}
		// Its connections readied at start, as `minyi serve` does.
		if err := pg.WarmPool(ctx, db, pg.WarmConnections(), func(ctx context.Context, tx *sqlx.Tx) error {
			return dialer.WarmNextTask(ctx, db, tx)
		}); err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		sctx, cancel := context.WithCancel(context.Background())
		go srv.Serve(sctx, ln)
		s.stop = cancel
		s.base = "http://" + ln.Addr().String()
	}
	s.client = &http.Client{
		// Idle connections are closed before the server's two minutes
		// would close them: a request sent on a connection the server is
		// closing at that moment fails, and a POST is not retried.
		Transport:     &http.Transport{MaxIdleConnsPerHost: 2 * n, MaxConnsPerHost: 2 * n, IdleConnTimeout: time.Minute},
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

func (s *simulation) close() { s.stop() }

// simReport is what a run did.
type simReport struct {
	Duration   time.Duration
	NextCase   []time.Duration // latency of each "next case"
	Outcomes   map[string]int64
	Interviews int64
	NoCase     int64
	Closed     int64 // next-case requests outside the wave's calling hours
	Errors     int64
	FirstError string
	Violations []string
}

// run lets every agent work until d has passed. sample, if given, is called
// every interval while it runs (the soak test reads memory with it).
func (s *simulation) run(ctx context.Context, d time.Duration, interval time.Duration, sample func(elapsed time.Duration)) simReport {
	rep := simReport{Outcomes: map[string]int64{}}
	var mu sync.Mutex
	var interviews, noCase, closed, errs atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i, a := range s.agents {
		wg.Add(1)
		go func(i int, a *agent) {
			defer wg.Done()
			var lat []time.Duration
			outcomes := map[string]int64{}
			var next time.Time
			if s.pace > 0 {
				// Spread over the first period, not all at once.
				next = time.Now().Add(time.Duration(a.rng.Int64N(int64(s.pace))))
			}
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if s.pace > 0 {
					if wait := time.Until(next); wait > 0 {
						time.Sleep(min(wait, time.Until(deadline)))
						if !time.Now().Before(deadline) {
							break
						}
					}
					// Late cases start at once but do not bunch up later.
					next = later(next.Add(s.pace), time.Now())
				}
				err := s.step(i, a, &lat, outcomes, &interviews, &noCase, &closed)
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						rep.FirstError = err.Error()
						mu.Unlock()
					}
				}
				if s.think > 0 {
					time.Sleep(s.think)
				}
			}
			mu.Lock()
			rep.NextCase = append(rep.NextCase, lat...)
			for k, v := range outcomes {
				rep.Outcomes[k] += v
			}
			mu.Unlock()
		}(i, a)
	}
	start := time.Now()
	if sample != nil {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		t := time.NewTicker(interval)
	loop:
		for {
			select {
			case <-done:
				break loop
			case <-t.C:
				sample(time.Since(start))
			}
		}
		t.Stop()
	}
	wg.Wait()
	rep.Duration = time.Since(start)
	rep.Interviews, rep.NoCase, rep.Closed, rep.Errors = interviews.Load(), noCase.Load(), closed.Load(), errs.Load()
	return rep
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

var (
	keyRe     = regexp.MustCompile(`name="key" value="([^"]*)"`)
	startedRe = regexp.MustCompile(`name="started" value="([^"]*)"`)
)

// step is one case: ask for it, "call", record what happened.
func (s *simulation) step(i int, a *agent, lat *[]time.Duration, outcomes map[string]int64, interviews, noCase, closed *atomic.Int64) error {
	t0 := time.Now()
	res, err := s.post(a, "/calls/next", url.Values{})
	*lat = append(*lat, time.Since(t0))
	if err != nil {
		return err
	}
	loc := res.Header.Get("Location")
	if strings.Contains(loc, "msg=nocase") {
		noCase.Add(1)
		time.Sleep(200 * time.Millisecond)
		return nil
	}
	if res.StatusCode == http.StatusConflict {
		// Outside the wave's calling hours.
		closed.Add(1)
		time.Sleep(200 * time.Millisecond)
		return nil
	}
	if id, ok := strings.CutPrefix(loc, "/verifications/"); ok {
		return s.verify(a, id, outcomes)
	}
	id, ok := strings.CutPrefix(loc, "/cases/")
	if !ok {
		return fmt.Errorf("next case: %d %s", res.StatusCode, loc)
	}
	caseID, _ := strconv.ParseInt(id, 10, 64)
	if prev, held := s.holders.LoadOrStore(caseID, i); held && prev.(int) != i {
		return fmt.Errorf("case %d handed to interviewers %d and %d at once", caseID, prev, i)
	}
	r := a.rng.Float64()
	switch {
	case r < 0.34:
		return s.interview(i, a, caseID, outcomes, interviews)
	case r < 0.36:
		return s.screenOut(i, a, caseID, outcomes)
	default:
		o := pickOutcome(a.rng)
		form := url.Values{"outcome": {o}}
		if o == "appointment" {
			// A time the respondent names, within the calling hours.
			at := s.rules.NextOpen(time.Now().Add(time.Duration(1+a.rng.IntN(3)) * time.Hour).Truncate(time.Minute))
			form.Set("appointment", at.In(core.Shanghai).Format("2006-01-02T15:04"))
		}
		s.holders.Delete(caseID)
		res, err := s.post(a, "/cases/"+id+"/outcome", form)
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("outcome %s on case %d: %d", o, caseID, res.StatusCode)
		}
		outcomes[o]++
		return nil
	}
}

// pickOutcome draws a call outcome in the proportions of a real evening:
// mostly no answer, then refusals, busy lines, appointments, dead numbers.
func pickOutcome(rng *rand.Rand) string {
	r := rng.Float64()
	switch {
	case r < 0.45:
		return "no_answer"
	case r < 0.57:
		return "refusal"
	case r < 0.62:
		return "soft_refusal"
	case r < 0.75:
		return "busy"
	case r < 0.85:
		return "appointment"
	case r < 0.93:
		return "wrong_number"
	default:
		return "not_eligible"
	}
}

func (s *simulation) interview(i int, a *agent, caseID int64, outcomes map[string]int64, interviews *atomic.Int64) error {
	path := "/cases/" + strconv.FormatInt(caseID, 10) + "/interview"
	page, err := s.get(a, path)
	if err != nil {
		return err
	}
	key, started, ok := formKey(page)
	if !ok {
		return fmt.Errorf("interview form of case %d has no key", caseID)
	}
	form := url.Values{"key": {key}, "started": {started}}
	for _, qu := range s.q.Questions {
		switch {
		case qu.Type == survey.TypeDistrict:
			form.Set("q_"+qu.ID, s.districts[a.rng.IntN(len(s.districts))])
		case qu.Section == "screener" && len(qu.Eligible) > 0:
			form.Set("q_"+qu.ID, strconv.Itoa(qu.Eligible[0]))
		case len(qu.Options) > 0:
			form.Set("q_"+qu.ID, strconv.Itoa(qu.Options[a.rng.IntN(len(qu.Options))].Code))
		}
	}
	s.holders.Delete(caseID)
	res, err := s.post(a, path, form)
	if err != nil {
		return err
	}
	if loc := res.Header.Get("Location"); loc == "/calls?msg=quotafull" {
		// The respondent's district had its interviews: not kept.
		outcomes["quota_filled"]++
		return nil
	} else if loc != "/calls?msg=saved" {
		return fmt.Errorf("interview on case %d: %d %s", caseID, res.StatusCode, loc)
	}
	s.acked.Store(key, caseID)
	interviews.Add(1)
	outcomes["complete"]++
	return nil
}

// formKey reads the idempotency key and start time from an interview form.
// They are copied out of the page: a substring would keep the whole page
// alive for as long as the key is remembered, which is the whole run.
func formKey(page string) (key, started string, ok bool) {
	km, sm := keyRe.FindStringSubmatch(page), startedRe.FindStringSubmatch(page)
	if km == nil || sm == nil {
		return "", "", false
	}
	return strings.Clone(km[1]), strings.Clone(sm[1]), true
}

// verify makes a verification call-back: mostly confirmed, sometimes not
// answered, rarely denied. Its outcomes are no attempts on cases.
func (s *simulation) verify(a *agent, id string, outcomes map[string]int64) error {
	o := "confirmed"
	switch r := a.rng.Float64(); {
	case r < 0.1:
		o = "no_answer"
	case r < 0.13:
		o = "not_confirmed"
	}
	res, err := s.post(a, "/verifications/"+id+"/outcome", url.Values{"outcome": {o}})
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("verification %s: %d", id, res.StatusCode)
	}
	outcomes[verifyPrefix+o]++
	return nil
}

// verifyPrefix marks verification outcomes in the report.
const verifyPrefix = "verify:"

func (s *simulation) screenOut(i int, a *agent, caseID int64, outcomes map[string]int64) error {
	path := "/cases/" + strconv.FormatInt(caseID, 10) + "/interview"
	form := url.Values{"key": {fmt.Sprintf("screen-%d", caseID)}}
	for _, qu := range s.q.Questions {
		if qu.Section == "screener" && len(qu.Eligible) > 0 {
			for _, o := range qu.Options {
				if o.Code != qu.Eligible[0] {
					form.Set("q_"+qu.ID, strconv.Itoa(o.Code))
					break
				}
			}
			break
		}
	}
	s.holders.Delete(caseID)
	res, err := s.post(a, path, form)
	if err != nil {
		return err
	}
	if loc := res.Header.Get("Location"); loc != "/calls?msg=screened" {
		return fmt.Errorf("screen-out on case %d: %d %s", caseID, res.StatusCode, loc)
	}
	outcomes["screened_out"]++
	return nil
}

func (s *simulation) request(a *agent, method, path string, form url.Values) (*http.Response, error) {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", a.csrf)
	}
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: a.token})
	return s.client.Do(req)
}

func (s *simulation) post(a *agent, path string, form url.Values) (*http.Response, error) {
	res, err := s.request(a, http.MethodPost, path, form)
	if err == nil {
		drain(res)
	}
	return res, err
}

func (s *simulation) get(a *agent, path string) (string, error) {
	res, err := s.request(a, http.MethodGet, path, nil)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d", path, res.StatusCode)
	}
	return b.String(), nil
}

func drain(res *http.Response) {
	buf := make([]byte, 8<<10)
	for {
		if _, err := res.Body.Read(buf); err != nil {
			break
		}
	}
	res.Body.Close()
}

// check verifies the invariants after a run: every acknowledged interview
// is stored exactly once, no case is held by two interviewers, and every
// acknowledged outcome left its attempt.
func (s *simulation) check(ctx context.Context, rep *simReport) error {
	bad := 0
	s.acked.Range(func(k, v any) bool {
		id, err := dialer.InterviewOfCase(ctx, s.db, v.(int64), 0, k.(string))
		if err != nil || id == 0 {
			bad++
		}
		return true
	})
	if bad > 0 {
		rep.Violations = append(rep.Violations, fmt.Sprintf("%d acknowledged interviews are not stored", bad))
	}
	var doubles int
	if err := s.db.GetContext(ctx, &doubles, `SELECT count(*) FROM (SELECT case_id FROM interviews WHERE wave_id = $1 AND case_id IS NOT NULL GROUP BY case_id HAVING count(*) > 1) x`, s.wave.ID); err != nil {
		return err
	}
	if doubles > 0 {
		rep.Violations = append(rep.Violations, fmt.Sprintf("%d cases have more than one interview", doubles))
	}
	var attempts int64
	if err := s.db.GetContext(ctx, &attempts, `SELECT count(*) FROM attempts a JOIN cases c ON c.id = a.case_id JOIN users u ON u.id = a.interviewer_id
		WHERE c.wave_id = $1 AND u.username = ANY($2)`, s.wave.ID, s.agentNames()); err != nil {
		return err
	}
	var acked int64
	for k, v := range rep.Outcomes {
		if !strings.HasPrefix(k, verifyPrefix) {
			acked += v
		}
	}
	if attempts != acked {
		rep.Violations = append(rep.Violations, fmt.Sprintf("%d attempts stored for %d acknowledged outcomes", attempts, acked))
	}
	return nil
}

// agentNames are the simulation's accounts.
func (s *simulation) agentNames() pq.StringArray {
	var names pq.StringArray
	for _, a := range s.agents {
		names = append(names, a.name)
	}
	return names
}

func (r *simReport) percentile(p float64) time.Duration {
	if len(r.NextCase) == 0 {
		return 0
	}
	sort.Slice(r.NextCase, func(i, j int) bool { return r.NextCase[i] < r.NextCase[j] })
	return r.NextCase[int(p*float64(len(r.NextCase)-1))]
}

func (r *simReport) print(e *cli.Env) {
	fmt.Fprintf(e.Stdout, "时长 / duration %s: next-case %d 次 / requests (%.0f/s), p50 %s, p99 %s; 访问 / interviews %d; 暂无样本 / no case %d; 拨打时段外 / outside calling hours %d; 错误 / errors %d\n",
		r.Duration.Round(time.Millisecond), len(r.NextCase), float64(len(r.NextCase))/r.Duration.Seconds(),
		r.percentile(0.5).Round(time.Microsecond), r.percentile(0.99).Round(time.Microsecond), r.Interviews, r.NoCase, r.Closed, r.Errors)
	var keys []string
	for k := range r.Outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(e.Stdout, "  %-14s %d\n", k, r.Outcomes[k])
	}
	if r.FirstError != "" {
		fmt.Fprintf(e.Stdout, "第一个错误 / first error: %s\n", r.FirstError)
	}
	for _, v := range r.Violations {
		fmt.Fprintf(e.Stdout, "违反不变式 / invariant violated: %s\n", v)
	}
}
