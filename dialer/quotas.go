package dialer

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
)

// VerifyDelay is how long after an interview its verification call-back
// becomes due: not while the respondent may still be on another call.
const VerifyDelay = time.Hour

var verifyInterval = fmt.Sprintf("%d seconds", int(VerifyDelay.Seconds()))

// takeQuota counts an interview of the district, sex and age group in its
// quota cells (making the district's cells at its first interview), under
// their row locks until the transaction ends, so that two saves never both
// take the last place. full reports that a cell already had its target:
// the caller then rolls the transaction back. When the interview fills its
// district, the district's remaining telephone cases end as 4.80.
func takeQuota(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, waveID int64, district string, sex, age int) (full bool, err error) {
	count, err := pg.TxStmt(ctx, db, tx, "dialer/count-quota")
	if err != nil {
		return false, err
	}
	type cell struct {
		Sex       int  `db:"sex"`
		Completes int  `db:"completes"`
		Target    *int `db:"target"`
	}
	var cells []cell
	if err := count.SelectContext(ctx, &cells, waveID, district, sex, age); err != nil {
		return false, fmt.Errorf("dialer: count quota: %w", err)
	}
	if len(cells) == 0 {
		ensure, err := pg.TxStmt(ctx, db, tx, "dialer/ensure-quota")
		if err != nil {
			return false, err
		}
		if _, err := ensure.ExecContext(ctx, waveID, district); err != nil {
			return false, fmt.Errorf("dialer: quota cells: %w", err)
		}
		if err := count.SelectContext(ctx, &cells, waveID, district, sex, age); err != nil {
			return false, fmt.Errorf("dialer: count quota: %w", err)
		}
	}
	filled := false
	for _, c := range cells {
		if c.Target == nil {
			continue
		}
		if c.Completes > *c.Target {
			return true, nil
		}
		if c.Sex == 0 && c.Completes == *c.Target {
			filled = true
		}
	}
	if filled {
		close, err := pg.TxStmt(ctx, db, tx, "dialer/close-district")
		if err != nil {
			return false, err
		}
		var n int
		if err := close.GetContext(ctx, &n, waveID, district); err != nil {
			return false, fmt.Errorf("dialer: close district: %w", err)
		}
	}
	return false, nil
}
