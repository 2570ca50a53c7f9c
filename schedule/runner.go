package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/signing"
)

// Runner is everything a server runs outside requests: the wave and export
// schedulers and the background jobs.
type Runner struct {
	Jobs    *Jobs
	stopped []<-chan struct{}
}

// Start recovers jobs a stopped server left running, and starts the
// schedulers, the sealer of interview evidence and the job runner; all of
// them stop when ctx ends. outbox is where scheduled exports go, jobsDir
// where jobs keep their files; signer, when set, signs the exports and the
// chain heads the sealer anchors.
func Start(ctx context.Context, db *sqlx.DB, outbox, jobsDir string, signer *signing.Key, log *slog.Logger) (*Runner, error) {
	r := &Runner{Jobs: NewJobs(ctx, db, jobsDir, log)}
	if _, err := r.Jobs.Recover(ctx); err != nil {
		return nil, fmt.Errorf("后台任务无法恢复 / cannot recover background jobs: %w", err)
	}
	waves, err := NewWaveScheduler(db, log).Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("定时任务无法启动 / the scheduler cannot start: %w", err)
	}
	es := NewExportScheduler(db, outbox, log)
	es.Signer = signer
	exports, err := es.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("定时导出无法启动 / the export scheduler cannot start: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	recordings := startRecordingRetention(ctx, db, log, time.Now)
	r.stopped = []<-chan struct{}{waves, exports, recordings, NewSealer(db, signer, log).Start(ctx)}
	return r, nil
}

// Wait waits, after the context given to Start has ended, until scheduled
// runs and jobs have stopped, or until ctx ends.
func (r *Runner) Wait(ctx context.Context) error {
	for _, c := range r.stopped {
		select {
		case <-c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return r.Jobs.Wait(ctx)
}
