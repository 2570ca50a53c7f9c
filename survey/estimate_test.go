package survey

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

var defaultPoints = map[int]float64{1: 100, 2: 80, 3: 60, 4: 40, 5: 20}

func oneItem() Design {
	return Design{Items: []string{"q01"}, Points: defaultPoints}
}

func find(t *testing.T, ests []Estimate, district, item string) Estimate {
	t.Helper()
	for _, e := range ests {
		if e.District == district && e.Item == item {
			return e
		}
	}
	t.Fatalf("no estimate for %s/%s", district, item)
	return Estimate{}
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*(1+math.Max(math.Abs(a), math.Abs(b)))
}

// The worked check of docs/statistics.md §5.
func TestWorkedCheck(t *testing.T) {
	rs := []Respondent{
		{District: "A", Weight: 1, Codes: []int{1}},
		{District: "A", Weight: 1, Codes: []int{2}},
		{District: "A", Weight: 2, Codes: []int{8}},
	}
	ests, err := Estimates(oneItem(), rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"A", AllDistricts} {
		for _, item := range []string{"q01", CompositeItem} {
			e := find(t, ests, d, item)
			if !e.HasScore || !e.HasSE {
				t.Fatalf("%s/%s: HasScore=%v HasSE=%v", d, item, e.HasScore, e.HasSE)
			}
			if !near(e.Score, 90, 1e-12) {
				t.Errorf("%s/%s: score %v, want 90", d, item, e.Score)
			}
			if !near(e.SE, math.Sqrt(75), 1e-12) || math.Abs(e.SE-8.660254) > 1e-6 {
				t.Errorf("%s/%s: SE %v, want 8.660254", d, item, e.SE)
			}
			if !near(e.CILow, 90-1.959964*math.Sqrt(75), 1e-12) || !near(e.CIHigh, 90+1.959964*math.Sqrt(75), 1e-12) {
				t.Errorf("%s/%s: interval [%v, %v]", d, item, e.CILow, e.CIHigh)
			}
			if e.N != 3 || e.NValid != 2 {
				t.Errorf("%s/%s: N=%d NValid=%d, want 3 and 2", d, item, e.N, e.NValid)
			}
		}
	}
	q := find(t, ests, "A", "q01")
	if q.SatisfiedRate != 1 || !near(q.DontKnowRate, 1.0/3, 1e-15) {
		t.Errorf("rates: satisfied %v (want 2/2), don't know %v (want 1/3)", q.SatisfiedRate, q.DontKnowRate)
	}
	if c := find(t, ests, "A", CompositeItem); c.SatisfiedRate != 0 || c.DontKnowRate != 0 {
		t.Errorf("composite rates should be 0, got %v %v", c.SatisfiedRate, c.DontKnowRate)
	}
	if len(ests) != 4 {
		t.Errorf("got %d rows, want 4", len(ests))
	}
}

// Counting only the valid answers in n_h would give n_h = 2 in the worked
// check: v = 2/1 · 50 = 100, SE = 10. The estimator must not do that.
func TestAllRespondentsCountInStratumSize(t *testing.T) {
	rs := []Respondent{
		{District: "A", Weight: 1, Codes: []int{1}},
		{District: "A", Weight: 1, Codes: []int{2}},
		{District: "A", Weight: 2, Codes: []int{8}},
	}
	ests, err := Estimates(oneItem(), rs)
	if err != nil {
		t.Fatal(err)
	}
	e := find(t, ests, "A", "q01")
	if validOnly := 10.0; math.Abs(e.SE-validOnly) < 1 {
		t.Fatalf("SE %v looks like the valid-answers-only SE %v", e.SE, validOnly)
	}

	// The same on random data: the reference with don't-knows dropped from
	// n_h disagrees with the estimator, the one keeping them agrees.
	rng := rand.New(rand.NewPCG(7, 11))
	d := Design{Items: []string{"q01", "q02", "q03"}, Points: defaultPoints}
	rs = randomRespondents(rng, len(d.Items), 4, 0.3)
	ests, err = Estimates(d, rs)
	if err != nil {
		t.Fatal(err)
	}
	differs := 0
	for _, e := range ests {
		if !e.HasSE || e.Item == CompositeItem {
			continue
		}
		ref := reference(d, rs, e.District, true)
		j := itemIndex(d, e.Item)
		if ref.hasSE[j] && !near(ref.se[j], e.SE, 1e-6) {
			differs++
		}
	}
	if differs == 0 {
		t.Fatal("dropping don't-knows from n_h changed no SE; the test data has no don't-knows?")
	}
}

// A composite of two items, worked by hand:
//
//	weights 1,1,2; q01 codes 1,2,8 → 100,80,–; q02 codes 3,3,2 → 60,60,80
//	R1 = 180/2 = 90, R2 = (60+60+160)/4 = 70, S = (90+70)/2 = 80
//	z1 = ½·(1·10/2) + ½·(1·(−10)/4) =  1.25
//	z2 = ½·(1·(−10)/2) + ½·(1·(−10)/4) = −3.75
//	z3 = 0 + ½·(2·10/4) = 2.5
//	z̄ = 0, Σz² = 21.875, v = 3/2 · 21.875 = 32.8125
func TestCompositeByHand(t *testing.T) {
	d := Design{Items: []string{"q01", "q02"}, Points: defaultPoints}
	rs := []Respondent{
		{District: "A", Weight: 1, Codes: []int{1, 3}},
		{District: "A", Weight: 1, Codes: []int{2, 3}},
		{District: "A", Weight: 2, Codes: []int{8, 2}},
	}
	ests, err := Estimates(d, rs)
	if err != nil {
		t.Fatal(err)
	}
	c := find(t, ests, "A", CompositeItem)
	if !near(c.Score, 80, 1e-12) || !near(c.SE, math.Sqrt(32.8125), 1e-12) {
		t.Errorf("composite %v ± %v, want 80 ± %v", c.Score, c.SE, math.Sqrt(32.8125))
	}
	if c.N != 3 || c.NValid != 3 {
		t.Errorf("composite N=%d NValid=%d, want 3 and 3", c.N, c.NValid)
	}
	if q2 := find(t, ests, "A", "q02"); !near(q2.Score, 70, 1e-12) {
		t.Errorf("q02 score %v, want 70", q2.Score)
	}

	// With λ = (3, 1) the weights are rescaled to (¾, ¼): S = 85.
	d.Lambda = []float64{3, 1}
	ests, err = Estimates(d, rs)
	if err != nil {
		t.Fatal(err)
	}
	if c := find(t, ests, "A", CompositeItem); !near(c.Score, 85, 1e-12) {
		t.Errorf("weighted composite %v, want 85", c.Score)
	}
}

// An item nobody answered validly drops out of the district score and the
// other items' λ are rescaled to sum to 1.
func TestCompositeSkipsItemWithoutValidAnswer(t *testing.T) {
	d := Design{Items: []string{"q01", "q02", "q03"}, Lambda: []float64{1, 1, 2}, Points: defaultPoints}
	rs := []Respondent{
		{District: "A", Weight: 1, Codes: []int{1, 8, 3}},
		{District: "A", Weight: 1, Codes: []int{2, 9, 0}},
	}
	ests, err := Estimates(d, rs)
	if err != nil {
		t.Fatal(err)
	}
	q2 := find(t, ests, "A", "q02")
	if q2.HasScore || q2.HasSE || q2.NValid != 0 || q2.DontKnowRate != 1 {
		t.Errorf("q02 without valid answers: %+v", q2)
	}
	// q01: 90, q03: 60; λ (1, 2) over those → (1/3, 2/3): 30 + 40 = 70.
	if c := find(t, ests, "A", CompositeItem); !near(c.Score, 70, 1e-12) {
		t.Errorf("composite %v, want 70", c.Score)
	}
	// Code 0 (not asked) is neither valid nor don't know.
	if q3 := find(t, ests, "A", "q03"); q3.NValid != 1 || q3.DontKnowRate != 0 {
		t.Errorf("q03: NValid=%d DontKnowRate=%v", q3.NValid, q3.DontKnowRate)
	}
}

func TestSingleRespondentHasNoSE(t *testing.T) {
	rs := []Respondent{
		{District: "A", Weight: 1, Codes: []int{1}},
		{District: "A", Weight: 1, Codes: []int{3}},
		{District: "B", Weight: 5, Codes: []int{2}},
	}
	ests, err := Estimates(oneItem(), rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range []string{"q01", CompositeItem} {
		if a := find(t, ests, "A", item); !a.HasSE {
			t.Errorf("A/%s should have an SE", item)
		}
		b := find(t, ests, "B", item)
		if !b.HasScore || b.Score != 80 || b.HasSE || b.SE != 0 || b.CILow != 0 || b.CIHigh != 0 {
			t.Errorf("B/%s: %+v", item, b)
		}
		// The city-wide row contains B's single-respondent stratum.
		if all := find(t, ests, AllDistricts, item); !all.HasScore || all.HasSE {
			t.Errorf("ALL/%s: %+v", item, all)
		}
	}

	// One cluster of two respondents is still one PSU.
	rs = []Respondent{
		{District: "A", PSU: "c1", Weight: 1, Codes: []int{1}},
		{District: "A", PSU: "c1", Weight: 1, Codes: []int{3}},
	}
	ests, err = Estimates(oneItem(), rs)
	if err != nil {
		t.Fatal(err)
	}
	if a := find(t, ests, "A", "q01"); a.HasSE {
		t.Errorf("single PSU: %+v", a)
	}
}

func TestClusteredWorkedExample(t *testing.T) {
	// Two PSUs: c1 = {100 w1, 80 w1}, c2 = {60 w2}; R = (180+120)/4 = 75.
	// z is summed per PSU: z_c1 = (25+5)/4 = 7.5, z_c2 = 2·(−15)/4 = −7.5;
	// n_h = 2 PSUs, v = 2/1 · 112.5 = 225, SE = 15.
	rs := []Respondent{
		{District: "A", PSU: "c1", Weight: 1, Codes: []int{1}},
		{District: "A", PSU: "c1", Weight: 1, Codes: []int{2}},
		{District: "A", PSU: "c2", Weight: 2, Codes: []int{3}},
	}
	ests, err := Estimates(oneItem(), rs)
	if err != nil {
		t.Fatal(err)
	}
	e := find(t, ests, "A", "q01")
	if !near(e.Score, 75, 1e-12) || !e.HasSE || !near(e.SE, 15, 1e-12) {
		t.Errorf("clustered: %v ± %v (HasSE %v), want 75 ± 15", e.Score, e.SE, e.HasSE)
	}
}

func TestEstimatesOrder(t *testing.T) {
	d := Design{Items: []string{"q02", "q01"}, Points: defaultPoints}
	rs := []Respondent{
		{District: "B", Weight: 1, Codes: []int{1, 1}},
		{District: "A", Weight: 1, Codes: []int{1, 1}},
		{District: "C", Weight: 1, Codes: []int{1, 1}},
	}
	ests, err := Estimates(d, rs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ests {
		got = append(got, e.District+"/"+e.Item)
	}
	want := "A/q02 A/q01 A/composite B/q02 B/q01 B/composite C/q02 C/q01 C/composite ALL/q02 ALL/q01 ALL/composite"
	if strings.Join(got, " ") != want {
		t.Errorf("order\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestEstimatesValidation(t *testing.T) {
	good := Respondent{District: "A", Weight: 1, Codes: []int{1}}
	cases := []struct {
		name string
		d    Design
		rs   []Respondent
		want string
	}{
		{"zero weight", oneItem(), []Respondent{{District: "A", Weight: 0, Codes: []int{1}}}, "weight"},
		{"negative weight", oneItem(), []Respondent{{District: "A", Weight: -1, Codes: []int{1}}}, "weight"},
		{"NaN weight", oneItem(), []Respondent{{District: "A", Weight: math.NaN(), Codes: []int{1}}}, "weight"},
		{"Inf weight", oneItem(), []Respondent{{District: "A", Weight: math.Inf(1), Codes: []int{1}}}, "weight"},
		{"codes length", oneItem(), []Respondent{{District: "A", Weight: 1, Codes: []int{1, 2}}}, "2 answer codes for 1 items"},
		{"lambda length", Design{Items: []string{"q01"}, Lambda: []float64{0.5, 0.5}, Points: defaultPoints}, []Respondent{good}, "lambda"},
		{"lambda zero", Design{Items: []string{"q01"}, Lambda: []float64{0}, Points: defaultPoints}, []Respondent{good}, "lambda"},
		{"lambda negative", Design{Items: []string{"q01"}, Lambda: []float64{-1}, Points: defaultPoints}, []Respondent{good}, "lambda"},
		{"lambda NaN", Design{Items: []string{"q01"}, Lambda: []float64{math.NaN()}, Points: defaultPoints}, []Respondent{good}, "lambda"},
		{"no items", Design{Points: defaultPoints}, []Respondent{good}, "no items"},
		{"duplicate item", Design{Items: []string{"q01", "q01"}, Points: defaultPoints}, []Respondent{{District: "A", Weight: 1, Codes: []int{1, 1}}}, "twice"},
		{"no points", Design{Items: []string{"q01"}}, []Respondent{good}, "points"},
		{"no respondents", oneItem(), nil, "no respondents"},
		{"no district", oneItem(), []Respondent{{Weight: 1, Codes: []int{1}}}, "district"},
		{"ALL district", oneItem(), []Respondent{{District: "ALL", Weight: 1, Codes: []int{1}}}, "reserved"},
	}
	for _, c := range cases {
		_, err := Estimates(c.d, c.rs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// refResult is what the reference computes for one domain.
type refResult struct {
	score    []float64 // per item, then composite
	hasScore []bool
	se       []float64
	hasSE    []bool
}

func itemIndex(d Design, item string) int {
	for j, it := range d.Items {
		if it == item {
			return j
		}
	}
	return len(d.Items)
}

// reference computes the domain's estimates the textbook way: the ratio
// R = Ŷ/X̂ and its linearised variance
//
//	v(R) = [v(Ŷ) − 2R·cov(Ŷ,X̂) + R²·v(X̂)] / X̂²
//
// with stratified with-replacement covariances of PSU totals, computed as
// Σ ab − n·ā·b̄; the composite's variance is the quadratic form
// Σ_j Σ_k λ_j λ_k cov(R_j, R_k). When dropInvalid is set, PSUs without a
// valid answer to an item are left out of that item's n_h, which is the
// mistake the estimator must not make.
func reference(d Design, rs []Respondent, domain string, dropInvalid bool) refResult {
	J := len(d.Items)
	lambda := d.Lambda
	if lambda == nil {
		lambda = make([]float64, J)
		for j := range lambda {
			lambda[j] = 1
		}
	}
	type psu struct {
		y, x  []float64
		valid []bool
	}
	strata := map[string]map[string]*psu{}
	for i, r := range rs {
		if domain != AllDistricts && r.District != domain {
			continue
		}
		if strata[r.District] == nil {
			strata[r.District] = map[string]*psu{}
		}
		key := "psu:" + r.PSU
		if r.PSU == "" {
			key = fmt.Sprintf("resp:%d", i)
		}
		p := strata[r.District][key]
		if p == nil {
			p = &psu{y: make([]float64, J), x: make([]float64, J), valid: make([]bool, J)}
			strata[r.District][key] = p
		}
		for j, c := range r.Codes {
			if pts, ok := d.Points[c]; ok && c != 0 {
				p.y[j] += r.Weight * pts
				p.x[j] += r.Weight
				p.valid[j] = true
			}
		}
	}
	Y := make([]float64, J)
	X := make([]float64, J)
	for _, s := range strata {
		for _, p := range s {
			for j := range J {
				Y[j] += p.y[j]
				X[j] += p.x[j]
			}
		}
	}
	// cov of two totals (a from item j, b from item k) over the strata.
	cov := func(a func(*psu) float64, b func(*psu) float64, j, k int) (float64, bool) {
		total := 0.0
		for _, s := range strata {
			var sa, sb, sab float64
			n := 0
			for _, p := range s {
				if dropInvalid && (!p.valid[j] || !p.valid[k]) {
					continue
				}
				n++
				sa += a(p)
				sb += b(p)
				sab += a(p) * b(p)
			}
			if n < 2 {
				if dropInvalid && n == 0 {
					continue
				}
				return 0, false
			}
			nf := float64(n)
			total += nf / (nf - 1) * (sab - sa*sb/nf)
		}
		return total, true
	}
	res := refResult{
		score: make([]float64, J+1), hasScore: make([]bool, J+1),
		se: make([]float64, J+1), hasSE: make([]bool, J+1),
	}
	R := make([]float64, J)
	lamSum := 0.0
	for j := range J {
		if X[j] > 0 {
			R[j] = Y[j] / X[j]
			res.score[j], res.hasScore[j] = R[j], true
			lamSum += lambda[j]
		}
	}
	covR := func(j, k int) (float64, bool) {
		yj := func(p *psu) float64 { return p.y[j] }
		xj := func(p *psu) float64 { return p.x[j] }
		yk := func(p *psu) float64 { return p.y[k] }
		xk := func(p *psu) float64 { return p.x[k] }
		c1, ok1 := cov(yj, yk, j, k)
		c2, ok2 := cov(yj, xk, j, k)
		c3, ok3 := cov(xj, yk, j, k)
		c4, ok4 := cov(xj, xk, j, k)
		c := (c1 - R[k]*c2 - R[j]*c3 + R[j]*R[k]*c4) / (X[j] * X[k])
		return c, ok1 && ok2 && ok3 && ok4
	}
	compSE := true
	compVar := 0.0
	for j := range J {
		if !res.hasScore[j] {
			continue
		}
		v, ok := covR(j, j)
		res.se[j], res.hasSE[j] = math.Sqrt(math.Max(v, 0)), ok
		res.score[J] += lambda[j] / lamSum * R[j]
		res.hasScore[J] = true
		for k := range J {
			if !res.hasScore[k] {
				continue
			}
			c, ok := covR(j, k)
			compSE = compSE && ok
			compVar += lambda[j] / lamSum * lambda[k] / lamSum * c
		}
	}
	if res.hasScore[J] {
		res.se[J], res.hasSE[J] = math.Sqrt(math.Max(compVar, 0)), compSE
	}
	return res
}

// randomRespondents makes districts of varied sizes (some with a single
// respondent), some clustered, with random weights and answer codes
// including don't-know, refused, not asked and codes outside the map.
func randomRespondents(rng *rand.Rand, items, districts int, dkShare float64) []Respondent {
	var rs []Respondent
	for h := range districts {
		district := fmt.Sprintf("50010%d", h+1)
		n := 1 + rng.IntN(25)
		clustered := rng.IntN(3) == 0
		for range n {
			r := Respondent{District: district, Weight: 0.2 + 5*rng.Float64(), Codes: make([]int, items)}
			if clustered {
				r.PSU = fmt.Sprintf("c%d", rng.IntN(4))
			}
			for j := range r.Codes {
				switch u := rng.Float64(); {
				case u < dkShare:
					r.Codes[j] = []int{8, 9, 0, 7}[rng.IntN(4)]
				default:
					r.Codes[j] = 1 + rng.IntN(5)
				}
			}
			// An item that nobody in this district answered validly.
			if h == 1 && items > 1 {
				r.Codes[items-1] = 8
			}
			rs = append(rs, r)
		}
	}
	return rs
}

func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240501, 1))
	for trial := range 300 {
		items := 1 + rng.IntN(5)
		d := Design{Points: defaultPoints}
		for j := range items {
			d.Items = append(d.Items, fmt.Sprintf("q%02d", j+1))
		}
		if trial%2 == 1 {
			for range items {
				d.Lambda = append(d.Lambda, 0.1+rng.Float64())
			}
		}
		rs := randomRespondents(rng, items, 1+rng.IntN(6), rng.Float64()*0.5)
		ests, err := Estimates(d, rs)
		if err != nil {
			t.Fatal(err)
		}
		refs := map[string]refResult{}
		for _, e := range ests {
			ref, ok := refs[e.District]
			if !ok {
				ref = reference(d, rs, e.District, false)
				refs[e.District] = ref
			}
			j := itemIndex(d, e.Item)
			where := fmt.Sprintf("trial %d %s/%s", trial, e.District, e.Item)
			if e.HasScore != ref.hasScore[j] {
				t.Fatalf("%s: HasScore %v, reference %v", where, e.HasScore, ref.hasScore[j])
			}
			if !e.HasScore {
				if e.HasSE {
					t.Fatalf("%s: SE without a score", where)
				}
				continue
			}
			if !near(e.Score, ref.score[j], 1e-10) {
				t.Fatalf("%s: score %v, reference %v", where, e.Score, ref.score[j])
			}
			if e.HasSE != ref.hasSE[j] {
				t.Fatalf("%s: HasSE %v, reference %v", where, e.HasSE, ref.hasSE[j])
			}
			// Variances are compared, not SEs: the textbook form cancels
			// terms of order v(Ŷ)/X̂², which leaves rounding noise of about
			// 1e-12 where the true variance is 0, and √ would blow it up.
			if e.HasSE && math.Abs(e.SE*e.SE-ref.se[j]*ref.se[j]) > 1e-8*(1+ref.se[j]*ref.se[j]) {
				t.Fatalf("%s: SE %v, reference %v", where, e.SE, ref.se[j])
			}
		}
	}
}

func randomDesignAndData(seed uint64) (Design, []Respondent) {
	rng := rand.New(rand.NewPCG(seed, 99))
	d := Design{Items: []string{"q01", "q02", "q03", "q04"}, Points: defaultPoints}
	rs := randomRespondents(rng, len(d.Items), 8, 0.15)
	// Make sure no district is left out of the ranking for lack of an SE.
	for i := range rs {
		rs[i].PSU = ""
	}
	for h := range 8 {
		district := fmt.Sprintf("50010%d", h+1)
		for range 2 {
			rs = append(rs, Respondent{District: district, Weight: 1 + rng.Float64(), Codes: []int{1 + rng.IntN(5), 2, 3, 4}})
		}
	}
	return d, rs
}

func composites(ests []Estimate) []Estimate {
	var out []Estimate
	for _, e := range ests {
		if e.Item == CompositeItem {
			out = append(out, e)
		}
	}
	return out
}

// A linear rescaling of the points (100/80/60/40/20 → 1.25·s − 25, i.e.
// 100/75/50/25/0) rescales every score and SE and keeps the ranking.
func TestAffinePointsKeepRanking(t *testing.T) {
	for seed := range uint64(20) {
		d, rs := randomDesignAndData(seed)
		base, err := Estimates(d, rs)
		if err != nil {
			t.Fatal(err)
		}
		d2 := d
		d2.Points = map[int]float64{}
		for c, s := range d.Points {
			d2.Points[c] = 1.25*s - 25
		}
		scaled, err := Estimates(d2, rs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range base {
			a, b := base[i], scaled[i]
			if a.HasScore != b.HasScore || a.HasSE != b.HasSE {
				t.Fatalf("seed %d %s/%s: flags changed", seed, a.District, a.Item)
			}
			if a.HasScore && !near(b.Score, 1.25*a.Score-25, 1e-12) {
				t.Errorf("seed %d %s/%s: score %v → %v", seed, a.District, a.Item, a.Score, b.Score)
			}
			if a.HasSE && !near(b.SE, 1.25*a.SE, 1e-9) {
				t.Errorf("seed %d %s/%s: SE %v → %v, want ×1.25", seed, a.District, a.Item, a.SE, b.SE)
			}
		}
		r1, r2 := RankDistricts(composites(base)), RankDistricts(composites(scaled))
		if len(r1) != 8 || !reflect.DeepEqual(r1, r2) {
			t.Errorf("seed %d: ranking changed\n%+v\n%+v", seed, r1, r2)
		}
	}
}

// Splitting every respondent into two with half the weight estimates the
// same population, so every score is unchanged.
func TestDuplicateHalfWeightKeepsScores(t *testing.T) {
	for seed := range uint64(20) {
		d, rs := randomDesignAndData(seed)
		base, err := Estimates(d, rs)
		if err != nil {
			t.Fatal(err)
		}
		var twice []Respondent
		for _, r := range rs {
			r.Weight /= 2
			twice = append(twice, r, r)
		}
		got, err := Estimates(d, twice)
		if err != nil {
			t.Fatal(err)
		}
		for i := range base {
			a, b := base[i], got[i]
			if b.N != 2*a.N || b.NValid != 2*a.NValid || a.HasScore != b.HasScore {
				t.Fatalf("seed %d %s/%s: counts %d/%d → %d/%d", seed, a.District, a.Item, a.N, a.NValid, b.N, b.NValid)
			}
			if a.HasScore && !near(a.Score, b.Score, 1e-12) {
				t.Errorf("seed %d %s/%s: score %v → %v", seed, a.District, a.Item, a.Score, b.Score)
			}
		}
	}
}

// The order of the rows changes nothing, not even the last bit.
func TestShuffleChangesNothing(t *testing.T) {
	for seed := range uint64(20) {
		d, rs := randomDesignAndData(seed)
		rng := rand.New(rand.NewPCG(seed, 5))
		for i := range rs {
			if rng.IntN(2) == 0 {
				rs[i].PSU = fmt.Sprintf("p%d", rng.IntN(3))
			}
		}
		base, err := Estimates(d, rs)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			shuffled := append([]Respondent(nil), rs...)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got, err := Estimates(d, shuffled)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(base, got) {
				t.Fatalf("seed %d: shuffled rows give different estimates", seed)
			}
		}
	}
}
