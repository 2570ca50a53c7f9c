package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/dialer"
	"minyi/sampler"
	"minyi/sql/pgtest"
)

// TestWaveCallingRulesAndConverters: wave create stores the calling rules
// it is given (the defaults otherwise), refuses bad ones, and users add
// marks refusal converters.
func TestWaveCallingRulesAndConverters(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	mustRun(t, dsn, "districts", "import", writeFile(t, "d.csv", "code,name,resident_population\n500101,万州区,100000\n"))
	out := mustRun(t, dsn, "wave", "create", "w1", "--calling-hours", "08:30-20:00", "--calling-days", "mon-fri", "--max-attempts", "8",
		"--appointment-grace", "10", "--retry-busy", "20m", "--retry-no-answer", "3h", "--retry-soft-refusal", "72h", "--verify-share", "0.2", "--quota-by-sex-age")
	if !strings.Contains(out, "08:30–20:00") {
		t.Errorf("wave create says %q", out)
	}
	mustRun(t, dsn, "wave", "create", "w2")
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rules := func(name string) dialer.Rules {
		w, err := sampler.GetWave(ctx, db, name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := dialer.GetRules(ctx, db, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	want := dialer.Rules{From: 510, To: 1200, Days: 0b0111110, GraceMinutes: 10, MaxAttempts: 8, RetryBusy: 20, RetryNoAnswer: 180,
		RetrySoftRefusal: 72 * 60, VerifyShare: 0.2, QuotaBySexAge: true}
	if got := rules("w1"); got != want {
		t.Errorf("w1 rules %+v, want %+v", got, want)
	}
	if got := rules("w2"); got != dialer.DefaultRules {
		t.Errorf("w2 rules %+v, want the defaults %+v", got, dialer.DefaultRules)
	}
	for _, bad := range [][]string{{"--calling-hours", "21:00-09:00"}, {"--calling-days", "someday"}, {"--max-attempts", "0"}} {
		if out, err := minyi(t, dsn, append([]string{"wave", "create", "bad"}, bad...)...); err == nil {
			t.Errorf("wave create %v accepted: %s", bad, out)
		}
	}
	if _, err := sampler.GetWave(ctx, db, "bad"); err == nil {
		t.Error("a wave with bad rules was created")
	}
	mustRun(t, dsn, "users", "add", "conv1", "--role", "interviewer", "--refusal-converter")
	mustRun(t, dsn, "users", "add", "plain1", "--role", "interviewer")
	var convs []string
	if err := db.Select(&convs, `SELECT username FROM users WHERE refusal_converter ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(convs, ",") != "conv1" {
		t.Errorf("refusal converters %v, want conv1", convs)
	}
}
