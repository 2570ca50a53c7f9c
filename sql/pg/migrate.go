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

// Version numbers.
//
// Migrations 0001–0061 built the schema step by step until they were
// squashed into one file, migrations/0100_baseline.sql, that creates the
// whole schema. Their files are gone, but databases made by them remain:
// schema_migrations of such a database lists exactly legacyVersions.
// Migrate converts such a database in place (legacy_to_baseline.sql) and
// records the baseline as applied beside the old rows, which stay as its
// history; a new database gets the baseline itself. The baseline is
// numbered above every old migration so that old and new numbers never
// collide. Later migrations are numbered after it (0101_what.sql, …) and
// are applied in order, each in its own transaction, as before.

//go:embed migrations/*.sql
var migrationFiles embed.FS

//go:embed legacy_to_baseline.sql
var legacyToBaseline string

// BaselineVersion is the migration that creates the whole schema.
const BaselineVersion = 100

// legacyVersions are the old migrations that the baseline replaces.
var legacyVersions = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 30, 40, 50, 60, 61}

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
		if v < BaselineVersion {
			panic("pg: migrations are numbered from the baseline 0100 on: " + e.Name())
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

// Migrate brings the database to this binary's schema: it converts a
// database made by the old migrations, then applies every migration not yet
// applied, each in its own transaction that also records its version. It
// returns the versions applied.
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
	var versions []int64
	if err := conn.SelectContext(bg(), &versions, `SELECT version FROM schema_migrations`); err != nil {
		return nil, fmt.Errorf("pg: read schema versions: %w", err)
	}
	done := appliedSet(versions)
	if err := checkLegacy(done); err != nil {
		return nil, err
	}
	convert := needsConversion(done)
	var applied []int
	for _, m := range Migrations() {
		if done[m.Version] {
			continue
		}
		if m.Version == BaselineVersion && convert {
			m.SQL = legacyToBaseline
		}
		if err := apply(conn, m); err != nil {
			return applied, err
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// apply runs one migration and records it, in one transaction.
func apply(conn *sqlx.Conn, m Migration) error {
	tx, err := conn.BeginTxx(bg(), nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(m.SQL); err != nil {
		return fmt.Errorf("pg: migration %04d_%s: %w", m.Version, m.Name, err)
	}
	if _, err := tx.Exec(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
		return err
	}
	return tx.Commit()
}

func appliedSet(versions []int64) map[int]bool {
	done := map[int]bool{}
	for _, v := range versions {
		done[int(v)] = true
	}
	return done
}

// needsConversion tells a database made by the old migrations, not yet
// converted: the baseline is applied there by converting the old schema
// into it instead of creating it.
func needsConversion(done map[int]bool) bool {
	return !done[BaselineVersion] && len(missingLegacy(done)) < len(legacyVersions)
}

// missingLegacy lists the old migrations that done lacks.
func missingLegacy(done map[int]bool) []int {
	var missing []int
	for _, v := range legacyVersions {
		if !done[v] {
			missing = append(missing, v)
		}
	}
	return missing
}

// checkLegacy refuses a database that an older binary left part way
// through the old migrations: the conversion starts from the schema of all
// of them, and the steps in between are no longer here.
func checkLegacy(done map[int]bool) error {
	missing := missingLegacy(done)
	if !needsConversion(done) || len(missing) == 0 {
		return nil
	}
	have := 0
	for _, v := range legacyVersions {
		if done[v] {
			have = v
		}
	}
	last := legacyVersions[len(legacyVersions)-1]
	names := make([]string, len(missing))
	for i, v := range missing {
		names[i] = fmt.Sprintf("%04d", v)
	}
	list := strings.Join(names, ", ")
	return fmt.Errorf("数据库结构停在旧迁移的版本 %d,缺少迁移 %s:本程序只能升级已应用全部旧迁移(至 %04d)的数据库。"+
		"请先用含迁移 %04d 的旧版 minyi 运行 `minyi migrate`，再用本程序运行 `minyi migrate` / "+
		"the database schema stops at version %d of the old migrations, lacking %s: this binary upgrades only a database "+
		"with every old migration (up to %04d). Run `minyi migrate` with an older minyi that has migration %04d first, "+
		"then `minyi migrate` with this one",
		have, list, last, last, have, list, last, last)
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
		return fmt.Errorf("数据库结构版本 %d 比本程序（%d）新：请升级 minyi / database schema version %d is newer than this binary (%d): upgrade minyi", have, want, have, want)
	}
	var versions []int64
	if have > 0 {
		if err := db.Select(&versions, `SELECT version FROM schema_migrations`); err != nil {
			return fmt.Errorf("pg: read schema versions: %w", err)
		}
	}
	return checkApplied(appliedSet(versions), have, Migrations())
}

// checkApplied is CheckSchema's verdict on the applied versions done, the
// highest of which is have.
func checkApplied(done map[int]bool, have int, ms []Migration) error {
	if err := checkLegacy(done); err != nil {
		return err
	}
	want := ms[len(ms)-1].Version
	for _, m := range ms {
		if !done[m.Version] {
			return fmt.Errorf("数据库结构版本为 %d，缺少迁移 %04d：请先运行 `minyi migrate` / the database schema lacks migration %04d (at version %d, this binary needs %d): run `minyi migrate` first", have, m.Version, m.Version, have, want)
		}
	}
	return nil
}
