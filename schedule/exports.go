package schedule

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/csvfile"
	"minyi/export"
	"minyi/sampler"
	"minyi/signing"
	"minyi/sql/pg"
)

// ExportSchedule writes a wave's export files into the outbox on a cron
// spec, in Beijing time.
type ExportSchedule struct {
	ID        int64          `db:"id"`
	Name      string         `db:"name"`
	Title     string         `db:"title"` // the name people read
	WaveID    int64          `db:"wave_id"`
	Wave      string         `db:"wave"`
	Kinds     pq.StringArray `db:"kinds"`
	Spec      string         `db:"spec"`
	Encoding  string         `db:"encoding"`
	MinCell   int            `db:"min_cell"`
	Enabled   bool           `db:"enabled"`
	CreatedAt time.Time      `db:"created_at"`
	UpdatedAt time.Time      `db:"updated_at"`
}

func (s *ExportSchedule) cronJob() cronJob {
	return cronJob{ID: s.ID, Name: s.Name, Spec: s.Spec, Enabled: s.Enabled}
}

// Next returns the schedule's next run after t, in Beijing time.
func (s *ExportSchedule) Next(t time.Time) time.Time { return nextAfter(s.Spec, t) }

// ExportRun is one scheduled time of an export schedule and its outcome.
type ExportRun struct {
	ID            int64      `db:"id"`
	Schedule      string     `db:"schedule"`
	Title         string     `db:"schedule_title"`
	Wave          string     `db:"wave"`
	ScheduledFor  time.Time  `db:"scheduled_for"`
	Status        string     `db:"status"`
	Attempts      int        `db:"attempts"`
	Directory     string     `db:"directory"`
	FilesJSON     []byte     `db:"files"`
	Error         string     `db:"error"`
	StartedAt     time.Time  `db:"started_at"`
	FinishedAt    *time.Time `db:"finished_at"`
	NextAttemptAt *time.Time `db:"next_attempt_at"`
}

// Files decodes the files the run wrote.
func (r *ExportRun) Files() []export.File {
	var fs []export.File
	json.Unmarshal(r.FilesJSON, &fs)
	return fs
}

var (
	qUpsertExportSchedule = pg.Q("exports/upsert-schedule")
	qListExportSchedules  = pg.Q("exports/list-schedules")
	qGetExportSchedule    = pg.Q("exports/get-schedule")
	qClaimExportRun       = pg.Q("exports/claim-run")
	qClaimExportRetry     = pg.Q("exports/claim-retry")
	qDueExportRetries     = pg.Q("exports/due-retries")
	qFinishExportRun      = pg.Q("exports/finish-run")
	qInterruptExportRuns  = pg.Q("exports/interrupt-stale-runs")
	qListExportRuns       = pg.Q("exports/list-runs")
	qLastExportRun        = pg.Q("exports/last-run")
)

// SaveExportSchedule validates a schedule and stores it by name (an
// existing schedule of that name is changed).
func SaveExportSchedule(ctx context.Context, db *sqlx.DB, s ExportSchedule) (*ExportSchedule, error) {
	if err := checkName(s.Name); err != nil {
		return nil, err
	}
	if s.Title == "" {
		s.Title = s.Name
	}
	if err := checkTitle(s.Title); err != nil {
		return nil, err
	}
	if _, err := NextTimes(s.Spec, time.Now(), 1); err != nil {
		return nil, err
	}
	if len(s.Kinds) == 0 {
		return nil, core.Errorf(core.EInvalid, "请至少选择一种文件", "choose at least one kind of file")
	}
	for _, k := range s.Kinds {
		if !slices.Contains(export.Kinds, k) {
			return nil, core.Errorf(core.EInvalid, "没有 %q 这种导出文件", "there is no export kind %q", k)
		}
	}
	enc, err := csvfile.ParseEncoding(s.Encoding)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "编码只能是 utf-8 或 gb18030", "encoding must be utf-8 or gb18030")
	}
	if s.MinCell < 1 {
		return nil, core.Errorf(core.EInvalid, "最小单元格须至少为 1", "the smallest cell must be at least 1")
	}
	w, err := sampler.GetWave(ctx, db, s.Wave)
	if err != nil {
		return nil, err
	}
	var id int64
	if err := db.GetContext(ctx, &id, qUpsertExportSchedule, s.Name, w.ID, pq.StringArray(s.Kinds), strings.TrimSpace(s.Spec), string(enc), s.MinCell, s.Enabled, s.Title); err != nil {
		return nil, fmt.Errorf("schedule: save export schedule: %w", err)
	}
	var out ExportSchedule
	err = db.GetContext(ctx, &out, qGetExportSchedule, id)
	return &out, err
}

// ListExportSchedules returns every export schedule.
func ListExportSchedules(ctx context.Context, db sqlx.QueryerContext) ([]ExportSchedule, error) {
	var ss []ExportSchedule
	err := sqlx.SelectContext(ctx, db, &ss, qListExportSchedules)
	return ss, err
}

// ListExportRuns returns the latest runs of all export schedules.
func ListExportRuns(ctx context.Context, db sqlx.QueryerContext, limit int) ([]ExportRun, error) {
	var rs []ExportRun
	err := sqlx.SelectContext(ctx, db, &rs, qListExportRuns, limit)
	return rs, err
}

// ExportScheduler runs export schedules. Every server may run one: a run is
// claimed by inserting its (schedule, time) row, and a retry by moving the
// failed row back to running, so each happens once.
type ExportScheduler struct {
	db     *sqlx.DB
	log    *slog.Logger
	outbox string
	table  *cronTable

	// MaxAttempts is how many times a run is tried before it is left
	// failed for an admin to see; Backoff is the wait before attempt n+1.
	MaxAttempts int
	Backoff     func(attempt int) time.Duration
	// Now is the clock, for tests.
	Now func() time.Time
	// Signer, when set, signs each run's manifest.
	Signer *signing.Key
	// write writes a run's files; export.ToDir but in tests.
	write func(ctx context.Context, db *sqlx.DB, reqs []export.Request, dir string, details map[string]any) ([]export.File, error)
}

// NewExportScheduler makes a scheduler writing into outbox; Start runs it.
func NewExportScheduler(db *sqlx.DB, outbox string, log *slog.Logger) *ExportScheduler {
	if log == nil {
		log = slog.Default()
	}
	s := &ExportScheduler{db: db, log: log, outbox: outbox, write: export.ToDir,
		MaxAttempts: 5, Backoff: func(n int) time.Duration { return time.Minute << min(n-1, 10) }, Now: time.Now}
	s.table = newCronTable(log, func() time.Time { return s.Now() }, func(ctx context.Context, id int64, at time.Time) error {
		_, err := s.Run(ctx, id, at)
		return err
	})
	return s
}

// Start loads the schedules and runs them until ctx ends; edits made on any
// server are picked up, and failed runs retried, within a minute. The
// channel is closed when it has stopped.
func (s *ExportScheduler) Start(ctx context.Context) (<-chan struct{}, error) {
	if _, err := s.db.ExecContext(ctx, qInterruptExportRuns, "服务器在运行中停止 / the server stopped during the run"); err != nil {
		return nil, err
	}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	caughtUp := make(chan struct{})
	go func() {
		defer close(caughtUp)
		if _, err := s.CatchUp(ctx); err != nil {
			s.log.Error("catch up on scheduled exports", "err", err)
		}
	}()
	stopped := s.table.loop(ctx, func() {
		if err := s.reload(ctx); err != nil {
			s.log.Error("reload export schedules", "err", err)
		}
		if _, err := s.RetryDue(ctx); err != nil {
			s.log.Error("retry exports", "err", err)
		}
	})
	done := make(chan struct{})
	go func() {
		<-caughtUp
		<-stopped
		close(done)
	}()
	return done, nil
}

func (s *ExportScheduler) reload(ctx context.Context) error {
	ss, err := ListExportSchedules(ctx, s.db)
	if err != nil {
		return err
	}
	s.table.sync(cronJobs(ss))
	return nil
}

// Run performs the run of a schedule at a scheduled time, unless another
// server has claimed it (claimed is then false).
func (s *ExportScheduler) Run(ctx context.Context, scheduleID int64, at time.Time) (claimed bool, err error) {
	var run struct {
		ID       int64 `db:"id"`
		Attempts int   `db:"attempts"`
	}
	err = s.db.GetContext(ctx, &run, qClaimExportRun, scheduleID, at)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("schedule: claim export run: %w", err)
	}
	return true, s.perform(ctx, scheduleID, run.ID, run.Attempts, at)
}

// CatchUp runs, for every enabled schedule, the latest of the scheduled
// times that no server ran (by the catch-up rule of missedTimes), and
// returns how many it ran. Only the latest: its files supersede those the
// earlier times would have written, and the office is waiting for them.
func (s *ExportScheduler) CatchUp(ctx context.Context) (int, error) {
	ss, err := ListExportSchedules(ctx, s.db)
	if err != nil {
		return 0, err
	}
	now := s.Now()
	n := 0
	var first error
	for _, sc := range ss {
		if !sc.Enabled {
			continue
		}
		cs, err := ParseSpec(sc.Spec)
		if err != nil {
			continue
		}
		var last *time.Time
		if err := s.db.GetContext(ctx, &last, qLastExportRun, sc.ID); err != nil {
			return n, err
		}
		from := sc.UpdatedAt
		if last != nil && last.After(from) {
			from = *last
		}
		missed := missedTimes(cs, from, now)
		if len(missed) == 0 {
			continue
		}
		latest := missed[len(missed)-1]
		s.log.Warn("running a scheduled export missed while no server ran", "schedule", sc.Name, "at", latest)
		claimed, err := s.Run(ctx, sc.ID, latest)
		if claimed {
			n++
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return n, first
}

// RetryDue tries again every failed run whose next attempt is due, and
// returns how many it claimed.
func (s *ExportScheduler) RetryDue(ctx context.Context) (int, error) {
	now := s.Now()
	var due []struct {
		ID           int64     `db:"id"`
		ScheduleID   int64     `db:"schedule_id"`
		ScheduledFor time.Time `db:"scheduled_for"`
	}
	if err := s.db.SelectContext(ctx, &due, qDueExportRetries, now); err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, d := range due {
		var run struct {
			ID       int64 `db:"id"`
			Attempts int   `db:"attempts"`
		}
		err := s.db.GetContext(ctx, &run, qClaimExportRetry, d.ID, now)
		if errors.Is(err, sql.ErrNoRows) {
			continue // another server took it
		}
		if err != nil {
			return n, err
		}
		n++
		if err := s.perform(ctx, d.ScheduleID, run.ID, run.Attempts, d.ScheduledFor); err != nil && first == nil {
			first = err
		}
	}
	return n, first
}

// perform writes the files of a claimed run and records the outcome: on
// failure, when the next attempt is due, or that there will be none.
func (s *ExportScheduler) perform(ctx context.Context, scheduleID, runID int64, attempt int, at time.Time) error {
	var sc ExportSchedule
	err := s.db.GetContext(ctx, &sc, qGetExportSchedule, scheduleID)
	var dir string
	var files []export.File
	if err == nil {
		err = protect(func() error {
			var err error
			dir, files, err = s.writeRun(ctx, sc, at)
			return err
		})
		notePanic(ctx, s.db, s.log, "scheduled export", sc.Name+"@"+at.Format(time.RFC3339), err)
	}
	status, msg, next := "ok", any(nil), any(nil)
	if err != nil {
		status, msg = "failed", err.Error()
		if attempt < s.MaxAttempts {
			next = s.Now().Add(s.Backoff(attempt))
		}
	}
	b, _ := json.Marshal(files)
	if files == nil {
		b = []byte("[]")
	}
	if _, ferr := s.db.ExecContext(context.WithoutCancel(ctx), qFinishExportRun, runID, status, nullIfEmpty(dir), string(b), msg, next); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// writeRun writes a run's files into the outbox.
func (s *ExportScheduler) writeRun(ctx context.Context, sc ExportSchedule, at time.Time) (string, []export.File, error) {
	enc, err := csvfile.ParseEncoding(sc.Encoding)
	if err != nil {
		return "", nil, err
	}
	reqs := make([]export.Request, len(sc.Kinds))
	for i, k := range sc.Kinds {
		reqs[i] = export.Request{Kind: k, Wave: sc.Wave, Encoding: enc, Options: export.Options{MinCell: sc.MinCell},
			Actor: "minyi scheduled export", Via: "schedule", Signer: s.Signer}
	}
	dir := export.RunDir(s.outbox, sc.Wave, at)
	files, err := s.write(ctx, s.db, reqs, dir, map[string]any{"schedule": sc.Name})
	if err != nil {
		return "", nil, err
	}
	return dir, files, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
