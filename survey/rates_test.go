package survey

import (
	"reflect"
	"testing"
)

// Rates worked by hand: A answers q01 with 1, 2, 3, don't know, refused and
// not asked; nobody in A answers q02 validly. B answers q01 with 5 and 1.
func TestIndicatorRatesByHand(t *testing.T) {
	d := Design{Items: []string{"q01", "q02"}, Points: defaultPoints}
	rs := []Respondent{
		{District: "A", Weight: 1, Codes: []int{1, 8}},
		{District: "A", Weight: 3, Codes: []int{2, 8}},
		{District: "A", Weight: 1, Codes: []int{3, 9}},
		{District: "A", Weight: 1, Codes: []int{8, 8}},
		{District: "A", Weight: 1, Codes: []int{9, 0}},
		{District: "A", Weight: 1, Codes: []int{0, 8}},
		{District: "B", Weight: 2, Codes: []int{5, 1}},
		{District: "B", Weight: 2, Codes: []int{1, 4}},
	}
	ests, err := Estimates(d, rs)
	if err != nil {
		t.Fatal(err)
	}
	got := IndicatorRates(ests)
	want := []IndicatorRate{
		{"A", "q01", 2, 3, 2, 6}, // 满意率 2/3 (weights play no part), 不清楚率 2/6
		{"A", "q02", 0, 0, 5, 6}, // no valid answer: no satisfaction rate; 5 of 6 don't know or refused, one not asked
		{"B", "q01", 1, 2, 0, 2},
		{"B", "q02", 1, 2, 0, 2},
		{AllDistricts, "q01", 3, 5, 2, 8},
		{AllDistricts, "q02", 1, 2, 5, 8},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rates\n got %+v\nwant %+v", got, want)
	}
	if r, ok := got[0].SatisfactionRate(); !ok || r != 2.0/3 {
		t.Errorf("A/q01 satisfaction rate %v %v", r, ok)
	}
	if r, ok := got[0].DontKnowRate(); !ok || r != 2.0/6 {
		t.Errorf("A/q01 don't-know rate %v %v", r, ok)
	}
	if _, ok := got[1].SatisfactionRate(); ok {
		t.Error("A/q02 has no valid answer, so no satisfaction rate")
	}
	if _, ok := (IndicatorRate{}).DontKnowRate(); ok {
		t.Error("an empty domain has no don't-know rate")
	}
}
