package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// allowed is the architecture: for each package of the module, the
// packages of the module its non-test files may import. Arrows point down,
// from the programs to the web layer, to the work outside requests, to the
// domain, to the vocabulary and the database:
//
//	cmd/minyi, cmd/minyi-bench → web → schedule, export, telephony → door →
//	dialer → evidence → survey, sampler, users → signing, core, csvfile →
//	sql/pg, with media (the calls' audio) beside them, below telephony
//
// A new import must be added here, where a reviewer sees it; one against
// the grain (a domain package importing web, say) is a design change, not
// a convenience.
var allowed = map[string][]string{
	"sql/pg":           {},
	"sql/pgtest":       {"sql/pg"},
	"core":             {"sql/pg"},
	"csvfile":          {"core"},
	"csvfile/csvtest":  {},
	"users":            {"core", "sql/pg"},
	"survey":           {"core", "csvfile", "sql/pg"},
	"sampler":          {"core", "csvfile", "sql/pg"},
	"dialer":           {"core", "survey", "sql/pg"},
	"media":            {},
	"telephony":        {"core", "dialer", "media", "sql/pg"},
	"telephony/peers":  {"media"},
	"door":             {"core", "dialer", "survey", "sql/pg"},
	"signing":          {"core"},
	"evidence":         {"core", "sampler", "sql/pg", "survey"},
	"export":           {"core", "csvfile", "dialer", "sampler", "signing", "sql/pg", "survey", "users"},
	"schedule":         {"core", "csvfile", "dialer", "export", "sampler", "signing", "survey", "sql/pg"},
	"web":              {"core", "csvfile", "dialer", "door", "export", "media", "sampler", "schedule", "signing", "survey", "telephony", "users"},
	"cmd/internal/cli": {"core", "sql/pg"},
	"cmd/minyi/data":   {},
	"cmd/minyi":        {"cmd/internal/cli", "cmd/minyi/data", "core", "csvfile", "dialer", "evidence", "export", "media", "sampler", "schedule", "signing", "sql/pg", "survey", "telephony", "users", "web"},
	"cmd/minyi-bench":  {"cmd/internal/cli", "cmd/minyi/data", "core", "csvfile", "dialer", "export", "media", "sampler", "sql/pg", "survey", "telephony", "users", "web"},
}

// webOnly are outside packages only the web layer may import.
var webOnly = []string{"github.com/labstack/echo"}

// TestImportsFollowTheArchitecture checks every import between the
// module's packages against allowed; test files may also use the test
// database and any package below their own, but never web, Echo or cmd
// from a domain package.
func TestImportsFollowTheArchitecture(t *testing.T) {
	root := "../.."
	imports := map[string]map[string]bool{} // package → module imports of its non-test files
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "var" || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		test := strings.HasSuffix(path, "_test.go")
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rules, known := allowed[pkg]
		if !known {
			t.Errorf("package %s is not in the architecture table: add it to allowed with what it may import", pkg)
			return nil
		}
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, w := range webOnly {
				if strings.HasPrefix(p, w) && pkg != "web" && !strings.HasPrefix(pkg, "cmd/") {
					t.Errorf("%s imports %s: only the web layer may", path, p)
				}
			}
			dep, ok := strings.CutPrefix(p, "minyi/")
			if !ok {
				continue
			}
			if test {
				if dep == "web" && pkg != "web" && !strings.HasPrefix(pkg, "cmd/") || strings.HasPrefix(dep, "cmd/") && !strings.HasPrefix(pkg, "cmd/") {
					t.Errorf("%s imports %s: a domain package's tests must not depend on the layers above it", path, p)
				}
				continue
			}
			imports[pkg][dep] = true
			if !slices.Contains(rules, dep) {
				t.Errorf("%s imports %s, against the architecture: %s may import only %v", path, p, pkg, rules)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The table stays true: an arrow no file draws any more is taken out.
	for pkg, rules := range allowed {
		if imports[pkg] == nil && len(rules) > 0 {
			t.Errorf("package %s in the table has no Go files", pkg)
			continue
		}
		for _, dep := range rules {
			if !imports[pkg][dep] {
				t.Errorf("the table lets %s import %s, but it does not: remove the arrow", pkg, dep)
			}
		}
	}
}
