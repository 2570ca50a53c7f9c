package sampler

import (
	"context"
	"fmt"
	"math"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/sql"
	"minyi/survey"
)

// The telephone draw: a simple random sample without replacement per
// district by Floyd's algorithm on the frame's dense ordinals.
const (
	AlgorithmPhoneSRS = "phone-srswor-floyd"
	AlgorithmVersion  = 1
)

var (
	qFrameSizes       = sql.Q("sampler/frame-sizes")
	qFrameChecksum    = sql.Q("sampler/frame-checksum")
	qInsertDraw       = sql.Q("sampler/insert-draw")
	qInsertAllocation = sql.Q("sampler/insert-allocation")
	qListAllocations  = sql.Q("sampler/list-allocations")
	qReleaseCases     = sql.Q("sampler/release-cases")
)

// AllocationRow is one district's share of a wave.
type AllocationRow struct {
	District   string `db:"district_code"`
	Name       string `db:"name"`
	Population int64  `db:"population"`
	Target     int    `db:"target"`   // completes wanted
	Released   int    `db:"released"` // cases released to the dialer
}

// DrawReport says what a draw did.
type DrawReport struct {
	Wave          string
	Seed          int64
	Algorithm     string
	Version       int
	FrameChecksum string
	Rows          []AllocationRow
	Target        int
	Released      int
	Short         []string // districts whose frame was smaller than the release
}

// Plan computes the allocation of a wave without drawing, for display.
func Plan(ctx context.Context, db sqlx.QueryerContext, w *Wave) ([]Allocation, error) {
	ds, err := ListDistricts(ctx, db)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, survey.Errorf(survey.EInvalid, "还没有区县:请先导入区县人口", "there are no districts yet: import districts first")
	}
	strata := make([]Stratum, len(ds))
	for i, d := range ds {
		strata[i] = Stratum{Code: d.Code, Population: d.Population}
	}
	return Allocate(strata, w.Rate, w.MinPerDistrict)
}

// Draw allocates the wave's sample over districts and draws it from the
// telephone frame, releasing the drawn numbers as cases; all in one
// transaction, so a failed draw leaves nothing behind.
func Draw(ctx context.Context, db *sqlx.DB, waveName string, seed int64) (*DrawReport, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM waves WHERE name = $1 FOR UPDATE`, waveName); err != nil {
		return nil, err
	}
	w, err := GetWave(ctx, tx, waveName)
	if err != nil {
		return nil, err
	}
	if w.Drawn() {
		return nil, survey.Errorf(survey.EConflict, "轮次 %q 已经抽样(种子 %d)", "wave %q has already been drawn (seed %d)", w.Name, *w.Draw.Seed)
	}
	alloc, err := Plan(ctx, tx, w)
	if err != nil {
		return nil, err
	}
	// The frame must not change while it is read for the draw.
	if _, err := tx.ExecContext(ctx, `LOCK TABLE phone_frame IN SHARE MODE`); err != nil {
		return nil, err
	}
	sizes, err := FrameSizes(ctx, tx)
	if err != nil {
		return nil, err
	}
	var checksum string
	if err := tx.GetContext(ctx, &checksum, qFrameChecksum); err != nil {
		return nil, err
	}
	rep := &DrawReport{Wave: w.Name, Seed: seed, Algorithm: AlgorithmPhoneSRS, Version: AlgorithmVersion, FrameChecksum: checksum}
	names := map[string]string{}
	ds, _ := ListDistricts(ctx, tx)
	for _, d := range ds {
		names[d.Code] = d.Name
	}
	for _, a := range alloc {
		release := int(math.Ceil(float64(a.Target) / w.ExpectedRate))
		if n := sizes[a.Code]; int64(release) > n {
			release = int(n)
			rep.Short = append(rep.Short, a.Code)
		}
		ordinals, err := Floyd(NewRNG(seed, a.Code), sizes[a.Code], release)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, qReleaseCases, w.ID, a.Code, pq.Int64Array(ordinals)); err != nil {
			return nil, fmt.Errorf("sampler: release cases of %s: %w", a.Code, err)
		}
		if _, err := tx.ExecContext(ctx, qInsertAllocation, w.ID, a.Code, a.Population, a.Target, release); err != nil {
			return nil, err
		}
		rep.Rows = append(rep.Rows, AllocationRow{District: a.Code, Name: names[a.Code], Population: a.Population, Target: a.Target, Released: release})
		rep.Target += a.Target
		rep.Released += release
	}
	if _, err := tx.ExecContext(ctx, qInsertDraw, w.ID, AlgorithmPhoneSRS, AlgorithmVersion, seed, checksum); err != nil {
		return nil, err
	}
	return rep, tx.Commit()
}

// Allocations returns a drawn wave's allocation table.
func Allocations(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]AllocationRow, error) {
	var rows []AllocationRow
	err := sqlx.SelectContext(ctx, db, &rows, qListAllocations, waveID)
	return rows, err
}
