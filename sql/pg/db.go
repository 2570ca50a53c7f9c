// Package sql holds the schema migrations and named queries, the database
// connection, and the launcher of the embedded PostgreSQL cluster.
package pg

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// DatabaseName is the application database inside the embedded cluster.
const DatabaseName = "minyi"

// Config says where the database is: a server URL, or the embedded cluster in
// a data directory.
type Config struct {
	URL     string // DATABASE_URL; empty means the embedded cluster
	DataDir string // MINYI_DATA, default ./var
	// OwnerURL is DATABASE_OWNER_URL: the schema owner's connection to the
	// same database, for migrations; URL when empty.
	OwnerURL string
	// Owner connects as the schema's owner (for migrations) rather than
	// as the application's role.
	Owner bool
}

// ConfigFromEnv reads DATABASE_URL, DATABASE_OWNER_URL and MINYI_DATA.
func ConfigFromEnv() Config {
	c := Config{URL: os.Getenv("DATABASE_URL"), OwnerURL: os.Getenv("DATABASE_OWNER_URL"), DataDir: os.Getenv("MINYI_DATA")}
	if c.DataDir == "" {
		c.DataDir = "var"
	}
	return c
}

// AsOwner is the configuration connecting as the schema's owner.
func (c Config) AsOwner() Config {
	c.Owner = true
	if c.OwnerURL != "" {
		c.URL = c.OwnerURL
	}
	return c
}

// DB is an open database and, for the embedded cluster, the cluster.
type DB struct {
	*sqlx.DB
	Cluster *Cluster // nil with DATABASE_URL
}

// Open connects to the configured database, starting the embedded cluster
// when no URL is given. In the embedded cluster it sets the roles up and
// connects as the application's role, or as the owner with cfg.Owner; a
// URL connects as its own user.
func Open(cfg Config) (*DB, error) {
	if cfg.URL != "" {
		db, err := sqlx.Open("postgres", WithBinaryParameters(cfg.URL))
		if err != nil {
			return nil, fmt.Errorf("pg: open: %w", err)
		}
		if err := db.Ping(); err != nil {
			db.Close()
			return nil, fmt.Errorf("pg: connect to DATABASE_URL: %w", err)
		}
		configurePool(db)
		return &DB{DB: db}, nil
	}
	c, err := StartCluster(cfg.DataDir, ClusterOptions{})
	if err != nil {
		return nil, err
	}
	role := AppRole
	if cfg.Owner {
		role = OwnerRole
	}
	db, err := c.ConnectAs(DatabaseName, role)
	if err != nil {
		_ = c.Stop()
		return nil, err
	}
	configurePool(db)
	return &DB{DB: db, Cluster: c}, nil
}

// ConnectAs sets the cluster's roles and database up (see provision) and
// connects to it as role.
func (c *Cluster) ConnectAs(dbname, role string) (*sqlx.DB, error) {
	if err := c.provision(dbname); err != nil {
		return nil, err
	}
	db, err := sqlx.Open("postgres", c.DSNAs(dbname, role))
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("pg: connect to %s as %s: %w", dbname, role, err)
	}
	return db, nil
}

// PoolSize is how many connections one process keeps to PostgreSQL. Idle
// connections are kept up to the same number: database/sql's default of
// two would close and reopen connections on every burst of interviewers.
// Two servers at this size stay inside the embedded cluster's 200.
const PoolSize = 80

func configurePool(db *sqlx.DB) {
	db.SetMaxOpenConns(PoolSize)
	db.SetMaxIdleConns(PoolSize)
	db.SetConnMaxIdleTime(10 * time.Minute)
}

// Close closes the pool and stops the embedded cluster if this process
// started it.
func (d *DB) Close() error {
	err := d.DB.Close()
	if d.Cluster != nil {
		if serr := d.Cluster.Stop(); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}

// Connect opens a database of the cluster, creating it if missing.
func (c *Cluster) Connect(dbname string) (*sqlx.DB, error) {
	if err := c.CreateDatabase(dbname, ""); err != nil {
		return nil, err
	}
	db, err := sqlx.Open("postgres", c.DSN(dbname))
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("pg: connect to %s: %w", dbname, err)
	}
	return db, nil
}

// CreateDatabase creates dbname (from template, if given) unless it exists.
func (c *Cluster) CreateDatabase(dbname, template string) error {
	admin, err := sqlx.Open("postgres", c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer admin.Close()
	return CreateDatabase(admin.DB, dbname, template)
}

// CreateDatabase creates dbname on the server of admin unless it exists.
func CreateDatabase(admin *sql.DB, dbname, template string) error {
	var exists bool
	if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, dbname).Scan(&exists); err != nil {
		return fmt.Errorf("pg: look up database %s: %w", dbname, err)
	}
	if exists {
		return nil
	}
	stmt := "CREATE DATABASE " + pq.QuoteIdentifier(dbname)
	if template != "" {
		stmt += " TEMPLATE " + pq.QuoteIdentifier(template)
	}
	if _, err := admin.Exec(stmt); err != nil {
		// Another process may have created it in the meantime.
		if pe, ok := err.(*pq.Error); ok && pe.Code == "42P04" {
			return nil
		}
		return fmt.Errorf("pg: create database %s: %w", dbname, err)
	}
	return nil
}

// WithBinaryParameters turns on lib/pq's binary_parameters: a query with
// arguments then takes one round trip to the server instead of two (parse,
// then bind), which halves the latency of every statement on a save. It
// means []byte arguments travel as binary, so JSON goes as a string.
func WithBinaryParameters(dsn string) string {
	if strings.Contains(dsn, "binary_parameters") {
		return dsn
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if strings.Contains(dsn, "?") {
			return dsn + "&binary_parameters=yes"
		}
		return dsn + "?binary_parameters=yes"
	}
	return dsn + " binary_parameters=yes"
}

// ModuleRoot finds the directory of go.mod above dir (for tests and tools run
// from inside the source tree).
func ModuleRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module minyi") {
			return d
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

// WithUser replaces the user of a key=value or URL connection string.
func WithUser(conn, user string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		scheme, rest, _ := strings.Cut(conn, "://")
		if at := strings.Index(rest, "@"); at >= 0 && at < strings.IndexAny(rest+"/", "/") {
			rest = rest[at+1:]
		}
		return scheme + "://" + user + "@" + rest
	}
	re := regexp.MustCompile(`user=\S+`)
	if re.MatchString(conn) {
		return re.ReplaceAllString(conn, "user="+user)
	}
	return conn + " user=" + user
}

// WithDatabase replaces the database of a key=value or URL connection string.
func WithDatabase(conn, name string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u := conn
		if i := strings.Index(u, "?"); i >= 0 {
			u, q := u[:i], u[i:]
			return u[:strings.LastIndex(u, "/")+1] + name + q
		}
		return u[:strings.LastIndex(u, "/")+1] + name
	}
	re := regexp.MustCompile(`dbname=\S+`)
	if re.MatchString(conn) {
		return re.ReplaceAllString(conn, "dbname="+name)
	}
	return conn + " dbname=" + name
}
