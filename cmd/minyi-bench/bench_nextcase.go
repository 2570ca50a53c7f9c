package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"minyi/dialer"
	"minyi/sql/pg"
)

const benchNextCaseName = "next-case-http"

// benchNextCase runs n simulated interviewers through the web interface on
// a wave of 100,000 cases (next case → an outcome, or an interview for
// about a third) and compares their rate of next-case requests with
// pgbench running the same SQL, statement for statement (the queue's
// probes, then the outcome's or the interview's transaction), with as many
// clients on the same database. After the run the simulation's invariant
// check must hold: no case held twice, no attempt lost, every acknowledged
// interview stored.
func benchNextCase(ctx context.Context, b *benchDB, n int, d time.Duration, progress io.Writer) (BenchResult, error) {
	res := BenchResult{Name: benchNextCaseName, Unit: "next-case/s", Target: ">= 0.60"}
	const perDistrict = 2500 // × 40 districts = 100,000 cases
	fmt.Fprintf(progress, "bench: next case: preparing a wave of %d cases and %d interviewers…\n", perDistrict*40, n)
	w, err := seedBenchCases(ctx, b, "nextcase", perDistrict)
	if err != nil {
		return res, err
	}
	if _, err := b.db.ExecContext(ctx, `ANALYZE cases`); err != nil {
		return res, err
	}
	sim, err := newSimulation(ctx, b.db, "nextcase", n, 0, "")
	if err != nil {
		return res, err
	}
	defer sim.close()
	// pgbench's clients are users of their own, so that the queue's
	// "already held" probe finds what each of them holds.
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("pgb%03d", i)
	}
	var ids []int64
	if err := b.db.SelectContext(ctx, &ids, `INSERT INTO users (username, password_hash, role) SELECT u, 'x', 'interviewer' FROM unnest($1::text[]) WITH ORDINALITY AS x(u, k) ORDER BY k RETURNING id`, pq.StringArray(names)); err != nil {
		return res, err
	}
	first := ids[0]
	for _, id := range ids {
		first = min(first, id)
	}
	script := nextCaseScript(w.ID, *w.QuestionnaireID, first)
	// The two sides take turns, twice each, so that a change in the
	// machine's load meanwhile weighs on both alike (once for a run too
	// short to halve: pgbench counts whole seconds).
	rounds := 2
	if d < 2*time.Second {
		rounds = 1
	}
	total := simReport{Outcomes: map[string]int64{}}
	var ours, theirs time.Duration
	var pgTx float64
	for r := 0; r < rounds; r++ {
		fmt.Fprintf(progress, "bench: next case: %d interviewers over HTTP for %s…\n", n, d/time.Duration(rounds))
		if profileTo != nil && r == 0 {
			pprof.StartCPUProfile(profileTo)
		}
		rep := sim.run(ctx, d/time.Duration(rounds), 0, nil)
		if profileTo != nil && r == 0 {
			pprof.StopCPUProfile()
		}
		total.NextCase = append(total.NextCase, rep.NextCase...)
		for k, v := range rep.Outcomes {
			total.Outcomes[k] += v
		}
		total.Interviews += rep.Interviews
		total.Errors += rep.Errors
		if total.FirstError == "" {
			total.FirstError = rep.FirstError
		}
		ours += rep.Duration
		turn := max(time.Second, d/time.Duration(rounds)).Truncate(time.Second)
		fmt.Fprintf(progress, "bench: next case: pgbench, %d clients for %s…\n", n, turn)
		tps, err := pgbench(ctx, b, n, turn, script)
		if err != nil {
			return res, err
		}
		pgTx += tps * turn.Seconds()
		theirs += turn
	}
	// After the run: no case held twice, no attempt lost, every
	// acknowledged interview stored.
	if err := sim.check(ctx, &total); err != nil {
		return res, err
	}
	if total.Errors > 0 || len(total.Violations) > 0 {
		return res, fmt.Errorf("bench: next case: %d errors (first: %s), violations %v", total.Errors, total.FirstError, total.Violations)
	}
	res.Ours = float64(len(total.NextCase)) / ours.Seconds()
	tps := pgTx / theirs.Seconds()
	res.Baseline = tps
	res.Ratio = res.Ours / res.Baseline
	res.Pass = res.Ratio >= 0.6
	res.Note = fmt.Sprintf("%d interviewers on 100,000 cases: %d next-case requests, p50 %s, p99 %s, %d interviews, invariants hold; the sides take turns, %d rounds each. Ours: each request over HTTP with the session check and the wave's rules, then the outcome or the interview (form and save) as the interviewer's browser would; pgbench: the same SQL statements alone (-c %d -j 2), one third interviews.",
		n, len(total.NextCase), total.percentile(0.5).Round(time.Microsecond), total.percentile(0.99).Round(time.Microsecond), total.Interviews, rounds, n)
	return res, nil
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
// language: the queue's probes in their order, then for one case in three
// the interview (draft, then the save's transaction), else a no-answer.
func nextCaseScript(waveID, qid, firstUser int64) string {
	w, q := strconv.FormatInt(waveID, 10), strconv.FormatInt(qid, 10)
	lease := fmt.Sprintf("'%d seconds'", int(dialer.LeaseDuration.Seconds()))
	grace := fmt.Sprintf("'%d seconds'", dialer.DefaultRules.GraceMinutes*60)
	var b strings.Builder
	fmt.Fprintf(&b, "\\set uid %d + :client_id\n", firstUser)
	b.WriteString(inline("dialer/held-task", ";", w, ":uid"))
	b.WriteString(inline("dialer/next-appointment", ";", w, ":uid", lease, grace))
	for _, p := range []string{"dialer/next-verification", "dialer/next-conversion", "dialer/next-retry"} {
		b.WriteString(inline(p, ";", w, ":uid", lease))
	}
	b.WriteString(strings.Replace(inline("dialer/next-fresh", " \\gset\n", w, ":uid", lease), "RETURNING id", "RETURNING id AS cid", 1))
	b.WriteString("\\set r random(1, 3)\n\\if :r = 1\n")
	b.WriteString(inline("dialer/open-draft", ";", ":cid", ":uid", "md5(random()::text)", "now()"))
	b.WriteString("BEGIN;\n")
	b.WriteString(inline("dialer/lock-held-case", ";", ":cid", ":uid"))
	b.WriteString(inline("dialer/lock-draft", ";", ":cid"))
	b.WriteString(inline("dialer/delete-draft", ";", ":cid"))
	answers := `'{"s1": "1", "s2": "1", "district": "500101", "sex": "1", "age_group": "2", "urban": "1", "q01": "2", "q02": "3", "q03": "4", "q04": "5", "q05": "1", "q06": "2", "q07": "3", "q08": "4", "q09": "5", "q10": "1", "q11": "2", "q12": "3", "q13": "4"}'`
	b.WriteString(strings.Replace(inline("survey/insert-interview", " \\gset\n", w, ":cid", "NULL", q, ":uid", "'500101'", "'phone'", "NULL", "NULL", "1", "2",
		answers, "md5(random()::text)", "'cati'", "now()", "false"), "SELECT id FROM iv", "SELECT id AS iid FROM iv", 1))
	b.WriteString(inline("dialer/sample-verification", ";", w, ":uid", ":iid", ":cid", "'13902300001'", "'3600 seconds'"))
	b.WriteString(inline("dialer/record-attempt", ";", ":cid", ":uid", "'complete'", "'1.1'", "true", "NULL", "'final'", "'1.1'", "NULL", "NULL", "false", "1", "NULL", "NULL"))
	b.WriteString(inline("dialer/count-quota", ";", w, "'500101'", "1", "2"))
	b.WriteString("COMMIT;\n\\else\nBEGIN;\n")
	b.WriteString(inline("dialer/lock-held-case", ";", ":cid", ":uid"))
	b.WriteString(inline("dialer/record-attempt", ";", ":cid", ":uid", "'no_answer'", "'3.13'", "false", "NULL", "'pending'", "NULL", "now() + interval '2 hours'", "NULL", "false", "1", "NULL", "NULL"))
	b.WriteString("COMMIT;\n\\endif\n")
	return b.String()
}
