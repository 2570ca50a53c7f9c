package survey

import (
	"cmp"
	"slices"
)

// Rank is a district's place in the composite ranking together with the
// range of places compatible with the 95% intervals.
type Rank struct {
	District string
	Rank     int // 1 = best; ties share the smallest rank
	RankLow  int // best place possible: 1 + districts whose interval lies wholly above
	RankHigh int // worst place possible: ranked districts − districts whose interval lies wholly below
	// TiedWith lists the ranked districts that are statistically tied
	// with this one: their 95% intervals overlap (touching counts), so
	// the poll cannot tell the two apart (docs/statistics.md §5). They are
	// exactly the districts neither wholly above nor wholly below, so
	// len(TiedWith) = RankHigh − RankLow. Ordered by rank, then code.
	TiedWith []string
}

// Tied reports whether the district is statistically tied with another.
func (r Rank) Tied() bool { return len(r.TiedWith) > 0 }

// RankDistricts ranks districts by score, best first, with the rank range
// implied by their 95% intervals, so that districts whose intervals overlap
// are not presented as different (docs/statistics.md §5). composites holds one
// row per district (normally the composite rows of Estimates); the "ALL"
// row and rows without a score or without a standard error are left out,
// since a district without an interval cannot be placed with any
// confidence. The result is ordered by rank, then district code.
func RankDistricts(composites []Estimate) []Rank {
	var rows []Estimate
	for _, e := range composites {
		if e.District != AllDistricts && e.HasScore && e.HasSE {
			rows = append(rows, e)
		}
	}
	ranks := make([]Rank, len(rows))
	for i, a := range rows {
		better, surelyBetter, surelyWorse := 0, 0, 0
		var tied []string
		for k, b := range rows {
			if k == i {
				continue
			}
			if b.Score > a.Score {
				better++
			}
			switch {
			case b.CILow > a.CIHigh:
				surelyBetter++
			case b.CIHigh < a.CILow:
				surelyWorse++
			default:
				tied = append(tied, b.District)
			}
		}
		ranks[i] = Rank{
			District: a.District,
			Rank:     1 + better,
			RankLow:  1 + surelyBetter,
			RankHigh: len(rows) - surelyWorse,
			TiedWith: tied,
		}
	}
	slices.SortFunc(ranks, func(a, b Rank) int {
		if c := cmp.Compare(a.Rank, b.Rank); c != 0 {
			return c
		}
		return cmp.Compare(a.District, b.District)
	})
	place := make(map[string]int, len(ranks))
	for i, r := range ranks {
		place[r.District] = i
	}
	for _, r := range ranks {
		slices.SortFunc(r.TiedWith, func(a, b string) int { return cmp.Compare(place[a], place[b]) })
	}
	return ranks
}
