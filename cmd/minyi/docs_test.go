package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// citation is a reference to a document of docs/ and, optionally, to
// numbered sections of it: "docs/statistics.md §5", "statistics.md §4–5"
// (within docs/), "docs/design.md §7".
var citation = regexp.MustCompile(`(?:docs/)?([a-z][a-z-]*)\.md(?: (§\d+(?:[–-]§?\d+)?))?`)

var sectionRange = regexp.MustCompile(`§(\d+)(?:[–-]§?(\d+))?`)

// TestCitedDocumentsAndSectionsExist: every document and numbered section
// that the code, the SQL and the docs cite is in docs/, so a reader can
// follow a comment to the rule it implements. Citing a document that is
// not in this repository (by its old upper-case name) fails too.
func TestCitedDocumentsAndSectionsExist(t *testing.T) {
	root := "../.."
	out, err := exec.Command("git", "-C", root, "ls-files", "*.go", "*.sql", "*.md", "*.html").Output()
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]map[int]bool{}
	sections := func(doc string) (map[int]bool, bool) {
		if h, ok := headings[doc]; ok {
			return h, h != nil
		}
		b, err := os.ReadFile(filepath.Join(root, "docs", doc+".md"))
		if err != nil {
			headings[doc] = nil
			return nil, false
		}
		h := map[int]bool{}
		for _, m := range regexp.MustCompile(`(?m)^## (\d+)\. `).FindAllStringSubmatch(string(b), -1) {
			n, _ := strconv.Atoi(m[1])
			h[n] = true
		}
		headings[doc] = h
		return h, true
	}
	cited := 0
	for _, file := range strings.Fields(string(out)) {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, doc := range []string{"design", "statistics"} {
			// Spelled out of parts, so that this file does not cite them.
			if old := strings.ToUpper(doc) + ".md"; strings.Contains(text, old) {
				t.Errorf("%s cites %s, which is not in this repository: cite docs/%s.md", file, old, doc)
			}
		}
		inDocs := strings.HasPrefix(file, "docs/")
		for _, m := range citation.FindAllStringSubmatchIndex(text, -1) {
			whole, doc := text[m[0]:m[1]], text[m[2]:m[3]]
			if !strings.HasPrefix(whole, "docs/") && !inDocs {
				continue // README.md and the like, not a document of docs/
			}
			cited++
			h, ok := sections(doc)
			if !ok {
				t.Errorf("%s cites %s: there is no docs/%s.md", file, whole, doc)
				continue
			}
			if m[4] < 0 {
				continue
			}
			r := sectionRange.FindStringSubmatch(text[m[4]:m[5]])
			lo, _ := strconv.Atoi(r[1])
			hi := lo
			if r[2] != "" {
				hi, _ = strconv.Atoi(r[2])
			}
			for n := lo; n <= hi; n++ {
				if !h[n] {
					t.Errorf("%s cites %s: docs/%s.md has no section %d", file, whole, doc, n)
				}
			}
		}
	}
	if cited < 30 {
		t.Fatalf("found only %d citations: the pattern no longer matches how the code cites", cited)
	}
}
