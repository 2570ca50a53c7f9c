package main

import (
	"embed"
	"strings"
)

// The benchmarks' own queries, which seed data at scale and run the
// baselines. They are not among the product's named queries, which every
// server prepares at boot.
//
//go:embed queries/*.sql
var queryFiles embed.FS

// benchQuery is queries/NAME.sql.
func benchQuery(name string) string {
	b, err := queryFiles.ReadFile("queries/" + name + ".sql")
	if err != nil {
		panic("minyi-bench: no query named " + name)
	}
	return strings.TrimSpace(string(b))
}
