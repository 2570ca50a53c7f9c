package pg

import (
	"bufio"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"
)

//go:embed queries/*.sql
var queryFiles embed.FS

var queries = loadQueries()

// loadQueries reads every "-- name: domain/what" block of queries/*.sql.
func loadQueries() map[string]string {
	out := map[string]string{}
	err := fs.WalkDir(queryFiles, "queries", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := queryFiles.ReadFile(path)
		if err != nil {
			return err
		}
		var name string
		var body strings.Builder
		flush := func() {
			if name != "" {
				if _, dup := out[name]; dup {
					panic("pg: duplicate query name " + name)
				}
				out[name] = strings.TrimSpace(body.String())
			}
			body.Reset()
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
				flush()
				name = strings.TrimSpace(rest)
				continue
			}
			body.WriteString(line)
			body.WriteByte('\n')
		}
		flush()
		return nil
	})
	if err != nil {
		panic(err)
	}
	return out
}

// Q returns the named query. A missing name panics when the package that asks
// for it is initialised, so a typo stops the program at start-up.
func Q(name string) string {
	q, ok := queries[name]
	if !ok {
		panic("pg: no query named " + name)
	}
	return q
}

// CheckQueries prepares every named query against the database, so that a
// query broken by a schema change stops the server at boot rather than in
// the middle of an interview.
func CheckQueries(db *sqlx.DB) error {
	names := make([]string, 0, len(queries))
	for n := range queries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		st, err := db.Preparex(queries[n])
		if err != nil {
			return fmt.Errorf("pg: query %s: %w", n, err)
		}
		st.Close()
	}
	return nil
}

func bg() context.Context { return context.Background() }

// prepared caches statements per pool and query name.
var prepared sync.Map // preparedKey -> *sqlx.Stmt

type preparedKey struct {
	db   *sqlx.DB
	name string
}

// Stmt returns the named query prepared on db, preparing it on first use.
// database/sql keeps it prepared on each connection it runs on, so the hot
// paths (sign-in check, saving an interview) skip parsing and planning.
func Stmt(ctx context.Context, db *sqlx.DB, name string) (*sqlx.Stmt, error) {
	key := preparedKey{db, name}
	if st, ok := prepared.Load(key); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := db.PreparexContext(ctx, Q(name))
	if err != nil {
		return nil, fmt.Errorf("pg: prepare %s: %w", name, err)
	}
	if prev, loaded := prepared.LoadOrStore(key, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

// TxStmt returns the named query prepared for use inside tx.
func TxStmt(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, name string) (*sqlx.Stmt, error) {
	st, err := Stmt(ctx, db, name)
	if err != nil {
		return nil, err
	}
	return tx.StmtxContext(ctx, st), nil
}

// WarmConnections is how many connections a server opens at start-up: the
// whole pool, unless MINYI_DB_WARM says fewer (the tests' shared cluster).
func WarmConnections() int {
	if n, err := strconv.Atoi(os.Getenv("MINYI_DB_WARM")); err == nil && n >= 0 && n < PoolSize {
		return n
	}
	return PoolSize
}

// WarmPool opens n connections of the pool at once and runs warm on each,
// in a transaction that is rolled back. A new connection's first statements
// load the catalog into a fresh backend and plan from scratch; a server that
// opens its connections as the first burst of interviewers arrives does
// that work for dozens of backends at once, on the same cores, while they
// wait. Done at start-up, the connections are ready before anyone needs
// them. A connection that cannot be opened ends the warm-up early: the pool
// opens it later, as it would have.
//
// warm runs once first on a connection of its own, which goes back to the
// pool: statements it prepares on the pool are prepared before the n
// connections are held, since preparing needs a free one.
func WarmPool(ctx context.Context, db *sqlx.DB, n int, warm func(context.Context, *sqlx.Tx) error) error {
	if n == 0 {
		return nil
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	err = warm(ctx, tx)
	tx.Rollback()
	if err != nil {
		return err
	}
	conns := make([]*sqlx.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := db.Connx(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		tx, err := c.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		err = warm(ctx, tx)
		tx.Rollback()
		if err != nil {
			return err
		}
	}
	return nil
}
