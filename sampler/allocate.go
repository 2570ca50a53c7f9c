// Package sampler allocates and draws survey samples (docs/statistics.md §2–3).
// Every function is deterministic, so that a recorded draw can be repeated
// by anyone holding the same frame, parameters and seed.
package sampler

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
)

// Stratum is one stratum (normally a district) of the population.
type Stratum struct {
	Code       string
	Population int64
}

// Allocation is the number of completes assigned to one stratum.
type Allocation struct {
	Code       string
	Population int64
	// Quota is f·N_h computed exactly and only then converted to float64,
	// so it is the unrounded share the stratum is entitled to.
	Quota float64
	// Target is the whole number of completes the stratum must deliver.
	Target int
}

// Allocate distributes round(f·ΣN_h) completes over strata by the
// largest-remainder (Hamilton) method, with each stratum getting at least min.
//
// The rate is read as the decimal number it is written as (0.002 is exactly
// 1/500), not as its binary float64 value: otherwise shares such as
// 0.3·5 = 1.5 fall just below .5 and round the other way. The total is
// round-half-up of f·ΣN_h. Each stratum receives ⌊f·N_h⌋ and the remaining
// completes go one each to the largest remainders; ties go to the larger
// population, then to the smaller code, so the result does not depend on the
// order of the input.
//
// The minimum exists because a stratum with fewer than 2 interviews has no
// variance estimate. A stratum can never be asked for more completes than it
// has people, so its minimum is min(min, N_h). Strata whose Hamilton target is
// below their minimum are fixed at the minimum and the rest of the total is
// shared again by largest remainder over the other strata in proportion to
// their populations; this repeats until no further stratum falls short. When
// no stratum falls short the result is exactly the plain Hamilton allocation.
//
// The result is in the order of strata.
func Allocate(strata []Stratum, rate float64, min int) ([]Allocation, error) {
	res, err := allocate(strata, rate, min)
	if err != nil {
		return nil, err
	}
	return res.allocations, nil
}

// allocation holds the details of an allocation that tests need in order to
// check it but that callers have no use for.
type allocation struct {
	allocations []Allocation
	total       int64
	// raised[h] is true when stratum h was fixed at its minimum.
	raised []bool
	// floors[h] is min(min, N_h).
	floors []int64
}

func allocate(strata []Stratum, rate float64, min int) (*allocation, error) {
	if len(strata) == 0 {
		return nil, errors.New("分层列表为空 / no strata given")
	}
	if !(rate > 0 && rate <= 1) {
		return nil, fmt.Errorf("抽样比须在 (0,1] 之内 / sampling rate must be in (0,1]: %v", rate)
	}
	if min < 0 {
		return nil, fmt.Errorf("每层最低样本量不能为负 / minimum per stratum must not be negative: %d", min)
	}
	seen := make(map[string]bool, len(strata))
	popSum := new(big.Int)
	for _, s := range strata {
		if s.Code == "" {
			return nil, errors.New("分层代码为空 / stratum code is empty")
		}
		if seen[s.Code] {
			return nil, fmt.Errorf("分层代码重复 / duplicate stratum code: %q", s.Code)
		}
		seen[s.Code] = true
		if s.Population < 0 {
			return nil, fmt.Errorf("分层 %q 人口为负 / stratum %q has a negative population: %d", s.Code, s.Code, s.Population)
		}
		popSum.Add(popSum, big.NewInt(s.Population))
	}

	f, err := decimalRate(rate)
	if err != nil {
		return nil, err
	}

	// total = ⌊f·ΣN + 1/2⌋, i.e. round half up, in exact integers.
	num := new(big.Int).Mul(f.Num(), popSum)
	num.Lsh(num, 1).Add(num, f.Denom())
	totalBig := num.Quo(num, new(big.Int).Lsh(f.Denom(), 1))
	if !totalBig.IsInt64() || totalBig.Int64() > math.MaxInt {
		return nil, fmt.Errorf("总样本量过大 / total sample size too large: %s", totalBig)
	}
	total := totalBig.Int64()

	n := len(strata)
	floors := make([]int64, n)
	var floorSum int64
	for h, s := range strata {
		floors[h] = int64(min)
		if s.Population < floors[h] {
			floors[h] = s.Population
		}
		// Compared before adding so that the sum can never overflow.
		if floors[h] > total-floorSum {
			return nil, fmt.Errorf("每层最低 %d 个样本，%d 层合计超过总样本量 %d / a minimum of %d per stratum over %d strata exceeds the total sample size %d",
				min, n, total, min, n, total)
		}
		floorSum += floors[h]
	}

	quotas := make([]*big.Rat, n)
	for h, s := range strata {
		quotas[h] = new(big.Rat).Mul(f, new(big.Rat).SetInt64(s.Population))
	}

	raised := make([]bool, n)
	targets, err := hamilton(strata, quotas, total, raised)
	if err != nil {
		return nil, err
	}
	for {
		more := false
		for h := range strata {
			if !raised[h] && targets[h] < floors[h] {
				raised[h] = true
				more = true
			}
		}
		if !more {
			break
		}
		// Share what the raised strata leave over the others, in proportion
		// to population: quota'_h = R·N_h / ΣN_others.
		rest := total
		restPop := new(big.Int)
		for h, s := range strata {
			if raised[h] {
				rest -= floors[h]
			} else {
				restPop.Add(restPop, big.NewInt(s.Population))
			}
		}
		shares := make([]*big.Rat, n)
		for h, s := range strata {
			if raised[h] {
				continue
			}
			if restPop.Sign() == 0 {
				shares[h] = new(big.Rat)
				continue
			}
			shares[h] = new(big.Rat).SetFrac(
				new(big.Int).Mul(big.NewInt(rest), big.NewInt(s.Population)), restPop)
		}
		if restPop.Sign() == 0 && rest != 0 {
			return nil, fmt.Errorf("内部错误：剩余样本量无法分配 / internal error: %d completes left with no population to share them", rest)
		}
		if targets, err = hamilton(strata, shares, rest, raised); err != nil {
			return nil, err
		}
	}

	out := make([]Allocation, n)
	for h, s := range strata {
		t := targets[h]
		if raised[h] {
			t = floors[h]
		}
		q, _ := quotas[h].Float64()
		out[h] = Allocation{Code: s.Code, Population: s.Population, Quota: q, Target: int(t)}
	}
	return &allocation{allocations: out, total: total, raised: raised, floors: floors}, nil
}

// decimalRate converts rate to the rational number its shortest decimal form
// denotes. big.Rat.SetFloat64 would give the exact binary value instead, and
// 0.002 as a binary fraction is not 1/500.
func decimalRate(rate float64) (*big.Rat, error) {
	f, ok := new(big.Rat).SetString(strconv.FormatFloat(rate, 'g', -1, 64))
	if !ok {
		return nil, fmt.Errorf("无法解析抽样比 / cannot read sampling rate: %v", rate)
	}
	return f, nil
}

// hamilton gives each stratum not marked in skip the floor of its quota and
// hands the house − Σfloor remaining seats one each to the largest
// remainders. Entries of skipped strata are left at 0.
func hamilton(strata []Stratum, quotas []*big.Rat, house int64, skip []bool) ([]int64, error) {
	n := len(strata)
	targets := make([]int64, n)
	rems := make([]*big.Rat, n)
	idx := make([]int, 0, n)
	var floorSum int64
	for h := range strata {
		if skip[h] {
			continue
		}
		q := quotas[h]
		fl := new(big.Int).Quo(q.Num(), q.Denom()) // quotas are ≥ 0, so truncation is the floor
		targets[h] = fl.Int64()
		floorSum += targets[h]
		rems[h] = new(big.Rat).Sub(q, new(big.Rat).SetInt(fl))
		idx = append(idx, h)
	}
	extra := house - floorSum
	// Each remainder is < 1, so at most one extra seat per stratum can be due;
	// anything else means the quotas and the house do not belong together.
	if extra < 0 || extra > int64(len(idx)) {
		return nil, fmt.Errorf("内部错误：余数分配不一致 / internal error: %d seats left for %d strata", extra, len(idx))
	}
	sort.SliceStable(idx, func(a, b int) bool {
		i, j := idx[a], idx[b]
		if c := rems[i].Cmp(rems[j]); c != 0 {
			return c > 0
		}
		if strata[i].Population != strata[j].Population {
			return strata[i].Population > strata[j].Population
		}
		return strata[i].Code < strata[j].Code
	})
	for _, h := range idx[:extra] {
		targets[h]++
	}
	return targets, nil
}
