package survey

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestTieBands(t *testing.T) {
	mk := func(d string, score, se float64) Estimate {
		return Estimate{District: d, Item: CompositeItem, Score: score, HasScore: true, SE: se, HasSE: true,
			CILow: score - Z95*se, CIHigh: score + Z95*se}
	}
	rows := []Estimate{
		mk("D", 70, 1),   // [68.04, 71.96]
		mk("A", 90, 1),   // [88.04, 91.96]
		mk("B", 85, 2),   // [81.08, 88.92]
		mk("C", 85, 0.5), // [84.02, 85.98]
		{District: "E", Item: CompositeItem, Score: 99, HasScore: true}, // no SE: in no band
	}
	got := TieBands(rows, RankDistricts(rows))
	want := []Band{
		{"a", []string{"A", "B"}, 1, 2},
		{"b", []string{"B", "C"}, 2, 2},
		{"c", []string{"D"}, 4, 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bands\n got %+v\nwant %+v", got, want)
	}
}

// TestTieBandsAgreeWithTies: on random intervals for 40 districts, two
// districts share a band exactly when RankDistricts calls them tied, and
// every ranked district is in a band.
func TestTieBandsAgreeWithTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 4))
	for trial := 0; trial < 200; trial++ {
		var rows []Estimate
		for i := 0; i < 40; i++ {
			s, se := 50+40*rng.Float64(), 0.5+4*rng.Float64()
			if trial%3 == 0 {
				s = float64(60 + rng.IntN(5)) // equal scores and touching ends
				se = float64(rng.IntN(3)) / Z95
			}
			rows = append(rows, Estimate{District: string(rune('A' + i)), Item: CompositeItem, Score: s, HasScore: true,
				SE: se, HasSE: true, CILow: s - Z95*se, CIHigh: s + Z95*se})
		}
		ranks := RankDistricts(rows)
		bands := TieBands(rows, ranks)
		in := map[string][]string{}
		for _, b := range bands {
			for _, d := range b.Districts {
				in[d] = append(in[d], b.Label)
			}
		}
		for _, r := range ranks {
			if len(in[r.District]) == 0 {
				t.Fatalf("trial %d: %s in no band", trial, r.District)
			}
			for _, o := range ranks {
				if o.District == r.District {
					continue
				}
				share := slices.ContainsFunc(in[r.District], func(l string) bool { return slices.Contains(in[o.District], l) })
				if tied := slices.Contains(r.TiedWith, o.District); share != tied {
					t.Fatalf("trial %d: %s and %s tied %v but share a band %v (%v)", trial, r.District, o.District, tied, share, bands)
				}
			}
		}
	}
}
