package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/cmd/internal/cli"
	"minyi/cmd/minyi/data"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/sql/pg"
	"minyi/survey"
	"minyi/users"
	"minyi/web"
)

// BenchResult is one benchmark's figure beside its baseline, measured in
// the same run on the same database.
type BenchResult struct {
	Name     string  `json:"name"`
	Ours     float64 `json:"ours"`
	Baseline float64 `json:"baseline"`
	Unit     string  `json:"unit"`
	Ratio    float64 `json:"ratio"`
	Target   string  `json:"target"`
	Pass     bool    `json:"pass"`
	Note     string  `json:"note,omitempty"`
}

func cmdBench(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "bench", "[--json] [--only NAME[,NAME]] [--scale F] [--duration 10s] [--clients 50] [--soak 10m] [--data DIR] [--minyi PATH]\n"+
		"  或 / or: minyi-bench simulate --wave NAME --interviewers N --duration D   (minyi-bench simulate --help)")
	asJSON := fs.Bool("json", false, "每个基准一行 JSON / one JSON object per benchmark")
	duration := fs.Duration("duration", 10*time.Second, "每项测量时长 / measuring time of each side")
	clients := fs.Int("clients", 50, "并发客户端 / concurrent clients")
	data := fs.String("data", "var/bench", "内置数据库的数据目录(未设 DATABASE_URL 时)/ data directory of the embedded cluster when DATABASE_URL is unset")
	cpuprofile := fs.String("cpuprofile", "", "写入 CPU 剖析 / write a CPU profile of our side")
	memprofile := fs.String("memprofile", "", "结束时写入堆剖析;耐久测试另写服务器的 FILE.server-start 和 FILE.server-end / write a heap profile at the end; the soak also writes the server's at minute 2 and at the end as FILE.server-start and FILE.server-end")
	only := fs.String("only", "", "只运行这些基准(逗号分隔)/ run only these benchmarks, comma-separated: "+strings.Join(benchNames, ", "))
	soak := fs.Duration("soak", 10*time.Minute, "耐久测试时长 / how long the soak runs")
	soakN := fs.Int("soak-interviewers", 200, "耐久测试的模拟访员人数 / simulated interviewers in the soak")
	nextN := fs.Int("next-case-interviewers", 200, "下一个样本基准的模拟访员人数 / simulated interviewers in the next-case benchmark")
	nextD := fs.Duration("next-case-duration", 2*time.Minute, "下一个样本基准每方的测量时长 / measuring time of each side of the next-case benchmark")
	calls := fs.Int("calls", 100, "通话基准的同时通话数 / calls at once in the calls benchmark")
	scale := fs.Float64("scale", 1, "抽样框规模,1 = 2010 年普查的 2880 万常住人口 / frame size as a share of the 28.8 million residents of the 2010 census (0.01 for a quick run)")
	minyiBin := fs.String("minyi", "", "耐久测试运行其 serve 的 minyi 程序(默认:本程序旁边的,或 PATH 中的)/ the minyi binary whose serve the soak runs (default: the one beside this program, else on PATH)")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		// Rather than run every benchmark for a mistyped command.
		fs.Usage()
		return cli.UsageError(fmt.Sprintf("未知命令 %q / unknown command %q", pos[0], pos[0]))
	}
	selected, err := selectBenches(*only)
	if err != nil {
		return err
	}
	if *scale <= 0 || *scale > 10 {
		return cli.UsageError(fmt.Sprintf("--scale 须在 (0, 10] 内 / --scale must be in (0, 10]: %v", *scale))
	}
	var server string
	if selected[benchSoakName] {
		// Found before the other benchmarks run, not an hour into them.
		if server, err = serverBinary(*minyiBin); err != nil {
			return err
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		profileTo = f
	}
	b, err := newBenchDB(*data)
	if err != nil {
		return err
	}
	defer b.close()
	progress := e.Stderr
	var results []BenchResult
	if selected[benchSubmitName] {
		res, err := benchSubmit(ctx, b, *clients, *duration, progress)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if selected[benchImportName] || selected[benchDrawName] {
		res, err := benchFrame(ctx, b, *scale, selected[benchImportName], selected[benchDrawName], progress)
		if err != nil {
			return err
		}
		results = append(results, res...)
	}
	if selected[benchNextCaseName] {
		res, err := benchNextCase(ctx, b, *nextN, *nextD, *scale, progress)
		if err != nil {
			return err
		}
		results = append(results, res...)
	}
	if selected[benchSoakName] {
		res, err := benchSoak(ctx, b, server, *soakN, *soak, *memprofile, progress)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if selected[benchExportName] {
		res, err := benchExportMicrodata(ctx, b, *scale, progress)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if selected[benchScoresName] {
		res, err := benchScores(ctx, b, *scale, progress)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if selected[benchQueuesName] {
		res, err := benchQueues(ctx, b, *scale, progress)
		if err != nil {
			return err
		}
		results = append(results, res...)
	}
	if selected[benchCallsName] {
		res, err := benchCalls(ctx, *calls, *duration, progress)
		if err != nil {
			return err
		}
		results = append(results, res...)
	}
	if selected[benchBrowserCallsName] {
		res, err := benchBrowserCalls(ctx, *calls, *duration, progress)
		if err != nil {
			return err
		}
		results = append(results, res...)
	}
	if selected[benchTalkTimeName] {
		results = append(results, benchTalkTime(100000))
	}
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			return err
		}
		runtime.GC()
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tours\tbaseline\tunit\tratio (ours/baseline)\ttarget\tresult")
	for _, r := range results {
		verdict := "ok"
		if !r.Pass {
			verdict = "BELOW TARGET"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\t%s\n", r.Name, benchFigure(r.Ours), benchFigure(r.Baseline), r.Unit, r.Ratio, r.Target, verdict)
	}
	tw.Flush()
	for _, r := range results {
		if r.Note != "" {
			fmt.Fprintf(e.Stdout, "\n%s: %s\n", r.Name, r.Note)
		}
	}
	return nil
}

var profileTo *os.File

// benchDB is a fresh database for one benchmark run, on DATABASE_URL's
// server or on an embedded cluster of its own.
type benchDB struct {
	db      *sqlx.DB
	dsn     string // for pgbench: key=value form
	admin   *sqlx.DB
	name    string
	cluster *pg.Cluster
	// sharesAdmin marks a sibling database, which must not close the
	// admin connection or the cluster of the database it came from.
	sharesAdmin bool
}

func newBenchDB(dataDir string) (*benchDB, error) {
	b := &benchDB{name: fmt.Sprintf("minyi_bench_%d", os.Getpid())}
	adminDSN := os.Getenv("DATABASE_URL")
	if adminDSN == "" {
		// Room for pgbench's 200 clients beside the server's pool.
		c, err := pg.StartCluster(dataDir, pg.ClusterOptions{Settings: []string{"max_connections = 320"}})
		if err != nil {
			return nil, err
		}
		b.cluster = c
		adminDSN = c.DSN("postgres")
		b.dsn = c.DSN(b.name)
	} else {
		b.dsn = pg.WithDatabase(adminDSN, b.name)
	}
	admin, err := sqlx.Open("postgres", adminDSN)
	if err != nil {
		return nil, err
	}
	b.admin = admin
	if err := pg.CreateDatabase(admin.DB, b.name, ""); err != nil {
		return nil, err
	}
	b.db, err = sqlx.Open("postgres", b.dsn)
	if err != nil {
		return nil, err
	}
	b.db.SetMaxOpenConns(100)
	b.db.SetMaxIdleConns(100)
	if _, err := pg.Migrate(b.db); err != nil {
		return nil, err
	}
	return b, nil
}

// sibling makes another fresh database on the same server, for a benchmark
// that needs a second frame beside the first.
func (b *benchDB) sibling(suffix string) (*benchDB, error) {
	s := &benchDB{name: b.name + "_" + suffix, admin: b.admin, sharesAdmin: true}
	s.dsn = regexp.MustCompile(`dbname=\S+`).ReplaceAllString(b.dsn, "dbname="+s.name)
	if err := pg.CreateDatabase(b.admin.DB, s.name, ""); err != nil {
		return nil, err
	}
	var err error
	if s.db, err = sqlx.Open("postgres", s.dsn); err != nil {
		return nil, err
	}
	if _, err := pg.Migrate(s.db); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// libpqDSN is the connection string for PostgreSQL's own tools.
func (b *benchDB) libpqDSN() string {
	// binary_parameters is lib/pq's own option; libpq refuses it.
	return strings.TrimSpace(strings.ReplaceAll(b.dsn, "binary_parameters=yes", ""))
}

// close drops the database, and stops the cluster when b started it; a
// sibling shares its admin connection with the database it came from.
func (b *benchDB) close() {
	if b.sharesAdmin {
		if b.db != nil {
			b.db.Close()
		}
		b.admin.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(b.name) + " WITH (FORCE)")
		return
	}
	if b.db != nil {
		b.db.Close()
	}
	if b.admin != nil {
		b.admin.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(b.name) + " WITH (FORCE)")
		b.admin.Close()
	}
	if b.cluster != nil {
		b.cluster.Stop()
	}
}

// seedBenchWave loads the census districts and the default questionnaire
// (both idempotent) and creates a wave of that name.
// seedBenchCases makes a drawn telephone wave with perDistrict fresh cases
// in each of the 40 districts, all replicates open.
func seedBenchCases(ctx context.Context, b *benchDB, name string, perDistrict int) (*sampler.Wave, error) {
	w, err := seedBenchWave(ctx, b, name)
	if err != nil {
		return nil, err
	}
	for _, q := range []string{"seed-soak-draw", "seed-soak-replicates"} {
		if _, err := b.db.ExecContext(ctx, benchQuery(q), w.ID); err != nil {
			return nil, err
		}
	}
	if _, err := b.db.ExecContext(ctx, benchQuery("seed-soak-cases"), w.ID, perDistrict); err != nil {
		return nil, err
	}
	return w, nil
}

func seedBenchWave(ctx context.Context, b *benchDB, name string) (*sampler.Wave, error) {
	ds, err := sampler.ParseDistricts(bytes.NewReader(data.ChongqingDistricts))
	if err != nil {
		return nil, err
	}
	if _, err := sampler.SaveDistricts(ctx, b.db, ds); err != nil {
		return nil, err
	}
	qid, err := survey.SaveQuestionnaire(ctx, b.db, survey.Default())
	if err != nil {
		return nil, err
	}
	w, err := sampler.CreateWave(ctx, b.db, sampler.WaveSpec{Name: name, Rate: 0.002, QuestionnaireID: qid})
	if err != nil {
		return nil, err
	}
	// Benchmarks run at any hour: the wave calls around the clock.
	return w, dialer.SetRules(ctx, b.db, w.ID, dialer.AllDay())
}

// benchSubmit measures interview submission over HTTP — the interviewer's
// "save" — with N concurrent clients, against pgbench running the same SQL
// transaction (lock the case, insert the interview, insert the attempt,
// close the case) at the same concurrency on the same database.
func benchSubmit(ctx context.Context, b *benchDB, clients int, d time.Duration, progress io.Writer) (BenchResult, error) {
	res := BenchResult{Name: benchSubmitName, Unit: "interviews/s", Target: ">= 0.50"}
	fmt.Fprintf(progress, "bench: preparing %d interviewers and their cases…\n", clients)
	w, err := seedBenchWave(ctx, b, "bench")
	if err != nil {
		return res, err
	}
	names := make([]string, clients)
	for i := range names {
		names[i] = fmt.Sprintf("bench%03d", i)
	}
	ids, err := users.AddMany(ctx, b.db, names, "bench-password", users.RoleInterview)
	if err != nil {
		return res, err
	}
	// Enough held cases that no client runs out: a generous upper bound on
	// the rate times the duration.
	perClient := int(d.Seconds()*4000)/clients + 200
	type worker struct {
		token, csrf string
		cases       []int64
	}
	workers := make([]worker, clients)
	seed := benchQuery("seed-held-cases")
	for i, id := range ids {
		tok, csrf, err := users.SessionFor(ctx, b.db, id)
		if err != nil {
			return res, err
		}
		workers[i] = worker{token: tok, csrf: csrf}
		if err := b.db.SelectContext(ctx, &workers[i].cases, seed, w.ID, id, perClient); err != nil {
			return res, err
		}
	}
	srv, err := web.New(b.db, web.Options{})
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	sctx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	go srv.Serve(sctx, ln)
	base := "http://" + ln.Addr().String()

	var districts []string
	if err := b.db.SelectContext(ctx, &districts, `SELECT code FROM districts ORDER BY code`); err != nil {
		return res, err
	}
	form := url.Values{"q_s1": {"1"}, "q_s2": {"1"}, "q_district": {"500101"}, "q_sex": {"1"}, "q_age_group": {"2"}, "q_urban": {"1"}}
	for i := 1; i <= 13; i++ {
		form.Set(fmt.Sprintf("q_q%02d", i), strconv.Itoa(1+i%5))
	}
	transport := &http.Transport{MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: clients * 2}
	client := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	fmt.Fprintf(progress, "bench: %d clients submitting interviews over HTTP for %s…\n", clients, d)
	var done, failed atomic.Int64
	var measuring atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for i := range workers {
		wg.Add(1)
		go func(wk worker) {
			defer wg.Done()
			for k, caseID := range wk.cases {
				select {
				case <-stop:
					return
				default:
				}
				f := url.Values{}
				for key, v := range form {
					f[key] = v
				}
				f.Set("key", fmt.Sprintf("%s-%d", wk.token[:12], k))
				// Respondents live all over the city, as in a real wave:
				// each district's quota row is one save's at a time.
				f.Set("q_district", districts[(k+i)%len(districts)])
				req, _ := http.NewRequest(http.MethodPost, base+"/cases/"+strconv.FormatInt(caseID, 10)+"/interview", strings.NewReader(f.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-CSRF-Token", wk.csrf)
				req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: wk.token})
				r, err := client.Do(req)
				if err == nil {
					r.Body.Close()
				}
				ok := err == nil && r.StatusCode == http.StatusSeeOther && r.Header.Get("Location") == "/calls?msg=saved"
				if !ok {
					if err == nil {
						err = fmt.Errorf("status %d %s", r.StatusCode, r.Header.Get("Location"))
					}
					firstErr.CompareAndSwap(nil, err)
				}
				if measuring.Load() {
					if ok {
						done.Add(1)
					} else {
						failed.Add(1)
					}
				}
			}
		}(workers[i])
	}
	time.Sleep(time.Second) // warm up connections and caches
	if profileTo != nil {
		pprof.StartCPUProfile(profileTo)
	}
	measuring.Store(true)
	start := time.Now()
	time.Sleep(d)
	measuring.Store(false)
	elapsed := time.Since(start)
	if profileTo != nil {
		pprof.StopCPUProfile()
	}
	close(stop)
	wg.Wait()
	stopServer()
	if failed.Load() > 0 {
		return res, fmt.Errorf("bench: %d submissions failed, first: %v", failed.Load(), firstErr.Load())
	}
	res.Ours = float64(done.Load()) / elapsed.Seconds()

	fmt.Fprintf(progress, "bench: pgbench running the same transaction, %d clients for %s…\n", clients, d)
	var maxCase int64
	if err := b.db.GetContext(ctx, &maxCase, `SELECT max(id) FROM cases`); err != nil {
		return res, err
	}
	tps, err := pgbench(ctx, b, clients, d, benchTransaction(w.ID, *w.QuestionnaireID, ids[0], ids[len(ids)-1], maxCase, districts))
	if err != nil {
		return res, err
	}
	res.Baseline = tps
	res.Ratio = res.Ours / res.Baseline
	res.Pass = res.Ratio >= 0.5
	res.Note = fmt.Sprintf("ours: sign-in check, case and questionnaire look-up, validation of 19 answers, then the transaction, over HTTP/1.1 keep-alive from %d goroutines in the same process; pgbench: the transaction alone, in its default query mode (-c %d -j 2).", clients, clients)
	return res, nil
}

// benchTransaction is what one submission does in the database, in
// pgbench's script language: lock the case (with its wave's rules and
// quota state), insert the interview with its evidence, sample it for
// verification, record the attempt and close the case, and count the
// quota last.
func benchTransaction(waveID, qid, firstUser, lastUser, maxCase int64, districts []string) string {
	district := fmt.Sprintf("(ARRAY['%s'])[:d]", strings.Join(districts, "','"))
	answers := `{"s1": "1", "s2": "1", "district": "500101", "sex": "1", "age_group": "2", "urban": "1", "q01": "2", "q02": "3", "q03": "4", "q04": "5", "q05": "1", "q06": "2", "q07": "3", "q08": "4", "q09": "5", "q10": "1", "q11": "2", "q12": "3", "q13": "4"}`
	// The interview and its evidence, by the server's own statement.
	insert := strings.Replace(inline("survey/insert-interview", " \\gset", strconv.FormatInt(waveID, 10), "NULL", "NULL", strconv.FormatInt(qid, 10), ":uid",
		district, "'phone'", "NULL", "NULL", "1", "2", "'"+answers+"'", "gen_random_uuid()::text", "'cati'", "now()", "false"),
		"SELECT id FROM iv", "SELECT id AS iid FROM iv", 1)
	return fmt.Sprintf(`\set cid random(1, %[1]d)
\set uid random(%[4]d, %[6]d)
\set d random(1, %[8]d)
BEGIN;
SELECT c.id, c.attempts, c.wave_id, w.questionnaire_id, c.mode, coalesce(c.psu, '') AS psu, coalesce(c.district_code, '') AS district_code,
       coalesce(c.phone, '') AS phone, c.converter_only, c.dayparts_tried, coalesce(c.reached_code, '') AS reached_code,
       w.calling_from, w.calling_to, w.calling_days, w.appointment_grace, w.max_attempts,
       w.retry_busy, w.retry_no_answer, w.retry_soft_refusal, w.verify_share, w.quota_by_sex_age,
       EXISTS (SELECT 1 FROM quota_cells q WHERE q.wave_id = c.wave_id AND q.district_code = c.district_code
                 AND q.sex = 0 AND q.age_group = 0 AND q.completes >= q.target) AS quota_full
  FROM cases c JOIN waves w ON w.id = c.wave_id WHERE c.id = :cid FOR UPDATE OF c;
%[9]sWITH c AS (INSERT INTO verification_counters (wave_id, interviewer_id, completes, start) VALUES (%[2]d, :uid, 1, random())
    ON CONFLICT (wave_id, interviewer_id) DO UPDATE SET completes = verification_counters.completes + 1 RETURNING completes, start)
  INSERT INTO verification_calls (wave_id, interview_id, case_id, interviewer_id, phone, next_at)
  SELECT %[2]d, :iid, :cid, :uid, '13902300001', now() + interval '3600 seconds' FROM c JOIN waves w ON w.id = %[2]d
  WHERE floor(c.completes * w.verify_share + c.start) > floor((c.completes - 1) * w.verify_share + c.start);
WITH attempt AS (INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, appointment_at) VALUES (:cid, :uid, 'complete', '1.1', true, NULL))
  UPDATE cases SET attempts = attempts + 1, status = 'pending', final_code = NULL, next_at = NULL, appointment_by = NULL, converter_only = false,
         dayparts_tried = dayparts_tried | 1, reached_code = NULL, held_by = held_by, updated_at = now() WHERE id = :cid;
UPDATE quota_cells SET completes = completes + 1
  WHERE wave_id = %[2]d AND district_code = %[7]s AND ((sex = 0 AND age_group = 0) OR (sex = 1 AND age_group = 2))
  RETURNING sex, completes, target;
COMMIT;
`, maxCase, waveID, qid, firstUser, answers, lastUser, district, len(districts), insert)
}

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbench runs Debian's pgbench with a custom script and returns its rate.
func pgbench(ctx context.Context, b *benchDB, clients int, d time.Duration, script string) (float64, error) {
	out, err := runPgbench(ctx, b, script, "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(int(d.Seconds())))
	if err != nil {
		return 0, err
	}
	m := tpsRe.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench: no rate in its output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// runPgbench runs Debian's pgbench with a custom script and the options
// given, and returns its output; a failed transaction is an error.
func runPgbench(ctx context.Context, b *benchDB, script string, opts ...string) ([]byte, error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		if dir, ferr := pg.FindBinaries(); ferr == nil {
			bin = filepath.Join(dir, "pgbench")
		}
	}
	if _, serr := os.Stat(bin); serr != nil {
		return nil, errors.New("找不到 pgbench,请安装 Debian 软件包 postgresql-contrib 或 postgresql-client / pgbench not found: install postgresql-client")
	}
	f, err := os.CreateTemp("", "minyi-pgbench-*.sql")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	f.WriteString(script)
	f.Close()
	args := append([]string{"-n"}, opts...)
	cmd := exec.CommandContext(ctx, bin, append(args, "-f", f.Name(), b.libpqDSN())...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pgbench: %w\n%s", err, out)
	}
	if bytes.Contains(out, []byte("number of failed transactions: ")) && !bytes.Contains(out, []byte("number of failed transactions: 0 ")) {
		return nil, fmt.Errorf("pgbench: transactions failed:\n%s", out)
	}
	return out, nil
}
