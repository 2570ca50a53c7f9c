package schedule

import (
	"context"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/dialer"
)

// RecordingsEvery is how often recordings past their retention are
// deleted.
const RecordingsEvery = time.Hour

// startRecordingRetention deletes, at start and then every hour, the call
// recordings past their retention, each deletion audited (dialer); every
// server runs it, and row locks let each recording be deleted once.
func startRecordingRetention(ctx context.Context, db *sqlx.DB, log *slog.Logger, now func() time.Time) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(RecordingsEvery)
		defer t.Stop()
		for {
			if n, err := dialer.DeleteExpiredRecordings(ctx, db, now()); err != nil && ctx.Err() == nil {
				log.Error("deleting recordings past their retention failed", "err", err)
			} else if n > 0 {
				log.Info("recordings past their retention deleted", "recordings", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return done
}
