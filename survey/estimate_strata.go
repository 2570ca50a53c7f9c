package survey

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

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

// prepared is what the estimator works from: the design's items, item
// weights and answer codes, and the respondents laid out in strata.
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
