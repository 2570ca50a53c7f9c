package schedule

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var qJobsPage = pg.Q("jobs/page")

// JobStatuses are the statuses the jobs list can be narrowed to.
var JobStatuses = []string{"running", "ok", "failed"}

// JobRow is a line of the jobs list with who started it and the count of
// its list.
type JobRow struct {
	Job
	CreatedBy string `db:"created_by"`
	Rows      int    `db:"total_rows"`
}

// JobsPage returns one page of the jobs narrowed by f (f.UserID who
// started them, f.Flag a status, dates when they started), newest first,
// and how many there are.
func JobsPage(ctx context.Context, db sqlx.QueryerContext, f core.ListFilter) ([]JobRow, int, error) {
	var rows []JobRow
	get := func(f core.ListFilter) error {
		return sqlx.SelectContext(ctx, db, &rows, qJobsPage, f.UserID, f.FromArg(), f.ToArg(), f.Flag, f.LimitArg(), f.Offset)
	}
	if err := get(f); err != nil {
		return nil, 0, fmt.Errorf("schedule: jobs: %w", err)
	}
	if len(rows) > 0 {
		return rows, rows[0].Rows, nil
	}
	if f.Offset == 0 {
		return nil, 0, nil
	}
	f.Offset, f.Limit = 0, 1
	if err := get(f); err != nil || len(rows) == 0 {
		return nil, 0, err
	}
	return nil, rows[0].Rows, nil
}
