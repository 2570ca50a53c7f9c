package sampler

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/robfig/cron/v3"

	"minyi/core"
	"minyi/sql/pg"
)

// Schedule creates and draws a wave on a cron spec.
type Schedule struct {
	ID             int64          `db:"id"`
	Name           string         `db:"name"`
	Spec           string         `db:"spec"`
	Rate           float64        `db:"rate"`
	MinPerDistrict int            `db:"min_per_district"`
	ExpectedRate   float64        `db:"expected_rate"`
	Modes          pq.StringArray `db:"modes"`
	Enabled        bool           `db:"enabled"`
	CreatedAt      time.Time      `db:"created_at"`
	UpdatedAt      time.Time      `db:"updated_at"`
}

// Next returns the schedule's next run after t, in core.Shanghai time.
func (s *Schedule) Next(t time.Time) time.Time {
	cs, err := ParseSpec(s.Spec)
	if err != nil {
		return time.Time{}
	}
	return cs.Next(t.In(core.Shanghai))
}

// ScheduleRun is one scheduled time and what became of it.
type ScheduleRun struct {
	ID           int64      `db:"id"`
	Schedule     string     `db:"schedule"`
	ScheduledFor time.Time  `db:"scheduled_for"`
	Status       string     `db:"status"`
	WaveName     string     `db:"wave_name"`
	Error        string     `db:"error"`
	StartedAt    time.Time  `db:"started_at"`
	FinishedAt   *time.Time `db:"finished_at"`
}

var (
	qUpsertSchedule  = pg.Q("sampler/upsert-schedule")
	qListSchedules   = pg.Q("sampler/list-schedules")
	qGetSchedule     = pg.Q("sampler/get-schedule")
	qClaimRun        = pg.Q("sampler/claim-run")
	qFinishRun       = pg.Q("sampler/finish-run")
	qRecordMissedRun = pg.Q("sampler/record-missed-run")
	qLastRun         = pg.Q("sampler/last-run")
	qInterruptStale  = pg.Q("sampler/interrupt-stale-runs")
	qListRuns        = pg.Q("sampler/list-runs")
)

// ParseSpec reads a five-field cron spec ("0 2 1 * *": 02:00 on the first
// of every month) or a descriptor such as @monthly.
func ParseSpec(spec string) (cron.Schedule, error) {
	cs, err := cron.ParseStandard(strings.TrimSpace(spec))
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "定时规则 %q 无效(格式:分 时 日 月 周,例如 0 2 1 * * 表示每月 1 日 02:00):%v",
			"schedule %q is not a valid cron spec (minute hour day month weekday, e.g. 0 2 1 * * for 02:00 on the 1st of each month): %v", spec, err)
	}
	return cs, nil
}

var scheduleName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,60}$`)

// SaveSchedule validates a schedule and stores it (by name: an existing
// schedule of that name is updated).
func SaveSchedule(ctx context.Context, db *sqlx.DB, s Schedule) (*Schedule, error) {
	if !scheduleName.MatchString(s.Name) {
		return nil, core.Errorf(core.EInvalid, "名称只能用字母、数字和 _ . -,最长 60 个字符", "the name may use letters, digits and _ . - (at most 60)")
	}
	if _, err := ParseSpec(s.Spec); err != nil {
		return nil, err
	}
	if s.Rate <= 0 || s.Rate > 1 {
		return nil, core.Errorf(core.EInvalid, "抽样比例必须在 0 和 1 之间", "the sampling rate must be in (0, 1]")
	}
	if s.ExpectedRate <= 0 || s.ExpectedRate > 1 {
		return nil, core.Errorf(core.EInvalid, "预期完成率必须在 0 和 1 之间", "the expected completion rate must be in (0, 1]")
	}
	if len(s.Modes) == 0 {
		s.Modes = pq.StringArray{"phone"}
	}
	var id int64
	if err := db.GetContext(ctx, &id, qUpsertSchedule, s.Name, strings.TrimSpace(s.Spec), s.Rate, s.MinPerDistrict, s.ExpectedRate, s.Modes, s.Enabled); err != nil {
		return nil, fmt.Errorf("sampler: save schedule: %w", err)
	}
	var out Schedule
	err := db.GetContext(ctx, &out, qGetSchedule, id)
	return &out, err
}

// ListSchedules returns every schedule.
func ListSchedules(ctx context.Context, db sqlx.QueryerContext) ([]Schedule, error) {
	var ss []Schedule
	err := sqlx.SelectContext(ctx, db, &ss, qListSchedules)
	return ss, err
}

// ListRuns returns the latest runs of all schedules.
func ListRuns(ctx context.Context, db sqlx.QueryerContext, limit int) ([]ScheduleRun, error) {
	var rs []ScheduleRun
	err := sqlx.SelectContext(ctx, db, &rs, qListRuns, limit)
	return rs, err
}

// Scheduler runs wave schedules. Every server may run one: a run is claimed
// by inserting its (schedule, time) row, so each happens once.
type Scheduler struct {
	db    *sqlx.DB
	log   *slog.Logger
	table *cronTable
}

// NewScheduler makes a scheduler; Start runs it.
func NewScheduler(db *sqlx.DB, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.Default()
	}
	s := &Scheduler{db: db, log: log}
	s.table = newCronTable(log, time.Now, func(ctx context.Context, id int64, at time.Time) error {
		_, err := s.Run(ctx, id, at)
		return err
	})
	return s
}

// Start records runs missed while no server was up, loads the schedules,
// and runs them until ctx ends. Edits made on any server are picked up
// within a minute.
func (s *Scheduler) Start(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, qInterruptStale, "服务器在运行中停止 / the server stopped during the run"); err != nil {
		return err
	}
	if _, err := s.RecordMissed(ctx, time.Now()); err != nil {
		return err
	}
	if err := s.reload(ctx); err != nil {
		return err
	}
	s.table.loop(ctx, func() {
		if err := s.reload(ctx); err != nil {
			s.log.Error("reload schedules", "err", err)
		}
	})
	return nil
}

// reload brings the cron entries in line with the stored schedules.
func (s *Scheduler) reload(ctx context.Context) error {
	ss, err := ListSchedules(ctx, s.db)
	if err != nil {
		return err
	}
	jobs := make([]cronJob, len(ss))
	for i, sc := range ss {
		jobs[i] = cronJob{ID: sc.ID, Name: sc.Name, Spec: sc.Spec, Enabled: sc.Enabled}
	}
	s.table.sync(jobs)
	return nil
}

// RunResult says what a run did.
type RunResult struct {
	Claimed bool // false: another server ran (or is running) it
	Wave    string
	Report  *DrawReport
}

// Run performs the run of a schedule at a scheduled time: it creates the
// wave and draws it, releasing its cases to the dialer. It does nothing if
// another server has claimed that run.
func (s *Scheduler) Run(ctx context.Context, scheduleID int64, at time.Time) (RunResult, error) {
	var res RunResult
	var sc Schedule
	if err := s.db.GetContext(ctx, &sc, qGetSchedule, scheduleID); err != nil {
		return res, fmt.Errorf("sampler: schedule %d: %w", scheduleID, err)
	}
	var runID int64
	err := s.db.GetContext(ctx, &runID, qClaimRun, scheduleID, at)
	if errors.Is(err, sql.ErrNoRows) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("sampler: claim run: %w", err)
	}
	res.Claimed = true
	res.Wave = fmt.Sprintf("%s-%s", sc.Name, at.In(core.Shanghai).Format("20060102-1504"))
	res.Report, err = s.createAndDraw(ctx, sc, res.Wave)
	status, msg := "ok", any(nil)
	if err != nil {
		status, msg = "failed", err.Error()
	}
	if _, ferr := s.db.ExecContext(context.WithoutCancel(ctx), qFinishRun, runID, status, res.Wave, msg); ferr != nil && err == nil {
		err = ferr
	}
	return res, err
}

func (s *Scheduler) createAndDraw(ctx context.Context, sc Schedule, name string) (*DrawReport, error) {
	var qid int64
	if err := s.db.GetContext(ctx, &qid, `SELECT coalesce(max(id), 0) FROM questionnaires`); err != nil {
		return nil, err
	}
	if _, err := CreateWave(ctx, s.db, WaveSpec{Name: name, Rate: sc.Rate, MinPerDistrict: sc.MinPerDistrict,
		ExpectedRate: sc.ExpectedRate, Modes: sc.Modes, QuestionnaireID: qid}); err != nil {
		return nil, err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	return Draw(ctx, s.db, name, n.Int64()+1)
}

// RecordMissed records, for every enabled schedule, the scheduled times
// between its last run (or its creation) and now that no server ran, as
// 'missed' runs for an admin to see. It returns how many it recorded.
func (s *Scheduler) RecordMissed(ctx context.Context, now time.Time) (int, error) {
	ss, err := ListSchedules(ctx, s.db)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sc := range ss {
		if !sc.Enabled {
			continue
		}
		cs, err := ParseSpec(sc.Spec)
		if err != nil {
			continue
		}
		var last *time.Time
		if err := s.db.GetContext(ctx, &last, qLastRun, sc.ID); err != nil {
			return n, err
		}
		from := sc.UpdatedAt
		if last != nil && last.After(from) {
			from = *last
		}
		// A run due in the last minute may still be starting on another
		// server; it is not missed yet.
		for t, k := cs.Next(from.In(core.Shanghai)), 0; t.Before(now.Add(-time.Minute)) && k < 1000; t, k = cs.Next(t), k+1 {
			res, err := s.db.ExecContext(ctx, qRecordMissedRun, sc.ID, t, "服务器未运行,错过了这次定时抽样 / no server was running at the scheduled time")
			if err != nil {
				return n, err
			}
			if c, _ := res.RowsAffected(); c > 0 {
				n++
				s.log.Warn("missed scheduled run", "schedule", sc.Name, "at", t)
			}
		}
	}
	return n, nil
}
