package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

const benchSoakName = "soak-interviewers"

// The soak's tolerances. The live heap after a collection still holds the
// requests in flight at that moment, a few MiB that come and go; a leak
// grows past them and keeps growing. Goroutines follow the open
// connections, which the clients' pool opens and closes.
const (
	soakHeapTolerance      = 0.25 // the last tenth's heap floor at most 25 % above the second tenth's
	soakGoroutineTolerance = 0.20 // the goroutine floor at most 20 % (plus 10) above
)

// soakSample is the server's live heap and goroutines at one moment.
type soakSample struct {
	at         time.Duration
	heap       uint64
	goroutines int
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// benchSoak runs `minyi serve` (the binary server) in a process of its own and n simulated
// interviewers against it for d. It passes when nothing failed — no request
// error, no warning or error in the server's log, no broken invariant — and
// the server's live heap and goroutines stay flat from the second tenth of
// the run (minute 2 of 10) to the last. With memprofile set it writes the
// server's heap profiles at both ends of that span, to diff with
// `go tool pprof -base`.
func benchSoak(ctx context.Context, b *benchDB, server string, n int, d time.Duration, memprofile string, progress io.Writer) (BenchResult, error) {
	res := BenchResult{Name: benchSoakName, Unit: "MiB server heap", Target: fmt.Sprintf("<= %.2f", 1+soakHeapTolerance)}
	// Enough fresh cases that the interviewers never run dry.
	perDistrict := int(d.Seconds()*float64(n)/40) + 200
	fmt.Fprintf(progress, "bench: soak: preparing a wave of %d cases…\n", perDistrict*40)
	if _, err := seedBenchCases(ctx, b, "soak", perDistrict); err != nil {
		return res, err
	}
	srv, err := startBenchServer(server, b.dsn)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	sim, err := newSimulation(ctx, b.db, "soak", n, time.Second, srv.base)
	if err != nil {
		return res, err
	}
	defer sim.close()

	tenth := d / 10
	// Twelve samples a minute, so that the floor of each minute is likely
	// to include a moment with few requests in flight.
	every := min(max(tenth/12, time.Second), 5*time.Second)
	fmt.Fprintf(progress, "bench: soak: %d interviewers for %s against the server at %s (its memory every %s)…\n", n, d, srv.base, every)
	var samples []soakSample
	var sampleErr error
	wroteStart := false
	rep := sim.run(ctx, d, every, func(at time.Duration) {
		st, err := srv.stats(ctx)
		if err != nil {
			if sampleErr == nil {
				sampleErr = err
			}
			return
		}
		samples = append(samples, soakSample{at: at.Round(time.Second), heap: st.HeapAlloc, goroutines: st.Goroutines})
		fmt.Fprintf(progress, "bench: soak %s: server heap %.1f MiB, %d goroutines\n", at.Round(time.Second), mib(st.HeapAlloc), st.Goroutines)
		if memprofile != "" && !wroteStart && at >= 2*tenth {
			wroteStart = true
			if err := srv.heapProfile(ctx, memprofile+".server-start"); err != nil && sampleErr == nil {
				sampleErr = err
			}
		}
	})
	if len(samples) == 0 && sampleErr == nil {
		// A run shorter than one sampling interval: measure once after it.
		st, err := srv.stats(ctx)
		sampleErr = err
		samples = append(samples, soakSample{at: rep.Duration, heap: st.HeapAlloc, goroutines: st.Goroutines})
	}
	if memprofile != "" {
		if err := srv.heapProfile(ctx, memprofile+".server-end"); err != nil && sampleErr == nil {
			sampleErr = err
		}
	}
	if sampleErr != nil {
		return res, sampleErr
	}
	if err := sim.check(ctx, &rep); err != nil {
		return res, err
	}
	if rep.Interviews == 0 {
		rep.Violations = append(rep.Violations, "no interview was completed")
	}
	logged, firstLogged := srv.logProblems()
	f := soakFlatness(samples, d)
	res.Baseline, res.Ours = mib(f.start.minHeap), mib(f.end.minHeap)
	res.Ratio = res.Ours / res.Baseline
	heapFlat, goroutinesFlat := f.flat()
	res.Pass = heapFlat && goroutinesFlat && rep.Errors == 0 && logged == 0 && len(rep.Violations) == 0
	secs := rep.Duration.Seconds()
	res.Note = fmt.Sprintf("%d interviewers for %s against `minyi serve` in its own process: %d next-case requests (%.1f/s, p50 %s, p99 %s), %d interviews (%.1f/s), %d request errors, %d warnings or errors in the server's log, %d invariant violations. "+
		"Server's live heap after a collection, floor (least sample) of each span: %.1f MiB in %s, %.1f MiB in %s (ratio %.2f, tolerance %.2f: %s); goroutine floor %d → %d (tolerance +%.0f %% + 10: %s). Least–greatest sample by tenth of the run: %s.",
		n, d, len(rep.NextCase), float64(len(rep.NextCase))/secs, rep.percentile(0.5).Round(time.Millisecond), rep.percentile(0.99).Round(time.Millisecond),
		rep.Interviews, float64(rep.Interviews)/secs, rep.Errors, logged, len(rep.Violations),
		res.Baseline, f.start.label, res.Ours, f.end.label, res.Ratio, 1+soakHeapTolerance, flatWord(heapFlat),
		f.start.minGoroutines, f.end.minGoroutines, 100*soakGoroutineTolerance, flatWord(goroutinesFlat), f.byTenth)
	if rep.FirstError != "" {
		res.Note += " First request error: " + rep.FirstError
	}
	if firstLogged != "" {
		res.Note += " First log problem: " + firstLogged
	}
	for _, v := range rep.Violations {
		res.Note += " Violation: " + v + "."
	}
	return res, nil
}

func flatWord(ok bool) string {
	if ok {
		return "flat"
	}
	return "GROWING"
}

// flatness compares the second tenth of a soak with its last.
type flatness struct {
	start, end spanStats
	byTenth    string
}

// flat says whether the floors of the heap and of the goroutines stayed
// within the tolerances.
func (f flatness) flat() (heap, goroutines bool) {
	heap = float64(f.end.minHeap) <= (1+soakHeapTolerance)*float64(f.start.minHeap)
	goroutines = float64(f.end.minGoroutines) <= (1+soakGoroutineTolerance)*float64(f.start.minGoroutines)+10
	return heap, goroutines
}

// spanStats are the least and greatest of the samples in a span of the run.
type spanStats struct {
	label                        string
	minHeap, maxHeap             uint64
	minGoroutines, maxGoroutines int
}

// soakFlatness compares the floor — the least sample — of the second tenth
// of the run (minute 2 of 10) with that of the last tenth (minute 10). A
// sample also holds the requests in flight at that moment, and with 200
// interviewers pausing between actions that is anything from none to
// hundreds, some MiB and three goroutines each; what the server keeps is
// under every sample, so a leak raises the floor while bursts do not. A
// span without a sample, in a very short run, falls back on the nearest.
func soakFlatness(samples []soakSample, d time.Duration) flatness {
	var f flatness
	if len(samples) == 0 {
		return f
	}
	tenth := d / 10
	span := func(from, to time.Duration) spanStats {
		st := spanStats{label: fmt.Sprintf("%s–%s", from.Round(time.Second), min(to, d).Round(time.Second))}
		var in []soakSample
		for _, s := range samples {
			if s.at > from && s.at <= to {
				in = append(in, s)
			}
		}
		if len(in) == 0 {
			near := samples[0]
			for _, s := range samples {
				if absDuration(s.at-to) < absDuration(near.at-to) {
					near = s
				}
			}
			in, st.label = []soakSample{near}, near.at.Round(time.Second).String()
		}
		st.minHeap, st.maxHeap, st.minGoroutines, st.maxGoroutines = in[0].heap, in[0].heap, in[0].goroutines, in[0].goroutines
		for _, s := range in[1:] {
			st.minHeap, st.maxHeap = min(st.minHeap, s.heap), max(st.maxHeap, s.heap)
			st.minGoroutines, st.maxGoroutines = min(st.minGoroutines, s.goroutines), max(st.maxGoroutines, s.goroutines)
		}
		return st
	}
	f.start = span(tenth, 2*tenth)
	// The last tenth ends a little after d: the run's last sample may
	// land on the deadline itself.
	f.end = span(d-tenth, d+tenth)
	f.end.label = fmt.Sprintf("%s–%s", (d - tenth).Round(time.Second), d.Round(time.Second))
	var parts []string
	for i := 1; i <= 10; i++ {
		st := span(time.Duration(i-1)*tenth, time.Duration(i)*tenth)
		parts = append(parts, fmt.Sprintf("%s %.1f–%.1f MiB %d–%d goroutines", (time.Duration(i)*tenth).Round(time.Second), mib(st.minHeap), mib(st.maxHeap), st.minGoroutines, st.maxGoroutines))
	}
	f.byTenth = strings.Join(parts, "; ")
	return f
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
