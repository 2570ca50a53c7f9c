package survey

import "sync"

// The variances of the ratio estimators, by linearisation over the PSUs of
// each stratum (docs/statistics.md §5).

// varianceTerms is one stratum's term n_h/(n_h − 1) · Σ (z − z̄)² of the
// variance of each item and of the composite (column J), for the
// district's own ratios and for the city's, from one pass over its
// respondents; both nil when it has a single PSU and so no variance
// estimate (docs/statistics.md §5).
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
