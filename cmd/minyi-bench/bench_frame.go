package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"minyi/cmd/internal/cli"
	"minyi/cmd/minyi/data"
	"minyi/sampler"
	"minyi/sql/pg"
)

// Names of the benchmarks, as --only takes them.
const (
	benchSubmitName = "interview-submit-http"
	benchImportName = "frame-import-phone"
	benchDrawName   = "sample-draw-phone"
	benchMemoryName = "sample-draw-memory"
)

var benchNames = []string{benchSubmitName, benchImportName, benchDrawName, benchSoakName, benchExportName, benchScoresName, benchNextCaseName, benchCallsName, benchTalkTimeName}

// selectBenches reads --only; empty selects every benchmark.
func selectBenches(only string) (map[string]bool, error) {
	sel := map[string]bool{}
	if strings.TrimSpace(only) == "" {
		for _, n := range benchNames {
			sel[n] = true
		}
		return sel, nil
	}
	for _, n := range strings.Split(only, ",") {
		n = strings.TrimSpace(n)
		if n == benchMemoryName {
			n = benchDrawName // measured by the draw benchmark
		}
		if !slices.Contains(benchNames, n) {
			return nil, cli.UsageError(fmt.Sprintf("未知的基准 %q / unknown benchmark %q (known: %s)", n, n, strings.Join(benchNames, ", ")))
		}
		sel[n] = true
	}
	return sel, nil
}

// benchFigure prints a figure with the precision its size needs.
func benchFigure(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 4, 64)
	}
}

// benchFrame runs the frame benchmarks on a telephone frame of one number
// per resident of the 2010 census times scale: the import against psql's
// \copy of the same file, and a full 2‰ wave's draw against one count(*)
// of the frame, with the draw's peak memory at this scale and at a tenth of
// it.
func benchFrame(ctx context.Context, b *benchDB, scale float64, doImport, doDraw bool, progress io.Writer) ([]BenchResult, error) {
	ds, err := sampler.ParseDistricts(bytes.NewReader(data.ChongqingDistricts))
	if err != nil {
		return nil, err
	}
	var out []BenchResult
	if doImport {
		res, err := benchImport(ctx, b, ds, scale, progress)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	} else if doDraw {
		if err := loadBenchFrame(ctx, b, ds, scale, progress); err != nil {
			return nil, err
		}
	}
	if !doDraw {
		return out, nil
	}
	draw, mem, err := benchDraw(ctx, b, ds, progress)
	if err != nil {
		return nil, err
	}
	// The same wave on a frame a tenth the size: the sample is the same,
	// so its memory should be too.
	small := scale / 10
	fmt.Fprintf(progress, "bench: second frame at scale %g for the draw's memory…\n", small)
	sb, err := b.sibling("small")
	if err != nil {
		return nil, err
	}
	defer sb.close()
	if err := loadBenchFrame(ctx, sb, ds, small, progress); err != nil {
		return nil, err
	}
	_, smallMem, err := benchDraw(ctx, sb, ds, progress)
	if err != nil {
		return nil, err
	}
	memRes := BenchResult{Name: benchMemoryName, Ours: mem.heapMiB(), Baseline: smallMem.heapMiB(), Unit: "MiB heap",
		Target: "<= 2.00"}
	memRes.Ratio = memRes.Ours / memRes.Baseline
	memRes.Pass = memRes.Ratio <= 2
	memRes.Note = fmt.Sprintf("peak Go heap of the draw (growth over the heap before it) on a frame of %d rows (ours) and of %d rows (baseline), "+
		"the same wave of %d cases on both; a draw whose memory followed the frame would show a ratio near %.0f. "+
		"Peak RSS growth: %.1f MiB and %.1f MiB.",
		mem.frameRows, smallMem.frameRows, mem.cases, float64(mem.frameRows)/float64(max(smallMem.frameRows, 1)),
		mem.rssMiB(), smallMem.rssMiB())
	if smallMem.short > 0 {
		memRes.Note += fmt.Sprintf(" At this scale the small frame could not supply %d districts' releases, so the two samples differ.", smallMem.short)
	}
	return append(out, draw, memRes), nil
}

// benchFrameFile writes a telephone frame of round(population·scale)
// numbers per district, all distinct valid mobile numbers. Consecutive
// rows get numbers far apart (i·a mod 10⁸ over the 139 block, a odd and
// prime to 5), as in a real list, so that the frame's unique index is
// written in random order rather than appended to.
func benchFrameFile(ds []sampler.District, scale float64) (string, int64, error) {
	f, err := os.CreateTemp("", "minyi-bench-frame-*.csv")
	if err != nil {
		return "", 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("phone,district_code\n")
	const a, m = 48271, 100_000_000
	var i int64
	line := []byte("139")
	var digits []byte
	for _, d := range ds {
		n := int64(math.Round(float64(d.Population) * scale))
		for k := int64(0); k < n; k++ {
			x := (i * a) % m
			i++
			// m+x has a leading 1 and then x's eight digits, zero-padded.
			digits = strconv.AppendInt(digits[:0], m+x, 10)
			line = append(line[:3], digits[1:]...)
			line = append(line, ',')
			line = append(line, d.Code...)
			line = append(line, '\n')
			w.Write(line)
		}
	}
	if i > m {
		f.Close()
		os.Remove(f.Name())
		return "", 0, fmt.Errorf("bench: scale too large for one block of numbers")
	}
	if err := w.Flush(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", 0, err
	}
	return f.Name(), i, f.Close()
}

// loadBenchFrame fills a database's telephone frame at the given scale,
// untimed, for a draw.
func loadBenchFrame(ctx context.Context, b *benchDB, ds []sampler.District, scale float64, progress io.Writer) error {
	if _, err := sampler.SaveDistricts(ctx, b.db, ds); err != nil {
		return err
	}
	fmt.Fprintf(progress, "bench: generating a telephone frame at scale %g…\n", scale)
	name, n, err := benchFrameFile(ds, scale)
	if err != nil {
		return err
	}
	defer os.Remove(name)
	fmt.Fprintf(progress, "bench: importing %d numbers…\n", n)
	_, err = importBenchFrame(ctx, b, name, n)
	return err
}

func importBenchFrame(ctx context.Context, b *benchDB, name string, n int64) (time.Duration, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	rep, err := sampler.ImportPhoneFrame(ctx, b.db, f, sampler.ImportOptions{FileName: filepath.Base(name)})
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	if int64(rep.Kept) != n || rep.Rejected != 0 || rep.Duplicates != 0 {
		return 0, fmt.Errorf("bench: import kept %d of %d rows (%d rejected, %d duplicates)", rep.Kept, n, rep.Rejected, rep.Duplicates)
	}
	return took, nil
}

// benchImport times the frame import against psql's \copy of the same file
// into a bare table of two text columns.
func benchImport(ctx context.Context, b *benchDB, ds []sampler.District, scale float64, progress io.Writer) (BenchResult, error) {
	res := BenchResult{Name: benchImportName, Unit: "s", Target: "<= 1.30"}
	if _, err := sampler.SaveDistricts(ctx, b.db, ds); err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "bench: generating a telephone frame at scale %g…\n", scale)
	name, n, err := benchFrameFile(ds, scale)
	if err != nil {
		return res, err
	}
	defer os.Remove(name)
	psql, err := findPsql()
	if err != nil {
		return res, err
	}
	if _, err := b.db.ExecContext(ctx, `CREATE TABLE bare_frame (phone text, district_code text)`); err != nil {
		return res, err
	}
	defer b.db.Exec(`DROP TABLE IF EXISTS bare_frame`)
	fmt.Fprintf(progress, "bench: psql \\copy of %d rows into a bare table…\n", n)
	copyCmd := fmt.Sprintf(`\copy bare_frame(phone, district_code) FROM '%s' WITH (FORMAT csv, HEADER true)`, strings.ReplaceAll(name, "'", "''"))
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", copyCmd, b.libpqDSN())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	baseline := time.Since(start)
	if err != nil {
		return res, fmt.Errorf("psql \\copy: %w\n%s", err, out)
	}
	// What one index over the frame's numbers costs on its own, built as
	// the import builds its indexes: the frame needs one for duplicates and
	// random-digit dialing and one on stratum and ordinal for the draw.
	fmt.Fprintf(progress, "bench: one unique index over the bare table's numbers…\n")
	idx, err := timeIndexBuild(ctx, b, `CREATE UNIQUE INDEX bare_frame_phone ON bare_frame (phone)`)
	if err != nil {
		return res, err
	}
	// The bare table's pages would otherwise compete with the import's for
	// the server's cache.
	if _, err := b.db.ExecContext(ctx, `DROP TABLE bare_frame`); err != nil {
		return res, err
	}
	if _, err := b.db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "bench: importing %d numbers with minyi…\n", n)
	ours, err := importBenchFrame(ctx, b, name, n)
	if err != nil {
		return res, err
	}
	res.Ours, res.Baseline = ours.Seconds(), baseline.Seconds()
	res.Ratio = res.Ours / res.Baseline
	res.Pass = res.Ratio <= 1.3
	res.Note = fmt.Sprintf("seconds for %d rows, lower is better; ours: parse, validate and normalise every number, copy into phone_frame with dense ordinals per district, "+
		"duplicates checked, frame checksum updated, all in one transaction; baseline: psql \\copy of the same file into a table of two text columns with no index. "+
		"Building one unique index over the bare table's numbers took %.2f s on its own, %.2f× the copy.", n, idx.Seconds(), idx.Seconds()/baseline.Seconds())
	return res, nil
}

// timeIndexBuild times one CREATE INDEX with the memory the import gives
// its index builds, in a transaction of its own that it commits.
func timeIndexBuild(ctx context.Context, b *benchDB, create string) (time.Duration, error) {
	tx, err := b.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, pg.Q("frames/bulk-load-settings")); err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return 0, err
	}
	took := time.Since(start)
	return took, tx.Commit()
}

func findPsql() (string, error) {
	if dir, err := pg.FindBinaries(); err == nil {
		if p := filepath.Join(dir, "psql"); fileExists(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("psql"); err == nil {
		return p, nil
	}
	return "", errors.New("找不到 psql,请安装 Debian 软件包 postgresql-client / psql not found: install postgresql-client")
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

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
// b, three times, against count(*) of the frame, three times, and takes the
// median of each. The first draw's peak memory is measured.
func benchDraw(ctx context.Context, b *benchDB, ds []sampler.District, progress io.Writer) (BenchResult, drawMemory, error) {
	res := BenchResult{Name: benchDrawName, Unit: "s", Target: "<= 0.20"}
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
	const runs = 3
	var counts, draws []time.Duration
	for i := 0; i < runs; i++ {
		fmt.Fprintf(progress, "bench: counting the frame (%d/%d)…\n", i+1, runs)
		start := time.Now()
		var n int64
		if err := b.db.GetContext(ctx, &n, `SELECT count(*) FROM phone_frame`); err != nil {
			return res, mem, err
		}
		counts = append(counts, time.Since(start))
	}
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
	}
	fmt.Fprintf(progress, "bench: writing the first draw's cases again, alone…\n")
	release, err := timeRelease(ctx, b, "bench-draw-1")
	if err != nil {
		return res, mem, err
	}
	ours, base := median(draws), median(counts)
	res.Ours, res.Baseline = ours.Seconds(), base.Seconds()
	res.Ratio = res.Ours / res.Baseline
	res.Pass = res.Ratio <= 0.2
	res.Note = fmt.Sprintf("seconds, median of %d, lower is better; ours: a full 2‰ wave of the census population over %d districts (%d cases released, "+
		"allocation, Floyd on dense ordinals, reading only the drawn rows, cases and replicates written, in one transaction) from a frame of %d rows; "+
		"baseline: SELECT count(*) over that frame. Writing the released cases alone, with the draw's own statement, took %.2f s, %.2f× the count.",
		runs, len(ds), mem.cases, mem.frameRows, release.Seconds(), release.Seconds()/base.Seconds())
	if mem.short > 0 {
		res.Note += fmt.Sprintf(" %d districts' frames were smaller than their release at this scale.", mem.short)
	}
	return res, mem, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
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

// timeRelease times the part of a draw that no way of selecting numbers can
// save: writing its released telephone cases. It writes the cases of the
// wave named from again, into a wave of their own, with the draw's release
// statement, and rolls that back.
func timeRelease(ctx context.Context, b *benchDB, from string) (time.Duration, error) {
	src, err := sampler.GetWave(ctx, b.db, from)
	if err != nil {
		return 0, err
	}
	var cs []struct {
		Stratum   string  `db:"stratum"`
		Phone     string  `db:"phone"`
		Replicate int64   `db:"replicate"`
		Prob      float64 `db:"inclusion_prob"`
	}
	if err := b.db.SelectContext(ctx, &cs, `SELECT coalesce(stratum, '') AS stratum, phone, replicate, inclusion_prob
		FROM cases WHERE wave_id = $1 AND mode = 'phone' ORDER BY id`, src.ID); err != nil {
		return 0, err
	}
	strata, phones := make([]string, len(cs)), make([]string, len(cs))
	reps, probs := make([]int64, len(cs)), make([]float64, len(cs))
	for i, c := range cs {
		strata[i], phones[i], reps[i], probs[i] = c.Stratum, c.Phone, c.Replicate, c.Prob
	}
	w, err := sampler.CreateWave(ctx, b.db, sampler.WaveSpec{Name: from + "-release", Rate: 0.002})
	if err != nil {
		return 0, err
	}
	tx, err := b.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	start := time.Now()
	if _, err := tx.ExecContext(ctx, pg.Q("draws/release-phone-cases"), w.ID, pq.StringArray(strata), pq.StringArray(phones),
		pq.Int64Array(reps), pq.Float64Array(probs)); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
