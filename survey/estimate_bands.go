package survey

import (
	"cmp"
	"slices"
	"strconv"
)

// Band is a group of districts the poll cannot tell apart: their 95%
// intervals all share a point (docs/statistics.md §5). Bands are the
// maximal such groups, so two ranked districts are statistically tied
// exactly when some band holds both (closed intervals on a line that
// overlap pairwise share a point). Unlike lists of tied names, a district
// belongs to a few bands, which a table can show as letters.
type Band struct {
	Label     string   // "a" for the band at the top, then "b", …
	Districts []string // codes, best rank first
	RankLow   int      // the best rank among its districts
	RankHigh  int      // the worst rank among its districts
}

// TieBands groups ranked districts into bands, best band first. ranks is
// RankDistricts' result for the same composites; districts without an
// interval are in no band, as they are not ranked.
func TieBands(composites []Estimate, ranks []Rank) []Band {
	rank := make(map[string]int, len(ranks))
	for _, r := range ranks {
		rank[r.District] = r.Rank
	}
	var rows []Estimate
	for _, e := range composites {
		if _, ok := rank[e.District]; ok {
			rows = append(rows, e)
		}
	}
	// The maximal groups of an interval graph are among the groups of
	// intervals holding a left end; taking them from the highest point
	// down puts the best band first.
	slices.SortFunc(rows, func(a, b Estimate) int { return cmp.Compare(b.CILow, a.CILow) })
	var groups [][]string
	for _, p := range rows {
		var g []string
		for _, e := range rows {
			if e.CILow <= p.CILow && p.CILow <= e.CIHigh {
				g = append(g, e.District)
			}
		}
		groups = append(groups, g)
	}
	var bands []Band
	for i, g := range groups {
		if slices.ContainsFunc(groups, func(h []string) bool { return len(h) > len(g) && subset(g, h) }) {
			continue
		}
		if slices.ContainsFunc(groups[:i], func(h []string) bool { return len(h) == len(g) && subset(g, h) }) {
			continue
		}
		slices.SortFunc(g, func(a, b string) int {
			if c := cmp.Compare(rank[a], rank[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		bands = append(bands, Band{Label: bandLabel(len(bands)), Districts: g, RankLow: rank[g[0]], RankHigh: rank[g[len(g)-1]]})
	}
	return bands
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// bandLabel is a, b, …, z, then A, …, Z, then a number: a city has at most
// a few dozen districts.
func bandLabel(i int) string {
	switch {
	case i < 26:
		return string(rune('a' + i))
	case i < 52:
		return string(rune('A' + i - 26))
	}
	return strconv.Itoa(i + 1)
}

// Bands are the wave's tie bands over its district scores.
func (s *WaveScores) Bands() []Band {
	var composites []Estimate
	for _, e := range s.Estimates {
		if e.Item == CompositeItem {
			composites = append(composites, e)
		}
	}
	return TieBands(composites, s.Ranks)
}
