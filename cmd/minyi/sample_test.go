package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/cmd/internal/cli"
	"minyi/sampler"
	"minyi/sql/pgtest"
)

func TestSampleDrawAndVerify(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", twoDistricts))
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	phones, err := sampler.SyntheticPhones(5, 60)
	if err != nil {
		t.Fatal(err)
	}
	var es []sampler.PhoneEntry
	for i, p := range phones {
		es = append(es, sampler.PhoneEntry{Phone: p, District: []string{"500101", "500102"}[i%2]})
	}
	if _, err := sampler.AddPhones(context.Background(), db, es); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dsn, "wave", "create", "w")
	out := mustRun(t, dsn, "sample", "draw", "--wave", "w", "--seed", "3")
	for _, want := range []string{"ALL", "phone-srswor-floyd v2", "frame checksum phone:v1:"} {
		if !strings.Contains(out, want) {
			t.Errorf("draw output lacks %q:\n%s", want, out)
		}
	}
	if out := mustRun(t, dsn, "sample", "verify", "--wave", "w"); out != "identical\n" {
		t.Errorf("verify printed %q, want identical", out)
	}
	if _, err := db.Exec(`DELETE FROM cases WHERE id = (SELECT min(id) FROM cases)`); err != nil {
		t.Fatal(err)
	}
	out, err = minyi(t, dsn, "sample", "verify", "--wave", "w")
	if err == nil || cli.ExitCode(err) != 1 {
		t.Fatalf("verify of a changed sample: %v (exit %d)", err, cli.ExitCode(err))
	}
	if !strings.Contains(out, "missing case") || strings.Contains(out, "identical") {
		t.Errorf("verify output:\n%s", out)
	}
	out = mustRun(t, dsn, "sample", "replicates", "--wave", "w")
	if !strings.Contains(out, "500102") || !strings.Contains(out, "draw") {
		t.Errorf("replicates output:\n%s", out)
	}
	if _, err := minyi(t, dsn, "sample", "verify"); cli.ExitCode(err) != 2 {
		t.Errorf("verify without --wave: %v", err)
	}
}
