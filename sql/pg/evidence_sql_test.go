package pg

import (
	"regexp"
	"strings"
	"testing"
)

// TestEvidenceHashesAreOneExpression: the hash of an interview's content
// and of a publication's weights are written out wherever they are
// computed — as the evidence is recorded, when it is verified, and in the
// migration that recorded what was there before. A copy that drifts would
// make every interview look tampered with, or hide a change: all copies
// must be the same expression.
func TestEvidenceHashesAreOneExpression(t *testing.T) {
	var migration string
	for _, m := range Migrations() {
		if m.Name == "evidence" {
			migration = m.SQL
		}
	}
	texts := map[string]string{"migration 0104": migration}
	for _, q := range []string{"survey/insert-interview", "survey/record-evidence", "survey/interview-hashes",
		"survey/publication-weights-hash", "survey/publications-evidence"} {
		texts[q] = Q(q)
	}
	space := regexp.MustCompile(`\s+`)
	for _, marker := range []string{"interview-hash", "weights-hash"} {
		re := regexp.MustCompile(`(?s)/\* ` + marker + ` \*/(.*?)/\* end \*/`)
		var first, firstIn string
		copies := 0
		for name, text := range texts {
			for _, m := range re.FindAllStringSubmatch(text, -1) {
				expr := strings.TrimSpace(space.ReplaceAllString(m[1], " "))
				copies++
				if first == "" {
					first, firstIn = expr, name
					continue
				}
				if expr != first {
					t.Errorf("%s in %s differs from %s:\n%s\n%s", marker, name, firstIn, expr, first)
				}
			}
		}
		if want := map[string]int{"interview-hash": 4, "weights-hash": 3}[marker]; copies != want {
			t.Errorf("%d copies of %s, want %d", copies, marker, want)
		}
	}
}
