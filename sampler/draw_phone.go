package sampler

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qStratumSizes    = pg.Q("draws/stratum-sizes")
	qPhonesByOrdinal = pg.Q("draws/phones-by-ordinal")
	qRecentPhones    = pg.Q("draws/recent-phones")
)

// cityWideStratumID is the stratum of numbers without a district hint.
const cityWideStratumID = ""

// freshness is the rule that leaves out units interviewed in another wave
// drawn in the months months up to at.
type freshness struct {
	waveID int64
	at     time.Time
	months int
}

// recentPhones returns which of phones the freshness rule excludes.
func (f *freshness) recentPhones(ctx context.Context, db sqlx.QueryerContext, phones []string) (map[string]bool, error) {
	out := map[string]bool{}
	if f == nil || len(phones) == 0 {
		return out, nil
	}
	var got []string
	if err := sqlx.SelectContext(ctx, db, &got, qRecentPhones, pq.StringArray(phones), f.waveID, f.at, f.months); err != nil {
		return nil, fmt.Errorf("sampler: recently interviewed numbers: %w", err)
	}
	for _, p := range got {
		out[p] = true
	}
	return out, nil
}

// CityWideSize is the number of numbers to draw from the city-wide stratum
// (numbers without a district hint, e.g. random-digit dialing on the city's
// mobile prefixes) so that screening can fill every district's quota.
//
// A number drawn from the city-wide stratum belongs to district h with
// probability share_h = N_h/ΣN (h's share of the city's residents, since the
// prefix tells the city, not the district), and completes with probability
// r̂. So n numbers yield on average n·share_h·r̂ completes in h, and filling
// a quota of t_h needs n ≥ t_h/(share_h·r̂). The draw takes the largest of
// these over the districts:
//
//	n_city = max_h ⌈t_h / (share_h · r̂)⌉
//
// where t_h is the part of h's telephone target that its hinted numbers
// cannot supply: the whole target when the frame has no hinted numbers (pure
// random-digit dialing), else target_h − released_h·r̂ for a district whose
// hinted frame is smaller than its release, and 0 otherwise. Districts with
// a zero share have no residents and therefore no quota.
func CityWideSize(quota, shares []float64, rate float64) int {
	n := 0
	for h, t := range quota {
		if t <= 0 || shares[h] <= 0 || rate <= 0 {
			continue
		}
		if m := int(math.Ceil(t/(shares[h]*rate) - 1e-9)); m > n {
			n = m
		}
	}
	return n
}

// drawPhone draws every district's telephone release from its hinted
// stratum and, where those fall short, the city-wide stratum; with numbers,
// the drawn rows are read from the frame (see derive).
func (s *sample) drawPhone(ctx context.Context, tx *sqlx.Tx, alloc []Allocation, doorTargets []int, r expectedRates, d Design, seed int64, fresh *freshness, numbers bool) error {
	quota := make([]float64, len(alloc))
	shares := make([]float64, len(alloc))
	var pop float64
	codes := []string{cityWideStratumID}
	for _, a := range alloc {
		pop += float64(a.Population)
		codes = append(codes, a.Code)
	}
	sizes, err := stratumSizes(ctx, tx, codes)
	if err != nil {
		return err
	}
	for i, a := range alloc {
		target := a.Target - doorTargets[i]
		want := release(target, r.of(a.Code))
		N := sizes[a.Code]
		cs, excluded, err := drawStratum(ctx, tx, seed, a.Code, N, want, fresh, numbers)
		if err != nil {
			return err
		}
		if len(cs) < want {
			s.short = append(s.short, a.Code)
			quota[i] = float64(target) - float64(len(cs))*r.of(a.Code)
		}
		if pop > 0 {
			shares[i] = float64(a.Population) / pop
		}
		s.rows[i].Released += len(cs)
		s.rows[i].Excluded += excluded
		s.addPhone(a.Code, cs, N, d, seed)
	}
	n := CityWideSize(quota, shares, r.wave)
	if n == 0 {
		return nil
	}
	N := sizes[cityWideStratumID]
	cs, excluded, err := drawStratum(ctx, tx, seed, cityWideStratumID, N, n, fresh, numbers)
	if err != nil {
		return err
	}
	s.cityShort = len(cs) < n
	s.cityWide = len(cs)
	s.cityExcluded = excluded
	s.addPhone(cityWideStratumID, cs, N, d, seed)
	return nil
}

// addPhone splits a stratum's drawn numbers into replicates and keeps them.
func (s *sample) addPhone(stratum string, cs []plannedCase, N int64, d Design, seed int64) {
	if len(cs) == 0 {
		return
	}
	reps, n := AssignReplicates(NewRNG(seed, "replicates\x00"+stratum), len(cs), d.ReplicateSize)
	// Every number of the stratum had the same chance n/N of release. Under
	// the freshness rule an eligible number's chance is n/(N−E), with E the
	// excluded numbers of the whole stratum, which only a full read of the
	// stratum could count; n/N is stored, and telephone weights come from
	// the screened district (docs/statistics.md §4), not from this probability.
	p := float64(len(cs)) / float64(N)
	for i := range cs {
		cs[i].Replicate = reps[i]
		cs[i].Prob = p
	}
	s.phone[stratum] = cs
	s.strata = append(s.strata, stratum)
	s.replicates[stratum] = n
}

// stratumSizes returns the number of numbers in each of the strata.
func stratumSizes(ctx context.Context, db sqlx.QueryerContext, strata []string) (map[string]int64, error) {
	var rows []struct {
		Stratum string `db:"stratum"`
		N       int64  `db:"n"`
	}
	if err := sqlx.SelectContext(ctx, db, &rows, qStratumSizes, pq.StringArray(strata)); err != nil {
		return nil, fmt.Errorf("sampler: sizes of the frame strata: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Stratum] = r.N
	}
	return out, nil
}

// drawStratum draws a simple random sample of n numbers from the stratum's
// N ordinals (see drawOrdinals). It fetches only the drawn rows, and only
// when it needs their numbers: for the freshness rule or when asked for
// them. It returns the kept numbers in frame order, so that the stored
// order does not reveal which numbers were replacements, and how many were
// excluded.
func drawStratum(ctx context.Context, db sqlx.QueryerContext, seed int64, stratum string, N int64, n int, fresh *freshness, numbers bool) ([]plannedCase, int, error) {
	var kept []plannedCase
	check := func(batch []int64) ([]bool, error) {
		if fresh == nil && !numbers {
			ok := make([]bool, len(batch))
			for i, o := range batch {
				ok[i] = true
				kept = append(kept, plannedCase{Stratum: stratum, Mode: "phone", Ordinal: o})
			}
			return ok, nil
		}
		var rows []struct {
			ID      int64  `db:"id"`
			Ordinal int64  `db:"ordinal"`
			Phone   string `db:"phone"`
		}
		if err := sqlx.SelectContext(ctx, db, &rows, qPhonesByOrdinal, stratum, pq.Int64Array(batch)); err != nil {
			return nil, fmt.Errorf("sampler: fetch drawn numbers of %q: %w", stratum, err)
		}
		if len(rows) != len(batch) {
			return nil, core.Errorf(core.EConflict, "抽样框分层 %q 的序号不连续（取 %d 行只得到 %d 行），无法抽样",
				"the ordinals of frame stratum %q are not dense (asked for %d rows, found %d); cannot draw", stratum, len(batch), len(rows))
		}
		phones := make([]string, len(rows))
		for i, r := range rows {
			phones[i] = r.Phone
		}
		drop, err := fresh.recentPhones(ctx, db, phones)
		if err != nil {
			return nil, err
		}
		// rows and batch are both in ordinal order.
		ok := make([]bool, len(rows))
		for i, r := range rows {
			if ok[i] = !drop[r.Phone]; ok[i] {
				kept = append(kept, plannedCase{Stratum: stratum, Mode: "phone", Phone: r.Phone, FrameID: r.ID, Ordinal: r.Ordinal})
			}
		}
		return ok, nil
	}
	_, excluded, err := drawOrdinals(NewRNG(seed, stratum), N, n, check)
	if err != nil {
		return nil, 0, err
	}
	slices.SortFunc(kept, func(a, b plannedCase) int { return cmpInt64(a.Ordinal, b.Ordinal) })
	return kept, excluded, nil
}

// drawOrdinals draws a simple random sample of n of the ordinals 1..N by
// Floyd's algorithm, asking eligible which drawn ordinals may be kept (it
// gets each batch sorted and answers in the same order). Ineligible ones are
// dropped and replaced by further draws from the ordinals not yet drawn,
// until n are kept or all N have been drawn. This is the same as taking the
// ordinals in a random order and keeping the first n eligible ones, so the
// result is a simple random sample of the eligible ordinals, found without
// looking at the others. It returns the kept ordinals sorted and how many
// were dropped.
func drawOrdinals(rng *rand.Rand, N int64, n int, eligible func(batch []int64) ([]bool, error)) ([]int64, int, error) {
	if int64(n) > N {
		n = int(N)
	}
	if n <= 0 {
		return nil, 0, nil
	}
	batch, err := Floyd(rng, N, n)
	if err != nil {
		return nil, 0, err
	}
	taken := slices.Clone(batch)
	kept := make([]int64, 0, n)
	dropped := 0
	for {
		ok, err := eligible(batch)
		if err != nil {
			return nil, 0, err
		}
		for i, o := range batch {
			if ok[i] {
				kept = append(kept, o)
			} else {
				dropped++
			}
		}
		need := n - len(kept)
		free := N - int64(len(taken))
		if need == 0 || free == 0 {
			break
		}
		ranks, err := Floyd(rng, free, int(min(int64(need), free)))
		if err != nil {
			return nil, 0, err
		}
		batch = skipTaken(ranks, taken)
		taken = mergeSorted(taken, batch)
	}
	slices.Sort(kept)
	return kept, dropped, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// skipTaken maps ranks among the ordinals not in taken (1-based, sorted
// ascending) to the ordinals themselves; taken is sorted ascending. The r-th
// free ordinal o satisfies o − |{t ∈ taken : t ≤ o}| = r with o ∉ taken, and
// since both lists are sorted one merge pass finds them all.
func skipTaken(ranks, taken []int64) []int64 {
	out := make([]int64, len(ranks))
	j := 0
	for i, r := range ranks {
		o := r + int64(j)
		for j < len(taken) && taken[j] <= o {
			j++
			o = r + int64(j)
		}
		out[i] = o
	}
	return out
}

// mergeSorted merges two ascending lists.
func mergeSorted(a, b []int64) []int64 {
	out := make([]int64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i] <= b[j] {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
