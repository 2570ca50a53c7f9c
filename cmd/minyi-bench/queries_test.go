package main

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pgtest"
)

// TestBenchQueriesPrepare does for the benchmarks' own queries what a
// server's boot does for the product's: each must still fit the schema.
func TestBenchQueriesPrepare(t *testing.T) {
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files, err := fs.Glob(queryFiles, "queries/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no queries: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".sql")
		st, err := db.Prepare(benchQuery(name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		st.Close()
	}
}
