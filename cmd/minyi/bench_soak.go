package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"minyi/sql"
)

const benchSoakName = "soak-interviewers"

// heapSample is the program's live heap and goroutines at one moment.
type heapSample struct {
	at         time.Duration
	heap       uint64
	goroutines int
}

func sampleHeap(at time.Duration) heapSample {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return heapSample{at: at, heap: m.HeapAlloc, goroutines: runtime.NumGoroutine()}
}

// benchSoak runs n simulated interviewers against a server in this process
// for d, and checks that nothing failed and that the live heap and the
// goroutines stay flat from a fifth of the run (minute 2 of 10) to the end.
func benchSoak(ctx context.Context, b *benchDB, n int, d time.Duration, progress io.Writer) (BenchResult, error) {
	res := BenchResult{Name: benchSoakName, Unit: "MiB live heap", Target: "<= 1.25"}
	// Enough fresh cases that the interviewers never run dry.
	perDistrict := int(d.Seconds()*float64(n)/40) + 200
	fmt.Fprintf(progress, "bench: soak: preparing a wave of %d cases…\n", perDistrict*40)
	w, err := seedBenchWave(ctx, b, "soak")
	if err != nil {
		return res, err
	}
	for _, q := range []string{"bench/seed-soak-draw", "bench/seed-soak-replicates"} {
		if _, err := b.db.ExecContext(ctx, sql.Q(q), w.ID); err != nil {
			return res, err
		}
	}
	if _, err := b.db.ExecContext(ctx, sql.Q("bench/seed-soak-cases"), w.ID, perDistrict); err != nil {
		return res, err
	}
	sim, err := newSimulation(ctx, b.db, "soak", n, time.Second)
	if err != nil {
		return res, err
	}
	defer sim.close()
	fmt.Fprintf(progress, "bench: soak: %d interviewers for %s…\n", n, d)
	var samples []heapSample
	rep := sim.run(ctx, d, func(at time.Duration) {
		s := sampleHeap(at)
		samples = append(samples, s)
		fmt.Fprintf(progress, "bench: soak %s: heap %.1f MiB, %d goroutines\n", at.Round(time.Second), float64(s.heap)/(1<<20), s.goroutines)
	})
	if err := sim.check(ctx, &rep); err != nil {
		return res, err
	}
	if rep.Interviews == 0 {
		rep.Violations = append(rep.Violations, "no interview was completed")
	}
	// Compare the sample nearest a fifth of the run with the last.
	if len(samples) < 2 {
		samples = append(samples, sampleHeap(d/5), sampleHeap(d))
	}
	first := samples[0]
	for _, s := range samples {
		if s.at <= d/5 {
			first = s
		}
	}
	last := samples[len(samples)-1]
	res.Baseline = float64(first.heap) / (1 << 20)
	res.Ours = float64(last.heap) / (1 << 20)
	res.Ratio = res.Ours / res.Baseline
	goroutinesFlat := float64(last.goroutines) <= 1.2*float64(first.goroutines)+10
	res.Pass = res.Ratio <= 1.25 && goroutinesFlat && rep.Errors == 0 && len(rep.Violations) == 0
	res.Note = fmt.Sprintf("%d interviewers for %s: %d next-case requests (p50 %s, p99 %s), %d interviews, %d errors, %d invariant violations; heap %.1f → %.1f MiB and goroutines %d → %d from %s to %s (baseline: the figure at %s).",
		n, d, len(rep.NextCase), rep.percentile(0.5).Round(time.Millisecond), rep.percentile(0.99).Round(time.Millisecond), rep.Interviews,
		rep.Errors, len(rep.Violations), res.Baseline, res.Ours, first.goroutines, last.goroutines,
		first.at.Round(time.Second), last.at.Round(time.Second), first.at.Round(time.Second))
	if rep.FirstError != "" {
		res.Note += " First error: " + rep.FirstError
	}
	return res, nil
}
