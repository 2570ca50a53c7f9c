package pg

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tempDataDir returns a data directory the postgres user can reach when the
// tests run as root (t.TempDir makes 0700 directories).
func tempDataDir(t *testing.T) string {
	d := t.TempDir()
	for p := d; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		os.Chmod(p, 0o755)
	}
	return filepath.Join(d, "data")
}

func TestClusterLifecycle(t *testing.T) {
	dir := tempDataDir(t)
	c, err := StartCluster(dir, ClusterOptions{Settings: []string{"fsync = off"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.ForceStop() })
	if !c.Owned() {
		t.Fatal("first start should own the postmaster")
	}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses root: the postmaster must run as postgres.
		fi, err := os.Stat(fmt.Sprintf("/proc/%d", c.postmasterPID()))
		u, _ := user.Lookup("postgres")
		if err != nil || u == nil || strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)) != u.Uid {
			t.Fatalf("postmaster does not run as postgres: %v", err)
		}
	}
	if !strings.HasPrefix(c.PGData, dir) {
		t.Fatalf("cluster at %s, want inside %s", c.PGData, dir)
	}
	db, err := c.Connect("minyi")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE kept (v text); INSERT INTO kept VALUES ('还在')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Another process attaching to a running cluster must not own it.
	c2, err := StartCluster(dir, ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Owned() {
		t.Fatal("second client should attach, not start")
	}
	c2.Stop()
	if !c.running() {
		t.Fatal("a client that attached stopped the cluster")
	}

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if c.running() {
		t.Fatal("still running after Stop")
	}
	if fileExists(filepath.Join(c.PGData, "postmaster.pid")) {
		t.Fatal("clean stop left postmaster.pid")
	}

	// A second start reuses the data.
	c3, err := StartCluster(dir, ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c3.ForceStop() })
	db, err = c3.Connect("minyi")
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if err := db.Get(&v, `SELECT v FROM kept`); err != nil || v != "还在" {
		t.Fatalf("data not kept across restart: %q %v", v, err)
	}
	db.Close()

	// A killed postmaster leaves its lock files; the next start recovers.
	pid := c3.postmasterPID()
	if pid <= 0 {
		t.Fatal("no postmaster pid")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 100 && processAlive(pid); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	// Make the stale pid file point at a live, unrelated process (ourselves),
	// as after a pid is reused: PostgreSQL alone would refuse to start.
	b, _ := os.ReadFile(filepath.Join(c3.PGData, "postmaster.pid"))
	lines := strings.SplitN(string(b), "\n", 2)
	os.WriteFile(filepath.Join(c3.PGData, "postmaster.pid"), []byte(itoa(os.Getpid())+"\n"+lines[1]), 0o600)
	waitChildrenGone(t, c3.PGData)

	c4, err := StartCluster(dir, ClusterOptions{})
	if err != nil {
		t.Fatalf("restart after kill: %v", err)
	}
	t.Cleanup(func() { c4.ForceStop() })
	if !c4.Owned() {
		t.Fatal("restart after kill should own the postmaster")
	}
	db, err = c4.Connect("minyi")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Get(&v, `SELECT v FROM kept`); err != nil || v != "还在" {
		t.Fatalf("data lost after kill: %q %v", v, err)
	}
}

func TestNoBinariesSaysWhatToInstall(t *testing.T) {
	oldGlob := binaryGlob
	binaryGlob = filepath.Join(t.TempDir(), "*", "bin")
	t.Cleanup(func() { binaryGlob = oldGlob })
	t.Setenv("PATH", t.TempDir())
	_, err := StartCluster(tempDataDir(t), ClusterOptions{})
	if err == nil || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("want advice to install postgresql, got %v", err)
	}
}

func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// waitChildrenGone waits for the backends of a killed postmaster to exit;
// they notice the postmaster's death by themselves.
func waitChildrenGone(t *testing.T, pgdata string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		found := false
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), "postgres") && strings.Contains(string(b), pgdata) {
				found = true
			}
		}
		if !found {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestRootClusterOutsideAClosedDataDir: as root, with MINYI_DATA inside a
// directory the postgres user cannot enter, the cluster goes under the
// root base, which did not exist before; it must be made so that the
// postgres user can reach the cluster (it was made 0700 for root, and
// initdb, started there as postgres, failed with "fork/exec initdb:
// permission denied").
func TestRootClusterOutsideAClosedDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this fault happens only as root: run the tests as root, as .ci/run does")
	}
	parent, err := os.MkdirTemp("", "minyi-varlib-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(parent, 0o755)
	t.Cleanup(func() { os.RemoveAll(parent) })
	old := rootBase
	rootBase = filepath.Join(parent, "var-lib-minyi")
	t.Cleanup(func() { rootBase = old })

	closed := t.TempDir()
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(closed, "data")
	c, err := StartCluster(data, ClusterOptions{Settings: []string{"fsync = off"}})
	if err != nil {
		t.Fatalf("start as root with a closed data directory: %v", err)
	}
	t.Cleanup(func() { c.ForceStop() })
	if !strings.HasPrefix(c.PGData, rootBase+string(filepath.Separator)) {
		t.Fatalf("cluster at %s, want under %s", c.PGData, rootBase)
	}
	db, err := c.Connect("minyi")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var one int
	if err := db.Get(&one, `SELECT 1`); err != nil || one != 1 {
		t.Fatalf("query: %d %v", one, err)
	}
	loc, err := os.ReadFile(filepath.Join(data, "pg-location"))
	if err != nil || !strings.HasPrefix(string(loc), rootBase) {
		t.Fatalf("pg-location: %q %v", loc, err)
	}
	// A base an earlier version left closed is opened again.
	if err := c.ForceStop(); err != nil {
		t.Fatal(err)
	}
	os.Chmod(rootBase, 0o700)
	c2, err := StartCluster(data, ClusterOptions{Settings: []string{"fsync = off"}})
	if err != nil {
		t.Fatalf("restart with the base closed: %v", err)
	}
	t.Cleanup(func() { c2.ForceStop() })
}
