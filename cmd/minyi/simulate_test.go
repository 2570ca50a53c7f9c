package main

import (
	"strings"
	"testing"

	"minyi/sql/sqltest"
)

// TestSimulate runs simulated interviewers on a drawn wave: they get cases,
// record outcomes in realistic proportions and complete interviews, with no
// errors, and the invariants hold afterwards.
func TestSimulate(t *testing.T) {
	dsn := sqltest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", "code,name,resident_population\n500101,万州区,100000\n500102,涪陵区,50000\n"))
	importPhoneFrame(t, dsn, 21, 1500, "500101", "500102")
	mustRun(t, dsn, "wave", "create", "sim", "--rate", "0.002", "--expected", "0.3")
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
