package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDomainPackagesDoNotImportWeb keeps the dependency direction of the
// design: cmd → web → survey, sampler, dialer → sql. Domain packages (and
// sql) must not import web or Echo, so that they can be used and tested
// without a server.
func TestDomainPackagesDoNotImportWeb(t *testing.T) {
	root := "../.."
	for _, dir := range []string{"survey", "sampler", "dialer", "sql"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if p == "minyi/web" || strings.HasPrefix(p, "minyi/web/") || strings.HasPrefix(p, "github.com/labstack/echo") || strings.HasPrefix(p, "minyi/cmd") {
					t.Errorf("%s imports %s: domain packages must not depend on the web layer", path, p)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
