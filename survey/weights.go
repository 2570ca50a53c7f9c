package survey

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

// Weighting a wave's interviews (docs/statistics.md §4): each gets the base
// weight of the draw, and each district's computed weights are then
// calibrated to its census margins by raking (weights_rake.go). The
// microdata export makes the same weights without holding the interviews
// (weights_export.go).

// BaseWeights gives every respondent whose Weight is 0 the base weight of a
// screened sample, N_h/m_h, where N_h is the resident population of the
// district and m_h counts all respondents of that district in rs (weighted
// or not), as in docs/statistics.md §4. Respondents with a weight keep it. It
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

var qMargins = pg.Q("survey/margins")

// Margins are census targets: district → variable → category → population.
type Margins map[string]map[string]map[int]float64

// LoadMargins reads every stored margin.
func LoadMargins(ctx context.Context, db sqlx.QueryerContext) (Margins, error) {
	rows, err := db.QueryxContext(ctx, qMargins)
	if err != nil {
		return nil, fmt.Errorf("survey: margins: %w", err)
	}
	defer rows.Close()
	m := Margins{}
	for rows.Next() {
		var d, v string
		var c int
		var pop float64
		if err := rows.Scan(&d, &v, &c, &pop); err != nil {
			return nil, err
		}
		if m[d] == nil {
			m[d] = map[string]map[int]float64{}
		}
		if m[d][v] == nil {
			m[d][v] = map[int]float64{}
		}
		m[d][v][c] = pop
	}
	return m, rows.Err()
}

// DistrictWeighting says how one district's weights were made.
type DistrictWeighting struct {
	District  string
	N         int
	Raked     []string // the margins raked to; none: base weights N_h/m_h (or weights given on import)
	Sweeps    int
	Effect    float64 // Kish's weighting effect n·Σw²/(Σw)²
	FixedOnly bool    // every weight was given on import
}

// weightingVars are the margin variables, in the order of a member's
// categories.
var weightingVars = []string{"sex", "age_group", "urban"}

// weightingMember is what raking needs of a respondent.
type weightingMember struct {
	weight float64
	cat    [3]int // sex, age group, urban/rural (0 when unknown)
	fixed  bool   // the weight was given on import
}

// Calibrate rakes each district's computed weights (not those given on
// import) to the district's census margins, on every margin variable for
// which every such respondent has a category (docs/statistics.md §4). A district
// without margins keeps its base weights. It fails, naming the district,
// when the targets cannot be met.
func Calibrate(rs []Respondent, margins Margins) ([]DistrictWeighting, error) {
	return calibrate(rs, margins, indexDistricts(rs))
}

func calibrate(rs []Respondent, margins Margins, ix *districtIndex) ([]DistrictWeighting, error) {
	H := len(ix.names)
	if H == 0 {
		return nil, nil
	}
	// Each district's members are gathered in the callers' order, and the
	// weights put back the same way (see districtIndex).
	members := make([][]weightingMember, H)
	for h := range members {
		members[h] = make([]weightingMember, ix.count[h])
	}
	ix.scatter(func(i int, h int32, k int) {
		r := &rs[i]
		members[h][k] = weightingMember{weight: r.Weight, cat: [3]int{r.Sex, r.AgeGroup, r.Urban}, fixed: r.FixedWeight}
	})
	// The districts are raked side by side: each changes only its own
	// members. The error reported is the first district's in code order,
	// as if they had been raked one after another.
	out := make([]DistrictWeighting, H)
	errs := make([]error, H)
	jobs := make([]int, H)
	for h := range jobs {
		jobs[h] = h
	}
	shareOut(jobs, func(h int) { out[h], errs[h] = calibrateDistrict(ix.names[h], members[h], margins) })
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	ix.scatter(func(i int, h int32, k int) { rs[i].Weight = members[h][k].weight })
	return out, nil
}

// calibrateDistrict rakes the computed weights of one district's members
// in place.
func calibrateDistrict(d string, all []weightingMember, margins Margins) (DistrictWeighting, error) {
	var units []int
	for k := range all {
		if !all[k].fixed {
			units = append(units, k)
		}
	}
	dw := DistrictWeighting{District: d, N: len(all), FixedOnly: len(units) == 0}
	var vars []RakeVariable
	var used []int // the members' categories raked on
	for m, name := range weightingVars {
		targets := margins[d][name]
		if len(targets) == 0 || len(units) == 0 {
			continue
		}
		complete := true
		for _, k := range units {
			if all[k].cat[m] == 0 {
				complete = false
				break
			}
		}
		if complete {
			vars = append(vars, RakeVariable{Name: name, Targets: targets})
			used = append(used, m)
			dw.Raked = append(dw.Raked, name)
		}
	}
	if len(vars) > 0 {
		base := make([]float64, len(units))
		cats := make([]int, 0, len(units)*len(vars))
		for n, k := range units {
			base[n] = all[k].weight
			for _, m := range used {
				cats = append(cats, all[k].cat[m])
			}
		}
		res, err := rake(base, cats, vars, RakeOptions{})
		if de, ok := err.(*core.Error); ok {
			return dw, &core.Error{Code: de.Code, ZH: "区县 " + d + " 无法加权到普查边际（" + strings.Join(dw.Raked, "、") + "）:" + de.ZH,
				EN: "district " + d + " cannot be weighted to its census margins (" + strings.Join(dw.Raked, ", ") + "): " + de.EN}
		}
		if err != nil {
			return dw, fmt.Errorf("survey: weighting district %s: %w", d, err)
		}
		for n, k := range units {
			all[k].weight = res.Weights[n]
		}
		dw.Sweeps = res.Sweeps
	}
	w := make([]float64, len(all))
	for k := range all {
		w[k] = all[k].weight
	}
	dw.Effect = WeightingEffect(w)
	return dw, nil
}

// WeightingEffect is Kish's design effect of unequal weights,
// n · Σw² / (Σw)²: how much the weights alone inflate the variance.
func WeightingEffect(w []float64) float64 {
	var s, s2 float64
	for _, x := range w {
		s += x
		s2 += x * x
	}
	if s == 0 {
		return math.NaN()
	}
	return float64(len(w)) * s2 / (s * s)
}
