package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"minyi/sampler"
	"minyi/sql/pg"
)

// importTarget is the most the import may take, as a multiple of its
// baseline.
const importTarget = 1.2

// benchImport times the frame import against its baseline, measured in the
// same run: psql's \copy of the same rows into a bare table of the frame's
// columns, then CREATE INDEX of every index the frame has, read from the
// catalog, all in one transaction with the memory the import gives its
// index builds. The frame's foreign key to districts is not an index: the
// import checks it and the baseline does not, so it counts on our side.
//
// The baseline runs before and after the import, and the import is
// compared with the mean of the two: on a shared machine the load drifts
// over the minutes a census-scale load takes, and a drift that grows or
// shrinks steadily then favours neither side.
func benchImport(ctx context.Context, b *benchDB, ds []sampler.District, scale float64, progress io.Writer) (BenchResult, error) {
	res := BenchResult{Name: benchImportName, Unit: "s", Target: fmt.Sprintf("<= %.2f", importTarget)}
	if _, err := sampler.SaveDistricts(ctx, b.db, ds); err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "bench: generating a telephone frame at scale %g…\n", scale)
	name, rowsName, n, err := benchFrameFile(ds, scale, true)
	if err != nil {
		return res, err
	}
	defer os.Remove(name)
	defer os.Remove(rowsName)
	indexes, err := frameIndexes(ctx, b)
	if err != nil {
		return res, err
	}
	var bases [2]bareLoad
	var loads [3]string
	fmt.Fprintf(progress, "bench: psql \\copy of %d rows into a bare table and %d CREATE INDEX…\n", n, len(indexes))
	loads[0] = loadAverage()
	if bases[0], err = bareFrameLoad(ctx, b, rowsName, indexes); err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "bench: importing %d numbers with minyi…\n", n)
	var phases []string
	if _, err := b.db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return res, err
	}
	loads[1] = loadAverage()
	if profileTo != nil {
		pprof.StartCPUProfile(profileTo)
	}
	ours, err := importBenchFrame(ctx, b, name, n, func(step string, took time.Duration) {
		phases = append(phases, fmt.Sprintf("%s %.2f s", step, took.Seconds()))
	})
	if profileTo != nil {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return res, err
	}
	after, err := frameIndexes(ctx, b)
	if err != nil {
		return res, err
	}
	if !slices.Equal(after, indexes) {
		return res, fmt.Errorf("bench: the import left the frame with the indexes %q, not the %q it had", after, indexes)
	}
	fmt.Fprintf(progress, "bench: the baseline again…\n")
	loads[2] = loadAverage()
	if bases[1], err = bareFrameLoad(ctx, b, rowsName, indexes); err != nil {
		return res, err
	}
	// Settled first, so that the check does not also set every row's hint
	// bits, which the import's own check, inside its transaction, need not.
	fmt.Fprintf(progress, "bench: vacuuming the frame, then checking its foreign keys again, alone…\n")
	if _, err := b.db.ExecContext(ctx, `VACUUM phone_frame`); err != nil {
		return res, err
	}
	fk, err := timeFrameForeignKeys(ctx, b)
	if err != nil {
		return res, err
	}
	res.Ours, res.Baseline = ours.Seconds(), (bases[0].total.Seconds()+bases[1].total.Seconds())/2
	res.Ratio = res.Ours / res.Baseline
	res.Pass = res.Ratio <= importTarget
	var steps []string
	for i := range bases[0].steps {
		steps = append(steps, fmt.Sprintf("%s %.2f s", bases[0].names[i], (bases[0].steps[i].Seconds()+bases[1].steps[i].Seconds())/2))
	}
	res.Note = fmt.Sprintf("seconds for %d rows, lower is better. Ours: parse, validate and normalise every number, copy into phone_frame with ids and dense ordinals per district, "+
		"duplicates checked, the frame's indexes rebuilt and its foreign key to districts checked, frame checksum updated, all in one transaction (%s). "+
		"Baseline: in one psql transaction, \\copy of the same rows as the frame holds them (id, number, district, ordinal; %d bytes) into a table LIKE phone_frame, "+
		"then CREATE INDEX of each of the frame's %d indexes, read from the catalog, primary key and unique ones included, with the import's index memory; "+
		"run before and after ours (%.2f s and %.2f s), the mean taken (steps: %s). "+
		"The foreign key is no index and only ours checks it: checking it again on its own, on the settled frame, took %.2f s.",
		n, strings.Join(phases, ", "), fileSize(rowsName), len(indexes), bases[0].total.Seconds(), bases[1].total.Seconds(), strings.Join(steps, ", "), fk.Seconds())
	if loads[0] != "" {
		res.Note += fmt.Sprintf(" Load average (1 min) at the start of the first baseline, ours and the second baseline: %s, %s, %s.", loads[0], loads[1], loads[2])
	}
	return res, nil
}

// loadAverage is this machine's load average over the last minute, or ""
// where the system does not tell it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// frameIndexes lists the definitions of the telephone frame's indexes, in
// the order the import rebuilds them.
func frameIndexes(ctx context.Context, b *benchDB) ([]string, error) {
	var defs []string
	err := b.db.SelectContext(ctx, &defs, benchQuery("frame-indexes"))
	return defs, err
}

// bareLoad is the timing of the import's baseline: its steps, named, and
// psql's whole run.
type bareLoad struct {
	names []string
	steps []time.Duration
	total time.Duration
}

var (
	indexDefRe = regexp.MustCompile(`^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ (USING .*)$`)
	timingRe   = regexp.MustCompile(`(?m)^Time: ([0-9.]+) ms`)
)

// bareFrameLoad runs the import's baseline: psql, in one transaction,
// copies the rows file into a table of the frame's columns and builds the
// frame's indexes on it; the table is dropped afterwards.
func bareFrameLoad(ctx context.Context, b *benchDB, rowsName string, indexes []string) (bareLoad, error) {
	var out bareLoad
	psql, err := findPsql()
	if err != nil {
		return out, err
	}
	if _, err := b.db.ExecContext(ctx, `CREATE TABLE bare_frame (LIKE phone_frame)`); err != nil {
		return out, err
	}
	defer b.db.Exec(`DROP TABLE IF EXISTS bare_frame`)
	var script strings.Builder
	script.WriteString(pg.Q("frames/bulk-load-settings") + ";\n\\timing on\n")
	fmt.Fprintf(&script, "\\copy bare_frame (id, phone, district_code, ordinal) FROM '%s'\n", strings.ReplaceAll(rowsName, "'", "''"))
	out.names = append(out.names, "copy")
	for _, def := range indexes {
		m := indexDefRe.FindStringSubmatch(def)
		if m == nil {
			return out, fmt.Errorf("bench: cannot read the index definition %q", def)
		}
		fmt.Fprintf(&script, "CREATE %sINDEX ON bare_frame %s;\n", m[1], m[2])
		out.names = append(out.names, strings.ToLower(m[1])+"index "+strings.TrimPrefix(m[2], "USING btree "))
	}
	f, err := os.CreateTemp("", "minyi-bench-bare-*.sql")
	if err != nil {
		return out, err
	}
	defer os.Remove(f.Name())
	f.WriteString(script.String())
	f.Close()
	// The bare table's pages and the write-ahead log start as the import's
	// will.
	if _, err := b.db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return out, err
	}
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", f.Name(), b.libpqDSN())
	start := time.Now()
	stdout, err := cmd.CombinedOutput()
	out.total = time.Since(start)
	if err != nil {
		return out, fmt.Errorf("psql: %w\n%s", err, stdout)
	}
	for _, m := range timingRe.FindAllSubmatch(stdout, -1) {
		ms, _ := strconv.ParseFloat(string(m[1]), 64)
		out.steps = append(out.steps, time.Duration(ms*float64(time.Millisecond)))
	}
	if len(out.steps) != len(out.names) {
		return out, fmt.Errorf("bench: psql timed %d steps of %d:\n%s", len(out.steps), len(out.names), stdout)
	}
	// The bare table's pages would otherwise compete with the import's for
	// the server's cache.
	_, err = b.db.ExecContext(ctx, `DROP TABLE bare_frame`)
	return out, err
}

// timeFrameForeignKeys times the check of the telephone frame's foreign
// keys on their own, as the import makes it: each dropped and added back,
// which checks every row with one join, in a transaction rolled back.
func timeFrameForeignKeys(ctx context.Context, b *benchDB) (time.Duration, error) {
	tx, err := b.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var fks []struct {
		Name string `db:"name"`
		Def  string `db:"def"`
	}
	if err := tx.SelectContext(ctx, &fks, benchQuery("frame-foreign-keys")); err != nil {
		return 0, err
	}
	var took time.Duration
	for _, fk := range fks {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE phone_frame DROP CONSTRAINT %q`, fk.Name)); err != nil {
			return 0, err
		}
		start := time.Now()
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE phone_frame ADD CONSTRAINT %q %s`, fk.Name, fk.Def)); err != nil {
			return 0, err
		}
		took += time.Since(start)
	}
	return took, nil
}

func fileSize(name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return fi.Size()
}
