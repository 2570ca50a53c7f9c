package schedule

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sampler"
	"minyi/sql/pg"
	"minyi/survey"
)

// WaveSchedule creates and draws a wave on a cron spec.
type WaveSchedule struct {
	ID             int64          `db:"id"`
	Name           string         `db:"name"`
	Title          string         `db:"title"` // the name people read
	Spec           string         `db:"spec"`
	Rate           float64        `db:"rate"`
	MinPerDistrict int            `db:"min_per_district"`
	ExpectedRate   float64        `db:"expected_rate"`
	Modes          pq.StringArray `db:"modes"`
	Enabled        bool           `db:"enabled"`
	CreatedAt      time.Time      `db:"created_at"`
	UpdatedAt      time.Time      `db:"updated_at"`
}

func (s *WaveSchedule) cronJob() cronJob {
	return cronJob{ID: s.ID, Name: s.Name, Spec: s.Spec, Enabled: s.Enabled}
}

// Next returns the schedule's next run after t, in Beijing time.
func (s *WaveSchedule) Next(t time.Time) time.Time { return nextAfter(s.Spec, t) }

// WaveRun is one scheduled time of a wave schedule and what became of it.
type WaveRun struct {
	ID           int64      `db:"id"`
	Schedule     string     `db:"schedule"`
	Title        string     `db:"schedule_title"`
	ScheduledFor time.Time  `db:"scheduled_for"`
	Status       string     `db:"status"`
	WaveName     string     `db:"wave_name"`
	Error        string     `db:"error"`
	StartedAt    time.Time  `db:"started_at"`
	FinishedAt   *time.Time `db:"finished_at"`
}

var (
	qUpsertWaveSchedule = pg.Q("schedules/upsert")
	qListWaveSchedules  = pg.Q("schedules/list")
	qGetWaveSchedule    = pg.Q("schedules/get")
	qClaimWaveRun       = pg.Q("schedules/claim-run")
	qFinishWaveRun      = pg.Q("schedules/finish-run")
	qRecordMissedRun    = pg.Q("schedules/record-missed-run")
	qLastWaveRun        = pg.Q("schedules/last-run")
	qInterruptWaveRuns  = pg.Q("schedules/interrupt-stale-runs")
	qListWaveRuns       = pg.Q("schedules/list-runs")
)

// SaveWaveSchedule validates a schedule and stores it (by name: an existing
// schedule of that name is updated).
func SaveWaveSchedule(ctx context.Context, db *sqlx.DB, s WaveSchedule) (*WaveSchedule, error) {
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
	if err := db.GetContext(ctx, &id, qUpsertWaveSchedule, s.Name, strings.TrimSpace(s.Spec), s.Rate, s.MinPerDistrict, s.ExpectedRate, s.Modes, s.Enabled, s.Title); err != nil {
		return nil, fmt.Errorf("schedule: save wave schedule: %w", err)
	}
	var out WaveSchedule
	err := db.GetContext(ctx, &out, qGetWaveSchedule, id)
	return &out, err
}

// ListWaveSchedules returns every wave schedule.
func ListWaveSchedules(ctx context.Context, db sqlx.QueryerContext) ([]WaveSchedule, error) {
	var ss []WaveSchedule
	err := sqlx.SelectContext(ctx, db, &ss, qListWaveSchedules)
	return ss, err
}

// ListWaveRuns returns the latest runs of all wave schedules.
func ListWaveRuns(ctx context.Context, db sqlx.QueryerContext, limit int) ([]WaveRun, error) {
	var rs []WaveRun
	err := sqlx.SelectContext(ctx, db, &rs, qListWaveRuns, limit)
	return rs, err
}

// WaveScheduler runs wave schedules. Every server may run one: a run is
// claimed by inserting its (schedule, time) row, so each happens once.
type WaveScheduler struct {
	db    *sqlx.DB
	log   *slog.Logger
	table *cronTable
	// draw draws a created wave; sampler.Draw but in tests.
	draw func(ctx context.Context, db *sqlx.DB, wave string, seed int64) (*sampler.DrawReport, error)
}

// NewWaveScheduler makes a scheduler; Start runs it.
func NewWaveScheduler(db *sqlx.DB, log *slog.Logger) *WaveScheduler {
	if log == nil {
		log = slog.Default()
	}
	s := &WaveScheduler{db: db, log: log, draw: sampler.Draw}
	s.table = newCronTable(log, time.Now, func(ctx context.Context, id int64, at time.Time) error {
		_, err := s.Run(ctx, id, at)
		return err
	})
	return s
}

// Start records runs missed while no server was up, loads the schedules,
// and runs them until ctx ends; edits made on any server are picked up
// within a minute. The channel is closed when it has stopped.
func (s *WaveScheduler) Start(ctx context.Context) (<-chan struct{}, error) {
	if _, err := s.db.ExecContext(ctx, qInterruptWaveRuns, "服务器在运行中停止 / the server stopped during the run"); err != nil {
		return nil, err
	}
	if _, err := s.RecordMissed(ctx, time.Now()); err != nil {
		return nil, err
	}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	return s.table.loop(ctx, func() {
		if err := s.reload(ctx); err != nil {
			s.log.Error("reload schedules", "err", err)
		}
	}), nil
}

// reload brings the cron entries in line with the stored schedules.
func (s *WaveScheduler) reload(ctx context.Context) error {
	ss, err := ListWaveSchedules(ctx, s.db)
	if err != nil {
		return err
	}
	s.table.sync(cronJobs(ss))
	return nil
}

// WaveRunResult says what a run did.
type WaveRunResult struct {
	Claimed bool // false: another server ran (or is running) it
	Wave    string
	Report  *sampler.DrawReport
}

// Run performs the run of a schedule at a scheduled time: it creates the
// wave and draws it, releasing its cases to the dialer. It does nothing if
// another server has claimed that run.
func (s *WaveScheduler) Run(ctx context.Context, scheduleID int64, at time.Time) (WaveRunResult, error) {
	var res WaveRunResult
	var sc WaveSchedule
	if err := s.db.GetContext(ctx, &sc, qGetWaveSchedule, scheduleID); err != nil {
		return res, fmt.Errorf("schedule: wave schedule %d: %w", scheduleID, err)
	}
	var runID int64
	err := s.db.GetContext(ctx, &runID, qClaimWaveRun, scheduleID, at)
	if errors.Is(err, sql.ErrNoRows) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("schedule: claim run: %w", err)
	}
	res.Claimed = true
	res.Wave = fmt.Sprintf("%s-%s", sc.Name, at.In(core.Shanghai).Format("20060102-1504"))
	err = protect(func() error {
		rep, err := s.createAndDraw(ctx, sc, res.Wave)
		res.Report = rep
		return err
	})
	notePanic(ctx, s.db, s.log, "scheduled wave", sc.Name+"@"+at.Format(time.RFC3339), err)
	status, msg := "ok", any(nil)
	if err != nil {
		status, msg = "failed", err.Error()
	}
	if _, ferr := s.db.ExecContext(context.WithoutCancel(ctx), qFinishWaveRun, runID, status, res.Wave, msg); ferr != nil && err == nil {
		err = ferr
	}
	return res, err
}

// createAndDraw makes the run's wave with the questionnaire that waves made
// on the page and by `minyi wave create` get, and draws it.
func (s *WaveScheduler) createAndDraw(ctx context.Context, sc WaveSchedule, name string) (*sampler.DrawReport, error) {
	qid, err := survey.SaveQuestionnaire(ctx, s.db, survey.Default())
	if err != nil {
		return nil, err
	}
	if _, err := sampler.CreateWave(ctx, s.db, sampler.WaveSpec{Name: name, Rate: sc.Rate, MinPerDistrict: sc.MinPerDistrict,
		ExpectedRate: sc.ExpectedRate, Modes: sc.Modes, QuestionnaireID: qid}); err != nil {
		return nil, err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	return s.draw(ctx, s.db, name, n.Int64()+1)
}

// RecordMissed records, for every enabled schedule, the scheduled times
// that no server ran (by the catch-up rule of missedTimes) as 'missed' runs
// for an admin to see; a wave drawn late would be the wrong month's. It
// returns how many it recorded.
func (s *WaveScheduler) RecordMissed(ctx context.Context, now time.Time) (int, error) {
	ss, err := ListWaveSchedules(ctx, s.db)
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
		if err := s.db.GetContext(ctx, &last, qLastWaveRun, sc.ID); err != nil {
			return n, err
		}
		from := sc.UpdatedAt
		if last != nil && last.After(from) {
			from = *last
		}
		for _, t := range missedTimes(cs, from, now) {
			res, err := s.db.ExecContext(ctx, qRecordMissedRun, sc.ID, t, "服务器未运行，错过了这次定时抽样 / no server was running at the scheduled time")
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
