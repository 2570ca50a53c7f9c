package pg

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// libpqDSN is a connection string for PostgreSQL's own programs: libpq
// refuses lib/pq's binary_parameters option.
func libpqDSN(dsn string) string {
	dsn = strings.ReplaceAll(dsn, "&binary_parameters=yes", "")
	dsn = strings.ReplaceAll(dsn, "?binary_parameters=yes", "")
	return strings.TrimSpace(strings.ReplaceAll(dsn, "binary_parameters=yes", ""))
}

// pgTool finds one of PostgreSQL's client programs, beside pg_ctl first so
// that its version matches the embedded server.
func pgTool(name string) (string, error) {
	if dir, err := FindBinaries(); err == nil {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("找不到 %s，请安装 Debian 软件包 postgresql-client / %s not found: install postgresql-client", name, name)
}

// target is the database of cfg and, for the embedded cluster, a function
// that stops the cluster again if this call started it.
func target(cfg Config) (dsn string, done func(), err error) {
	if cfg.URL != "" {
		return libpqDSN(cfg.URL), func() {}, nil
	}
	c, err := StartCluster(cfg.DataDir, ClusterOptions{})
	if err != nil {
		return "", nil, err
	}
	if err := c.CreateDatabase(DatabaseName, ""); err != nil {
		c.Stop()
		return "", nil, err
	}
	return libpqDSN(c.DSN(DatabaseName)), func() { c.Stop() }, nil
}

// Backup writes the whole database to file in pg_dump's custom format.
// The file appears only when the dump is complete.
func Backup(ctx context.Context, cfg Config, file string) error {
	bin, err := pgTool("pg_dump")
	if err != nil {
		return err
	}
	dsn, done, err := target(cfg)
	if err != nil {
		return err
	}
	defer done()
	tmp := file + ".partial"
	cmd := exec.CommandContext(ctx, bin, "--format=custom", "--no-owner", "--file", tmp, "--dbname", dsn)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pg_dump: %w\n%s", err, out.String())
	}
	return os.Rename(tmp, file)
}

// Restore replaces the database's contents with a backup, in a single
// transaction: a restore that fails changes nothing.
func Restore(ctx context.Context, cfg Config, file string) error {
	if _, err := os.Stat(file); err != nil {
		return err
	}
	bin, err := pgTool("pg_restore")
	if err != nil {
		return err
	}
	dsn, done, err := target(cfg)
	if err != nil {
		return err
	}
	defer done()
	cmd := exec.CommandContext(ctx, bin, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error", "--dbname", dsn, file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_restore: %w\n%s", err, out.String())
	}
	return nil
}
