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
	"slices"
	"strconv"
	"strings"
	"time"

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

var benchNames = []string{benchSubmitName, benchImportName, benchDrawName, benchSoakName, benchExportName, benchScoresName, benchNextCaseName, benchCallsName, benchBrowserCallsName, benchTalkTimeName, benchQueuesName}

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
// \copy of the same rows plus CREATE INDEX of the frame's indexes, and a
// full 2‰ wave's draw against an ordinal-join INSERT of the same cases,
// with the draw's peak memory at this scale and at a tenth of it.
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
// written in random order rather than appended to. With withRows it also
// writes the rows as the frame will hold them — id, number, district and
// ordinal, in COPY's text format — for the import's baseline.
func benchFrameFile(ds []sampler.District, scale float64, withRows bool) (name, rowsName string, n int64, err error) {
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
			if err != nil {
				os.Remove(f.Name())
			}
		}
	}()
	create := func(pattern string) (*bufio.Writer, error) {
		f, err := os.CreateTemp("", pattern)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		return bufio.NewWriterSize(f, 1<<20), nil
	}
	w, err := create("minyi-bench-frame-*.csv")
	if err != nil {
		return "", "", 0, err
	}
	var rw *bufio.Writer
	if withRows {
		if rw, err = create("minyi-bench-frame-rows-*.txt"); err != nil {
			return "", "", 0, err
		}
	}
	w.WriteString("phone,district_code\n")
	const a, m = 48271, 100_000_000
	var i int64
	line := []byte("139")
	var digits, row []byte
	for _, d := range ds {
		n := int64(math.Round(float64(d.Population) * scale))
		for k := int64(0); k < n; k++ {
			x := (i * a) % m
			i++
			// m+x has a leading 1 and then x's eight digits, zero-padded.
			digits = strconv.AppendInt(digits[:0], m+x, 10)
			line = append(line[:3], digits[1:]...)
			if rw != nil {
				row = strconv.AppendInt(row[:0], i, 10)
				row = append(row, '\t')
				row = append(row, line...)
				row = append(row, '\t')
				row = append(row, d.Code...)
				row = append(row, '\t')
				row = strconv.AppendInt(row, k+1, 10)
				row = append(row, '\n')
				rw.Write(row)
			}
			line = append(line, ',')
			line = append(line, d.Code...)
			line = append(line, '\n')
			w.Write(line)
		}
	}
	if i > m {
		return "", "", 0, fmt.Errorf("bench: scale too large for one block of numbers")
	}
	if err := w.Flush(); err != nil {
		return "", "", 0, err
	}
	if rw != nil {
		if err := rw.Flush(); err != nil {
			return "", "", 0, err
		}
		rowsName = files[1].Name()
	}
	return files[0].Name(), rowsName, i, nil
}

// loadBenchFrame fills a database's telephone frame at the given scale,
// untimed, for a draw.
func loadBenchFrame(ctx context.Context, b *benchDB, ds []sampler.District, scale float64, progress io.Writer) error {
	if _, err := sampler.SaveDistricts(ctx, b.db, ds); err != nil {
		return err
	}
	fmt.Fprintf(progress, "bench: generating a telephone frame at scale %g…\n", scale)
	name, _, n, err := benchFrameFile(ds, scale, false)
	if err != nil {
		return err
	}
	defer os.Remove(name)
	fmt.Fprintf(progress, "bench: importing %d numbers…\n", n)
	_, err = importBenchFrame(ctx, b, name, n, nil)
	return err
}

// importBenchFrame imports the frame file into the empty frame, telling
// phase how long each step of the bulk load took.
func importBenchFrame(ctx context.Context, b *benchDB, name string, n int64, phase func(string, time.Duration)) (time.Duration, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	rep, err := sampler.ImportPhoneFrame(ctx, b.db, f, sampler.ImportOptions{FileName: filepath.Base(name), Phase: phase})
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	if int64(rep.Kept) != n || rep.Rejected != 0 || rep.Duplicates != 0 {
		return 0, fmt.Errorf("bench: import kept %d of %d rows (%d rejected, %d duplicates)", rep.Kept, n, rep.Rejected, rep.Duplicates)
	}
	return took, nil
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
