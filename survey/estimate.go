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
	"math/bits"
	"runtime"
	"slices"
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
	return baseWeights(populations, rs, indexDistricts(rs))
}

func baseWeights(populations map[string]int64, rs []Respondent, ix *districtIndex) error {
	H := len(ix.names)
	needed := make([][]bool, len(ix.chunks))
	ix.each(func(c int, ch *districtChunk) {
		needed[c] = make([]bool, H)
		for i := ch.lo; i < ch.hi; i++ {
			if rs[i].Weight == 0 {
				needed[c][ix.of[i]] = true
			}
		}
	})
	var missing []string
	base := make([]float64, H)
	for h, d := range ix.names {
		for c := range needed {
			if needed[c][h] && populations[d] <= 0 {
				missing = append(missing, d)
				break
			}
		}
		base[h] = float64(populations[d]) / float64(ix.count[h])
	}
	if len(missing) > 0 {
		return fmt.Errorf("survey: no resident population for district(s) %q, needed for base weights", missing)
	}
	ix.each(func(c int, ch *districtChunk) {
		for i := ch.lo; i < ch.hi; i++ {
			if rs[i].Weight == 0 {
				rs[i].Weight = base[ix.of[i]]
			}
		}
	})
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
	return estimates(d, rs, nil)
}

// estimates is Estimates with the respondents' districts already indexed
// (nil: not yet).
func estimates(d Design, rs []Respondent, ix *districtIndex) ([]Estimate, error) {
	p, err := prepare(d, rs, ix)
	if err != nil {
		return nil, err
	}
	// Every sum is taken one stratum at a time, the strata shared out
	// among the processors, and only then put together in district order:
	// the city's sums are its districts' sums. So each respondent is
	// visited twice, once for the ratios and once for the linearised
	// values of both its district and the city, and the result does not
	// depend on which goroutine did what.
	H := len(p.strata)
	every := make([]int, H)
	for h := range every {
		every[h] = h
	}
	sums := make([]*domainSums, H+1)
	shareOut(every, func(h int) { sums[h] = p.sums(p.strata[h]) })
	sums[H] = newDomainSums(len(d.Items))
	for _, ds := range sums[:H] {
		sums[H].add(ds)
	}
	ratios := make([]*domainRatios, H+1)
	for h, ds := range sums {
		ratios[h] = p.ratios(ds)
	}
	// vs[h] is stratum h's variance terms for its district and for the city.
	vs := make([][2][]float64, H)
	shareOut(every, func(h int) { vs[h] = p.varianceTerms(p.strata[h], ratios[h], ratios[H]) })
	city := make([]float64, len(d.Items)+1)
	citySingle := false
	out := make([]Estimate, 0, (H+1)*(len(d.Items)+1))
	for h, s := range p.strata {
		v, single := vs[h][0], vs[h][0] == nil
		if single {
			// A single PSU: neither the district nor the city has a
			// variance estimate.
			citySingle = true
			v = make([]float64, len(d.Items)+1)
		} else {
			for c, x := range vs[h][1] {
				city[c] += x
			}
		}
		out = append(out, p.rows(s.district, sums[h], ratios[h], v, single)...)
	}
	out = append(out, p.rows(AllDistricts, sums[H], ratios[H], city, citySingle)...)
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
	odd      []int32 // while prepared: rs index of each member, when some code has no slot yet
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

// prepare checks the design and the respondents and lays the respondents
// out by district in a canonical order (see stratum), ready for the sums.
//
// A canonical order makes every floating-point sum independent of how the
// caller happened to order the rows: by district, PSU, weight and answer
// codes. Respondents that compare equal are identical in everything the
// sums use, so their order is moot.
func prepare(d Design, rs []Respondent, ix *districtIndex) (*prepared, error) {
	if err := validateDesign(d); err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, errors.New("survey: no respondents to estimate from")
	}
	p := newPrepared(d)
	if ix == nil {
		ix = indexDistricts(rs)
	}
	k, err := collectKeys(d, rs, ix)
	if err != nil {
		return nil, err
	}
	p.layOutStrata(ix, k, rs)
	if err := p.slotOtherCodes(rs); err != nil {
		return nil, err
	}
	return p, nil
}

// newPrepared takes from the design what the sums need: the item weights
// (equal when not given), the codes' sets and the slots of codes 0–15.
func newPrepared(d Design) *prepared {
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
	for c := range smallCodes {
		p.slots = append(p.slots, p.codeInfo(c))
	}
	return p
}

// codeInfo is what the design makes of an answer code.
func (p *prepared) codeInfo(c int) codeInfo {
	y, ok := p.points[c]
	return codeInfo{points: y, valid: ok && c != 0, sat: p.satisfied[c], dontKnw: p.dontKnow[c]}
}

// sortKeys are every respondent's sort key, put in its district's
// list by collectKeys, with what the layout needs to know of them.
type sortKeys struct {
	byDistrict [][]sortKey // in the callers' order within each district
	// psus[c] are the PSUs met by chunk c, in the order met; a key's psu
	// is the place of its PSU there, 0 for none ("").
	psus [][]string
	// unpacked[c][h] tells that a respondent of district h in chunk c has
	// a code outside 0–15, which the keys cannot hold.
	unpacked [][]bool
}

// collectKeys checks each respondent and puts its sort key in its
// district's list, in one pass in the callers' order: interviews of a
// district are spread over the whole slice, and reading them district by
// district would jump through memory. The error is the first respondent's
// that fails, as if they were checked one by one.
func collectKeys(d Design, rs []Respondent, ix *districtIndex) (*sortKeys, error) {
	H := len(ix.names)
	k := &sortKeys{
		byDistrict: make([][]sortKey, H),
		psus:       make([][]string, len(ix.chunks)),
		unpacked:   make([][]bool, len(ix.chunks)),
	}
	for h := range k.byDistrict {
		k.byDistrict[h] = make([]sortKey, ix.count[h])
	}
	bad := make([]int, len(ix.chunks)) // each chunk's first respondent that fails
	ix.each(func(c int, ch *districtChunk) {
		next := slices.Clone(ch.start)
		ids := map[string]uint64{"": 0}
		k.psus[c] = []string{""}
		k.unpacked[c] = make([]bool, H)
		bad[c] = -1
		lastPSU, lastID := "", uint64(0)
		for i := ch.lo; i < ch.hi; i++ {
			r := &rs[i]
			if checkRespondent(d, i, r) != nil {
				bad[c] = i
				return
			}
			id := uint64(0) // no PSU: a PSU of its own
			if r.PSU != "" {
				if r.PSU != lastPSU {
					var ok bool
					if lastID, ok = ids[r.PSU]; !ok {
						lastID = uint64(len(k.psus[c]))
						ids[r.PSU] = lastID
						k.psus[c] = append(k.psus[c], r.PSU)
					}
					lastPSU = r.PSU
				}
				id = lastID
			}
			// The weight by its bits, which for positive numbers are in the
			// same order as the numbers.
			h := ix.of[i]
			codes, ok := packCodes(r.Codes)
			k.unpacked[c][h] = k.unpacked[c][h] || !ok
			k.byDistrict[h][next[h]] = sortKey{psu: id, weight: math.Float64bits(r.Weight), codes: codes, i: int32(i)}
			next[h]++
		}
	})
	for _, i := range bad {
		if i >= 0 {
			// The chunks are in the callers' order.
			return nil, checkRespondent(d, i, &rs[i])
		}
	}
	return k, nil
}

// psuRanks numbers the PSUs met by each chunk by their place among all the
// PSU names ("" first), so that no string is compared while sorting.
func psuRanks(psus [][]string) [][]uint64 {
	var names []string
	for _, n := range psus {
		names = append(names, n...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	rank := make([][]uint64, len(psus))
	for c, n := range psus {
		rank[c] = make([]uint64, len(n))
		for k, name := range n {
			r, _ := slices.BinarySearch(names, name)
			rank[c][k] = uint64(r)
		}
	}
	return rank
}

// layOutStrata sorts each district's keys and lays its respondents out in
// a stratum, the districts side by side; nothing depends on which
// goroutine does which district.
func (p *prepared) layOutStrata(ix *districtIndex, k *sortKeys, rs []Respondent) {
	J, H := len(p.items), len(ix.names)
	rank := psuRanks(k.psus)
	p.strata = make([]*stratum, H)
	order := make([]int, H)
	for h := range order {
		order[h] = h
	}
	shareOut(order, func(h int) {
		ks, packed := k.byDistrict[h], J <= 16
		for c := range ix.chunks {
			end := ix.count[h]
			if c+1 < len(ix.chunks) {
				end = ix.chunks[c+1].start[h]
			}
			for m := ix.chunks[c].start[h]; m < end; m++ {
				ks[m].psu = rank[c][ks[m].psu]
			}
			packed = packed && !k.unpacked[c][h]
		}
		p.strata[h] = layOut(ix.names[h], ks, packed, rs, J)
	})
}

// slotOtherCodes gives codes outside 0–15 their slots, in the order met,
// and then fills in the rows of the districts that have them.
func (p *prepared) slotOtherCodes(rs []Respondent) error {
	var odd []*stratum
	for _, s := range p.strata {
		if s.odd != nil {
			odd = append(odd, s)
		}
	}
	if len(odd) == 0 {
		return nil
	}
	J := len(p.items)
	other := map[int]uint16{}
	for i := range rs {
		for _, c := range rs[i].Codes {
			if c >= 0 && c < smallCodes {
				continue
			}
			if _, ok := other[c]; ok {
				continue
			}
			if len(p.slots) > math.MaxUint16 {
				return errors.New("survey: more than 65,000 different answer codes")
			}
			other[c] = uint16(len(p.slots))
			p.slots = append(p.slots, p.codeInfo(c))
		}
	}
	for _, s := range odd {
		for m, i := range s.odd {
			row := s.slots[m*J : (m+1)*J]
			for j, c := range rs[i].Codes {
				if c < 0 || c >= smallCodes {
					row[j] = other[c]
				}
			}
		}
		s.odd = nil
	}
	return nil
}

// checkRespondent tells what is wrong with respondent i, if anything.
func checkRespondent(d Design, i int, r *Respondent) error {
	switch {
	case r.District == "":
		return fmt.Errorf("survey: respondent %d has no district", i+1)
	case r.District == AllDistricts:
		return fmt.Errorf("survey: respondent %d has district code %q, which is reserved for the city-wide rows", i+1, AllDistricts)
	case !(r.Weight > 0) || math.IsInf(r.Weight, 0):
		return fmt.Errorf("survey: respondent %d (district %s) has weight %v; weights must be positive and finite", i+1, r.District, r.Weight)
	case len(r.Codes) != len(d.Items):
		return fmt.Errorf("survey: respondent %d (district %s) has %d answer codes for %d items", i+1, r.District, len(r.Codes), len(d.Items))
	}
	return nil
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

// sortKey is a respondent's place in the canonical order: PSU, weight
// and answer codes, packed four bits each when every code of the district
// fits (the same order as comparing them one by one), and its index.
type sortKey struct {
	psu, weight, codes uint64
	i                  int32
}

func (a *sortKey) less(b *sortKey) bool {
	if a.psu != b.psu {
		return a.psu < b.psu
	}
	if a.weight != b.weight {
		return a.weight < b.weight
	}
	return a.codes < b.codes
}

// sortPacked sorts keys whose codes are packed, in the order of less, by a
// quicksort with the comparison inlined (a wave's districts are sorted
// every time it is scored); after depth levels, a sign of unlucky pivots,
// it leaves the rest to slices.SortFunc.
func sortPacked(ks []sortKey, depth int) {
	for len(ks) > 16 {
		if depth == 0 {
			slices.SortFunc(ks, func(a, b sortKey) int {
				if a.less(&b) {
					return -1
				}
				if b.less(&a) {
					return 1
				}
				return 0
			})
			return
		}
		depth--
		// The median of the first, middle and last as the pivot.
		m, last := len(ks)/2, len(ks)-1
		if ks[m].less(&ks[0]) {
			ks[0], ks[m] = ks[m], ks[0]
		}
		if ks[last].less(&ks[m]) {
			ks[m], ks[last] = ks[last], ks[m]
			if ks[m].less(&ks[0]) {
				ks[0], ks[m] = ks[m], ks[0]
			}
		}
		pivot := ks[m]
		i, j := 0, last
		for i <= j {
			for ks[i].less(&pivot) {
				i++
			}
			for pivot.less(&ks[j]) {
				j--
			}
			if i <= j {
				ks[i], ks[j] = ks[j], ks[i]
				i++
				j--
			}
		}
		// Recurse into the smaller side, loop on the larger.
		if j+1 < len(ks)-i {
			sortPacked(ks[:j+1], depth)
			ks = ks[i:]
		} else {
			sortPacked(ks[i:], depth)
			ks = ks[:j+1]
		}
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j].less(&ks[j-1]); j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
}

// layOut puts one district's respondents in canonical order into a
// stratum; canPack tells whether all their codes are packed in the keys. A code
// outside 0–15 has no slot yet: the stratum then keeps its order in odd,
// and prepare fills those codes in.
func layOut(district string, ks []sortKey, canPack bool, rs []Respondent, J int) *stratum {
	if canPack {
		sortPacked(ks, 2*bits.Len(uint(len(ks))))
	} else {
		slices.SortFunc(ks, func(a, b sortKey) int {
			if a.psu != b.psu {
				return cmp.Compare(a.psu, b.psu)
			}
			if a.weight != b.weight {
				return cmp.Compare(a.weight, b.weight)
			}
			return slices.Compare(rs[a.i].Codes, rs[b.i].Codes)
		})
	}
	s := &stratum{district: district, unit: make([]int32, len(ks)), weight: make([]float64, len(ks)), slots: make([]uint16, len(ks)*J)}
	if !canPack {
		s.odd = make([]int32, len(ks))
	}
	lastRank := uint64(0)
	for m, k := range ks {
		// Sorting by PSU within the district keeps each cluster contiguous.
		if k.psu == 0 || k.psu != lastRank {
			s.units++
		}
		lastRank = k.psu
		s.unit[m], s.weight[m] = int32(s.units-1), math.Float64frombits(k.weight)
		row := s.slots[m*J : (m+1)*J]
		if canPack {
			// The codes are in the key, the last item in the lowest bits.
			for j := J - 1; j >= 0; j-- {
				row[j] = uint16(k.codes & 15)
				k.codes >>= 4
			}
			continue
		}
		s.odd[m] = k.i
		for j, c := range rs[k.i].Codes {
			if c >= 0 && c < smallCodes {
				row[j] = uint16(c)
			}
		}
	}
	return s
}

// packCodes puts the codes in one number, four bits each, the last in the
// lowest bits; ok is false when one does not fit.
func packCodes(codes []int) (packed uint64, ok bool) {
	var out uint64
	for _, c := range codes {
		out |= uint64(c) &^ 15 // nonzero when c is outside 0–15
		packed = packed<<4 | uint64(c&15)
	}
	return packed, out == 0
}

// domainSums are the sums over an estimation domain (a district, or the
// city) that its ratios are made of.
type domainSums struct {
	n, nAny           int       // respondents; those with a valid answer to some item
	sw, swy           []float64 // Σ w δ, Σ w δ y per item
	nValid, nSat, nDK []int
}

func newDomainSums(J int) *domainSums {
	return &domainSums{sw: make([]float64, J), swy: make([]float64, J), nValid: make([]int, J), nSat: make([]int, J), nDK: make([]int, J)}
}

func (ds *domainSums) add(o *domainSums) {
	ds.n += o.n
	ds.nAny += o.nAny
	for j := range ds.sw {
		ds.sw[j] += o.sw[j]
		ds.swy[j] += o.swy[j]
		ds.nValid[j] += o.nValid[j]
		ds.nSat[j] += o.nSat[j]
		ds.nDK[j] += o.nDK[j]
	}
}

// sums takes the sums of one stratum. Answers are random to the
// processor, so each one is counted without a branch: an answer that is
// not valid adds 0 to the counts and +0.0 to the sums, which leaves them
// as they were.
func (p *prepared) sums(s *stratum) *domainSums {
	J := len(p.items)
	ds := newDomainSums(J)
	sw, swy, nValid, nSat, nDK := ds.sw, ds.swy, ds.nValid, ds.nSat, ds.nDK
	type counts struct {
		valid, sat, dontKnow int
		one, points          float64 // 1 and the points when valid, else 0
	}
	cs := make([]counts, len(p.slots))
	for k, ci := range p.slots {
		cs[k].dontKnow = b2i(ci.dontKnw)
		if ci.valid {
			cs[k] = counts{valid: 1, sat: b2i(ci.sat), dontKnow: b2i(ci.dontKnw), one: 1, points: ci.points}
		}
	}
	for m, w := range s.weight {
		ds.n++
		anyValid := 0
		for j, sl := range s.slots[m*J : (m+1)*J] {
			c := &cs[sl]
			nDK[j] += c.dontKnow
			nValid[j] += c.valid
			nSat[j] += c.sat
			anyValid |= c.valid
			sw[j] += w * c.one
			swy[j] += w * c.points
		}
		ds.nAny += anyValid
	}
	return ds
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// domainRatios are a domain's item scores R̂_j and the item weights λ
// rescaled over the items that have a valid answer, with the composite.
type domainRatios struct {
	r, lam, sw []float64
	comp       float64
}

func (p *prepared) ratios(ds *domainSums) *domainRatios {
	J := len(p.items)
	dr := &domainRatios{r: make([]float64, J), lam: make([]float64, J), sw: ds.sw}
	lamSum := 0.0
	for j := range J {
		if ds.nValid[j] > 0 {
			dr.r[j] = ds.swy[j] / ds.sw[j]
			lamSum += p.lambda[j]
		}
	}
	for j := range J {
		if ds.nValid[j] > 0 {
			dr.lam[j] = p.lambda[j] / lamSum
			dr.comp += dr.lam[j] * dr.r[j]
		}
	}
	return dr
}

// varianceTerms is one stratum's term n_h/(n_h − 1) · Σ (z − z̄)² of the
// variance of each item and of the composite (column J), for the
// district's own ratios and for the city's, from one pass over its
// respondents; both nil when it has a single PSU and so no variance
// estimate (STATISTICS.md §5).
func (p *prepared) varianceTerms(s *stratum, district, city *domainRatios) [2][]float64 {
	if s.units < 2 {
		return [2][]float64{}
	}
	J := len(p.items)
	K := J + 1
	// z[u*K+c] is PSU u's linearised value of column c, for the district
	// and for the city: w·(y − R̂_j)/Σ w δ, taken from a table of
	// (y − R̂_j)/Σ w δ per code and item, which is 0 for an answer that is
	// not valid (it adds +0.0: no branch, and nothing changes).
	zd, zc := zBuffers.get(s.units*K), zBuffers.get(s.units*K)
	defer zBuffers.put(zd)
	defer zBuffers.put(zc)
	gd, gc := p.linearTable(district), p.linearTable(city)
	ld, lc := district.lam, city.lam
	for m, w := range s.weight {
		u := int(s.unit[m])
		zud, zuc := zd[u*K:(u+1)*K:(u+1)*K], zc[u*K:(u+1)*K:(u+1)*K]
		for j, sl := range s.slots[m*J : (m+1)*J] {
			td := w * gd[int(sl)*J+j]
			zud[j] += td
			zud[J] += ld[j] * td
			tc := w * gc[int(sl)*J+j]
			zuc[j] += tc
			zuc[J] += lc[j] * tc
		}
	}
	return [2][]float64{spread(zd, s.units, K), spread(zc, s.units, K)}
}

// zBuffers keep the linearised values' matrices of one stratum for the
// next: megabytes each, forty districts a wave.
var zBuffers floatPool

type floatPool struct{ sync.Pool }

// get returns n zeros.
func (p *floatPool) get(n int) []float64 {
	if b, ok := p.Get().(*[]float64); ok && cap(*b) >= n {
		z := (*b)[:n]
		clear(z)
		return z
	}
	return make([]float64, n)
}

func (p *floatPool) put(b []float64) { p.Put(&b) }

// linearTable is (y − R̂_j)/Σ w δ_j for each answer code's slot and item j
// of a domain, 0 where the code is not a valid answer.
func (p *prepared) linearTable(dr *domainRatios) []float64 {
	J := len(p.items)
	g := make([]float64, len(p.slots)*J)
	for k, ci := range p.slots {
		if !ci.valid {
			continue
		}
		for j := range J {
			if dr.sw[j] > 0 {
				g[k*J+j] = (ci.points - dr.r[j]) / dr.sw[j]
			}
		}
	}
	return g
}

// spread is n/(n − 1) · Σ_u (z_uc − z̄_c)² for each column c of the n×K
// matrix z, row by row so that memory is read in order.
func spread(z []float64, n, K int) []float64 {
	mean := make([]float64, K)
	for u := range n {
		for c, x := range z[u*K : (u+1)*K] {
			mean[c] += x
		}
	}
	nh := float64(n)
	for c := range mean {
		mean[c] /= nh
	}
	ss := make([]float64, K)
	for u := range n {
		for c, x := range z[u*K : (u+1)*K] {
			dz := x - mean[c]
			ss[c] += dz * dz
		}
	}
	for c := range ss {
		ss[c] *= nh / (nh - 1)
	}
	return ss
}

// rows are the item and composite rows of one estimation domain, from its
// sums, its ratios and its variances (v[J] the composite's). For a
// district the domain is its own stratum; for the city it is every
// stratum: the ratio denominators are the domain's own and the variance is
// summed over the domain's strata, which is exactly the distinction
// STATISTICS.md §5 draws between a district row and the ALL row.
func (p *prepared) rows(name string, ds *domainSums, dr *domainRatios, v []float64, single bool) []Estimate {
	J := len(p.items)
	out := make([]Estimate, 0, J+1)
	for j, it := range p.items {
		e := Estimate{District: name, Item: it, N: ds.n, NValid: ds.nValid[j], NSatisfied: ds.nSat[j], NDontKnow: ds.nDK[j]}
		e.DontKnowRate = float64(ds.nDK[j]) / float64(ds.n)
		if ds.nValid[j] > 0 {
			e.SatisfiedRate = float64(ds.nSat[j]) / float64(ds.nValid[j])
			e.setScore(dr.r[j], v[j], single)
		}
		out = append(out, e)
	}
	e := Estimate{District: name, Item: CompositeItem, N: ds.n, NValid: ds.nAny}
	if ds.nAny > 0 {
		e.setScore(dr.comp, v[J], single)
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
