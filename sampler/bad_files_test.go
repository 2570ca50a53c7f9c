package sampler

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"minyi/core"
	"minyi/csvfile"
	"minyi/csvfile/csvtest"
)

// badFileSize is the size of the bad files the memory tests import: 2 GB,
// made as they are read, so nothing is written to disk.
const badFileSize = 2_000_000_000

// heapBound is how much more heap than when idle an import of such a file
// may take.
const heapBound = 64 << 20

// filler makes a file's lines about a kilobyte long: a 2 GB file then has
// two million rows, each with a value of its own, which is where memory
// that grows with the file would show.
var filler = strings.Repeat("x", 1000)

func bounded(t *testing.T, what string, idle, peak uint64, lines int) {
	t.Helper()
	t.Logf("%s: %d lines of a 2 GB file; heap idle %.1f MiB, peak %.1f MiB, %.1f MiB above idle",
		what, lines, csvtest.MiB(idle), csvtest.MiB(peak), csvtest.MiB(peak-idle))
	if peak > idle+heapBound {
		t.Errorf("%s: the import of a 2 GB bad file took %.1f MiB above idle, more than %d", what, csvtest.MiB(peak-idle), heapBound>>20)
	}
}

// problemsOf are the problems a reference file was refused with, and how
// many more there were.
func problemsOf(t *testing.T, err error) ([]string, int) {
	t.Helper()
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Err == nil {
		t.Fatalf("a bad file gave %v, want its problems", err)
	}
	lines := strings.Split(ce.Err.Error(), "\n")
	last := lines[len(lines)-1]
	var more int
	if _, err := fmt.Sscanf(last, "……另有 %d 处", &more); err != nil {
		t.Fatalf("the problems do not end with how many more there are: %q", last)
	}
	for _, l := range lines {
		if len(l) > 500 {
			t.Errorf("a problem of %d bytes: %.80q…", len(l), l)
		}
	}
	return lines[:len(lines)-1], more
}

// TestBadFilesHoldBoundedMemory imports a 2 GB bad file of each kind the
// sampler reads: districts (half of its rows good, each a district of its
// own), margins, a telephone frame and a household frame, each bad row
// unlike the others. Each is refused with its first problems listed and
// the rest counted, in a heap that does not grow with the file.
func TestBadFilesHoldBoundedMemory(t *testing.T) {
	db := frameDB(t)

	t.Run("districts", func(t *testing.T) {
		f := csvtest.File("code,name,resident_population,note", badFileSize, func(i int, b []byte) []byte {
			if i%2 == 0 {
				return fmt.Appendf(b, "D%010d,区县%d,1000,%s\n", i, i, filler)
			}
			return fmt.Appendf(b, "D%010d,区县%d,%s%d\n", i, i, filler, i)
		})
		var err error
		idle, peak := csvtest.Heap(func() { _, err = ParseDistricts(f) })
		bounded(t, "districts", idle, peak, f.Lines())
		listed, more := problemsOf(t, err)
		// Every bad row, and every good one after the first MaxDistricts.
		if want := f.Lines() - MaxDistricts; len(listed) != csvfile.MaxProblems || len(listed)+more != want {
			t.Errorf("%d problems listed and %d more, want %d and %d", len(listed), more, csvfile.MaxProblems, want-csvfile.MaxProblems)
		}
	})

	t.Run("margins", func(t *testing.T) {
		f := csvtest.File("district_code,variable,category,population,note", badFileSize, func(i int, b []byte) []byte {
			return fmt.Appendf(b, "X%09d,sex,1,100,%s\n", i, filler)
		})
		var err error
		idle, peak := csvtest.Heap(func() { _, err = ParseMargins(f, map[string]bool{"500101": true}) })
		bounded(t, "margins", idle, peak, f.Lines())
		if listed, more := problemsOf(t, err); len(listed) != csvfile.MaxProblems || len(listed)+more != f.Lines() {
			t.Errorf("%d problems listed and %d more for %d bad rows", len(listed), more, f.Lines())
		}
	})

	t.Run("telephone frame", func(t *testing.T) {
		f := csvtest.File("phone,district_code", badFileSize, func(i int, b []byte) []byte {
			return fmt.Appendf(b, "139%08d%s,500101\n", i, filler)
		})
		var rep FrameReport
		var err error
		idle, peak := csvtest.Heap(func() { rep, err = ImportPhoneFrame(fctx, db, f, ImportOptions{FileName: "bad.csv"}) })
		bounded(t, "telephone frame", idle, peak, f.Lines())
		if err == nil || rep.Rejected != f.Lines() || rep.Kept != 0 || len(rep.Problems) != MaxStoredProblems {
			t.Errorf("report %d read, %d rejected, %d kept, %d problems kept; %v", rep.Read, rep.Rejected, rep.Kept, len(rep.Problems), err)
		}
		if n := frameCount(t, db, `SELECT count(*) FROM phone_frame`); n != 0 {
			t.Errorf("%d numbers imported from a bad file", n)
		}
	})

	t.Run("household frame", func(t *testing.T) {
		f := csvtest.File("district_code,street,community,household_id,address", badFileSize, func(i int, b []byte) []byte {
			return fmt.Appendf(b, "X%09d,街道%d,社区%d,H%d,%s\n", i, i, i, i, filler)
		})
		var rep FrameReport
		var err error
		idle, peak := csvtest.Heap(func() { rep, err = ImportHouseholdFrame(fctx, db, f, ImportOptions{FileName: "bad.csv"}) })
		bounded(t, "household frame", idle, peak, f.Lines())
		if err == nil || rep.Rejected != f.Lines() || len(rep.Problems) != MaxStoredProblems {
			t.Errorf("report %d read, %d rejected, %d problems kept; %v", rep.Read, rep.Rejected, len(rep.Problems), err)
		}
		if n := frameCount(t, db, `SELECT count(*) FROM household_frame`); n != 0 {
			t.Errorf("%d households imported from a bad file", n)
		}
	})
}
