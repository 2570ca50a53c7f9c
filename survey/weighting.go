package survey

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"

	"minyi/sql"
)

var qMargins = sql.Q("survey/margins")

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

// weightingVars are the respondent's categories for each margin variable.
var weightingVars = []struct {
	name string
	of   func(r *Respondent) int
}{
	{"sex", func(r *Respondent) int { return r.Sex }},
	{"age_group", func(r *Respondent) int { return r.AgeGroup }},
	{"urban", func(r *Respondent) int { return r.Urban }},
}

// Calibrate rakes each district's computed weights (not those given on
// import) to the district's census margins, on every margin variable for
// which every such respondent has a category (STATISTICS.md §4). A district
// without margins keeps its base weights. It fails, naming the district,
// when the targets cannot be met.
func Calibrate(rs []Respondent, margins Margins) ([]DistrictWeighting, error) {
	idx := map[string][]int{}
	for i := range rs {
		idx[rs[i].District] = append(idx[rs[i].District], i)
	}
	districts := make([]string, 0, len(idx))
	for d := range idx {
		districts = append(districts, d)
	}
	sort.Strings(districts)
	var out []DistrictWeighting
	for _, d := range districts {
		all := idx[d]
		var units []int
		for _, i := range all {
			if !rs[i].FixedWeight {
				units = append(units, i)
			}
		}
		dw := DistrictWeighting{District: d, N: len(all), FixedOnly: len(units) == 0}
		var vars []RakeVariable
		var getters []func(r *Respondent) int
		for _, v := range weightingVars {
			targets := margins[d][v.name]
			if len(targets) == 0 || len(units) == 0 {
				continue
			}
			complete := true
			for _, i := range units {
				if v.of(&rs[i]) == 0 {
					complete = false
					break
				}
			}
			if complete {
				vars = append(vars, RakeVariable{Name: v.name, Targets: targets})
				getters = append(getters, v.of)
				dw.Raked = append(dw.Raked, v.name)
			}
		}
		if len(vars) > 0 {
			base := make([]float64, len(units))
			cats := make([][]int, len(units))
			flat := make([]int, len(units)*len(vars))
			for k, i := range units {
				base[k] = rs[i].Weight
				cats[k] = flat[k*len(vars) : (k+1)*len(vars) : (k+1)*len(vars)]
				for m, get := range getters {
					cats[k][m] = get(&rs[i])
				}
			}
			res, err := Rake(base, cats, vars, RakeOptions{})
			if de, ok := err.(*Error); ok {
				return nil, &Error{Code: de.Code, ZH: "区县 " + d + " 无法加权到普查边际(" + strings.Join(dw.Raked, "、") + "):" + de.ZH,
					EN: "district " + d + " cannot be weighted to its census margins (" + strings.Join(dw.Raked, ", ") + "): " + de.EN}
			}
			if err != nil {
				return nil, fmt.Errorf("survey: weighting district %s: %w", d, err)
			}
			for k, i := range units {
				rs[i].Weight = res.Weights[k]
			}
			dw.Sweeps = res.Sweeps
		}
		w := make([]float64, len(all))
		for k, i := range all {
			w[k] = rs[i].Weight
		}
		dw.Effect = WeightingEffect(w)
		out = append(out, dw)
	}
	return out, nil
}
