package sql

import (
	"bufio"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

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
					panic("sql: duplicate query name " + name)
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
		panic("sql: no query named " + name)
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
			return fmt.Errorf("sql: query %s: %w", n, err)
		}
		st.Close()
	}
	return nil
}

func bg() context.Context { return context.Background() }
