package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime/pprof"
	"time"

	"minyi/csvfile"
	"minyi/survey"
)

const benchExportName = "export-microdata"

// benchExportMicrodata times the anonymised microdata export of a wave of
// 1,000,000 interviews (times scale) to /dev/null against psql running
// COPY (the same SELECT) TO STDOUT WITH CSV to /dev/null: what our side adds
// is reading the rows through the driver and writing the CSV for people
// (byte-order mark, CRLF, formula cells neutralised), the weights raked to
// census margins of sex, age group and urban/rural. The export's peak
// memory is measured on this wave and on one a tenth its size, which should
// need the same.
func benchExportMicrodata(ctx context.Context, b *benchDB, scale float64, progress io.Writer) (BenchResult, error) {
	res := BenchResult{Name: benchExportName, Unit: "s", Target: "<= 1.30"}
	n := int(math.Round(1_000_000 * scale))
	small := max(n/10, 1)
	for _, w := range []struct {
		name string
		n    int
	}{{"bench-export", n}, {"bench-export-small", small}} {
		wv, err := seedBenchWave(ctx, b, w.name)
		if err != nil {
			return res, err
		}
		fmt.Fprintf(progress, "bench: seeding %d interviews into wave %s…\n", w.n, w.name)
		if _, err := b.db.ExecContext(ctx, benchQuery("seed-interviews"), wv.ID, *wv.QuestionnaireID, w.n); err != nil {
			return res, err
		}
	}
	// Each district's interviews cycle through the 20 combinations of sex,
	// age group and urban/rural; with fewer than all 20 in every district
	// raking could not meet the margins, so a tiny run keeps base weights.
	raked := small >= 20*40
	if raked {
		if _, err := b.db.ExecContext(ctx, benchQuery("seed-margins")); err != nil {
			return res, err
		}
	}
	if _, err := b.db.ExecContext(ctx, `VACUUM (ANALYZE) interviews`); err != nil {
		return res, err
	}
	psql, err := findPsql()
	if err != nil {
		return res, err
	}
	query, err := survey.ResponsesCopyQuery(ctx, b.db, "bench-export")
	if err != nil {
		return res, err
	}
	copyOnce := func(q string) (time.Duration, error) {
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		defer devnull.Close()
		cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1",
			"-c", "SET work_mem = '64MB'", "-c", "COPY ("+q+") TO STDOUT WITH CSV HEADER", b.libpqDSN())
		cmd.Stdout = devnull
		var stderr limitedBuffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("psql COPY: %w\n%s", err, stderr.String())
		}
		return time.Since(start), nil
	}
	profiled := false
	exportOnce := func(wave string, watch bool) (time.Duration, int, uint64, uint64, error) {
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		defer devnull.Close()
		var stop func() (uint64, uint64)
		if watch {
			stop = watchMemory()
		} else if profileTo != nil && !profiled {
			profiled = true
			pprof.StartCPUProfile(profileTo)
			defer pprof.StopCPUProfile()
		}
		start := time.Now()
		w, err := csvfile.NewWriter(devnull, csvfile.UTF8)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		rows, err := survey.WriteResponses(ctx, b.db, wave, w)
		if err == nil {
			err = w.Flush()
		}
		took := time.Since(start)
		var heap, rss uint64
		if stop != nil {
			heap, rss = stop()
		}
		return took, rows, heap, rss, err
	}

	const runs = 3
	var ours, base []time.Duration
	var heap, rss uint64
	for i := 0; i < runs; i++ {
		fmt.Fprintf(progress, "bench: psql COPY of the export's SELECT, %d rows (%d/%d)…\n", n, i+1, runs)
		d, err := copyOnce(query)
		if err != nil {
			return res, err
		}
		base = append(base, d)
		fmt.Fprintf(progress, "bench: minyi export responses, %d rows (%d/%d)…\n", n, i+1, runs)
		d, rows, h, r, err := exportOnce("bench-export", i == 0)
		if err != nil {
			return res, err
		}
		if rows != n {
			return res, fmt.Errorf("bench: exported %d rows of %d", rows, n)
		}
		if i == 0 {
			heap, rss = h, r
		}
		ours = append(ours, d)
	}
	fmt.Fprintf(progress, "bench: minyi export responses of the small wave, %d rows…\n", small)
	_, _, smallHeap, smallRSS, err := exportOnce("bench-export-small", true)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "bench: psql COPY of the bare columns, no weights and no shuffle…\n")
	bare, err := copyOnce(fmt.Sprintf(`SELECT district_code, mode, weight, answers->>'sex', answers->>'age_group', ` +
		`answers->>'q01', answers->>'q02', answers->>'q03', answers->>'q04', answers->>'q05', answers->>'q06', answers->>'q07', ` +
		`answers->>'q08', answers->>'q09', answers->>'q10', answers->>'q11', answers->>'q12', answers->>'q13' ` +
		`FROM interviews WHERE wave_id = (SELECT id FROM waves WHERE name = 'bench-export')`))
	if err != nil {
		return res, err
	}
	res.Ours, res.Baseline = median(ours).Seconds(), median(base).Seconds()
	res.Ratio = res.Ours / res.Baseline
	res.Pass = res.Ratio <= 1.3
	mib := func(x uint64) float64 { return float64(x) / (1 << 20) }
	weights := "base weights (too few interviews at this scale to rake)"
	if raked {
		weights = "weights raked to sex, age group and urban/rural margins"
	}
	res.Note = fmt.Sprintf("seconds, median of %d, lower is better, for %d interviews × 13 indicators to /dev/null; "+
		"ours: %s per weighting cell, then the rows streamed from one snapshot (answer codes extracted and joined into one value per group, weight joined, "+
		"shuffled by the server) through lib/pq into the CSV for people (BOM, CRLF, formula cells neutralised); baseline: psql running COPY (the same SELECT) TO STDOUT WITH CSV. "+
		"psql COPY of the bare columns without weights or shuffle: %.2f s. "+
		"Memory of the export: peak Go heap growth %.1f MiB and peak RSS growth %.1f MiB at %d rows; %.1f MiB and %.1f MiB at %d rows.",
		runs, n, weights, bare.Seconds(), mib(heap), mib(rss), n, mib(smallHeap), mib(smallRSS), small)
	return res, nil
}

// limitedBuffer keeps the first 64 KiB written to it, for error messages.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
