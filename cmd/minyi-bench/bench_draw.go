package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"minyi/sampler"
)

// drawTarget is the most a draw may take, as a multiple of its baseline.
const drawTarget = 1.5

// drawMemory is what one draw used.
type drawMemory struct {
	heap, rss uint64 // peak growth, bytes
	frameRows int64
	cases     int
	short     int
}

func (m drawMemory) heapMiB() float64 { return float64(m.heap) / (1 << 20) }
func (m drawMemory) rssMiB() float64  { return float64(m.rss) / (1 << 20) }

// benchDraw draws full 2‰ waves of the census population from the frame in
// b, three times, each followed by its baseline: an ordinal-join draw that
// finds the same released numbers in the frame by stratum and ordinal and
// INSERTs the same cases into cases, for a wave of its own, in one
// statement. The median of each side is taken; the first draw's peak
// memory is measured.
func benchDraw(ctx context.Context, b *benchDB, ds []sampler.District, progress io.Writer) (BenchResult, drawMemory, error) {
	res := BenchResult{Name: benchDrawName, Unit: "s", Target: fmt.Sprintf("<= %.2f", drawTarget)}
	var mem drawMemory
	// A frame that has settled after its import: hint bits set and
	// statistics known, as for any draw but the one right after an import.
	fmt.Fprintf(progress, "bench: vacuuming the frame…\n")
	if _, err := b.db.ExecContext(ctx, `VACUUM (ANALYZE) phone_frame`); err != nil {
		return res, mem, err
	}
	if err := b.db.GetContext(ctx, &mem.frameRows, `SELECT count(*) FROM phone_frame`); err != nil {
		return res, mem, err
	}
	warm := prewarmFrame(ctx, b)
	const runs = 3
	var draws, joins []time.Duration
	for i := 0; i < runs; i++ {
		name := fmt.Sprintf("bench-draw-%d", i+1)
		if _, err := sampler.CreateWave(ctx, b.db, sampler.WaveSpec{Name: name, Rate: 0.002}); err != nil {
			return res, mem, err
		}
		fmt.Fprintf(progress, "bench: drawing a 2‰ wave over %d districts (%d/%d)…\n", len(ds), i+1, runs)
		var stop func() (uint64, uint64)
		if i == 0 {
			stop = watchMemory()
		}
		start := time.Now()
		rep, err := sampler.Draw(ctx, b.db, name, int64(20260101+i))
		took := time.Since(start)
		if stop != nil {
			mem.heap, mem.rss = stop()
		}
		if err != nil {
			return res, mem, err
		}
		draws = append(draws, took)
		mem.cases, mem.short = rep.Released, len(rep.Short)
		fmt.Fprintf(progress, "bench: the same cases by an ordinal join (%d/%d)…\n", i+1, runs)
		join, err := ordinalJoinDraw(ctx, b, name)
		if err != nil {
			return res, mem, err
		}
		joins = append(joins, join)
	}
	ours, base := median(draws), median(joins)
	res.Ours, res.Baseline = ours.Seconds(), base.Seconds()
	res.Ratio = res.Ours / res.Baseline
	res.Pass = res.Ratio <= drawTarget
	res.Note = fmt.Sprintf("seconds, median of %d, lower is better. Ours: a full 2‰ wave of the census population over %d districts (%d cases released) from a frame of %d rows: "+
		"allocation, Floyd on dense ordinals, the drawn rows found by ordinal, cases, replicates and allocations written, in one transaction (%s). "+
		"Baseline: the same released cases — the numbers at the same ordinals of the same strata, with the same replicates and probabilities — "+
		"INSERTed into cases for a wave of their own by one INSERT … SELECT joining the ordinals to phone_frame, with JIT off (%s). "+
		"Each baseline runs right after the draw whose cases it repeats, so some of the same pages are still in the server's buffers: that favours the baseline.",
		runs, len(ds), mem.cases, mem.frameRows, seconds(draws), seconds(joins))
	if warm {
		res.Note += " The frame and its indexes were read into the operating system's cache before the first draw (pg_prewarm), so that neither side reads them from disk."
	} else {
		res.Note += " pg_prewarm was not available, so the first draw may read the frame from disk where its baseline finds it in the operating system's cache."
	}
	if mem.short > 0 {
		res.Note += fmt.Sprintf(" %d districts' frames were smaller than their release at this scale.", mem.short)
	}
	return res, mem, nil
}

// prewarmFrame reads the telephone frame and its indexes once into the
// operating system's cache, so that a draw and its baseline, which follows
// it, find the same pages equally warm; it reports whether it could.
func prewarmFrame(ctx context.Context, b *benchDB) bool {
	if _, err := b.db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_prewarm`); err != nil {
		return false
	}
	// Not among the bench's query files: those are checked on a database
	// without the extension.
	_, err := b.db.ExecContext(ctx, `SELECT pg_prewarm(c.oid, 'read') FROM pg_class c
		WHERE c.oid = 'phone_frame'::regclass OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'phone_frame'::regclass)`)
	return err == nil
}

// ordinalJoinDraw is the draw's baseline: it writes the telephone cases of
// the wave named from again, for a wave of their own, found in the frame by
// stratum and ordinal with one INSERT … SELECT, and checks they are the
// same cases. Reading the ordinals is not timed.
func ordinalJoinDraw(ctx context.Context, b *benchDB, from string) (time.Duration, error) {
	src, err := sampler.GetWave(ctx, b.db, from)
	if err != nil {
		return 0, err
	}
	var cs []struct {
		Stratum   string  `db:"stratum"`
		Ordinal   int64   `db:"ordinal"`
		Replicate int64   `db:"replicate"`
		Prob      float64 `db:"inclusion_prob"`
	}
	if err := b.db.SelectContext(ctx, &cs, benchQuery("draw-ordinals"), src.ID); err != nil {
		return 0, err
	}
	strata, ordinals := make([]string, len(cs)), make([]int64, len(cs))
	reps, probs := make([]int64, len(cs)), make([]float64, len(cs))
	for i, c := range cs {
		strata[i], ordinals[i], reps[i], probs[i] = c.Stratum, c.Ordinal, c.Replicate, c.Prob
	}
	w, err := sampler.CreateWave(ctx, b.db, sampler.WaveSpec{Name: from + "-ordinal-join", Rate: 0.002})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	tx, err := b.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	// Compiling the join's expressions would take longer than running them.
	if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
		return 0, err
	}
	r, err := tx.ExecContext(ctx, benchQuery("draw-baseline"), w.ID, pq.StringArray(strata), pq.Int64Array(ordinals),
		pq.Int64Array(reps), pq.Float64Array(probs))
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	took := time.Since(start)
	if n, _ := r.RowsAffected(); n != int64(len(cs)) {
		return 0, fmt.Errorf("bench: the ordinal join wrote %d cases, the draw %d", n, len(cs))
	}
	var differ int
	if err := b.db.GetContext(ctx, &differ, benchQuery("draw-differences"), src.ID, w.ID); err != nil {
		return 0, err
	}
	if differ != 0 {
		return 0, fmt.Errorf("bench: the ordinal join wrote %d cases the draw did not", differ)
	}
	return took, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// seconds lists durations as "1.23, 1.25, 1.31 s".
func seconds(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
	}
	return strings.Join(s, ", ") + " s"
}

// watchMemory samples the Go heap until the returned function is called,
// which gives the peak growth of the heap over its size at the start and the
// growth of the process's peak resident set (Linux only; 0 elsewhere).
func watchMemory() func() (heap, rss uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	// Writing 5 to clear_refs resets the kernel's peak RSS mark.
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	rssBase := procStatusKB("VmRSS")
	var peak atomic.Uint64
	peak.Store(base)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}
	}()
	return func() (uint64, uint64) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapAlloc > peak.Load() {
			peak.Store(m.HeapAlloc)
		}
		close(done)
		<-finished
		var rss uint64
		if hwm := procStatusKB("VmHWM"); hwm > rssBase {
			rss = (hwm - rssBase) << 10
		}
		return peak.Load() - base, rss
	}
}

// procStatusKB reads one "Name: N kB" line of /proc/self/status.
func procStatusKB(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
