package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
	"minyi/sql/pgtest"
)

// buildMinyi compiles the binary once for the tests that run it as a
// separate process.
func buildMinyi(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "minyi")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// dataDir returns a MINYI_DATA the postgres user can reach when tests run
// as root.
func dataDir(t *testing.T) string {
	d := t.TempDir()
	for p := d; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		os.Chmod(p, 0o755)
	}
	return filepath.Join(d, "data")
}

// TestServeStopsItsClusterOnSignal runs `minyi serve` on the embedded
// cluster, stops it with SIGTERM and with SIGINT, and checks that the
// cluster is shut down cleanly each time and its data kept.
func TestServeStopsItsClusterOnSignal(t *testing.T) {
	bin := buildMinyi(t)
	data := dataDir(t)
	env := append(os.Environ(), "MINYI_DATA="+data, "DATABASE_URL=")
	run := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("minyi %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("migrate")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
		cmd.Env = env
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		ready := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving on") {
				ready = true
				break
			}
		}
		if !ready {
			cmd.Process.Kill()
			t.Fatalf("serve did not start")
		}
		c, err := pg.AttachCluster(data)
		if err != nil || c == nil {
			t.Fatalf("no cluster running while serving: %v", err)
		}
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() {
			for sc.Scan() {
			}
			done <- cmd.Wait()
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve exited with %v after %v", err, sig)
			}
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("serve did not stop on %v", sig)
		}
		if c, _ := pg.AttachCluster(data); c != nil {
			t.Fatalf("the cluster is still running after %v", sig)
		}
		if _, err := os.Stat(filepath.Join(c.PGData, "postmaster.pid")); !os.IsNotExist(err) {
			t.Fatalf("postmaster.pid left after %v: the stop was not clean", sig)
		}
	}
	// The schema applied before is still there: a second start reused it.
	out := run("migrate")
	if !strings.Contains(out, "up to date") {
		t.Fatalf("data not kept: %s", out)
	}
}

// TestDatabaseURLStartsNothing: with DATABASE_URL the binary uses that
// server and starts no cluster in MINYI_DATA.
func TestDatabaseURLStartsNothing(t *testing.T) {
	data := dataDir(t)
	t.Setenv("MINYI_DATA", data)
	mustRun(t, pgtest.NewDatabase(t), "migrate")
	if _, err := os.Stat(filepath.Join(data, "pg")); !os.IsNotExist(err) {
		t.Fatalf("a cluster was set up in MINYI_DATA despite DATABASE_URL")
	}
}

// TestDemoTwiceDuplicatesNothing prepares the demo twice on one database.
func TestDemoTwiceDuplicatesNothing(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts := func() map[string]int {
		m := map[string]int{}
		for _, table := range []string{"districts", "questionnaires", "phone_frame", "waves", "draws", "cases", "users", "allocations", "margins", "interviews"} {
			var n int
			if err := db.Get(&n, "SELECT count(*) FROM "+table); err != nil {
				t.Fatal(err)
			}
			m[table] = n
		}
		return m
	}
	first := mustRun(t, dsn, "demo", "--no-serve")
	c1 := counts()
	second := mustRun(t, dsn, "demo", "--no-serve")
	c2 := counts()
	for k, v := range c1 {
		if c2[k] != v {
			t.Errorf("%s: %d rows after the first demo, %d after the second", k, v, c2[k])
		}
	}
	if c1["districts"] != 38 || c1["margins"] != 76 || c1["interviews"] == 0 || c1["users"] != 6 || c1["cases"] == 0 {
		t.Errorf("demo data: %v", c1)
	}
	// 2‰ of 28,846,157 residents, by largest remainder.
	var target int
	db.Get(&target, "SELECT sum(target) FROM allocations")
	if target != 57692 {
		t.Errorf("allocated %d completes, want 57692", target)
	}
	for _, out := range []string{first, second} {
		if !strings.Contains(out, "seed") || !strings.Contains(out, "password:") {
			t.Errorf("demo output lacks the seed or the passwords:\n%s", out)
		}
	}
}
