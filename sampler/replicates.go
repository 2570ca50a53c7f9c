package sampler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qListReplicates     = pg.Q("draws/list-replicates")
	qOpenNextReplicates = pg.Q("draws/open-next-replicates")
	qOpenReplicate      = pg.Q("draws/open-replicate")
)

// AssignReplicates splits n released cases of a stratum at random into
// replicates of size cases each (the last may be smaller); size 0 puts them
// all in one replicate. It returns the replicate number (from 1) of each
// case, in the order the cases were given, and the number of replicates.
//
// The split is a Fisher–Yates shuffle driven by rng.Uint64 only, so that it
// is the same on every platform; each replicate is then a simple random
// sample of the stratum's release, and opening replicates one at a time
// keeps the worked sample random whenever fieldwork stops.
func AssignReplicates(rng *rand.Rand, n, size int) ([]int, int) {
	out := make([]int, n)
	if n == 0 {
		return out, 0
	}
	if size <= 0 || size >= n {
		for i := range out {
			out[i] = 1
		}
		return out, 1
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(uniformN(rng, uint64(i+1)))
		perm[i], perm[j] = perm[j], perm[i]
	}
	for rank, i := range perm {
		out[i] = rank/size + 1
	}
	return out, (n + size - 1) / size
}

// Replicate is one replicate of a stratum of a wave, with its progress.
type Replicate struct {
	District string     `db:"district_code"` // "" for the city-wide stratum
	Number   int        `db:"number"`
	OpenedAt *time.Time `db:"opened_at"` // nil while closed
	OpenedBy string     `db:"opened_by"` // draw, threshold or hand
	Cases    int        `db:"cases"`
	Final    int        `db:"final"`
}

// Open reports whether the replicate's cases are being handed out.
func (r Replicate) Open() bool { return r.OpenedAt != nil }

// Replicates lists a wave's replicates by stratum and number.
func Replicates(ctx context.Context, db sqlx.QueryerContext, waveName string) ([]Replicate, error) {
	w, err := GetWave(ctx, db, waveName)
	if err != nil {
		return nil, err
	}
	var rs []Replicate
	if err := sqlx.SelectContext(ctx, db, &rs, qListReplicates, w.ID); err != nil {
		return nil, fmt.Errorf("sampler: list replicates: %w", err)
	}
	return rs, nil
}

type openedReplicate struct {
	District string `db:"district_code"`
	Number   int    `db:"number"`
}

// OpenNextReplicates opens, in every stratum of the wave whose open
// replicates have at least the share threshold of their cases in a final
// status, the next closed replicate. threshold ≤ 0 means the wave's own
// setting (waves.replicate_threshold, 0.8 by default). Replicates only ever
// open, and cases never leave them, so no released case is ever dropped. It
// returns the replicates it opened.
func OpenNextReplicates(ctx context.Context, db *sqlx.DB, waveName string, threshold float64) ([]Replicate, error) {
	w, err := GetWave(ctx, db, waveName)
	if err != nil {
		return nil, err
	}
	if threshold <= 0 {
		d, err := GetDesign(ctx, db, w.ID)
		if err != nil {
			return nil, err
		}
		threshold = d.ReplicateThreshold
	}
	if threshold > 1 {
		return nil, core.Errorf(core.EInvalid, "开放阈值 %v 须在 0 到 1 之间", "the opening threshold %v must be in (0, 1]", threshold)
	}
	var opened []openedReplicate
	if err := sqlx.SelectContext(ctx, db, &opened, qOpenNextReplicates, w.ID, threshold); err != nil {
		return nil, fmt.Errorf("sampler: open replicates: %w", err)
	}
	return pickReplicates(ctx, db, w.Name, opened)
}

// OpenReplicate opens the next closed replicate of one stratum of a wave by
// hand ("" is the city-wide stratum), whatever the progress of the open
// ones.
func OpenReplicate(ctx context.Context, db *sqlx.DB, waveName, district string) (*Replicate, error) {
	w, err := GetWave(ctx, db, waveName)
	if err != nil {
		return nil, err
	}
	var opened []openedReplicate
	if err := sqlx.SelectContext(ctx, db, &opened, qOpenReplicate, w.ID, district); err != nil {
		return nil, fmt.Errorf("sampler: open replicate: %w", err)
	}
	if len(opened) == 0 {
		return nil, core.Errorf(core.ENotFound, "轮次 %q 的区县 %q 没有未开放的样本批次", "wave %q has no closed replicate left in district %q", w.Name, district)
	}
	rs, err := pickReplicates(ctx, db, w.Name, opened)
	if err != nil {
		return nil, err
	}
	return &rs[0], nil
}

// pickReplicates returns the listed replicates with their progress.
func pickReplicates(ctx context.Context, db sqlx.QueryerContext, wave string, which []openedReplicate) ([]Replicate, error) {
	if len(which) == 0 {
		return nil, nil
	}
	all, err := Replicates(ctx, db, wave)
	if err != nil {
		return nil, err
	}
	want := map[openedReplicate]bool{}
	for _, o := range which {
		want[o] = true
	}
	var out []Replicate
	for _, r := range all {
		if want[openedReplicate{r.District, r.Number}] {
			out = append(out, r)
		}
	}
	return out, nil
}
