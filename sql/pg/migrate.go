package pg

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one schema change, applied in its own transaction.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in order.
func Migrations() []Migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	var ms []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic("pg: migration file name must be NNNN_what.sql: " + e.Name())
		}
		b, _ := migrationFiles.ReadFile("migrations/" + e.Name())
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms
}

// LatestVersion is the schema version this binary needs.
func LatestVersion() int {
	ms := Migrations()
	return ms[len(ms)-1].Version
}

// MigrationsChecksum identifies the set of migrations (tests key their
// template database on it).
func MigrationsChecksum() string {
	h := sha256.New()
	for _, m := range Migrations() {
		fmt.Fprintf(h, "%d\x00%s\x00", m.Version, m.SQL)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// migrationLock is the advisory lock key that serialises migrators.
const migrationLock = 0x6d696e7969 // "minyi"

// Migrate applies every migration not yet applied, each in its own
// transaction that also records its version. It returns the versions applied.
func Migrate(db *sqlx.DB) ([]int, error) {
	conn, err := db.Connx(bg())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(bg(), `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return nil, fmt.Errorf("pg: migration lock: %w", err)
	}
	defer conn.ExecContext(bg(), `SELECT pg_advisory_unlock($1)`, migrationLock)
	if _, err := conn.ExecContext(bg(), `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("pg: create schema_migrations: %w", err)
	}
	var applied []int
	for _, m := range Migrations() {
		var done bool
		if err := conn.QueryRowContext(bg(), `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil {
			return applied, err
		}
		if done {
			continue
		}
		tx, err := conn.BeginTxx(bg(), nil)
		if err != nil {
			return applied, err
		}
		if _, err := tx.Exec(m.SQL); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("pg: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			tx.Rollback()
			return applied, err
		}
		if err := tx.Commit(); err != nil {
			return applied, err
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// SchemaVersion returns the highest applied migration, 0 for an empty database.
func SchemaVersion(db *sqlx.DB) (int, error) {
	var v int
	err := db.Get(&v, `SELECT coalesce(max(version), 0) FROM schema_migrations`)
	if err != nil && strings.Contains(err.Error(), "does not exist") {
		return 0, nil
	}
	return v, err
}

// CheckSchema fails with what to run when the database lacks a migration
// of this binary (an older schema, or a migration added out of order), and
// when it has one the binary does not know (an older binary must not write
// to a newer schema).
func CheckSchema(db *sqlx.DB) error {
	have, err := SchemaVersion(db)
	if err != nil {
		return fmt.Errorf("pg: read schema version: %w", err)
	}
	want := LatestVersion()
	if have > want {
		return fmt.Errorf("数据库结构版本 %d 比本程序 (%d) 新:请升级 minyi / database schema version %d is newer than this binary (%d): upgrade minyi", have, want, have, want)
	}
	var applied []int64
	if have > 0 {
		if err := db.Select(&applied, `SELECT version FROM schema_migrations ORDER BY version`); err != nil {
			return fmt.Errorf("pg: read schema versions: %w", err)
		}
	}
	done := map[int]bool{}
	for _, v := range applied {
		done[int(v)] = true
	}
	for _, m := range Migrations() {
		if !done[m.Version] {
			return fmt.Errorf("数据库结构版本为 %d,缺少迁移 %04d:请先运行 `minyi migrate` / the database schema lacks migration %04d (at version %d, this binary needs %d): run `minyi migrate` first", have, m.Version, m.Version, have, want)
		}
	}
	return nil
}
