package survey

import (
	"math"
	"strings"
	"testing"
)

func TestCalibrateRakesComputedWeightsOnly(t *testing.T) {
	rs := []Respondent{
		{District: "A", Weight: 250, Sex: 1, AgeGroup: 1, Urban: 1},
		{District: "A", Weight: 250, Sex: 1, AgeGroup: 2, Urban: 0}, // urban unknown: urban is not raked
		{District: "A", Weight: 250, Sex: 2, AgeGroup: 1, Urban: 1},
		{District: "A", Weight: 250, Sex: 1, AgeGroup: 2, Urban: 2},
		{District: "B", Weight: 7, FixedWeight: true, Sex: 1},
	}
	margins := Margins{
		"A": {"sex": {1: 480, 2: 520}, "age_group": {1: 600, 2: 400}, "urban": {1: 700, 2: 300}},
		"B": {"sex": {1: 10, 2: 10}},
	}
	dws, err := Calibrate(rs, margins)
	if err != nil {
		t.Fatal(err)
	}
	if len(dws) != 2 || strings.Join(dws[0].Raked, ",") != "sex,age_group" || dws[0].Sweeps == 0 {
		t.Fatalf("weighting %+v", dws)
	}
	sex := map[int]float64{}
	age := map[int]float64{}
	for _, r := range rs[:4] {
		sex[r.Sex] += r.Weight
		age[r.AgeGroup] += r.Weight
	}
	if math.Abs(sex[1]-480) > 1e-6 || math.Abs(sex[2]-520) > 1e-6 || math.Abs(age[1]-600) > 1e-6 || math.Abs(age[2]-400) > 1e-6 {
		t.Fatalf("margins not met: sex %v age %v", sex, age)
	}
	if rs[4].Weight != 7 || !dws[1].FixedOnly || len(dws[1].Raked) != 0 {
		t.Fatalf("a weight given on import was changed: %v %+v", rs[4].Weight, dws[1])
	}
	var s, s2 float64
	for _, r := range rs[:4] {
		s += r.Weight
		s2 += r.Weight * r.Weight
	}
	if math.Abs(dws[0].Effect-4*s2/(s*s)) > 1e-12 {
		t.Fatalf("weighting effect %v", dws[0].Effect)
	}
}

func TestCalibrateFailsClearlyNamingTheDistrict(t *testing.T) {
	rs := []Respondent{{District: "500101", Weight: 10, Sex: 1}, {District: "500101", Weight: 10, Sex: 1}}
	_, err := Calibrate(rs, Margins{"500101": {"sex": {1: 50, 2: 50}}})
	if err == nil || !strings.Contains(err.Error(), "district 500101 cannot be weighted") || !strings.Contains(err.Error(), "sex category 2") {
		t.Fatalf("got %v", err)
	}
}

func TestCalibrateWithoutMarginsKeepsBaseWeights(t *testing.T) {
	rs := []Respondent{{District: "A", Weight: 5, Sex: 1}, {District: "A", Weight: 5, Sex: 2}}
	dws, err := Calibrate(rs, Margins{})
	if err != nil || rs[0].Weight != 5 || len(dws[0].Raked) != 0 || dws[0].Effect != 1 {
		t.Fatalf("%+v %v", dws, err)
	}
}

func TestWeightingEffect(t *testing.T) {
	if d := WeightingEffect([]float64{2, 2, 2}); math.Abs(d-1) > 1e-12 {
		t.Fatalf("equal weights: %v", d)
	}
	// n Σw²/(Σw)² = 2·(1+9)/16 = 1.25
	if d := WeightingEffect([]float64{1, 3}); math.Abs(d-1.25) > 1e-12 {
		t.Fatalf("1,3: %v", d)
	}
}

func TestBaseWeights(t *testing.T) {
	rs := []Respondent{
		{District: "A", Codes: []int{1}},
		{District: "A", Weight: 7, Codes: []int{1}},
		{District: "A", Codes: []int{1}},
		{District: "B", Codes: []int{1}},
		{District: "C", Weight: 3, Codes: []int{1}},
	}
	if err := BaseWeights(map[string]int64{"A": 300, "B": 50}, rs); err != nil {
		t.Fatal(err)
	}
	want := []float64{100, 7, 100, 50, 3}
	for i, w := range want {
		if rs[i].Weight != w {
			t.Errorf("respondent %d: weight %v, want %v", i, rs[i].Weight, w)
		}
	}

	rs = []Respondent{{District: "A", Codes: []int{1}}, {District: "Z", Codes: []int{1}}}
	err := BaseWeights(map[string]int64{"A": 300}, rs)
	if err == nil || !strings.Contains(err.Error(), `"Z"`) {
		t.Fatalf("missing population: %v", err)
	}
	if rs[0].Weight != 0 {
		t.Error("weights changed although an error was returned")
	}
}
