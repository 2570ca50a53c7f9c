package survey

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qReviewedPage     = pg.Q("survey/reviewed-page")
	qReturnedPage     = pg.Q("survey/returned-page")
	qLockForApproval  = pg.Q("survey/lock-for-approval")
	qApproveMany      = pg.Q("survey/approve-many")
	reviewStatusFlags = []string{ReviewApproved, ReviewReturned, ReviewCorrected, ReviewInvalid}
)

// ReviewedStatuses are the statuses the list of decisions can be narrowed to.
func ReviewedStatuses() []string { return append([]string(nil), reviewStatusFlags...) }

// ReviewRow is a line of a paged review list with the count of its list.
type ReviewRow struct {
	ReviewItem
	DistrictName string `db:"district_name"`
	Total        int    `db:"total"`
}

// ReviewedPage returns one page of a wave's review decisions narrowed by f
// (f.Flag a review status; dates are of the decision), newest first, and
// how many there are.
func ReviewedPage(ctx context.Context, db sqlx.QueryerContext, waveID int64, f core.ListFilter) ([]ReviewRow, int, error) {
	return reviewPage(ctx, db, "reviewed", f, func(f core.ListFilter) []any {
		return []any{qReviewedPage, waveID, f.District, f.UserID, f.FromArg(), f.ToArg(), f.Flag, f.LimitArg(), f.Offset}
	})
}

// ReturnedPage returns one page of the interviews sent back to an
// interviewer narrowed by f (district, the days they were sent back),
// oldest first, and how many there are.
func ReturnedPage(ctx context.Context, db sqlx.QueryerContext, interviewerID int64, f core.ListFilter) ([]ReviewRow, int, error) {
	return reviewPage(ctx, db, "returned", f, func(f core.ListFilter) []any {
		return []any{qReturnedPage, interviewerID, f.District, f.FromArg(), f.ToArg(), f.LimitArg(), f.Offset}
	})
}

func reviewPage(ctx context.Context, db sqlx.QueryerContext, what string, f core.ListFilter, args func(core.ListFilter) []any) ([]ReviewRow, int, error) {
	var rows []ReviewRow
	a := args(f)
	if err := sqlx.SelectContext(ctx, db, &rows, a[0].(string), a[1:]...); err != nil {
		return nil, 0, fmt.Errorf("survey: %s interviews: %w", what, err)
	}
	if len(rows) > 0 || f.Offset == 0 {
		total := 0
		if len(rows) > 0 {
			total = rows[0].Total
		}
		return rows, total, nil
	}
	// Past the last page: count from the first.
	f.Offset, f.Limit = 0, 1
	a = args(f)
	if err := sqlx.SelectContext(ctx, db, &rows, a[0].(string), a[1:]...); err != nil {
		return nil, 0, fmt.Errorf("survey: %s interviews: %w", what, err)
	}
	if len(rows) == 0 {
		return nil, 0, nil
	}
	return nil, rows[0].Total, nil
}

// ErrApprovalStale refuses a bulk approval whose list changed after the
// supervisor confirmed what it held.
var ErrApprovalStale = core.Errorf(core.EConflict,
	"确认之后，列表中有访问已被他人复核或已有变化，没有通过任何访问。请重新查看列表再确认。",
	"Some interviews of the list were reviewed or changed after you confirmed it; nothing was approved. Look at the list again and confirm once more.")

// ApproveAll approves the interviews ids of wave in one transaction: each
// must still be waiting for review (not yet decided on, or corrected), or
// none is approved. Each approval is recorded as a single one is (its
// change, its new evidence and an audit entry of its own), and one more
// entry says how many were approved together and why.
func ApproveAll(ctx context.Context, db *sqlx.DB, waveID int64, wave string, ids []int64, by Editor, details map[string]any) error {
	if len(ids) == 0 {
		return core.Errorf(core.EInvalid, "没有可通过的访问", "there is nothing to approve")
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var locked []struct {
		ID          int64  `db:"id"`
		Status      string `db:"review_status"`
		Interviewer int64  `db:"interviewer_id"`
	}
	if err := tx.SelectContext(ctx, &locked, qLockForApproval, waveID, pq.Int64Array(ids)); err != nil {
		return fmt.Errorf("survey: lock for approval: %w", err)
	}
	if len(locked) != len(ids) {
		return ErrApprovalStale
	}
	for _, l := range locked {
		if l.Status != ReviewNone && l.Status != ReviewCorrected {
			return ErrApprovalStale
		}
		if l.Interviewer == by.ID {
			return errOwnInterview
		}
	}
	if _, err := tx.ExecContext(ctx, qApproveMany, pq.Int64Array(ids), by.ID); err != nil {
		return fmt.Errorf("survey: approve: %w", err)
	}
	for _, l := range locked {
		iv := &StoredInterview{ID: l.ID, WaveID: waveID, WaveName: wave, ReviewStatus: l.Status}
		if err := recordChanges(ctx, tx, iv, by, "", []fieldChange{{"review_status", l.Status, ReviewApproved}}); err != nil {
			return err
		}
	}
	d := map[string]any{"wave": wave, "approved": len(ids)}
	for k, v := range details {
		d[k] = v
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: by.ID, Actor: by.Username, Action: "interviews-bulk-approve",
		Subject: "wave:" + wave, Details: d}); err != nil {
		return err
	}
	return tx.Commit()
}
