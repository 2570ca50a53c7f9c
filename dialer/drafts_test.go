package dialer

import (
	"fmt"
	"testing"

	"minyi/survey"
)

func TestBreakOffRule(t *testing.T) {
	q := survey.Default()
	districts := map[string]bool{"500103": true}
	screener := func(n int) survey.Answers {
		a := survey.Answers{"s1": "1", "s2": "1", "district": "500103"}
		for i := 1; i <= n; i++ {
			a[fmt.Sprintf("q%02d", i)] = "2"
		}
		return a
	}
	half := BreakOffRule{MinShare: 0.5}
	cases := []struct {
		name string
		ans  survey.Answers
		rule BreakOffRule
		code string
		n    int
	}{
		{"before the indicators", screener(0), half, "", 0},
		{"7 of 13", screener(7), half, CodePartial, 7},
		{"6 of 13", screener(6), half, CodeBreakOff, 6},
		{"all 13 under a strict rule", screener(13), BreakOffRule{MinShare: 1}, CodePartial, 13},
		{"12 of 13 under a strict rule", screener(12), BreakOffRule{MinShare: 1}, CodeBreakOff, 12},
		// An invalid answer does not count and is not stored.
		{"an invalid answer", func() survey.Answers { a := screener(7); a["q07"] = "6"; return a }(), half, CodeBreakOff, 6},
		// Without a district there is nowhere to count the interview.
		{"no district", func() survey.Answers { a := screener(13); delete(a, "district"); return a }(), half, CodeBreakOff, 13},
		// A screened-out respondent has answered nothing that counts.
		{"screened out", func() survey.Answers { a := screener(13); a["s2"] = "2"; return a }(), half, "", 0},
	}
	for _, c := range cases {
		res, ans := c.rule.classify(q, c.ans, districts)
		if res.Code != c.code || res.Answered != c.n {
			t.Errorf("%s: %+v, want code %q with %d answered", c.name, res, c.code, c.n)
		}
		if ans != nil && ans["q07"] == "6" {
			t.Errorf("%s: the invalid answer is kept", c.name)
		}
	}
}
