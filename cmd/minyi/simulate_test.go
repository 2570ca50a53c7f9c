package main

import (
	"strings"
	"testing"
	"unsafe"

	"minyi/sql/pgtest"
)

// TestSimulate runs simulated interviewers on a drawn wave: they get cases,
// record outcomes in realistic proportions and complete interviews, with no
// errors, and the invariants hold afterwards.
func TestSimulate(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", "code,name,resident_population\n500101,万州区,100000\n500102,涪陵区,50000\n"))
	importPhoneFrame(t, dsn, 21, 1500, "500101", "500102")
	// Around the clock, so that the test runs at any hour; half the
	// completes become verification calls.
	mustRun(t, dsn, "wave", "create", "sim", "--rate", "0.002", "--expected", "0.3", "--calling-hours", "00:00-24:00", "--verify-share", "0.5")
	mustRun(t, dsn, "sample", "draw", "--wave", "sim", "--seed", "5")
	out := mustRun(t, dsn, "simulate", "--wave", "sim", "--interviewers", "6", "--duration", "3s")
	for _, want := range []string{"errors 0", "complete", "no_answer", "refusal"} {
		if !strings.Contains(out, want) {
			t.Errorf("simulate output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "invariant violated") {
		t.Fatalf("invariants violated:\n%s", out)
	}
}

// TestFormKeyKeepsNotThePage checks that the key the simulation remembers
// for every acknowledged interview does not share memory with the page it
// came from: it did, and a ten-minute run of 200 interviewers kept every
// interview page it had fetched, some 20 KiB each.
func TestFormKeyKeepsNotThePage(t *testing.T) {
	page := strings.Repeat("x", 20<<10) + `<input type="hidden" name="key" value="k-123"><input type="hidden" name="started" value="2026-11-27T10:00:00Z">`
	key, started, ok := formKey(page)
	if !ok || key != "k-123" || started != "2026-11-27T10:00:00Z" {
		t.Fatalf("formKey = %q, %q, %v", key, started, ok)
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(page)))
	hi := lo + uintptr(len(page))
	for _, s := range []string{key, started} {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= lo && p < hi {
			t.Errorf("%q points into the page, which it keeps alive", s)
		}
	}
	if _, _, ok := formKey("<form></form>"); ok {
		t.Error("a form without a key was accepted")
	}
}
