package core

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
)

var (
	qAuditPage    = pg.Q("audit/page")
	qAuditActions = pg.Q("audit/actions")
)

// AuditRow is an entry of the audit log as its page lists it.
type AuditRow struct {
	Seq     int64     `db:"seq"`
	At      time.Time `db:"at"`
	ActorID int64     `db:"actor_id"`
	Actor   string    `db:"actor"`
	Action  string    `db:"action"`
	Subject string    `db:"subject"`
	Details string    `db:"details"` // JSON
	Total   int       `db:"total"`
}

// AuditPage returns one page of the audit log narrowed by f (f.UserID who
// acted, f.Flag the action, dates of the entries), newest first, and how
// many entries there are.
func AuditPage(ctx context.Context, db sqlx.QueryerContext, f ListFilter) ([]AuditRow, int, error) {
	var rows []AuditRow
	get := func(f ListFilter) error {
		return sqlx.SelectContext(ctx, db, &rows, qAuditPage, f.UserID, f.FromArg(), f.ToArg(), f.Flag, f.LimitArg(), f.Offset)
	}
	if err := get(f); err != nil {
		return nil, 0, fmt.Errorf("core: audit page: %w", err)
	}
	if len(rows) > 0 {
		return rows, rows[0].Total, nil
	}
	if f.Offset == 0 {
		return nil, 0, nil
	}
	f.Offset, f.Limit = 0, 1
	if err := get(f); err != nil || len(rows) == 0 {
		return nil, 0, err
	}
	return nil, rows[0].Total, nil
}

// AuditActions lists the actions the audit log holds.
func AuditActions(ctx context.Context, db sqlx.QueryerContext) ([]string, error) {
	var out []string
	if err := sqlx.SelectContext(ctx, db, &out, qAuditActions); err != nil {
		return nil, fmt.Errorf("core: audit actions: %w", err)
	}
	return out, nil
}
