// Package survey turns completed interviews into the published poll scores:
// weights, indicator and district scores with their standard errors, rank
// ranges, and the CSV files that carry them. The formulas are those of
// STATISTICS.md §4–§5; everything here is pure computation so that every
// printed number can be reproduced from the stored data.
package survey

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
)

// AllDistricts is the district code of the city-wide rows.
const AllDistricts = "ALL"

// CompositeItem is the item name of the district score (民调得分) rows.
const CompositeItem = "composite"

// Z95 is the two-sided 95% normal quantile used for every interval.
const Z95 = 1.959964

// Respondent is one completed interview as the estimator sees it.
type Respondent struct {
	District string
	PSU      string  // cluster id for door-to-door; "" means the respondent is its own PSU
	Weight   float64 // final weight (>0)
	Codes    []int   // answer code per item, aligned with Design.Items; 0 = not asked/missing (treated like don't know: not valid)
	// Demographic categories for weighting (codes of the margins; 0 when
	// unknown). The estimator itself does not use them.
	Sex, AgeGroup, Urban int
	// FixedWeight marks a final weight given on import, used as is.
	FixedWeight bool
	Mode        string // phone or door, for the microdata export
}

// Design describes how answers become scores.
type Design struct {
	Items     []string        // e.g. q01..q13
	Lambda    []float64       // item weights for the district score; nil = equal 1/len(Items)
	Points    map[int]float64 // code -> points, e.g. 1:100 2:80 3:60 4:40 5:20; codes not in the map are not valid answers
	Satisfied []int           // codes counted as satisfied for the satisfaction rate (nil = {1,2})
	DontKnow  []int           // codes counted for the don't-know rate (nil = {8,9})
}

// Estimate is one row of the long scores table.
type Estimate struct {
	District string // district code, or "ALL" for the city-wide row
	Item     string // item name or "composite"
	N        int    // all respondents in the domain (don't-knows included)
	NValid   int    // respondents with a valid answer (for composite: respondents with at least one valid answer)
	Score    float64
	HasScore bool // false when no valid answer at all
	SE       float64
	HasSE    bool    // false when a stratum has a single respondent/PSU: no variance estimate, never a number
	CILow    float64 // Score − 1.959964·SE, only meaningful when HasSE
	CIHigh   float64 // Score + 1.959964·SE, only meaningful when HasSE
	// NSatisfied counts the valid answers whose code is in
	// Design.Satisfied; NDontKnow counts the respondents whose code is in
	// Design.DontKnow. Composite rows leave both 0.
	NSatisfied, NDontKnow int
	// SatisfiedRate is the unweighted share of valid answers whose code is
	// in Design.Satisfied: satisfied / NValid (0 when NValid is 0).
	SatisfiedRate float64
	// DontKnowRate is the unweighted share of all respondents in the domain
	// whose code is in Design.DontKnow: dontknow / N. Code 0 (not asked)
	// is not counted as don't know. Composite rows leave both rates 0.
	DontKnowRate float64
}

// Rank is a district's place in the composite ranking together with the
// range of places compatible with the 95% intervals.
type Rank struct {
	District string
	Rank     int // 1 = best; ties share the smallest rank
	RankLow  int // best place possible: 1 + districts whose interval lies wholly above
	RankHigh int // worst place possible: ranked districts − districts whose interval lies wholly below
	// TiedWith lists the ranked districts that are statistically tied
	// with this one: their 95% intervals overlap (touching counts), so
	// the poll cannot tell the two apart (STATISTICS.md §5). They are
	// exactly the districts neither wholly above nor wholly below, so
	// len(TiedWith) = RankHigh − RankLow. Ordered by rank, then code.
	TiedWith []string
}

// Tied reports whether the district is statistically tied with another.
func (r Rank) Tied() bool { return len(r.TiedWith) > 0 }

// BaseWeights gives every respondent whose Weight is 0 the base weight of a
// screened sample, N_h/m_h, where N_h is the resident population of the
// district and m_h counts all respondents of that district in rs (weighted
// or not), as in STATISTICS.md §4. Respondents with a weight keep it. It
// changes nothing unless every district needing weights has a population.
func BaseWeights(populations map[string]int64, rs []Respondent) error {
	m := make(map[string]int)
	for _, r := range rs {
		m[r.District]++
	}
	var missing []string
	seen := make(map[string]bool)
	for _, r := range rs {
		if r.Weight != 0 || seen[r.District] {
			continue
		}
		seen[r.District] = true
		if populations[r.District] <= 0 {
			missing = append(missing, r.District)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("survey: no resident population for district(s) %q, needed for base weights", missing)
	}
	for i := range rs {
		if rs[i].Weight == 0 {
			rs[i].Weight = float64(populations[rs[i].District]) / float64(m[rs[i].District])
		}
	}
	return nil
}

// Estimates computes, for every district and for the whole city, each item
// score and the composite district score with their linearised standard
// errors (STATISTICS.md §5). Rows come out ordered by district code, items
// in Design order followed by "composite", and the "ALL" rows last.
//
// The result does not depend on the order of rs, bit for bit: respondents
// are put into a canonical order before any sum, so the same data always
// prints the same digits.
func Estimates(d Design, rs []Respondent) ([]Estimate, error) {
	p, err := prepare(d, rs)
	if err != nil {
		return nil, err
	}
	// The domains are independent computations over the same read-only
	// strata, worked on side by side: the city first, as the longest.
	rows := make([][]Estimate, len(p.strata)+1)
	order := append([]int{len(p.strata)}, make([]int, len(p.strata))...)
	for h := range p.strata {
		order[h+1] = h
	}
	shareOut(order, func(h int) {
		if h == len(p.strata) {
			rows[h] = p.domain(AllDistricts, p.strata)
		} else {
			rows[h] = p.domain(p.strata[h].district, p.strata[h:h+1])
		}
	})
	out := make([]Estimate, 0, (len(p.strata)+1)*(len(d.Items)+1))
	for _, r := range rows {
		out = append(out, r...)
	}
	return out, nil
}

// stratum holds one district's respondents in canonical order, column by
// column: member m is in PSU unit[m], has weight weight[m] and answered
// item j with the code of slot slots[m·J+j] (see prepared.slots). Kept
// contiguous so that each pass over a million interviews reads memory in
// order.
type stratum struct {
	district string
	units    int // number of PSUs; a respondent without PSU is a PSU of its own
	unit     []int32
	weight   []float64
	slots    []uint16
}

type prepared struct {
	items     []string
	lambda    []float64
	points    map[int]float64
	satisfied map[int]bool
	dontKnow  map[int]bool
	strata    []*stratum
	// slots says, for each answer code met, whether it is valid and with
	// what points, whether it counts as satisfied and whether as don't
	// know: codes 0–15 at their own index, others after them.
	slots []codeInfo
}

type codeInfo struct {
	points              float64
	valid, sat, dontKnw bool
}

// smallCodes are the codes every questionnaire uses, which have a slot of
// their own.
const smallCodes = 16

func validateDesign(d Design) error {
	if len(d.Items) == 0 {
		return errors.New("survey: design has no items")
	}
	seen := make(map[string]bool, len(d.Items))
	for _, it := range d.Items {
		switch {
		case it == "":
			return errors.New("survey: design has an empty item name")
		case it == CompositeItem:
			return fmt.Errorf("survey: item name %q is reserved for the district score", it)
		case seen[it]:
			return fmt.Errorf("survey: item %q appears twice in the design", it)
		}
		seen[it] = true
	}
	if d.Lambda != nil {
		if len(d.Lambda) != len(d.Items) {
			return fmt.Errorf("survey: design has %d item weights (lambda) for %d items", len(d.Lambda), len(d.Items))
		}
		for j, l := range d.Lambda {
			if !(l > 0) || math.IsInf(l, 0) {
				return fmt.Errorf("survey: item weight (lambda) of %s is %v; it must be a positive finite number", d.Items[j], l)
			}
		}
	}
	if len(d.Points) == 0 {
		return errors.New("survey: design has no code-to-points map")
	}
	for c, v := range d.Points {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("survey: points of code %d are %v; they must be finite", c, v)
		}
	}
	return nil
}

func toSet(codes []int, def []int) map[int]bool {
	if codes == nil {
		codes = def
	}
	s := make(map[int]bool, len(codes))
	for _, c := range codes {
		s[c] = true
	}
	return s
}

func prepare(d Design, rs []Respondent) (*prepared, error) {
	if err := validateDesign(d); err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, errors.New("survey: no respondents to estimate from")
	}
	for i, r := range rs {
		switch {
		case r.District == "":
			return nil, fmt.Errorf("survey: respondent %d has no district", i+1)
		case r.District == AllDistricts:
			return nil, fmt.Errorf("survey: respondent %d has district code %q, which is reserved for the city-wide rows", i+1, AllDistricts)
		case !(r.Weight > 0) || math.IsInf(r.Weight, 0):
			return nil, fmt.Errorf("survey: respondent %d (district %s) has weight %v; weights must be positive and finite", i+1, r.District, r.Weight)
		case len(r.Codes) != len(d.Items):
			return nil, fmt.Errorf("survey: respondent %d (district %s) has %d answer codes for %d items", i+1, r.District, len(r.Codes), len(d.Items))
		}
	}

	p := &prepared{
		items:     d.Items,
		points:    d.Points,
		satisfied: toSet(d.Satisfied, []int{1, 2}),
		dontKnow:  toSet(d.DontKnow, []int{8, 9}),
	}
	p.lambda = d.Lambda
	if p.lambda == nil {
		p.lambda = make([]float64, len(d.Items))
		for j := range p.lambda {
			p.lambda[j] = 1 / float64(len(d.Items))
		}
	}

	info := func(c int) codeInfo {
		y, ok := p.points[c]
		return codeInfo{points: y, valid: ok && c != 0, sat: p.satisfied[c], dontKnw: p.dontKnow[c]}
	}
	for c := range smallCodes {
		p.slots = append(p.slots, info(c))
	}
	other := map[int]uint16{}
	slot := func(c int) (uint16, error) {
		if c >= 0 && c < smallCodes {
			return uint16(c), nil
		}
		if k, ok := other[c]; ok {
			return k, nil
		}
		if len(p.slots) > math.MaxUint16 {
			return 0, errors.New("survey: more than 65,000 different answer codes")
		}
		k := uint16(len(p.slots))
		other[c] = k
		p.slots = append(p.slots, info(c))
		return k, nil
	}

	// A canonical order makes every floating-point sum independent of how
	// the caller happened to order the rows: by district, PSU, weight and
	// answer codes. Respondents that compare equal are identical in
	// everything the sums use, so their order is moot. Districts are
	// bucketed first, and the codes compared as one packed number when
	// every code fits in four bits (the same order as comparing them one
	// by one), which keeps a million interviews quick to sort.
	count := map[string]int{}
	for i := range rs {
		count[rs[i].District]++
	}
	byDistrict := make(map[string][]int32, len(count))
	for code, n := range count {
		byDistrict[code] = make([]int32, 0, n)
	}
	canPack := len(d.Items) <= 16
	for i := range rs {
		byDistrict[rs[i].District] = append(byDistrict[rs[i].District], int32(i))
		for _, c := range rs[i].Codes {
			if c < 0 || c >= 16 {
				canPack = false
			}
		}
	}
	if !canPack {
		// Codes outside 0–15 get their slots here, in the order met, before
		// the districts are worked on side by side.
		for i := range rs {
			for _, c := range rs[i].Codes {
				if _, err := slot(c); err != nil {
					return nil, err
				}
			}
		}
	}
	districts := make([]string, 0, len(byDistrict))
	for code := range byDistrict {
		districts = append(districts, code)
	}
	slices.Sort(districts)
	J := len(d.Items)
	p.strata = make([]*stratum, len(districts))
	// Each district is sorted and laid out on its own; they are shared
	// out among the processors. Nothing here depends on which goroutine
	// does which district.
	order := make([]int, len(districts))
	for h := range order {
		order[h] = h
	}
	shareOut(order, func(h int) {
		p.strata[h] = p.layOut(districts[h], byDistrict[districts[h]], rs, J, canPack, other)
	})
	return p, nil
}

// shareOut calls do for each of the jobs, in that order of starting, on as
// many goroutines as there are processors, and returns when all are done.
func shareOut(jobs []int, do func(int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				do(h)
			}
		}()
	}
	for _, h := range jobs {
		work <- h
	}
	close(work)
	wg.Wait()
}

// layOut puts one district's respondents (indices into rs) in canonical
// order into a stratum. other holds the slots of codes outside 0–15 and
// is only read here.
func (p *prepared) layOut(district string, order []int32, rs []Respondent, J int, canPack bool, other map[int]uint16) *stratum {
	type sortKey struct {
		psu    string
		weight float64
		codes  uint64
		i      int32
	}
	ks := make([]sortKey, len(order))
	for m, i := range order {
		r := &rs[i]
		k := sortKey{psu: r.PSU, weight: r.Weight, i: i}
		if canPack {
			for _, c := range r.Codes {
				k.codes = k.codes<<4 | uint64(c)
			}
		}
		ks[m] = k
	}
	slices.SortFunc(ks, func(a, b sortKey) int {
		if c := cmp.Compare(a.psu, b.psu); c != 0 {
			return c
		}
		if c := cmp.Compare(a.weight, b.weight); c != 0 {
			return c
		}
		if canPack {
			return cmp.Compare(a.codes, b.codes)
		}
		return slices.Compare(rs[a.i].Codes, rs[b.i].Codes)
	})
	s := &stratum{district: district, unit: make([]int32, len(ks)), weight: make([]float64, len(ks)), slots: make([]uint16, len(ks)*J)}
	lastPSU := ""
	for m, k := range ks {
		// Sorting by PSU within the district keeps each cluster contiguous.
		if k.psu == "" || k.psu != lastPSU {
			s.units++
		}
		lastPSU = k.psu
		s.unit[m], s.weight[m] = int32(s.units-1), k.weight
		row := s.slots[m*J : (m+1)*J]
		if canPack {
			// The codes are in the key, the last item in the lowest bits.
			for j := J - 1; j >= 0; j-- {
				row[j] = uint16(k.codes & 15)
				k.codes >>= 4
			}
			continue
		}
		for j, c := range rs[k.i].Codes {
			if c >= 0 && c < smallCodes {
				row[j] = uint16(c)
			} else {
				row[j] = other[c]
			}
		}
	}
	return s
}

// domain computes the item and composite rows of one estimation domain. For
// a district the domain is its own stratum; for the city it is every
// stratum. The ratio denominators are the domain's own and the variance is
// summed over the domain's strata, which is exactly the distinction
// STATISTICS.md §5 draws between a district row and the ALL row.
func (p *prepared) domain(name string, strata []*stratum) []Estimate {
	J := len(p.items)
	sw := make([]float64, J)  // Σ w δ
	swy := make([]float64, J) // Σ w δ y
	nValid := make([]int, J)
	nSat := make([]int, J)
	nDK := make([]int, J)
	n, nAny := 0, 0
	for _, s := range strata {
		for m, w := range s.weight {
			n++
			hasValid := false
			for j, sl := range s.slots[m*J : (m+1)*J] {
				ci := &p.slots[sl]
				if ci.dontKnw {
					nDK[j]++
				}
				if !ci.valid {
					continue
				}
				y := ci.points
				hasValid = true
				nValid[j]++
				if ci.sat {
					nSat[j]++
				}
				sw[j] += w
				swy[j] += w * y
			}
			if hasValid {
				nAny++
			}
		}
	}

	r := make([]float64, J)
	lam := make([]float64, J) // λ rescaled over the items that have a valid answer
	lamSum := 0.0
	for j := range J {
		if nValid[j] > 0 {
			r[j] = swy[j] / sw[j]
			lamSum += p.lambda[j]
		}
	}
	comp := 0.0
	for j := range J {
		if nValid[j] > 0 {
			lam[j] = p.lambda[j] / lamSum
			comp += lam[j] * r[j]
		}
	}

	// Linearised values summed per PSU; column J is the composite.
	v := make([]float64, J+1)
	single := false
	for _, s := range strata {
		if s.units < 2 {
			single = true
			continue
		}
		// z[u*(J+1)+c] is PSU u's linearised value of column c.
		z := make([]float64, s.units*(J+1))
		for m, w := range s.weight {
			u := int(s.unit[m])
			zu := z[u*(J+1) : (u+1)*(J+1)]
			for j, sl := range s.slots[m*J : (m+1)*J] {
				ci := &p.slots[sl]
				if !ci.valid {
					continue
				}
				t := w * (ci.points - r[j]) / sw[j]
				zu[j] += t
				zu[J] += lam[j] * t
			}
		}
		nh := float64(s.units)
		for c := 0; c <= J; c++ {
			mean := 0.0
			for u := range s.units {
				mean += z[u*(J+1)+c]
			}
			mean /= nh
			ss := 0.0
			for u := range s.units {
				dz := z[u*(J+1)+c] - mean
				ss += dz * dz
			}
			v[c] += nh / (nh - 1) * ss
		}
	}

	out := make([]Estimate, 0, J+1)
	for j, it := range p.items {
		e := Estimate{District: name, Item: it, N: n, NValid: nValid[j], NSatisfied: nSat[j], NDontKnow: nDK[j]}
		e.DontKnowRate = float64(nDK[j]) / float64(n)
		if nValid[j] > 0 {
			e.SatisfiedRate = float64(nSat[j]) / float64(nValid[j])
			e.setScore(r[j], v[j], single)
		}
		out = append(out, e)
	}
	e := Estimate{District: name, Item: CompositeItem, N: n, NValid: nAny}
	if nAny > 0 {
		e.setScore(comp, v[J], single)
	}
	out = append(out, e)
	return out
}

func (e *Estimate) setScore(score, variance float64, single bool) {
	e.Score = score
	e.HasScore = true
	if single {
		return
	}
	e.SE = math.Sqrt(variance)
	e.HasSE = true
	e.CILow = score - Z95*e.SE
	e.CIHigh = score + Z95*e.SE
}

// RankDistricts ranks districts by score, best first, with the rank range
// implied by their 95% intervals, so that districts whose intervals overlap
// are not presented as different (STATISTICS.md §5). composites holds one
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
