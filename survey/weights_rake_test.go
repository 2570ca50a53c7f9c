package survey

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPostStratifyByHand(t *testing.T) {
	// Two cells: men (d = 1, 1, 2) to 800, women (d = 3) to 1200.
	w, err := PostStratify([]float64{1, 1, 2, 3}, []int{1, 1, 1, 2}, map[int]float64{1: 800, 2: 1200})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{200, 200, 400, 1200}
	for i := range want {
		if math.Abs(w[i]-want[i]) > 1e-9 {
			t.Fatalf("weights %v, want %v", w, want)
		}
	}
}

func TestRakeByHand(t *testing.T) {
	// Four respondents, sex × urban, equal base weights. Margins: sex
	// 60/40, urban 70/30. The raked table of a 2×2 with one respondent per
	// cell is the independence table: 42, 18, 28, 12.
	cats := [][]int{{1, 1}, {1, 2}, {2, 1}, {2, 2}}
	res, err := Rake([]float64{1, 1, 1, 1}, cats, []RakeVariable{
		{Name: "sex", Targets: map[int]float64{1: 60, 2: 40}},
		{Name: "urban", Targets: map[int]float64{1: 70, 2: 30}},
	}, RakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{42, 18, 28, 12}
	for i := range want {
		if math.Abs(res.Weights[i]-want[i]) > 1e-8 {
			t.Fatalf("weights %v, want %v", res.Weights, want)
		}
	}
	if res.Sweeps < 1 || res.MaxChange >= 1e-10 {
		t.Fatalf("sweeps %d, change %g", res.Sweeps, res.MaxChange)
	}
}

// TestRakeMeetsMarginsAndKeepsItsShape checks random problems against what
// characterises the raking solution: every margin met, and the adjustment
// w/d a product of one factor per variable (so its log is additive).
func TestRakeMeetsMarginsAndKeepsItsShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		n := 30 + rng.IntN(200)
		base := make([]float64, n)
		cats := make([][]int, n)
		for i := range base {
			base[i] = 0.5 + rng.Float64()*3
			cats[i] = []int{1 + rng.IntN(2), 1 + rng.IntN(5)}
		}
		// Make sure every category has someone.
		for c := 0; c < 5; c++ {
			cats[c] = []int{1 + c%2, 1 + c}
		}
		sexT := map[int]float64{1: 4000 + rng.Float64()*1000, 2: 0}
		total := 10000.0
		sexT[2] = total - sexT[1]
		ageT := map[int]float64{}
		left := total
		for c := 1; c <= 4; c++ {
			ageT[c] = total * (0.1 + 0.1*rng.Float64())
			left -= ageT[c]
		}
		ageT[5] = left
		vars := []RakeVariable{{Name: "sex", Targets: sexT}, {Name: "age_group", Targets: ageT}}
		res, err := Rake(base, cats, vars, RakeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for m, v := range vars {
			got := map[int]float64{}
			for i, w := range res.Weights {
				got[cats[i][m]] += w
			}
			for c, want := range v.Targets {
				if math.Abs(got[c]-want) > 1e-6*want {
					t.Fatalf("trial %d: %s %d totals %v, want %v", trial, v.Name, c, got[c], want)
				}
			}
		}
		// log(w/d) = a(sex) + b(age): units in the same cell share the
		// factor, and the 2×2 interaction contrasts vanish.
		f := map[[2]int]float64{}
		for i, w := range res.Weights {
			r := math.Log(w / base[i])
			key := [2]int{cats[i][0], cats[i][1]}
			if prev, ok := f[key]; ok && math.Abs(prev-r) > 1e-9 {
				t.Fatalf("trial %d: units of one cell adjusted differently", trial)
			}
			f[key] = r
		}
		for a := 2; a <= 5; a++ {
			x, ok1 := f[[2]int{1, 1}]
			y, ok2 := f[[2]int{2, a}]
			z, ok3 := f[[2]int{1, a}]
			u, ok4 := f[[2]int{2, 1}]
			if ok1 && ok2 && ok3 && ok4 && math.Abs(x+y-z-u) > 1e-7 {
				t.Fatalf("trial %d: the adjustment is not multiplicative", trial)
			}
		}
	}
}

func TestRakeFailsClearly(t *testing.T) {
	cats := [][]int{{1, 1}, {1, 2}, {2, 1}}
	cases := []struct {
		name string
		vars []RakeVariable
		want string
	}{
		{"empty cell", []RakeVariable{{"sex", map[int]float64{1: 50, 2: 50}}, {"urban", map[int]float64{1: 60, 2: 30, 3: 10}}}, "urban category 3 has 10 people in the census but no respondent"},
		{"respondents without a target", []RakeVariable{{"sex", map[int]float64{1: 100}}}, "sex category 2 has respondents but no census target"},
		{"different totals", []RakeVariable{{"sex", map[int]float64{1: 50, 2: 50}}, {"urban", map[int]float64{1: 60, 2: 60}}}, "must describe the same population"},
	}
	for _, c := range cases {
		cs := cats
		if len(c.vars) == 1 {
			cs = [][]int{{1}, {2}, {1}}
		}
		_, err := Rake([]float64{1, 1, 1}, cs, c.vars, RakeOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Too few sweeps allowed: it says so rather than returning weights
	// that miss their targets.
	_, err := Rake([]float64{1, 2, 3}, cats, []RakeVariable{{"sex", map[int]float64{1: 50, 2: 50}}, {"urban", map[int]float64{1: 70, 2: 30}}}, RakeOptions{MaxSweeps: 1})
	if err == nil || !strings.Contains(err.Error(), "did not converge") {
		t.Fatalf("non-convergence: %v", err)
	}
}
