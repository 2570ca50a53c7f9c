package survey

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
)

var qWeightCells = pg.Q("survey/weight-cells")

// weightCell is one group of a district's interviews that share everything
// the weighting rules look at: no weight given on import, and the same
// answers to sex, age group and urban/rural, as stored (text).
type weightCell struct {
	District string `db:"district_code"`
	Sex      string `db:"sex"`
	AgeGroup string `db:"age_group"`
	Urban    string `db:"urban"`
	Computed int    `db:"computed"` // interviews without a weight given on import
	All      int    `db:"all_n"`    // every interview of the cell
	Weight   float64
}

// exportWeights computes the final weight of each cell of a wave's
// interviews whose weight is not given on import, without holding the
// interviews: every interview of a cell starts from the same base weight
// N_h/m_h and raking multiplies it by one factor per category, so the
// interviews of a cell end with the same weight. Raking one unit per cell
// whose base weight is the cell's total gives the cell's total; dividing by
// its size gives each interview's weight. The cells go through Calibrate,
// the estimator's own weighting, so both agree.
func exportWeights(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]weightCell, error) {
	var cells []weightCell
	if err := sqlx.SelectContext(ctx, db, &cells, qWeightCells, waveID); err != nil {
		return nil, fmt.Errorf("survey: weight cells: %w", err)
	}
	if len(cells) == 0 {
		return nil, nil
	}
	var ds []struct {
		Code       string `db:"code"`
		Population int64  `db:"population"`
	}
	if err := sqlx.SelectContext(ctx, db, &ds, `SELECT code, population FROM districts`); err != nil {
		return nil, fmt.Errorf("survey: districts: %w", err)
	}
	pops := map[string]int64{}
	for _, d := range ds {
		pops[d.Code] = d.Population
	}
	m := map[string]int{}
	for _, c := range cells {
		m[c.District] += c.All
	}
	var missing []string
	var units []Respondent
	var of []int // cell index of each unit
	for i, c := range cells {
		if c.Computed == 0 {
			continue
		}
		if pops[c.District] <= 0 {
			missing = append(missing, c.District)
			continue
		}
		base := float64(pops[c.District]) / float64(m[c.District])
		units = append(units, Respondent{District: c.District, Weight: float64(c.Computed) * base,
			Sex: atoi(c.Sex), AgeGroup: atoi(c.AgeGroup), Urban: atoi(c.Urban)})
		of = append(of, i)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		missing = slices.Compact(missing)
		return nil, fmt.Errorf("survey: no resident population for district(s) %q, needed for base weights", missing)
	}
	margins, err := LoadMargins(ctx, db)
	if err != nil {
		return nil, err
	}
	if _, err := Calibrate(units, margins); err != nil {
		return nil, err
	}
	for k, u := range units {
		c := &cells[of[k]]
		c.Weight = u.Weight / float64(c.Computed)
	}
	return cells, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
