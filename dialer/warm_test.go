package dialer

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
)

// Warming the pool at start-up opens the connections, hands out no case
// and leaves the queue working.
func TestWarmingThePoolHandsNothingOut(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	q.db.SetMaxOpenConns(6)
	q.db.SetMaxIdleConns(6)
	if err := pg.WarmPool(ctx, q.db, 6, func(ctx context.Context, tx *sqlx.Tx) error {
		return WarmNextTask(ctx, q.db, tx)
	}); err != nil {
		t.Fatal(err)
	}
	if open := q.db.Stats().OpenConnections; open != 6 {
		t.Errorf("%d connections open after warming six", open)
	}
	var held int
	if err := q.db.Get(&held, `SELECT count(*) FROM cases WHERE held_by IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if held != 0 {
		t.Errorf("warming left %d cases held", held)
	}
	if id := q.nextCase("ann"); id == 0 {
		t.Error("no case for ann after warming")
	}
}
