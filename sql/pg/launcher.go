package pg

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Superuser is the role initdb creates in a local cluster; access is by Unix
// socket only, in a directory no one else can enter, so trust auth is safe.
const Superuser = "minyi"

// Cluster is a private PostgreSQL cluster run from the machine's PostgreSQL
// binaries inside the application's data directory.
type Cluster struct {
	DataDir string // MINYI_DATA
	PGData  string // the cluster's data directory
	Socket  string // directory of the Unix socket
	bin     string
	owned   bool // this process started the postmaster and stops it
	cred    *syscall.Credential
	extra   []string
}

// ClusterOptions tune a cluster for its use. Tests trade durability for speed.
type ClusterOptions struct {
	Settings []string // extra postgresql.conf lines
}

// errNoBinaries names the package to install, which is what an operator needs.
var errNoBinaries = errors.New("找不到 PostgreSQL 程序（initdb、pg_ctl），请安装 Debian 软件包 postgresql: apt-get install postgresql / " +
	"PostgreSQL binaries (initdb, pg_ctl) not found: install the Debian package postgresql (apt-get install postgresql) or set DATABASE_URL")

// binaryGlob is where Debian's postgresql packages put their programs.
var binaryGlob = "/usr/lib/postgresql/*/bin"

// FindBinaries returns the directory holding initdb and pg_ctl: from PATH
// first, else the newest /usr/lib/postgresql/*/bin.
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if fileExists(filepath.Join(dir, "initdb")) && fileExists(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(binaryGlob)
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if fileExists(filepath.Join(d, "pg_ctl")) && fileExists(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	return "", errNoBinaries
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// StartCluster starts (creating on first use) the cluster of dataDir, or
// attaches to it when another process already runs it. It serialises with
// other processes on a lock file so that parallel starts do not race.
func StartCluster(dataDir string, opt ClusterOptions) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("pg: create data directory: %w", err)
	}
	c := &Cluster{DataDir: abs, bin: bin, extra: opt.Settings}
	if err := c.placeAndOwn(); err != nil {
		return nil, err
	}

	unlock, err := lockFile(filepath.Join(abs, "pg.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	if !fileExists(filepath.Join(c.PGData, "PG_VERSION")) {
		if err := c.initdb(); err != nil {
			return nil, err
		}
	}
	if err := c.writeConf(); err != nil {
		return nil, err
	}
	if c.running() {
		return c, nil
	}
	logFile := filepath.Join(filepath.Dir(c.PGData), "postgres.log")
	// Backends of a killed postmaster may hold its shared memory for a moment
	// after it died; PostgreSQL refuses to start until they are gone.
	for attempt := 1; ; attempt++ {
		c.clearStaleLock()
		err := c.pgctl("start", "-w", "-t", "120", "-l", logFile)
		if err == nil {
			break
		}
		if attempt == 5 {
			return nil, fmt.Errorf("pg: start PostgreSQL (log: %s): %w", logFile, err)
		}
		time.Sleep(time.Duration(attempt) * time.Second)
	}
	c.owned = true
	return c, nil
}

// rootBase is where a cluster run as root goes when the postgres user
// cannot reach its data directory; tests move it.
var rootBase = "/var/lib/minyi"

// placeAndOwn decides where the cluster lives and as whom it runs.
// PostgreSQL refuses to run as root, so as root it runs as the unprivileged
// "postgres" user that Debian's package creates. That user must be able to
// reach the directory; when a parent (such as /root) is closed to others, the
// cluster lives under /var/lib/minyi instead, keyed by the data directory.
func (c *Cluster) placeAndOwn() error {
	base := c.DataDir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("以 root 运行时需要系统用户 postgres（安装 Debian 软件包 postgresql 会创建它） / running as root needs the system user postgres (created by the Debian package postgresql): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if !reachableByOthers(base) {
			sum := sha256.Sum256([]byte(c.DataDir))
			base = filepath.Join(rootBase, hex.EncodeToString(sum[:6]))
			if err := c.ownBase(base); err != nil {
				return err
			}
		}
	}
	c.PGData = filepath.Join(base, "pg", "data")
	c.Socket = filepath.Join(base, "pg", "run")
	// A Unix socket path is limited to 107 bytes.
	if len(c.Socket)+len("/.s.PGSQL.5432.lock") > 100 {
		sum := sha256.Sum256([]byte(c.DataDir))
		c.Socket = filepath.Join(os.TempDir(), "minyi-"+hex.EncodeToString(sum[:6]))
	}
	for _, d := range []string{filepath.Dir(c.PGData), c.Socket} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("pg: create %s: %w", d, err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
		if c.cred != nil {
			if err := os.Chown(d, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return fmt.Errorf("pg: chown %s: %w", d, err)
			}
		}
	}
	if c.cred != nil && !strings.HasPrefix(c.PGData, c.DataDir) {
		// Tell an operator where the cluster went.
		_ = os.WriteFile(filepath.Join(c.DataDir, "pg-location"), []byte(filepath.Dir(c.PGData)+"\n"), 0o644)
	}
	return nil
}

// ownBase makes the directory a moved cluster lives in: rootBase open for
// the postgres user to pass through (the programs run as postgres start in
// the cluster's directory, and a base made 0700 for root stops them with
// "fork/exec initdb: permission denied"), and base itself the postgres
// user's alone.
func (c *Cluster) ownBase(base string) error {
	if !reachableByOthers(filepath.Dir(rootBase)) {
		return fmt.Errorf("pg: postgres 用户无法进入 %[1]s 的上级目录 / the postgres user cannot reach the parent of %[1]s", rootBase)
	}
	if err := os.MkdirAll(rootBase, 0o755); err != nil {
		return fmt.Errorf("pg: create %s: %w", rootBase, err)
	}
	if fi, err := os.Stat(rootBase); err != nil {
		return err
	} else if fi.Mode().Perm()&0o001 == 0 {
		// Made closed by an earlier version: ours to open.
		if err := os.Chmod(rootBase, fi.Mode().Perm()|0o711); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return fmt.Errorf("pg: create %s: %w", base, err)
	}
	if err := os.Chmod(base, 0o700); err != nil {
		return err
	}
	return os.Chown(base, int(c.cred.Uid), int(c.cred.Gid))
}

// reachableByOthers reports whether every ancestor of dir can be traversed by
// a user who is neither its owner nor in its group.
func reachableByOthers(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil && fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = filepath.Dir(c.PGData)
	// Own process group: a Ctrl-C in the terminal reaches minyi, which then
	// stops the cluster in order, instead of reaching the postmaster directly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	return cmd
}

func (c *Cluster) run(name string, args ...string) error {
	cmd := c.command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

func (c *Cluster) pgctl(action string, args ...string) error {
	return c.run("pg_ctl", append([]string{action, "-D", c.PGData}, args...)...)
}

func (c *Cluster) initdb() error {
	// A half-finished initdb (killed midway) leaves a directory initdb refuses.
	_ = os.RemoveAll(c.PGData)
	if err := c.run("initdb", "-D", c.PGData, "-U", Superuser, "--auth=trust", "-E", "UTF8", "--no-locale"); err != nil {
		return fmt.Errorf("pg: initdb: %w", err)
	}
	conf := filepath.Join(c.PGData, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString("\ninclude_if_exists = 'minyi.conf'\n")
	return err
}

// writeConf rewrites the settings that depend on where the cluster runs, on
// every start, so a moved data directory still works.
func (c *Cluster) writeConf() error {
	lines := []string{
		"# Written by minyi on every start.",
		"listen_addresses = ''",
		fmt.Sprintf("unix_socket_directories = '%s'", c.Socket),
		"unix_socket_permissions = 0700",
		"max_connections = 200",
		"shared_buffers = 256MB",
		// A draw writes about 100 MB of log for a 2‰ wave. With the
		// default 1 GB between checkpoints, a few draws force one, and
		// the full page images after it make every small write of the
		// evening (a case claimed, an interview saved) wait behind the
		// log. Checkpoints every 15 minutes or 8 GB, spread out, and
		// compressed page images keep that wait short.
		"max_wal_size = 8GB",
		"checkpoint_timeout = 15min",
		"wal_compression = on",
		"wal_buffers = 64MB",
	}
	lines = append(lines, c.extra...)
	p := filepath.Join(c.PGData, "minyi.conf")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	if c.cred != nil {
		return os.Chown(p, int(c.cred.Uid), int(c.cred.Gid))
	}
	return nil
}

// running reports whether a live postmaster owns the data directory.
func (c *Cluster) running() bool {
	pid := c.postmasterPID()
	if pid <= 0 {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	// The pid may have been reused by an unrelated process after a crash.
	return bytes.Contains(cmdline, []byte("postgres")) && bytes.Contains(cmdline, []byte(c.PGData))
}

func (c *Cluster) postmasterPID() int {
	b, err := os.ReadFile(filepath.Join(c.PGData, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// clearStaleLock removes the lock files a killed postmaster leaves behind.
// PostgreSQL itself only ignores them when the recorded pid is not alive; a
// pid reused by another process would keep it from starting.
func (c *Cluster) clearStaleLock() {
	_ = os.Remove(filepath.Join(c.PGData, "postmaster.pid"))
	locks, _ := filepath.Glob(filepath.Join(c.Socket, ".s.PGSQL.*"))
	for _, l := range locks {
		_ = os.Remove(l)
	}
}

// Owned reports whether this process started the postmaster.
func (c *Cluster) Owned() bool { return c.owned }

// Stop shuts the cluster down if this process started it. Clients of a
// cluster some other process runs leave it running.
func (c *Cluster) Stop() error {
	if !c.owned {
		return nil
	}
	c.owned = false
	return c.pgctl("stop", "-m", "fast", "-w", "-t", "60")
}

// ForceStop stops the cluster whoever started it.
func (c *Cluster) ForceStop() error {
	if !c.running() {
		return nil
	}
	c.owned = false
	return c.pgctl("stop", "-m", "fast", "-w", "-t", "60")
}

// DSN returns a lib/pq connection string for a database of the cluster,
// as its superuser.
func (c *Cluster) DSN(dbname string) string { return c.DSNAs(dbname, Superuser) }

// DSNAs returns a lib/pq connection string for a database of the cluster
// as role.
func (c *Cluster) DSNAs(dbname, role string) string {
	return fmt.Sprintf("host=%s port=5432 user=%s dbname=%s sslmode=disable binary_parameters=yes", c.Socket, role, dbname)
}

// lockFile takes an exclusive flock, waiting for other processes.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pg: lock %s: %w", path, err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("pg: lock %s: %w", path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// AttachCluster returns the running cluster of dataDir without starting
// one, or nil when none runs.
func AttachCluster(dataDir string) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{DataDir: abs, bin: bin}
	if err := c.placeAndOwn(); err != nil {
		return nil, err
	}
	if !c.running() {
		return nil, nil
	}
	return c, nil
}
