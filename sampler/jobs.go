package sampler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

// Job is long work started from a page, with its progress, kept in the
// database so that any server can show it.
type Job struct {
	ID         int64      `db:"id"`
	Kind       string     `db:"kind"`
	Subject    string     `db:"subject"`
	Status     string     `db:"status"` // running, ok, failed
	Done       int64      `db:"done"`
	Total      int64      `db:"total"`
	Message    string     `db:"message"`
	Error      string     `db:"error"`
	StartedAt  time.Time  `db:"started_at"`
	FinishedAt *time.Time `db:"finished_at"`
}

// Percent is the share done, 0–100.
func (j *Job) Percent() int {
	if j.Status == "ok" {
		return 100
	}
	if j.Total <= 0 {
		return 0
	}
	return int(100 * j.Done / j.Total)
}

var (
	qStartJob    = pg.Q("sampler/start-job")
	qProgressJob = pg.Q("sampler/progress-job")
	qFinishJob   = pg.Q("sampler/finish-job")
	qGetJob      = pg.Q("sampler/get-job")
)

// Progress reports how far long work has got.
type Progress func(done, total int64, message string)

// RunJob records a job and runs work in the background, outside the
// request that started it (which may end first), reporting progress as it
// goes. It returns the job's id at once.
func RunJob(ctx context.Context, db *sqlx.DB, kind, subject string, userID int64, work func(ctx context.Context, progress Progress) (string, error)) (int64, error) {
	var uid any
	if userID > 0 {
		uid = userID
	}
	var id int64
	if err := db.GetContext(ctx, &id, qStartJob, kind, subject, 0, "", uid); err != nil {
		return 0, fmt.Errorf("sampler: start job: %w", err)
	}
	bg := context.WithoutCancel(ctx)
	go func() {
		var last time.Time
		progress := func(done, total int64, message string) {
			// A progress bar needs a few updates a second at most.
			if time.Since(last) < 200*time.Millisecond && done < total {
				return
			}
			last = time.Now()
			db.ExecContext(bg, qProgressJob, id, done, total, message)
		}
		msg, err := work(bg, progress)
		status, errText := "ok", any(nil)
		if err != nil {
			status = "failed"
			var de *core.Error
			if errors.As(err, &de) {
				errText = de.ZH + " / " + de.EN
			} else {
				errText = err.Error()
			}
		}
		db.ExecContext(bg, qFinishJob, id, status, errText, msg)
	}()
	return id, nil
}

// GetJob loads a job.
func GetJob(ctx context.Context, db sqlx.QueryerContext, id int64) (*Job, error) {
	var j Job
	if err := sqlx.GetContext(ctx, db, &j, qGetJob, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "没有这个任务", "no such job")
		}
		return nil, err
	}
	return &j, nil
}
