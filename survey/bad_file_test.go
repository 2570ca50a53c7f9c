package survey

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"minyi/csvfile"
	"minyi/csvfile/csvtest"
)

// TestImportOfABadFileHoldsBoundedMemory imports a 2 GB responses file,
// made as it is read: nine rows in ten bad (an answer a kilobyte long),
// each with an interview id of its own, and the tenth good. The file is
// refused with its first problems listed and the rest counted, nothing is
// stored, and the heap stays within 64 MiB of idle.
func TestImportOfABadFileHoldsBoundedMemory(t *testing.T) {
	db, _, q := scoringDB(t)
	header := "interview_id,district_code,mode,weight,sex,age_group," + strings.Join(q.IndicatorIDs(), ",")
	rest := strings.Repeat(",3", len(q.IndicatorIDs())-1)
	filler := strings.Repeat("x", 1000)
	bad := 0
	f := csvtest.File(header, 2_000_000_000, func(i int, b []byte) []byte {
		if i%10 == 9 {
			return fmt.Appendf(b, "g%d,500101,phone,500,1,2,4%s\n", i, rest)
		}
		bad++
		return fmt.Appendf(b, "b%d,500102,door,500,2,3,%s%d%s\n", i, filler, i, rest)
	})
	var err error
	idle, peak := csvtest.Heap(func() {
		_, err = ImportResponses(t.Context(), db, "w", f, ImportOptions{Actor: "test"})
	})
	t.Logf("responses: %d lines of a 2 GB file; heap idle %.1f MiB, peak %.1f MiB, %.1f MiB above idle",
		f.Lines(), csvtest.MiB(idle), csvtest.MiB(peak), csvtest.MiB(peak-idle))
	if peak > idle+64<<20 {
		t.Errorf("the import of a 2 GB bad file took %.1f MiB above idle, more than 64", csvtest.MiB(peak-idle))
	}
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("a bad file gave %v", err)
	}
	if len(ie.Problems) != csvfile.MaxProblems || ie.Count() != bad || !strings.HasSuffix(ie.Error(), fmt.Sprintf("另有 %d 处 / … and %d more", bad-100, bad-100)) {
		t.Errorf("%d problems listed of %d, want %d of %d", len(ie.Problems), ie.Count(), csvfile.MaxProblems, bad)
	}
	if n := len(ie.Error()); n > 100*300 {
		t.Errorf("the list of problems is %d bytes", n)
	}
	var n int
	db.Get(&n, `SELECT count(*) FROM interviews`)
	if n != 0 {
		t.Errorf("%d interviews stored from a refused file", n)
	}
}
