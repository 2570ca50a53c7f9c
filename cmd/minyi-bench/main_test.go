package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"minyi/cmd/internal/cli"
	"minyi/sql/pgtest"
)

func TestMain(m *testing.M) {
	// The browser-phone benchmark runs its WebRTC peers in a child
	// process, this binary again: here, the test binary.
	if len(os.Args) > 1 && os.Args[1] == browserClientsCmd {
		main()
		return
	}
	pgtest.Main(m)
}

// mustRun runs minyi-bench in-process against the database of dsn.
func mustRun(t *testing.T, dsn string, args ...string) string {
	t.Helper()
	t.Setenv("DATABASE_URL", dsn)
	var out, progress bytes.Buffer
	if err := run(context.Background(), &cli.Env{Prog: "minyi-bench", Stdout: &out, Stderr: &progress}, args); err != nil {
		t.Fatalf("minyi-bench %s: %v\n%s\n%s", strings.Join(args, " "), err, out.String(), progress.String())
	}
	return out.String()
}

// TestBenchPrintsJSON runs every benchmark briefly and at a tiny scale,
// and checks that each prints one JSON object with its figure, baseline and
// ratio.
func TestBenchPrintsJSON(t *testing.T) {
	// The soak runs `minyi serve`, the product's binary.
	server := filepath.Join(t.TempDir(), "minyi")
	if out, err := exec.Command("go", "build", "-o", server, "minyi/cmd/minyi").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := mustRun(t, pgtest.NewDatabase(t), "--json", "--minyi", server, "--duration", "1s", "--clients", "4", "--scale", "0.0005", "--soak", "4s", "--soak-interviewers", "8", "--next-case-interviewers", "8", "--next-case-duration", "2s", "--calls", "2")
	names := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r BenchResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not one JSON object per line: %v\n%s", err, out)
		}
		if r.Ours <= 0 || r.Baseline <= 0 || r.Unit == "" || r.Target == "" || math.Abs(r.Ratio-r.Ours/r.Baseline) > 1e-9*r.Ratio {
			t.Fatalf("bench result %+v", r)
		}
		names[r.Name] = true
	}
	for _, want := range []string{"interview-submit-http", "frame-import-phone", "sample-draw-phone", "soak-interviewers", "scores", "next-case-http", "next-case-http-p50", "calls-bridged-recorded", "calls-relay-late-p99", "recording-size", "calls-browser-bridged", "calls-browser-relay-late-p99", "talk-time-share"} {
		if !names[want] {
			t.Errorf("no result for %s:\n%s", want, out)
		}
	}
}

// TestCommandLine: help is no error; a word that is not a command is a
// usage error rather than a run of every benchmark; an unknown benchmark
// and a soak without a server binary are refused before any database work.
func TestCommandLine(t *testing.T) {
	var out bytes.Buffer
	e := &cli.Env{Prog: "minyi-bench", Stdout: &out, Stderr: &out}
	for _, args := range [][]string{{"help"}, {"--help"}, {"simulate", "--help"}} {
		out.Reset()
		if err := run(context.Background(), e, args); err != nil || !strings.Contains(out.String(), "usage: minyi-bench") {
			t.Errorf("%v: %v\n%s", args, err, out.String())
		}
	}
	for _, args := range [][]string{{"simulat"}, {"--only", "frame-import"}, {"--only", "soak-interviewers", "--minyi", "/nonexistent/minyi"}} {
		if err := run(context.Background(), e, args); cli.ExitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
