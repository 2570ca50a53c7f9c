// Package pgtest gives every test package its own fresh database, cloned
// from a migrated template on the project's own PostgreSQL launcher.
package pgtest

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/sql/pg"
)

var (
	admin  *sql.DB
	dsn    string // the admin connection string, for pg.WithDatabase
	dbName string // prefix of this package's databases
	// roles says the test databases are owned by pg.OwnerRole with
	// pg.AppRole granted as in the embedded cluster, so that AppDSN
	// connects as the server's role does.
	roles bool
)

// testSettings make a throwaway cluster fast; durability is not under test
// here (crash tests start clusters of their own).
var testSettings = []string{"fsync = off", "synchronous_commit = off", "full_page_writes = off"}

// Main starts the test cluster and its migrated template, then runs the
// tests; each test makes its own databases with NewDatabase, dropped when it
// ends. Use it from TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main returning the exit status, for a TestMain with cleaning up
// of its own to do.
func Run(m *testing.M) int {
	// Every test package shares one cluster: servers started by tests
	// open a couple of connections at start, not a whole pool each.
	os.Setenv("MINYI_DB_WARM", "2")
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	code := m.Run()
	admin.Close()
	return code
}

// DataDir is where the test cluster lives: MINYI_TEST_DATA, else var/test in
// the module root. All test packages share it; `make test` stops it at the end.
func DataDir() string {
	if d := os.Getenv("MINYI_TEST_DATA"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	return filepath.Join(pg.ModuleRoot(wd), "var", "test")
}

func setup() error {
	adminDSN := os.Getenv("DATABASE_URL")
	if adminDSN == "" {
		c, err := pg.StartCluster(DataDir(), pg.ClusterOptions{Settings: testSettings})
		if err != nil {
			return err
		}
		adminDSN = c.DSN("postgres")
		roles = true
	}
	var err error
	admin, err = sql.Open("postgres", adminDSN)
	if err != nil {
		return err
	}
	if roles {
		// Under the lock: test packages, and fuzzing's workers, start at
		// once, and two making the roles together collide.
		if err := locked(func(*sql.Conn) error { return pg.EnsureRoles(sqlx.NewDb(admin, "postgres")) }); err != nil {
			return err
		}
	}
	tmpl := templateName()
	if err := ensureTemplate(adminDSN, tmpl); err != nil {
		return err
	}
	wd, _ := os.Getwd()
	dbName = fmt.Sprintf("t_%s_%d_%d", sanitize(filepath.Base(wd)), os.Getpid(), rand.IntN(1e6))
	dsn = adminDSN
	return nil
}

// locked runs f on an admin connection under the advisory lock that
// serialises the test packages' template work.
func locked(f func(conn *sql.Conn) error) error {
	conn, err := admin.Conn(bg)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(bg, `SELECT pg_advisory_lock(7357)`); err != nil {
		return err
	}
	defer conn.ExecContext(bg, `SELECT pg_advisory_unlock(7357)`)
	return f(conn)
}

// ensureTemplate builds the migrated template once per set of migrations,
// under the lock so that parallel test packages build it once.
func ensureTemplate(adminDSN, tmpl string) error {
	return locked(func(conn *sql.Conn) error { return buildTemplate(conn, adminDSN, tmpl) })
}

func buildTemplate(conn *sql.Conn, adminDSN, tmpl string) error {
	var exists bool
	if err := conn.QueryRowContext(bg, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)`, tmpl).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := tmpl + "_build"
	conn.ExecContext(bg, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(building)+" WITH (FORCE)")
	if _, err := conn.ExecContext(bg, "CREATE DATABASE "+pq.QuoteIdentifier(building)+owner()); err != nil {
		return err
	}
	// Migrated by the owner, as minyi migrate does in the embedded cluster.
	migrator := pg.WithDatabase(adminDSN, building)
	if roles {
		migrator = pg.WithUser(migrator, pg.OwnerRole)
	}
	tdb, err := sqlx.Open("postgres", migrator)
	if err != nil {
		return err
	}
	_, err = pg.Migrate(tdb)
	if err == nil && roles {
		err = pg.GrantApp(tdb, pg.AppRole)
	}
	tdb.Close()
	if err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.ExecContext(bg, "ALTER DATABASE "+pq.QuoteIdentifier(building)+" RENAME TO "+pq.QuoteIdentifier(tmpl)); err != nil {
		return err
	}
	_, err = conn.ExecContext(bg, "ALTER DATABASE "+pq.QuoteIdentifier(tmpl)+" IS_TEMPLATE true")
	return err
}

// cloneTemplate copies the template; PostgreSQL refuses a copy while another
// session is connected to the template, so clones are serialised too.
func cloneTemplate(tmpl, name string) error {
	return locked(func(conn *sql.Conn) error {
		_, err := conn.ExecContext(bg, "CREATE DATABASE "+pq.QuoteIdentifier(name)+" TEMPLATE "+pq.QuoteIdentifier(tmpl)+owner())
		return err
	})
}

// NewDatabase makes another fresh migrated database (for tests that need a
// clean slate inside one package) and returns its connection string.
func NewDatabase(tb testing.TB) string {
	if admin == nil {
		tb.Fatal("pgtest: call pgtest.Main from TestMain")
	}
	name := fmt.Sprintf("%s_%d", dbName, rand.IntN(1e9))
	if err := cloneTemplate(templateName(), name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)")
	})
	db := pg.WithDatabase(dsn, name)
	if roles {
		// The grants of this code, not of whichever built the template
		// (it is keyed on the migrations alone).
		owner, err := sqlx.Open("postgres", pg.WithUser(db, pg.OwnerRole))
		if err == nil {
			err = pg.GrantApp(owner, pg.AppRole)
			owner.Close()
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func sanitize(s string) string { return nonWord.ReplaceAllString(strings.ToLower(s), "_") }

// NewEmptyDatabase makes a database with no schema at all (for testing
// migrations) and returns its connection string.
func NewEmptyDatabase(tb testing.TB) string {
	name := fmt.Sprintf("%s_e%d", dbName, rand.IntN(1e9))
	if _, err := admin.Exec("CREATE DATABASE " + pq.QuoteIdentifier(name)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)")
	})
	return pg.WithDatabase(dsn, name)
}

// templateName names the migrated template of this set of migrations,
// built with the roles or without them.
func templateName() string {
	if roles {
		return "minyi_tmpl_" + pg.MigrationsChecksum() + "_r"
	}
	return "minyi_tmpl_" + pg.MigrationsChecksum()
}

// owner is the OWNER clause of a test database.
func owner() string {
	if roles {
		return " OWNER " + pg.OwnerRole
	}
	return ""
}

// AppDSN is dsn (a database of NewDatabase) as the role the server
// connects as: no superuser, and on the audit log only INSERT and SELECT.
func AppDSN(tb testing.TB, dsn string) string {
	if !roles {
		tb.Fatal("pgtest: the server's role exists only in the embedded test cluster; unset DATABASE_URL")
	}
	return pg.WithUser(dsn, pg.AppRole)
}
