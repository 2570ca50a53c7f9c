// Package survey turns completed interviews into the published poll scores:
// weights, indicator and district scores with their standard errors, rank
// ranges, and the CSV files that carry them. The formulas are those of
// docs/statistics.md §4–§5; everything here is pure computation so that every
// printed number can be reproduced from the stored data.
package survey

import (
	"math"
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

// Estimates computes, for every district and for the whole city, each item
// score and the composite district score with their linearised standard
// errors (docs/statistics.md §5). Rows come out ordered by district code, items
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

// rows are the item and composite rows of one estimation domain, from its
// sums, its ratios and its variances (v[J] the composite's). For a
// district the domain is its own stratum; for the city it is every
// stratum: the ratio denominators are the domain's own and the variance is
// summed over the domain's strata, which is exactly the distinction
// docs/statistics.md §5 draws between a district row and the ALL row.
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
