package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"minyi/cmd/minyi/data"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/sql/pg"
)

// Names of the next-case benchmark's two figures.
const (
	benchNextCaseName    = "next-case-http" // its p99
	benchNextCaseP50Name = "next-case-http-p50"
)

// What an interviewer waiting on every case (progressive dialing) needs of
// "next case" on a real evening: 200 interviewers asking 50 times a second
// between them, while a wave is drawn and a file exported.
const (
	nextCaseRate      = 50.0 // next-case requests a second, all interviewers together
	nextCaseP50Target = 10 * time.Millisecond
	nextCaseP99Target = 150 * time.Millisecond
)

// benchNextCase runs n simulated interviewers through the web interface on
// a wave of 100,000 cases in the middle of its evening (a fifth tried once
// and coming due, a fiftieth with appointments), each starting a case every
// n/50 seconds so that together they ask for 50 a second, while another
// wave is drawn from the telephone frame at --scale and the wave's
// dispositions and responses are exported, one after the other, for the
// whole time. Its figures are the p50 and p99 of next case, against
// pgbench running the same SQL alone at the same rate (--rate), the
// queue's probes timed the same way, from the first to the last. After the
// run the simulation's invariant check must hold: no case held twice, no
// attempt lost, every acknowledged interview stored.
func benchNextCase(ctx context.Context, b *benchDB, n int, d time.Duration, scale float64, progress io.Writer) ([]BenchResult, error) {
	const perDistrict = 2500 // × 40 districts = 100,000 cases, the demo wave's size
	ds, err := sampler.ParseDistricts(bytes.NewReader(data.ChongqingDistricts))
	if err != nil {
		return nil, err
	}
	// The frame the draw running meanwhile draws from: the frame
	// benchmarks' if they ran, else one of its own at --scale.
	var frameRows int64
	if err := b.db.GetContext(ctx, &frameRows, `SELECT count(*) FROM phone_frame`); err != nil {
		return nil, err
	}
	if frameRows == 0 {
		if err := loadBenchFrame(ctx, b, ds, scale, progress); err != nil {
			return nil, err
		}
		if err := b.db.GetContext(ctx, &frameRows, `SELECT count(*) FROM phone_frame`); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(progress, "bench: next case: preparing a wave of %d cases and %d interviewers…\n", perDistrict*40, n)
	w, err := seedBenchCases(ctx, b, "nextcase", perDistrict)
	if err != nil {
		return nil, err
	}
	sim, err := newSimulation(ctx, b.db, "nextcase", n, 0, "")
	if err != nil {
		return nil, err
	}
	defer sim.close()
	sim.pace = time.Duration(float64(n) / nextCaseRate * float64(time.Second))
	// pgbench's clients are users of their own, so that the queue's
	// "already held" probe finds what each of them holds.
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("pgb%03d", i)
	}
	var ids []int64
	if err := b.db.SelectContext(ctx, &ids, `INSERT INTO users (username, password_hash, role) SELECT u, 'x', 'interviewer' FROM unnest($1::text[]) WITH ORDINALITY AS x(u, k) ORDER BY k RETURNING id`, pq.StringArray(names)); err != nil {
		return nil, err
	}
	first := ids[0]
	for _, id := range ids {
		first = min(first, id)
	}
	if _, err := b.db.ExecContext(ctx, benchQuery("seed-evening"), w.ID, first); err != nil {
		return nil, err
	}
	for _, t := range []string{"cases", "attempts", "phone_frame"} {
		if _, err := b.db.ExecContext(ctx, `VACUUM (ANALYZE) `+t); err != nil {
			return nil, err
		}
	}
	// Where pgbench's clients leave the time their probes took.
	if _, err := b.db.ExecContext(ctx, `CREATE UNLOGGED TABLE bench_next_case_ms (ms float8 NOT NULL)`); err != nil {
		return nil, err
	}
	var districts []string
	if err := b.db.SelectContext(ctx, &districts, `SELECT code FROM districts ORDER BY code`); err != nil {
		return nil, err
	}
	script := nextCaseScript(w.ID, *w.QuestionnaireID, first, districts)
	// The two sides take turns, twice each, so that a change in the
	// machine's load meanwhile weighs on both alike (once for a run too
	// short to halve: pgbench counts whole seconds).
	rounds := 2
	if d < 4*time.Second {
		rounds = 1
	}
	total := simReport{Outcomes: map[string]int64{}}
	var ours time.Duration
	var bg backgroundReport
	var theirs []float64
	var pgbenchTx int
	turn := max(time.Second, d/time.Duration(rounds)).Truncate(time.Second)
	for r := 0; r < rounds; r++ {
		fmt.Fprintf(progress, "bench: next case: %d interviewers over HTTP at %.0f/s for %s, a draw and exports running…\n", n, nextCaseRate, turn)
		stop := startBackground(ctx, b, "nextcase", r)
		if profileTo != nil && r == 0 {
			pprof.StartCPUProfile(profileTo)
		}
		rep := sim.run(ctx, turn, 0, nil)
		if profileTo != nil && r == 0 {
			pprof.StopCPUProfile()
		}
		if err := stop(&bg); err != nil {
			return nil, err
		}
		total.NextCase = append(total.NextCase, rep.NextCase...)
		for k, v := range rep.Outcomes {
			total.Outcomes[k] += v
		}
		total.Interviews += rep.Interviews
		total.NoCase += rep.NoCase
		total.Errors += rep.Errors
		if total.FirstError == "" {
			total.FirstError = rep.FirstError
		}
		ours += rep.Duration
		fmt.Fprintf(progress, "bench: next case: pgbench alone, %d clients at %.0f/s for %s…\n", n, nextCaseRate, turn)
		ms, err := pgbenchLatencies(ctx, b, n, turn, script)
		if err != nil {
			return nil, err
		}
		theirs = append(theirs, ms...)
		pgbenchTx += len(ms)
	}
	// After the run: no case held twice, no attempt lost, every
	// acknowledged interview stored.
	if err := sim.check(ctx, &total); err != nil {
		return nil, err
	}
	if total.Errors > 0 || len(total.Violations) > 0 {
		return nil, fmt.Errorf("bench: next case: %d errors (first: %s), violations %v", total.Errors, total.FirstError, total.Violations)
	}
	if len(total.NextCase) == 0 || len(theirs) == 0 {
		return nil, fmt.Errorf("bench: next case: %d requests of ours, %d of pgbench", len(total.NextCase), len(theirs))
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	note := fmt.Sprintf("milliseconds, lower is better; the target is on ours. %d interviewers on %d cases (a fifth tried once and coming due, a fiftieth with appointments), each starting a case every %s: "+
		"ours %d next-case requests in %s (%.1f/s; p50 %.1f ms, p99 %.1f ms, max %.0f ms), %d interviews, %d with no case; invariants hold. "+
		"Meanwhile %d draws of another 2‰ wave from a frame of %d numbers (%d more cut short at the end) and %d exports of the wave (dispositions, responses; %d rows) ran, %s. "+
		"pgbench: the same statements alone (-M prepared -c %d -j 2 --rate %.0f), %d transactions (p50 %.1f ms, p99 %.1f ms), each probe run only if those before found nothing, as the server does, and timed by the database's clock from just before the first to just after the last; the sides take turns, %d rounds each; load average %s.",
		n, perDistrict*40, sim.pace, len(total.NextCase), ours.Round(time.Millisecond), float64(len(total.NextCase))/ours.Seconds(),
		ms(total.percentile(0.5)), ms(total.percentile(0.99)), ms(total.percentile(1)), total.Interviews, total.NoCase,
		bg.draws, frameRows, bg.cutShort, bg.exports, bg.exportRows, bg.drawTimes(),
		n, nextCaseRate, pgbenchTx, percentile(theirs, 0.5), percentile(theirs, 0.99), rounds, loadAverage())
	var out []BenchResult
	for _, f := range []struct {
		name   string
		p      float64
		target time.Duration
	}{{benchNextCaseP50Name, 0.5, nextCaseP50Target}, {benchNextCaseName, 0.99, nextCaseP99Target}} {
		res := BenchResult{Name: f.name, Unit: "ms", Target: fmt.Sprintf("ours <= %d ms", f.target.Milliseconds()),
			Ours: ms(total.percentile(f.p)), Baseline: percentile(theirs, f.p)}
		res.Ratio = res.Ours / res.Baseline
		res.Pass = res.Ours <= ms(f.target)
		res.Note = note
		out = append(out, res)
	}
	return out, nil
}

// pgbenchLatencies runs the script with n clients at nextCaseRate for d
// and returns the milliseconds its clients' probes took, in order.
func pgbenchLatencies(ctx context.Context, b *benchDB, n int, d time.Duration, script string) ([]float64, error) {
	if _, err := b.db.ExecContext(ctx, `TRUNCATE bench_next_case_ms`); err != nil {
		return nil, err
	}
	// Prepared statements, as the server prepares the queue's.
	if _, err := runPgbench(ctx, b, script, "-M", "prepared", "-c", strconv.Itoa(n), "-j", "2", "--rate", strconv.FormatFloat(nextCaseRate, 'f', -1, 64),
		"-T", strconv.Itoa(int(d.Seconds()))); err != nil {
		return nil, err
	}
	var ms []float64
	err := b.db.SelectContext(ctx, &ms, `SELECT ms FROM bench_next_case_ms ORDER BY ms`)
	return ms, err
}

var paramRe = regexp.MustCompile(`\$([0-9]+)`)

// inline writes a named query with its parameters as pgbench literals or
// variables ($1 is args[0]), ended by end (";" or a \gset).
func inline(name string, end string, args ...string) string {
	q := paramRe.ReplaceAllStringFunc(pg.Q(name), func(m string) string {
		i, _ := strconv.Atoi(m[1:])
		return args[i-1]
	})
	// pgbench reads a command up to its semicolon: comments go.
	var lines []string
	for _, l := range strings.Split(q, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n") + end + "\n"
}

// nextCaseScript is the simulated interviewers' SQL in pgbench's script
// language: the queue's probes in their order, each only while those
// before it found nothing (as NextTask does), timed by the database's
// clock; then on a case, for one in three the interview (draft, then the
// save's transaction), else a no-answer; on a verification call-back, its
// outcome. The time the probes took goes into bench_next_case_ms.
func nextCaseScript(waveID, qid, firstUser int64, districts []string) string {
	w, q := strconv.FormatInt(waveID, 10), strconv.FormatInt(qid, 10)
	lease := fmt.Sprintf("'%d seconds'", int(dialer.LeaseDuration.Seconds()))
	grace := fmt.Sprintf("'%d seconds'", dialer.DefaultRules.GraceMinutes*60)
	var b strings.Builder
	fmt.Fprintf(&b, "\\set uid %d + :client_id\n\\set cid 0\n\\set vid 0\n", firstUser)
	b.WriteString("SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset\n")
	// \aset leaves cid and vid alone when nothing is held or handed out.
	b.WriteString(strings.Replace(inline("dialer/next-task", " \\aset\n", w, ":uid", lease, grace, "true"),
		"\nSELECT kind, id FROM (\n", "\nSELECT CASE kind WHEN 'case' THEN id ELSE 0 END AS cid, CASE kind WHEN 'verification' THEN id ELSE 0 END AS vid FROM (\n", 1))
	b.WriteString("SELECT (extract(epoch FROM clock_timestamp()) - :t0) * 1000 AS ms \\gset\n")
	// Respondents live all over the city, as the simulated interviewers'
	// do: each district's quota row is one save's at a time.
	district := fmt.Sprintf("(ARRAY['%s'])[:d]", strings.Join(districts, "','"))
	fmt.Fprintf(&b, "\\if :cid > 0\n\\set r random(1, 3)\n\\set d random(1, %d)\n\\if :r = 1\n", len(districts))
	b.WriteString(inline("dialer/open-draft", ";", ":cid", ":uid", "md5(random()::text)", "now()"))
	b.WriteString("BEGIN;\n")
	b.WriteString(inline("dialer/lock-held-case", ";", ":cid", ":uid"))
	b.WriteString(inline("dialer/lock-draft", ";", ":cid"))
	b.WriteString(inline("dialer/delete-draft", ";", ":cid"))
	answers := `'{"s1": "1", "s2": "1", "district": "500101", "sex": "1", "age_group": "2", "urban": "1", "q01": "2", "q02": "3", "q03": "4", "q04": "5", "q05": "1", "q06": "2", "q07": "3", "q08": "4", "q09": "5", "q10": "1", "q11": "2", "q12": "3", "q13": "4"}'`
	b.WriteString(strings.Replace(inline("survey/insert-interview", " \\gset\n", w, ":cid", "NULL", q, ":uid", district, "'phone'", "NULL", "NULL", "1", "2",
		answers, "md5(random()::text)", "'cati'", "now()", "false"), "SELECT id FROM iv", "SELECT id AS iid FROM iv", 1))
	b.WriteString(inline("dialer/sample-verification", ";", w, ":uid", ":iid", ":cid", "'13902300001'", "'3600 seconds'"))
	b.WriteString(inline("dialer/record-attempt", ";", ":cid", ":uid", "'complete'", "'1.1'", "true", "NULL", "'final'", "'1.1'", "NULL", "NULL", "false", "1", "NULL", "NULL"))
	b.WriteString(inline("dialer/count-quota", ";", w, district, "1", "2"))
	b.WriteString("COMMIT;\n\\else\nBEGIN;\n")
	b.WriteString(inline("dialer/lock-held-case", ";", ":cid", ":uid"))
	b.WriteString(inline("dialer/record-attempt", ";", ":cid", ":uid", "'no_answer'", "'3.13'", "false", "NULL", "'pending'", "NULL", "now() + interval '2 hours'", "NULL", "false", "1", "NULL", "NULL"))
	b.WriteString("COMMIT;\n\\endif\n\\elif :vid > 0\n")
	b.WriteString(inline("dialer/record-verification", ";", ":vid", ":uid", "'done'", "'confirmed'", "NULL", "''"))
	b.WriteString("\\endif\nINSERT INTO bench_next_case_ms (ms) VALUES (:ms);\n")
	return b.String()
}
