package schedule

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
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
	qStartJob    = pg.Q("jobs/start")
	qProgressJob = pg.Q("jobs/progress")
	qFinishJob   = pg.Q("jobs/finish")
	qGetJob      = pg.Q("jobs/get")
	qRunningJobs = pg.Q("jobs/running")
	qFailJob     = pg.Q("jobs/fail-orphan")
)

// jobLockClass is the first key of the advisory lock a running job's server
// holds for the job (the second is the job's id). The lock goes with the
// server's connection, so a job whose lock is free has lost its server.
const jobLockClass = 0x6a6f62 // "job"

// Progress reports how far long work has got.
type Progress func(done, total int64, message string)

// Run is a running job as its work sees it.
type Run struct {
	ID       int64
	Progress Progress
	// Input is the file the job was given (an upload), in the job's own
	// directory; empty when it was given none.
	Input string
}

// Work is a job's work: it returns a message for the job's page.
type Work func(ctx context.Context, run *Run) (string, error)

// JobSpec says what a job is.
type JobSpec struct {
	Kind    string
	Subject string
	UserID  int64
	// Input, if set, is copied into the job's directory before the job is
	// started (an upload does not outlive its request).
	Input io.Reader
}

// Jobs runs background jobs: each in its own goroutine under the server's
// context, so that a shutdown stops them, with its files in a directory of
// its own that is removed when it ends.
type Jobs struct {
	ctx context.Context
	db  *sqlx.DB
	dir string
	log *slog.Logger
	wg  sync.WaitGroup
}

// NewJobs makes a job runner whose jobs end with ctx; dir holds their files
// (a temporary directory when empty).
func NewJobs(ctx context.Context, db *sqlx.DB, dir string, log *slog.Logger) *Jobs {
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "minyi-jobs")
	}
	if log == nil {
		log = slog.Default()
	}
	return &Jobs{ctx: ctx, db: db, dir: dir, log: log}
}

func (j *Jobs) jobDir(id int64) string { return filepath.Join(j.dir, strconv.FormatInt(id, 10)) }

// Start records a job and runs work in the background. It returns the
// job's id once the job is recorded and its input kept.
func (j *Jobs) Start(ctx context.Context, spec JobSpec, work Work) (int64, error) {
	var uid any
	if spec.UserID > 0 {
		uid = spec.UserID
	}
	// The job's lock is taken on a connection that stays with the job, in
	// the same statement that records it, so that no other server can ever
	// see the job running without its lock held.
	conn, err := j.db.Connx(ctx)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := conn.GetContext(ctx, &id, qStartJob, spec.Kind, spec.Subject, 0, "", uid, jobLockClass); err != nil {
		conn.Close()
		return 0, fmt.Errorf("schedule: start job: %w", err)
	}
	run := &Run{ID: id}
	dir := j.jobDir(id)
	if err := j.keepInput(dir, spec.Input, run); err != nil {
		j.finish(conn, id, "", err)
		return 0, err
	}
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		var last time.Time
		run.Progress = func(done, total int64, message string) {
			// A progress bar needs a few updates a second at most.
			if time.Since(last) < 200*time.Millisecond && done < total {
				return
			}
			last = time.Now()
			j.db.ExecContext(context.WithoutCancel(j.ctx), qProgressJob, id, done, total, message)
		}
		var msg string
		err := protect(func() error {
			var err error
			msg, err = work(j.ctx, run)
			return err
		})
		notePanic(j.ctx, j.db, j.log, "job", fmt.Sprintf("%s #%d", spec.Kind, id), err)
		if err != nil && j.ctx.Err() != nil {
			err = core.Errorf(core.EInternal, "服务器关闭，任务已停止", "the server shut down and stopped the job")
		}
		os.RemoveAll(dir)
		j.finish(conn, id, msg, err)
	}()
	return id, nil
}

// keepInput copies a job's input into its directory.
func (j *Jobs) keepInput(dir string, in io.Reader, run *Run) error {
	if in == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("schedule: job directory: %w", err)
	}
	run.Input = filepath.Join(dir, "input")
	f, err := os.OpenFile(run.Input, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("schedule: keep job input: %w", err)
	}
	_, err = io.Copy(f, in)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("schedule: keep job input: %w", err)
	}
	return nil
}

// finish records how a job ended and gives its lock and connection back.
func (j *Jobs) finish(conn *sqlx.Conn, id int64, msg string, err error) {
	defer conn.Close()
	ctx := context.WithoutCancel(j.ctx)
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
	if _, err := conn.ExecContext(ctx, qFinishJob, id, status, errText, msg, jobLockClass); err != nil {
		j.log.Error("finish job", "job", id, "err", err)
		// The connection may still hold the job's lock: drop it rather than
		// give it back to the pool, so that the lock goes with it.
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// Wait waits until every job has ended or ctx ends.
func (j *Jobs) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { j.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Recover marks failed the jobs left running by a server that stopped
// without finishing them (a crash, a power cut) and removes their files,
// and removes files no running job owns. It returns how many it marked.
func (j *Jobs) Recover(ctx context.Context) (int, error) {
	var ids []int64
	if err := j.db.SelectContext(ctx, &ids, qRunningJobs); err != nil {
		return 0, fmt.Errorf("schedule: running jobs: %w", err)
	}
	n := 0
	alive := map[string]bool{}
	for _, id := range ids {
		var failed bool
		err := j.db.GetContext(ctx, &failed, qFailJob, id, jobLockClass,
			"服务器在任务运行中停止，任务未完成，请重新开始 / the server stopped while the job ran: it did not finish; start it again")
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return n, fmt.Errorf("schedule: fail orphaned job %d: %w", id, err)
		}
		if !failed {
			alive[strconv.FormatInt(id, 10)] = true // its server still runs it
			continue
		}
		n++
		j.log.Warn("job left running by a stopped server marked failed", "job", id)
	}
	entries, err := os.ReadDir(j.dir)
	if err != nil && !os.IsNotExist(err) {
		return n, err
	}
	for _, e := range entries {
		if !alive[e.Name()] {
			os.RemoveAll(filepath.Join(j.dir, e.Name()))
		}
	}
	return n, nil
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
