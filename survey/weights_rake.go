package survey

import (
	"fmt"
	"math"
	"sort"

	"minyi/core"
)

// Calibrating weights to census figures (docs/statistics.md §4): by raking
// (iterative proportional fitting) when only margins are known, or by
// post-stratification, its one-variable case, when the joint cells are.

// RakeVariable is one margin to rake to: the population of each category.
type RakeVariable struct {
	Name    string
	Targets map[int]float64
}

// RakeOptions control convergence.
type RakeOptions struct {
	Tolerance float64 // stop when the largest relative change of a weight in a sweep is below this; default 1e-10
	MaxSweeps int     // give up after this many sweeps over all margins; default 1000
}

// RakeResult is the calibrated weights and how they were reached.
type RakeResult struct {
	Weights   []float64
	Sweeps    int
	MaxChange float64 // largest relative change in the last sweep
}

// Rake calibrates base weights to the margins by iterative proportional
// fitting: for each margin and category, w ← w · T / Σ w over the units in
// the category, sweeping until the largest relative change is below the
// tolerance. cats[i][m] is unit i's category on vars[m]. It fails clearly,
// instead of returning weights that miss their targets, when a category
// with people in the census has no respondent, when a category with
// respondents has no one in the census, when the margins do not describe
// the same total, or when it does not converge.
func Rake(base []float64, cats [][]int, vars []RakeVariable, opt RakeOptions) (RakeResult, error) {
	n := len(base)
	if len(cats) != n {
		return RakeResult{}, fmt.Errorf("survey: rake: %d units but %d category rows", n, len(cats))
	}
	flat := make([]int, 0, n*len(vars))
	for i := range cats {
		if len(cats[i]) != len(vars) && len(vars) > 0 {
			return RakeResult{}, fmt.Errorf("survey: rake: unit %d has %d categories, want %d", i, len(cats[i]), len(vars))
		}
		flat = append(flat, cats[i]...)
	}
	return rake(base, flat, vars, opt)
}

// rake is Rake with unit i's category on vars[m] at cats[i·len(vars)+m].
func rake(base []float64, cats []int, vars []RakeVariable, opt RakeOptions) (RakeResult, error) {
	if opt.Tolerance <= 0 {
		opt.Tolerance = 1e-10
	}
	if opt.MaxSweeps <= 0 {
		opt.MaxSweeps = 1000
	}
	n, V := len(base), len(vars)
	if n == 0 {
		return RakeResult{}, core.Errorf(core.EInvalid, "没有可加权的样本", "there are no interviews to weight")
	}
	var total float64
	for m, v := range vars {
		var sum float64
		present := map[int]bool{}
		last := 0
		for i := range n {
			// Few categories: look up only when it changes.
			if c := cats[i*V+m]; i == 0 || c != last {
				present[c] = true
				last = c
			}
		}
		for _, c := range sortedKeys(v.Targets) {
			t := v.Targets[c]
			if t < 0 || math.IsNaN(t) || math.IsInf(t, 0) {
				return RakeResult{}, core.Errorf(core.EInvalid, "%s 类别 %d 的目标人口 %v 无效", "%s category %d: invalid target %v", v.Name, c, t)
			}
			if t > 0 && !present[c] {
				return RakeResult{}, core.Errorf(core.EInvalid, "%s 类别 %d 在普查中有 %.0f 人，但没有一个受访者：无法加权到该目标（请合并类别或改用更粗的边际）",
					"%s category %d has %.0f people in the census but no respondent: the target cannot be met (merge categories or use coarser margins)", v.Name, c, t)
			}
			sum += t
		}
		for c := range present {
			if v.Targets[c] == 0 {
				return RakeResult{}, core.Errorf(core.EInvalid, "%s 类别 %d 有受访者，但普查目标为 0 或缺失", "%s category %d has respondents but no census target", v.Name, c)
			}
		}
		if m == 0 {
			total = sum
		} else if math.Abs(sum-total) > 1e-9*total {
			return RakeResult{}, core.Errorf(core.EInvalid, "边际 %s 合计 %.0f，与 %s 的合计 %.0f 不一致", "margin %s totals %.0f but %s totals %.0f: the margins must describe the same population",
				v.Name, sum, vars[0].Name, total)
		}
	}
	w := make([]float64, n)
	for i, b := range base {
		if !(b > 0) || math.IsInf(b, 0) {
			return RakeResult{}, fmt.Errorf("survey: rake: base weight %d is %v", i, b)
		}
		w[i] = b
	}
	res := RakeResult{Weights: w}
	// Categories as dense indices, so that a sweep over a district of tens
	// of thousands of interviews is array arithmetic, not map look-ups.
	// The sums and factors are the same numbers in the same order.
	idx := make([][]int32, len(vars))
	targets := make([][]float64, len(vars))
	for m, v := range vars {
		dense := map[int]int32{}
		idx[m] = make([]int32, n)
		lastC, lastK := 0, int32(-1)
		for i := range n {
			c := cats[i*V+m]
			if lastK < 0 || c != lastC {
				k, ok := dense[c]
				if !ok {
					k = int32(len(dense))
					dense[c] = k
					targets[m] = append(targets[m], v.Targets[c])
				}
				lastC, lastK = c, k
			}
			idx[m][i] = lastK
		}
	}
	var sums, factors []float64
	for res.Sweeps = 1; res.Sweeps <= opt.MaxSweeps; res.Sweeps++ {
		res.MaxChange = 0
		for m := range vars {
			sums = append(sums[:0], make([]float64, len(targets[m]))...)
			for i, k := range idx[m] {
				sums[k] += w[i]
			}
			factors = factors[:0]
			for k, t := range targets[m] {
				f := t / sums[k]
				if ch := math.Abs(f - 1); ch > res.MaxChange {
					res.MaxChange = ch
				}
				factors = append(factors, f)
			}
			for i, k := range idx[m] {
				w[i] *= factors[k]
			}
		}
		if res.MaxChange < opt.Tolerance {
			return res, nil
		}
	}
	res.Sweeps = opt.MaxSweeps
	return res, core.Errorf(core.EInvalid, "迭代加权在 %d 轮后仍未收敛（最大相对变化 %.3g）", "raking did not converge in %d sweeps (largest relative change %.3g)", opt.MaxSweeps, res.MaxChange)
}

// PostStratify scales base weights so that each cell's weights add up to its
// census population: w = d · N_c / Σ_{k∈c} d_k.
func PostStratify(base []float64, cells []int, targets map[int]float64) ([]float64, error) {
	cats := make([][]int, len(cells))
	for i, c := range cells {
		cats[i] = []int{c}
	}
	res, err := Rake(base, cats, []RakeVariable{{Name: "cell", Targets: targets}}, RakeOptions{MaxSweeps: 2})
	return res.Weights, err
}

func sortedKeys(m map[int]float64) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}
