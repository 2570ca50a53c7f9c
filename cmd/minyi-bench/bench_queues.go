package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"minyi/core"
	"minyi/sql/pg"
	"minyi/users"
	"minyi/web"
)

const benchQueuesName = "queue-pages"

// queuePage is one page of the queues benchmark: a URL to fetch as a user,
// and the page's core queries, run alone one after the other on the same
// database as its baseline.
type queuePage struct {
	name    string
	path    string
	cookie  string // the session it is fetched with
	queries []pageQuery
}

type pageQuery struct {
	name string
	args []any
}

// benchQueryPrefix marks a pageQuery that is one of the benchmark's own
// queries (queries/NAME.sql) rather than a product's named query.
const benchQueryPrefix = "bench:"

// sql is the query's text.
func (x pageQuery) sql() string {
	if n, ok := strings.CutPrefix(x.name, benchQueryPrefix); ok {
		return benchQuery(n)
	}
	return pg.Q(x.name)
}

// q is the named query with its arguments.
func q(name string, args ...any) []pageQuery { return []pageQuery{{name, args}} }

// benchQueues builds a wave of 60,000 telephone interviews (times scale, at
// least 6,000) with one in ten flagged for review, their cases, attempts
// and verification call-backs, 3,000 appointments, 300 interviews sent
// back, 2,000 jobs and 60,000 audit entries, then fetches each of the six
// list pages (review, sent back, supervision, appointments, jobs, audit)
// over HTTP, unfiltered and filtered, several times, against the page's
// list query run alone in PostgreSQL with the same parameters. Target:
// every page answers in under 200 ms (its median; the slowest run is in
// the note).
func benchQueues(ctx context.Context, b *benchDB, scale float64, progress io.Writer) ([]BenchResult, error) {
	n := max(6000, int(60000*min(scale, 1)))
	const wave = "bench-queues"
	w, err := seedBenchWave(ctx, b, wave)
	if err != nil {
		return nil, err
	}
	names := make([]string, 40)
	for i := range names {
		names[i] = fmt.Sprintf("bench-iv%02d", i)
	}
	ivs, err := users.AddMany(ctx, b.db, names, "bench-password", users.RoleInterview)
	if err != nil {
		return nil, err
	}
	sups, err := users.AddMany(ctx, b.db, []string{"bench-supervisor"}, "bench-password", users.RoleSupervisor)
	if err != nil {
		return nil, err
	}
	admins, err := users.AddMany(ctx, b.db, []string{"bench-admin"}, "bench-password", users.RoleAdmin)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "bench: seeding %d interviews, %d flagged, with appointments, jobs and audit entries…\n", n, n/10)
	t0 := time.Now()
	if _, err := b.db.ExecContext(ctx, benchQuery("seed-queues"), w.ID, *w.QuestionnaireID, n, pq.Int64Array(ivs)); err != nil {
		return nil, fmt.Errorf("bench: seed interviews: %w", err)
	}
	if _, err := b.db.ExecContext(ctx, benchQuery("seed-queues-rest"), w.ID, pq.Int64Array(ivs), sups[0]); err != nil {
		return nil, fmt.Errorf("bench: seed the other lists: %w", err)
	}
	if _, err := b.db.ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
		return nil, err
	}
	var flagged int
	if err := b.db.GetContext(ctx, &flagged, `SELECT count(*) FROM interviews i WHERE i.wave_id = $1 AND i.review_status IN ('none', 'corrected')
		AND (i.straight_lined OR i.completed_at - i.started_at < interval '2 minutes'
		     OR EXISTS (SELECT 1 FROM verification_calls v WHERE v.interview_id = i.id AND v.result = 'not_confirmed'))`, w.ID); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "bench: seeded in %s: %d interviews to review\n", time.Since(t0).Round(time.Millisecond), flagged)

	srv, err := web.New(b.db, web.Options{})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	go srv.Serve(sctx, ln)
	base := "http://" + ln.Addr().String()
	session := func(id int64) (string, error) {
		tok, _, err := users.SessionFor(ctx, b.db, id)
		return tok, err
	}
	supTok, supCSRF, err := users.SessionFor(ctx, b.db, sups[0])
	if err != nil {
		return nil, err
	}
	ivTok, err := session(ivs[0])
	if err != nil {
		return nil, err
	}
	adminTok, err := session(admins[0])
	if err != nil {
		return nil, err
	}

	// The filters of the filtered runs: 渝中区, the first interviewer, the
	// last three days.
	const district = "500103"
	iv := ivs[0]
	ivs0 := strconv.FormatInt(iv, 10)
	sup := strconv.FormatInt(sups[0], 10)
	today := time.Now().In(core.Shanghai)
	from := today.AddDate(0, 0, -2).Format("2006-01-02")
	to := today.Format("2006-01-02")
	fromT, _ := time.ParseInLocation("2006-01-02", from, core.Shanghai)
	toT, _ := time.ParseInLocation("2006-01-02", to, core.Shanghai)
	toT = toT.AddDate(0, 0, 1)
	wp := "/waves/" + url.PathEscape(wave)
	grace := "15 minutes"
	// Besides its list of verification call-backs, the supervision page
	// counts over the whole wave: appointments by hour, call-backs and
	// figures per interviewer, interviews to review by reason. The
	// interviewer figures of the baseline are counted from every attempt
	// of the wave, as they were before the running totals (0112), and its
	// list of call-backs is read as it was before it was paged from
	// verification_calls alone.
	supervision := []pageQuery{
		{"dialer/appointment-calendar", []any{w.ID, grace}},
		{"dialer/verification-summary", []any{w.ID}},
		{benchQueryPrefix + "interviewer-stats-recount", []any{w.ID}},
		{"dialer/flagged-page", []any{w.ID, "120 seconds", false, "", int64(0), nil, nil, int64(0), "", 1, 0}},
	}
	pages := []queuePage{
		{"review", wp + "/reviews", supTok, q("dialer/flagged-page", w.ID, "120 seconds", false, "", int64(0), nil, nil, int64(0), "", 50, 0)},
		{"review-filtered", wp + "/reviews?district=" + district + "&interviewer=" + ivs0 + "&flag=too_short&from=" + from + "&to=" + to, supTok,
			q("dialer/flagged-page", w.ID, "120 seconds", false, district, iv, fromT, toT, int64(0), "too_short", 50, 0)},
		{"sent-back", "/returned", ivTok, q("survey/returned-page", iv, "", nil, nil, 50, 0)},
		{"sent-back-filtered", "/returned?district=" + district + "&from=" + from, ivTok, q("survey/returned-page", iv, district, fromT, nil, 50, 0)},
		{"supervision", wp + "/supervision", supTok, slices.Concat(supervision, q(benchQueryPrefix+"verifications-page-before", w.ID, "", int64(0), nil, nil, "", 50, 0))},
		{"supervision-filtered", wp + "/supervision?interviewer=" + ivs0 + "&flag=not_confirmed", supTok, slices.Concat(supervision, q(benchQueryPrefix+"verifications-page-before", w.ID, "", iv, nil, nil, "not_confirmed", 50, 0))},
		{"appointments", wp + "/appointments", supTok, q("dialer/appointments-page", w.ID, grace, "", int64(0), nil, nil, "", 50, 0)},
		{"appointments-filtered", wp + "/appointments?district=" + district + "&flag=missed", supTok, q("dialer/appointments-page", w.ID, grace, district, int64(0), nil, nil, "missed", 50, 0)},
		{"jobs", "/jobs", supTok, q("jobs/page", int64(0), nil, nil, "", 50, 0)},
		{"jobs-filtered", "/jobs?flag=failed&interviewer=" + sup, supTok, q("jobs/page", sups[0], nil, nil, "failed", 50, 0)},
		{"audit", "/audit", adminTok, q("audit/page", int64(0), nil, nil, "", 50, 0)},
		{"audit-filtered", "/audit?interviewer=" + sup + "&flag=interview-change&from=" + from, adminTok, q("audit/page", sups[0], fromT, nil, "interview-change", 50, 0)},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(p queuePage) (time.Duration, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+p.path, nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: p.cookie})
		t := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		d := time.Since(t)
		if err != nil {
			return 0, err
		}
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "共 ") {
			return 0, fmt.Errorf("bench: %s answered %d without its count", p.path, res.StatusCode)
		}
		return d, nil
	}
	direct := func(p queuePage) (time.Duration, error) {
		t := time.Now()
		for _, x := range p.queries {
			rows, err := b.db.QueryContext(ctx, x.sql(), x.args...)
			if err != nil {
				return 0, fmt.Errorf("bench: %s baseline %s: %w", p.name, x.name, err)
			}
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return 0, err
			}
		}
		return time.Since(t), nil
	}
	const runs = 7
	var out []BenchResult
	for _, p := range pages {
		fmt.Fprintf(progress, "bench: %s page, %d runs over HTTP and of its query alone…\n", p.name, runs)
		ours, err := timeRuns(runs, func() (time.Duration, error) { return fetch(p) })
		if err != nil {
			return nil, err
		}
		base, err := timeRuns(runs, func() (time.Duration, error) { return direct(p) })
		if err != nil {
			return nil, err
		}
		r := BenchResult{Name: benchQueuesName + "-" + p.name, Unit: "ms (p50)", Target: "< 200 ms",
			Ours: ms(ours[len(ours)/2]), Baseline: ms(base[len(base)/2])}
		r.Ratio = r.Ours / r.Baseline
		r.Pass = r.Ours < 200
		var qs []string
		for _, x := range p.queries {
			qs = append(qs, x.name)
		}
		r.Note = fmt.Sprintf("GET %s: p50 %.1f ms, max %.1f ms over %d runs after one warm-up; baseline %s alone in PostgreSQL: p50 %.1f ms, max %.1f ms",
			p.path, r.Ours, ms(ours[len(ours)-1]), runs, strings.Join(qs, " + "), r.Baseline, ms(base[len(base)-1]))
		out = append(out, r)
	}
	approved, took, err := benchBulkApprove(ctx, client, base, wp, supTok, supCSRF)
	if err != nil {
		return nil, err
	}
	out[0].Note += fmt.Sprintf(". Afterwards the %d too-short interviews were approved together over HTTP (confirmation page, then one transaction with an audit entry and evidence row each) in %.2f s", approved, took.Seconds())
	out[0].Note += fmt.Sprintf(". Wave of %d interviews, %d to review; 3,000 appointments, 300 sent back, 2,000 jobs, 60,000 audit entries; the page runs its filter options, list and count queries, then renders", n, flagged)
	return out, nil
}

// timeRuns runs f once to warm up, then n times, and returns the times
// sorted.
func timeRuns(n int, f func() (time.Duration, error)) ([]time.Duration, error) {
	if _, err := f(); err != nil {
		return nil, err
	}
	out := make([]time.Duration, 0, n)
	for range n {
		d, err := f()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	slices.Sort(out)
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

var confirmRe = regexp.MustCompile(`name="(count|upto|digest)" value="([^"]*)"`)

// benchBulkApprove approves the wave's too-short interviews together as a
// supervisor does: the confirmation page, then its form.
func benchBulkApprove(ctx context.Context, client *http.Client, base, wp, token, csrf string) (int, time.Duration, error) {
	get := func(method, path string, form url.Values) (*http.Response, string, error) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequestWithContext(ctx, method, base+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: token})
		res, err := client.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res, string(b), err
	}
	t := time.Now()
	path := wp + "/reviews/approve?flag=too_short"
	res, page, err := get(http.MethodGet, path, nil)
	if err != nil {
		return 0, 0, err
	}
	form := url.Values{"csrf": {csrf}}
	for _, m := range confirmRe.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], m[2])
	}
	if res.StatusCode != http.StatusOK || len(form) != 4 {
		return 0, 0, fmt.Errorf("bench: the bulk approval's confirmation: %d", res.StatusCode)
	}
	res, _, err = get(http.MethodPost, path, form)
	if err != nil {
		return 0, 0, err
	}
	if res.StatusCode != http.StatusSeeOther {
		return 0, 0, fmt.Errorf("bench: the bulk approval answered %d", res.StatusCode)
	}
	n, _ := strconv.Atoi(form.Get("count"))
	return n, time.Since(t), nil
}
