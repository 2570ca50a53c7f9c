package sampler

import (
	"encoding/csv"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// readChongqing reads the 40 districts of the 2010 census.
func readChongqing(t *testing.T) []Stratum {
	t.Helper()
	f, err := os.Open("testdata/chongqing-2010-districts.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0][:3], ","); got != "code,name,resident_population" {
		t.Fatalf("unexpected header %q", got)
	}
	var out []Stratum
	for _, r := range recs[1:] {
		n, err := strconv.ParseInt(r[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Stratum{Code: r[0], Population: n})
	}
	return out
}

// exactQuotas returns f·N_h as exact rationals, f read as a decimal.
func exactQuotas(t *testing.T, strata []Stratum, rate float64) []*big.Rat {
	t.Helper()
	f, ok := new(big.Rat).SetString(strconv.FormatFloat(rate, 'g', -1, 64))
	if !ok {
		t.Fatalf("bad rate %v", rate)
	}
	q := make([]*big.Rat, len(strata))
	for h, s := range strata {
		q[h] = new(big.Rat).Mul(f, new(big.Rat).SetInt64(s.Population))
	}
	return q
}

// roundHalfUp returns ⌊x + 1/2⌋ for x ≥ 0.
func roundHalfUp(x *big.Rat) int64 {
	y := new(big.Rat).Add(x, big.NewRat(1, 2))
	return new(big.Int).Quo(y.Num(), y.Denom()).Int64()
}

func sumRat(xs []*big.Rat) *big.Rat {
	s := new(big.Rat)
	for _, x := range xs {
		if x != nil {
			s.Add(s, x)
		}
	}
	return s
}

// checkHamilton verifies that targets are a largest-remainder rounding of
// quotas: each is the floor or the floor plus one, a stratum is rounded up
// only when it has a remainder, and no stratum left at its floor comes before
// a rounded-up one in the order (remainder desc, population desc, code asc).
// Entries with a nil quota are not checked.
func checkHamilton(t *testing.T, strata []Stratum, quotas []*big.Rat, targets []int) {
	t.Helper()
	type row struct {
		h   int
		rem *big.Rat
		up  bool
	}
	var rows []row
	for h, q := range quotas {
		if q == nil {
			continue
		}
		fl := new(big.Int).Quo(q.Num(), q.Denom()).Int64()
		rem := new(big.Rat).Sub(q, new(big.Rat).SetInt64(fl))
		switch int64(targets[h]) {
		case fl:
			rows = append(rows, row{h, rem, false})
		case fl + 1:
			if rem.Sign() == 0 {
				t.Errorf("%s: rounded up from a whole quota %s", strata[h].Code, q.RatString())
			}
			rows = append(rows, row{h, rem, true})
		default:
			t.Errorf("%s: target %d is neither floor nor floor+1 of quota %s", strata[h].Code, targets[h], q.FloatString(4))
		}
	}
	before := func(a, b row) bool {
		if c := a.rem.Cmp(b.rem); c != 0 {
			return c > 0
		}
		if strata[a.h].Population != strata[b.h].Population {
			return strata[a.h].Population > strata[b.h].Population
		}
		return strata[a.h].Code < strata[b.h].Code
	}
	for _, up := range rows {
		if !up.up {
			continue
		}
		for _, down := range rows {
			if !down.up && before(down, up) {
				t.Errorf("%s (remainder %s) rounded up ahead of %s (remainder %s)",
					strata[up.h].Code, up.rem.FloatString(6), strata[down.h].Code, down.rem.FloatString(6))
			}
		}
	}
}

func targetsOf(as []Allocation) []int {
	out := make([]int, len(as))
	for i, a := range as {
		out[i] = a.Target
	}
	return out
}

func TestAllocateChongqing(t *testing.T) {
	strata := readChongqing(t)
	if len(strata) != 40 {
		t.Fatalf("read %d districts, want 40", len(strata))
	}
	var popSum int64
	for _, s := range strata {
		popSum += s.Population
	}
	if popSum != 28846157 {
		t.Fatalf("ΣN = %d, want 28846157", popSum)
	}
	// round(0.002 · 28,846,157) = round(57,692.314) in integers.
	want := (2*popSum + 500) / 1000
	if want != 57692 {
		t.Fatalf("expected total %d, want 57692", want)
	}

	got, err := Allocate(strata, 0.002, 2)
	if err != nil {
		t.Fatal(err)
	}
	quotas := exactQuotas(t, strata, 0.002)
	sum := 0
	for h, a := range got {
		if a.Code != strata[h].Code || a.Population != strata[h].Population {
			t.Fatalf("row %d is %s/%d, want %s/%d (input order)", h, a.Code, a.Population, strata[h].Code, strata[h].Population)
		}
		if wantQ := float64(a.Population) / 500; a.Quota != wantQ {
			t.Errorf("%s: quota %v, want %v", a.Code, a.Quota, wantQ)
		}
		if d := float64(a.Target) - a.Quota; d <= -1 || d >= 1 {
			t.Errorf("%s: target %d is %v away from quota %v", a.Code, a.Target, d, a.Quota)
		}
		if a.Target < 2 {
			t.Errorf("%s: target %d below the minimum", a.Code, a.Target)
		}
		sum += a.Target
	}
	if int64(sum) != want {
		t.Errorf("Σ target = %d, want %d", sum, want)
	}
	checkHamilton(t, strata, quotas, targetsOf(got))

	// Fixed values computed separately with exact fractions, so that an
	// unnoticed change of method shows up. 14 completes go by remainder; the
	// last one to 大足县 (.486), the first left out is 涪陵区 (.428).
	byCode := map[string]int{}
	for _, a := range got {
		byCode[a.Code] = a.Target
	}
	for code, want := range map[string]int{
		"500101": 3126, // 万州区 1,563,050 → 3126.100
		"500111": 100,  // 双桥区 50,116 → 100.232
		"500106": 2000, // 沙坪坝区 1,000,013 → 2000.026
		"500225": 1343, // 大足县 671,243 → 1342.486
		"500102": 2133, // 涪陵区 1,066,714 → 2133.428
	} {
		if byCode[code] != want {
			t.Errorf("%s: target %d, want %d", code, byCode[code], want)
		}
	}

	// The input order must not matter.
	rev := make([]Stratum, len(strata))
	for i, s := range strata {
		rev[len(strata)-1-i] = s
	}
	got2, err := Allocate(rev, 0.002, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got2 {
		if byCode[a.Code] != a.Target {
			t.Errorf("%s: target %d with reversed input, %d otherwise", a.Code, a.Target, byCode[a.Code])
		}
	}
}

func TestAllocateHand(t *testing.T) {
	cases := []struct {
		name   string
		strata []Stratum
		rate   float64
		min    int
		want   []int
	}{
		// 4.5, 3.3, 2.2 → floors 4,3,2; one seat left, for the largest remainder.
		{"largest remainder", []Stratum{{"A", 4500}, {"B", 3300}, {"C", 2200}}, 0.001, 0, []int{5, 3, 2}},
		// 1.5, 2.5, 1.0 → total 5; A and B tie on .5, B has more people.
		{"tie by population", []Stratum{{"A", 1500}, {"B", 2500}, {"C", 1000}}, 0.001, 0, []int{1, 3, 1}},
		// 1.5, 1.5, 1.0 → total 4; full tie, the smaller code wins.
		{"tie by code", []Stratum{{"B", 1500}, {"A", 1500}, {"C", 1000}}, 0.001, 0, []int{1, 2, 1}},
		// 1.25 + 1.25 = 2.5 rounds half up to 3.
		{"round half up", []Stratum{{"A", 1250}, {"B", 1250}}, 0.001, 0, []int{2, 1}},
		// 1.25 + 1.24 = 2.49 rounds down to 2.
		{"round down", []Stratum{{"A", 1250}, {"B", 1240}}, 0.001, 0, []int{1, 1}},
		// 0.3 is just below 3/10 as a float64; read as a decimal, 0.3·5 = 1.5 → 2.
		{"decimal rate", []Stratum{{"A", 5}}, 0.3, 0, []int{2}},
		// Rate 1 takes everyone.
		{"census", []Stratum{{"A", 7}, {"B", 0}, {"C", 3}}, 1, 0, []int{7, 0, 3}},
		{"single", []Stratum{{"A", 123456}}, 0.002, 2, []int{247}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Allocate(c.strata, c.rate, c.min)
			if err != nil {
				t.Fatal(err)
			}
			if g := targetsOf(got); !reflect.DeepEqual(g, c.want) {
				t.Errorf("targets %v, want %v", g, c.want)
			}
		})
	}
}

func TestDecimalRate(t *testing.T) {
	for rate, want := range map[float64]*big.Rat{
		0.002:  big.NewRat(1, 500),
		0.0015: big.NewRat(3, 2000),
		0.3:    big.NewRat(3, 10),
		1:      big.NewRat(1, 1),
		1e-7:   big.NewRat(1, 10000000),
	} {
		got, err := decimalRate(rate)
		if err != nil {
			t.Fatal(err)
		}
		if got.Cmp(want) != 0 {
			t.Errorf("decimalRate(%v) = %s, want %s", rate, got.RatString(), want.RatString())
		}
	}
	// The reason for not using SetFloat64.
	if new(big.Rat).SetFloat64(0.002).Cmp(big.NewRat(1, 500)) == 0 {
		t.Error("SetFloat64(0.002) is unexpectedly exactly 1/500")
	}
}

func TestAllocateMinimum(t *testing.T) {
	cases := []struct {
		name   string
		strata []Stratum
		rate   float64
		min    int
		want   []int
	}{
		// Quotas 100, 0.1, 0.3 → total 100. The two small strata are raised
		// to 2 and the big one gives up the 4 completes.
		{"raise small", []Stratum{{"BIG", 100000}, {"S1", 100}, {"S2", 300}}, 0.001, 2, []int{96, 2, 2}},
		// Quotas 20, 2.1, 5 × 0.1 → total 23. Round 1 raises the five small
		// strata (10 completes); the 13 left are 11.76 and 1.24, so B falls
		// below 2 and is raised in round 2; A keeps the last 11.
		{"second round", []Stratum{
			{"A", 20000}, {"B", 2100},
			{"C1", 100}, {"C2", 100}, {"C3", 100}, {"C4", 100}, {"C5", 100},
		}, 0.001, 2, []int{11, 2, 2, 2, 2, 2, 2}},
		// A stratum cannot give more completes than it has people.
		{"capped by population", []Stratum{{"A", 10000}, {"ONE", 1}, {"NONE", 0}}, 0.001, 2, []int{9, 1, 0}},
		// min·len equal to the total is allowed.
		{"min uses everything", []Stratum{{"A", 3000}, {"B", 1000}}, 0.001, 2, []int{2, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Allocate(c.strata, c.rate, c.min)
			if err != nil {
				t.Fatal(err)
			}
			if g := targetsOf(got); !reflect.DeepEqual(g, c.want) {
				t.Errorf("targets %v, want %v", g, c.want)
			}
		})
	}
}

// A minimum that plain Hamilton already meets must change nothing.
func TestAllocateMinimumNotBinding(t *testing.T) {
	strata := readChongqing(t)
	plain, err := Allocate(strata, 0.002, 0)
	if err != nil {
		t.Fatal(err)
	}
	withMin, err := Allocate(strata, 0.002, 100) // 双桥区 has 100 exactly
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plain, withMin) {
		t.Error("a minimum that every stratum already meets changed the allocation")
	}
	// One more and 双桥区 must be raised.
	raised, err := Allocate(strata, 0.002, 101)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, a := range raised {
		if a.Code == "500111" && a.Target != 101 {
			t.Errorf("双桥区 target %d, want 101", a.Target)
		}
		sum += a.Target
	}
	if sum != 57692 {
		t.Errorf("Σ target = %d, want 57692", sum)
	}
}

func isBilingual(s string) bool {
	han := false
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			han = true
			break
		}
	}
	return han && strings.Contains(s, " / ")
}

func TestAllocateErrors(t *testing.T) {
	ok := []Stratum{{"A", 1000}, {"B", 2000}}
	cases := []struct {
		name   string
		strata []Stratum
		rate   float64
		min    int
	}{
		{"no strata", nil, 0.002, 2},
		{"empty strata", []Stratum{}, 0.002, 2},
		{"rate zero", ok, 0, 0},
		{"rate negative", ok, -0.002, 0},
		{"rate above one", ok, 1.0000001, 0},
		{"rate NaN", ok, math.NaN(), 0},
		{"negative population", []Stratum{{"A", 1000}, {"B", -1}}, 0.002, 0},
		{"duplicate code", []Stratum{{"A", 1000}, {"A", 2000}}, 0.002, 0},
		{"empty code", []Stratum{{"", 1000}}, 0.002, 0},
		{"negative min", ok, 0.002, -1},
		// Total round(0.002·3000) = 6 < 2 × 4.
		{"min too large", ok, 0.002, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Allocate(c.strata, c.rate, c.min)
			if err == nil {
				t.Fatalf("no error, got %v", got)
			}
			if !isBilingual(err.Error()) {
				t.Errorf("error %q is not in Chinese and English", err)
			}
		})
	}
	// Right at the limit: total 6 = 2 × 3.
	if _, err := Allocate(ok, 0.002, 3); err != nil {
		t.Errorf("min·len equal to the total: %v", err)
	}
}

// TestAllocateProperty checks random inputs: the total is always exact; with
// no minimum every target is within 1 of f·N_h; with a minimum the raised
// strata sit exactly at it and every other target is within 1 of its share
// of what the raised strata leave.
func TestAllocateProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rates := []float64{0.002, 0.0015, 0.001, 0.01, 0.05, 0.3, 0.123456, 1}
	errorsSeen, raisedSeen, notBinding := 0, 0, 0
	for trial := 0; trial < 2000; trial++ {
		n := 1 + rng.IntN(60)
		strata := make([]Stratum, n)
		for h := range strata {
			var pop int64
			switch rng.IntN(4) {
			case 0:
				pop = rng.Int64N(2000) // small: often raised to the minimum
			case 1:
				pop = rng.Int64N(20) * 500 // many exact quotas and ties at 0.002
			default:
				pop = rng.Int64N(5_000_000)
			}
			strata[h] = Stratum{Code: strconv.Itoa(rng.IntN(1000000)*100 + h), Population: pop}
		}
		rate := rates[rng.IntN(len(rates))]
		if rng.IntN(4) == 0 {
			rate = 1 - rng.Float64() // (0, 1]
		}
		quotas := exactQuotas(t, strata, rate)
		total := roundHalfUp(sumRat(quotas))

		min := 0
		switch trial % 4 {
		case 1, 2:
			min = rng.IntN(6)
		case 3:
			// Up to twice the average per stratum: infeasible about half
			// the time, and heavy raising otherwise.
			min = rng.IntN(int(2*total/int64(n)) + 2)
		}
		var floorSum int64
		for _, s := range strata {
			floorSum += int64(min64(int64(min), s.Population))
		}

		res, err := allocate(strata, rate, min)
		if floorSum > total {
			if err == nil {
				t.Fatalf("trial %d: minimum %d × %d strata > total %d but no error", trial, min, n, total)
			}
			if !isBilingual(err.Error()) {
				t.Errorf("error %q is not in Chinese and English", err)
			}
			errorsSeen++
			continue
		}
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		got := res.allocations
		if res.total != total {
			t.Fatalf("trial %d: total %d, want %d", trial, res.total, total)
		}
		var sum int64
		anyRaised := false
		for h, a := range got {
			sum += int64(a.Target)
			if int64(a.Target) < res.floors[h] {
				t.Errorf("trial %d: %s target %d below minimum %d", trial, a.Code, a.Target, res.floors[h])
			}
			if res.raised[h] {
				anyRaised = true
				if int64(a.Target) != res.floors[h] {
					t.Errorf("trial %d: raised %s has target %d, not the minimum %d", trial, a.Code, a.Target, res.floors[h])
				}
			}
		}
		if sum != total {
			t.Fatalf("trial %d: Σ target = %d, want %d", trial, sum, total)
		}

		shares := quotas
		if anyRaised {
			raisedSeen++
			// The others' share of what is left: R·N_h / ΣN_others.
			rest := total
			restPop := int64(0)
			for h, s := range strata {
				if res.raised[h] {
					rest -= res.floors[h]
				} else {
					restPop += s.Population
				}
			}
			shares = make([]*big.Rat, n)
			for h, s := range strata {
				if !res.raised[h] {
					shares[h] = big.NewRat(rest*s.Population, 1)
					shares[h].Quo(shares[h], big.NewRat(restPop, 1))
				}
			}
		}
		for h, a := range got {
			if shares[h] == nil {
				continue
			}
			d := new(big.Rat).Sub(new(big.Rat).SetInt64(int64(a.Target)), shares[h])
			if d.Cmp(big.NewRat(-1, 1)) <= 0 || d.Cmp(big.NewRat(1, 1)) >= 0 {
				t.Errorf("trial %d: %s target %d differs from its share %s by 1 or more",
					trial, a.Code, a.Target, shares[h].FloatString(4))
			}
		}
		checkHamilton(t, strata, shares, targetsOf(got))

		// A minimum that the plain allocation already meets changes nothing.
		if min > 0 {
			plain, err := Allocate(strata, rate, 0)
			if err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
			meets := true
			for h, a := range plain {
				meets = meets && int64(a.Target) >= res.floors[h]
			}
			if meets {
				notBinding++
				if !reflect.DeepEqual(plain, got) {
					t.Errorf("trial %d: a minimum of %d that every stratum already met changed the allocation", trial, min)
				}
			}
		}
		if t.Failed() {
			t.Fatalf("trial %d failed: strata %v rate %v min %d", trial, strata, rate, min)
		}
	}
	// The random inputs must actually exercise both paths.
	if errorsSeen < 50 || raisedSeen < 50 || notBinding < 50 {
		t.Errorf("weak test: %d infeasible, %d with raised strata, %d with a minimum already met",
			errorsSeen, raisedSeen, notBinding)
	}
	t.Logf("%d infeasible inputs, %d with raised strata, %d with a minimum already met",
		errorsSeen, raisedSeen, notBinding)
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}
