package sampler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
)

var (
	qDoorStreets     = pg.Q("draws/door-streets")
	qDoorCommunities = pg.Q("draws/door-communities")
	qDoorHouseholds  = pg.Q("draws/door-households")
)

// uniform01 returns u uniform on [0, 1) from the top 53 bits of one
// rng.Uint64, so that it is the same on every platform.
func uniform01(rng *rand.Rand) float64 {
	return float64(rng.Uint64()>>11) / (1 << 53)
}

// PPSPick is one unit selected by SystematicPPS.
type PPSPick struct {
	Index     int     // position in the list given
	Prob      float64 // inclusion probability π
	Certainty bool    // taken with certainty (π = 1)
}

// PPSInclusion returns the inclusion probabilities of a sample of n units
// drawn with probability proportional to size: π_k = n·x_k/Σx. Units whose
// π_k reaches 1 are taken with certainty; the remaining n' = n − (number of
// certainty units) are shared over the other units in proportion to size,
// π_k = n'·x_k/Σ_rest x, and this repeats until no unit outside the
// certainty set reaches 1. Σπ_k = n exactly in exact arithmetic.
func PPSInclusion(sizes []float64, n int) (probs []float64, certain []bool, err error) {
	if n < 0 || n > len(sizes) {
		return nil, nil, fmt.Errorf("样本量须在 0 到 %d 之间 / sample size must be between 0 and %d: %d", len(sizes), len(sizes), n)
	}
	for i, x := range sizes {
		if !(x > 0) || math.IsInf(x, 0) {
			return nil, nil, fmt.Errorf("第 %d 个单位的规模 %v 不是正数 / the size of unit %d is not positive: %v", i+1, x, i+1, x)
		}
	}
	certain = make([]bool, len(sizes))
	rest, X := restOf(sizes, certain, n)
	for {
		more := false
		for k, x := range sizes {
			if !certain[k] && rest > 0 && float64(rest)*x/X >= 1 {
				certain[k] = true
				more = true
			}
		}
		if !more {
			break
		}
		rest, X = restOf(sizes, certain, n)
	}
	probs = make([]float64, len(sizes))
	for k, x := range sizes {
		switch {
		case certain[k]:
			probs[k] = 1
		case rest > 0:
			probs[k] = float64(rest) * x / X
		}
	}
	return probs, certain, nil
}

// restOf returns the sample size left after the certainty units and the
// total size of the other units.
func restOf(sizes []float64, certain []bool, n int) (int, float64) {
	rest, X := n, 0.0
	for k, x := range sizes {
		if certain[k] {
			rest--
		} else {
			X += x
		}
	}
	return rest, X
}

// SystematicPPS selects n units of a list by systematic sampling with
// probability proportional to size (docs/statistics.md §3). The list order is the
// implicit stratification, so callers sort it first. Certainty units are
// taken first (see PPSInclusion); over the others, in list order, the
// cumulative sum of π crosses the points u, u+1, …, u+n'−1 once per point,
// and the units in whose interval a point falls are taken. u must be in
// [0, 1). The result is in list order.
func SystematicPPS(sizes []float64, n int, u float64) ([]PPSPick, error) {
	if !(u >= 0 && u < 1) {
		return nil, fmt.Errorf("随机起点须在 [0,1) 之内 / the random start must be in [0,1): %v", u)
	}
	probs, certain, err := PPSInclusion(sizes, n)
	if err != nil {
		return nil, err
	}
	rest, X := restOf(sizes, certain, n)
	picks := make([]PPSPick, 0, n)
	// The cumulative Σπ is computed as n'·(Σx)/X from the running sum of
	// sizes, so that it ends at exactly n' and rounding cannot add or lose
	// a point at the end of the list.
	var S float64
	prev := 0
	for k, x := range sizes {
		if certain[k] {
			picks = append(picks, PPSPick{Index: k, Prob: 1, Certainty: true})
			continue
		}
		if rest == 0 {
			continue
		}
		S += x
		C := float64(rest) * S / X
		hits := 0
		if C >= u {
			hits = int(math.Floor(C-u)) + 1
		}
		if hits > rest {
			hits = rest
		}
		if hits > prev {
			picks = append(picks, PPSPick{Index: k, Prob: probs[k]})
		}
		prev = hits
	}
	if len(picks) != n {
		return nil, errors.New("内部错误：系统抽样数目不符 / internal error: systematic PPS selected the wrong number of units")
	}
	return picks, nil
}

// SystematicPositions selects k of M listed units by systematic sampling
// with interval M/k and random start u ∈ [0, 1): positions
// ⌊(u+j)·M/k⌋ for j = 0…k−1 (0-based), each unit with probability k/M. When
// M ≤ k every unit is taken.
func SystematicPositions(M, k int, u float64) []int {
	if M <= k {
		out := make([]int, M)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, k)
	for j := range out {
		out[j] = int(math.Floor((u + float64(j)) * float64(M) / float64(k)))
	}
	return out
}

type sizedUnit struct {
	Name string  `db:"name"`
	Size float64 `db:"size"`
}

// drawDoor draws each district's door-to-door release: n₁ streets by
// systematic PPS, n₂ communities by systematic PPS in each, and k households
// systematically from each community's list. The release of h households
// needs m = ⌈h/k⌉ communities and n₁ = ⌈m/n₂⌉ streets. Households excluded
// by the freshness rule are taken out of the community's list before its
// systematic sample, so the sample stays a systematic sample of the eligible
// households, with probability k/M' for M' eligible ones.
func (s *sample) drawDoor(ctx context.Context, tx *sqlx.Tx, alloc []Allocation, doorTargets []int, r expectedRates, d Design, seed int64, fresh *freshness) error {
	k, n2 := d.HouseholdsPerCommunity, d.CommunitiesPerStreet
	if k <= 0 || n2 <= 0 {
		return fmt.Errorf("sampler: households per community (%d) and communities per street (%d) must be positive", k, n2)
	}
	var waveID int64
	months := 0
	at := time.Unix(0, 0)
	if fresh != nil {
		waveID, months, at = fresh.waveID, fresh.months, fresh.at
	}
	for i, a := range alloc {
		if doorTargets[i] == 0 {
			continue
		}
		want := release(doorTargets[i], r.of(a.Code))
		m := (want + k - 1) / k
		n1 := (m + n2 - 1) / n2
		var streets []sizedUnit
		if err := sqlx.SelectContext(ctx, tx, &streets, qDoorStreets, a.Code); err != nil {
			return fmt.Errorf("sampler: streets of %s: %w", a.Code, err)
		}
		n1 = min(n1, len(streets))
		picks, err := SystematicPPS(unitSizes(streets), n1, uniform01(NewRNG(seed, "door\x00"+a.Code)))
		if err != nil {
			return err
		}
		released, excluded := 0, 0
		for _, p := range picks {
			st := streets[p.Index]
			s.units = append(s.units, DrawnUnit{Stage: "street", District: a.Code, Street: st.Name, Size: st.Size,
				Prob: p.Prob, OverallProb: p.Prob, Certainty: p.Certainty})
			var comms []sizedUnit
			if err := sqlx.SelectContext(ctx, tx, &comms, qDoorCommunities, a.Code, st.Name); err != nil {
				return fmt.Errorf("sampler: communities of %s/%s: %w", a.Code, st.Name, err)
			}
			cpicks, err := SystematicPPS(unitSizes(comms), min(n2, len(comms)), uniform01(NewRNG(seed, "door\x00"+a.Code+"\x00"+st.Name)))
			if err != nil {
				return err
			}
			for _, cp := range cpicks {
				c := comms[cp.Index]
				p2 := p.Prob * cp.Prob
				s.units = append(s.units, DrawnUnit{Stage: "community", District: a.Code, Street: st.Name, Community: c.Name,
					Size: c.Size, Prob: cp.Prob, OverallProb: p2, Certainty: cp.Certainty})
				var hh []struct {
					ID       int64 `db:"id"`
					Ordinal  int64 `db:"ordinal"`
					Excluded bool  `db:"excluded"`
				}
				if err := sqlx.SelectContext(ctx, tx, &hh, qDoorHouseholds, a.Code, st.Name, c.Name, waveID, months, at); err != nil {
					return fmt.Errorf("sampler: households of %s/%s/%s: %w", a.Code, st.Name, c.Name, err)
				}
				eligible := make([]int64, 0, len(hh))
				for _, h := range hh {
					if h.Excluded {
						excluded++
					} else {
						eligible = append(eligible, h.ID)
					}
				}
				pos := SystematicPositions(len(eligible), k, uniform01(NewRNG(seed, "door\x00"+a.Code+"\x00"+st.Name+"\x00"+c.Name)))
				p3 := 1.0
				if len(eligible) > k {
					p3 = float64(k) / float64(len(eligible))
				}
				for _, j := range pos {
					id := eligible[j]
					s.units = append(s.units, DrawnUnit{Stage: "household", District: a.Code, Street: st.Name, Community: c.Name,
						HouseholdID: id, Size: 1, Prob: p3, OverallProb: p2 * p3, Certainty: p3 == 1})
					s.door = append(s.door, plannedCase{Stratum: a.Code, Mode: "door", HouseholdID: id, FrameID: id,
						PSU: a.Code + "/" + st.Name, Prob: p2 * p3})
				}
				released += len(pos)
			}
		}
		s.rows[i].DoorReleased = released
		s.rows[i].Released += released
		s.rows[i].Excluded += excluded
		if released < want {
			s.doorShort = append(s.doorShort, a.Code)
		}
	}
	return nil
}

func unitSizes(us []sizedUnit) []float64 {
	out := make([]float64, len(us))
	for i, u := range us {
		out[i] = u.Size
	}
	return out
}
