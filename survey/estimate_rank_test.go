package survey

import (
	"reflect"
	"testing"
)

func TestRankDistricts(t *testing.T) {
	mk := func(d string, score, se float64) Estimate {
		return Estimate{District: d, Item: CompositeItem, Score: score, HasScore: true, SE: se, HasSE: true,
			CILow: score - Z95*se, CIHigh: score + Z95*se}
	}
	rows := []Estimate{
		mk("D", 70, 1),   // [68.04, 71.96]
		mk("A", 90, 1),   // [88.04, 91.96]
		mk("B", 85, 2),   // [81.08, 88.92]
		mk("C", 85, 0.5), // [84.02, 85.98]
		{District: "E", Item: CompositeItem, Score: 99, HasScore: true}, // no SE: not ranked
		{District: "F", Item: CompositeItem},                            // no score: not ranked
		mk(AllDistricts, 82, 0.1),                                       // the city is not a district
	}
	got := RankDistricts(rows)
	want := []Rank{
		{"A", 1, 1, 2, []string{"B"}},      // only B's interval reaches A's
		{"B", 2, 1, 3, []string{"A", "C"}}, // ties with C at 2; overlaps A and C
		{"C", 2, 2, 3, []string{"B"}},      // A lies wholly above, D wholly below
		{"D", 4, 4, 4, nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ranks\n got %+v\nwant %+v", got, want)
	}
}

// --- reference implementation and property tests ---
