package main

import (
	"context"
	"strings"
	"testing"
	"unsafe"

	"minyi/dialer"
	"minyi/sampler"
	"minyi/sql/pgtest"
	"minyi/survey"

	"github.com/jmoiron/sqlx"
)

// TestSimulate runs simulated interviewers on a drawn wave: they get cases,
// record outcomes in realistic proportions and complete interviews, with no
// errors, and the invariants hold afterwards.
func TestSimulate(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	drawWave(t, dsn, "sim")
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

// drawWave draws a telephone wave of that name over two districts, calling
// around the clock so that the tests run at any hour, with half the
// completes becoming verification calls.
func drawWave(t *testing.T, dsn, name string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ds := []sampler.District{{Code: "500101", Name: "万州区", Population: 100000}, {Code: "500102", Name: "涪陵区", Population: 50000}}
	if _, err := sampler.SaveDistricts(ctx, db, ds); err != nil {
		t.Fatal(err)
	}
	phones, err := sampler.SyntheticPhones(21, 1500)
	if err != nil {
		t.Fatal(err)
	}
	entries := make([]sampler.PhoneEntry, len(phones))
	for i, p := range phones {
		entries[i] = sampler.PhoneEntry{Phone: p, District: ds[i%len(ds)].Code}
	}
	if _, err := sampler.AddPhones(ctx, db, entries); err != nil {
		t.Fatal(err)
	}
	qid, err := survey.SaveQuestionnaire(ctx, db, survey.Default())
	if err != nil {
		t.Fatal(err)
	}
	w, err := sampler.CreateWave(ctx, db, sampler.WaveSpec{Name: name, Rate: 0.002, MinPerDistrict: 2, ExpectedRate: 0.3, QuestionnaireID: qid})
	if err != nil {
		t.Fatal(err)
	}
	rules := dialer.AllDay()
	rules.VerifyShare = 0.5
	if err := dialer.SetRules(ctx, db, w.ID, rules); err != nil {
		t.Fatal(err)
	}
	if _, err := sampler.Draw(ctx, db, name, 5); err != nil {
		t.Fatal(err)
	}
}
