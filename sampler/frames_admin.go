package sampler

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/csvfile"
	"minyi/sql/pg"
)

// FrameImport is the record of one frame import, for the admin pages.
type FrameImport struct {
	ID         int64           `db:"id"`
	Kind       string          `db:"kind"`
	FileName   string          `db:"file_name"`
	Encoding   string          `db:"encoding"`
	Status     string          `db:"status"`
	Error      string          `db:"error"`
	StartedAt  time.Time       `db:"started_at"`
	FinishedAt time.Time       `db:"finished_at"`
	Read       int64           `db:"read"`
	Kept       int64           `db:"kept"`
	Fixed      int64           `db:"fixed"`
	Rejected   int64           `db:"rejected"`
	Duplicates int64           `db:"duplicates"`
	RawProbs   json.RawMessage `db:"problems"`
}

// Problems decodes the stored problems (the first thousand).
func (f *FrameImport) Problems() []csvfile.Problem {
	var stored []struct {
		csvfile.Problem
		// Reason is how imports before csvfile.Problem stored the message,
		// "中文 / English" in one.
		Reason string `json:"reason"`
	}
	json.Unmarshal(f.RawProbs, &stored)
	ps := make([]csvfile.Problem, len(stored))
	for i, s := range stored {
		ps[i] = s.Problem
		if s.Reason != "" {
			ps[i].Message = core.Text{ZH: s.Reason}
		}
	}
	return ps
}

// HouseholdStratum counts a district's household frame.
type HouseholdStratum struct {
	District    string `db:"stratum"`
	Households  int64  `db:"n"`
	Streets     int64  `db:"streets"`
	Communities int64  `db:"communities"`
}

var (
	qListFrameImports    = pg.Q("sampler/list-frame-imports")
	qGetFrameImport      = pg.Q("sampler/get-frame-import")
	qHouseholdFrameSizes = pg.Q("sampler/household-frame-sizes")
)

// ListFrameImports returns the latest imports, newest first.
func ListFrameImports(ctx context.Context, db sqlx.QueryerContext, limit int) ([]FrameImport, error) {
	var out []FrameImport
	err := sqlx.SelectContext(ctx, db, &out, qListFrameImports, limit)
	return out, err
}

// GetFrameImport loads one import record.
func GetFrameImport(ctx context.Context, db sqlx.QueryerContext, id int64) (*FrameImport, error) {
	var f FrameImport
	if err := sqlx.GetContext(ctx, db, &f, qGetFrameImport, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "没有这次导入的记录", "no such import")
		}
		return nil, err
	}
	return &f, nil
}

// HouseholdFrameSizes counts the household frame per district.
func HouseholdFrameSizes(ctx context.Context, db sqlx.QueryerContext) ([]HouseholdStratum, error) {
	var out []HouseholdStratum
	err := sqlx.SelectContext(ctx, db, &out, qHouseholdFrameSizes)
	return out, err
}
