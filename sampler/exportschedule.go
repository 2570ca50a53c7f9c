package sampler

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sql/pg"
	"minyi/survey"
	"minyi/survey/csvfile"
)

// ExportSchedule writes a wave's export files into the outbox on a cron
// spec, in core.Shanghai time.
type ExportSchedule struct {
	ID        int64          `db:"id"`
	Name      string         `db:"name"`
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

// Next returns the schedule's next run after t, in core.Shanghai time.
func (s *ExportSchedule) Next(t time.Time) time.Time {
	cs, err := ParseSpec(s.Spec)
	if err != nil {
		return time.Time{}
	}
	return cs.Next(t.In(core.Shanghai))
}

// ExportFile is one file a run wrote, as listed in its manifest.
type ExportFile struct {
	File   string `json:"file"`
	Kind   string `json:"kind"`
	Rows   int    `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ExportRun is one scheduled time of an export schedule and its outcome.
type ExportRun struct {
	ID            int64      `db:"id"`
	Schedule      string     `db:"schedule"`
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
func (r *ExportRun) Files() []ExportFile {
	var fs []ExportFile
	json.Unmarshal(r.FilesJSON, &fs)
	return fs
}

// ManifestName is the file of a run's directory that lists the others.
const ManifestName = "manifest.csv"

// ManifestHeader is the manifest's header: every file with its data rows,
// size and SHA-256, so that the receiver can check what arrived.
var ManifestHeader = []string{"file", "rows", "bytes", "sha256"}

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
// existing schedule of that name is changed). kinds are the export kinds
// that exist.
func SaveExportSchedule(ctx context.Context, db *sqlx.DB, s ExportSchedule, kinds []string) (*ExportSchedule, error) {
	if !scheduleName.MatchString(s.Name) {
		return nil, core.Errorf(core.EInvalid, "名称只能用字母、数字和 _ . -,最长 60 个字符", "the name may use letters, digits and _ . - (at most 60)")
	}
	if _, err := ParseSpec(s.Spec); err != nil {
		return nil, err
	}
	if len(s.Kinds) == 0 {
		return nil, core.Errorf(core.EInvalid, "请至少选择一种文件", "choose at least one kind of file")
	}
	for _, k := range s.Kinds {
		if !slices.Contains(kinds, k) {
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
	w, err := GetWave(ctx, db, s.Wave)
	if err != nil {
		return nil, err
	}
	var id int64
	if err := db.GetContext(ctx, &id, qUpsertExportSchedule, s.Name, w.ID, pq.StringArray(s.Kinds), strings.TrimSpace(s.Spec), string(enc), s.MinCell, s.Enabled); err != nil {
		return nil, fmt.Errorf("sampler: save export schedule: %w", err)
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
	db        *sqlx.DB
	log       *slog.Logger
	outbox    string
	exporters map[string]survey.ExportFunc
	table     *cronTable

	// MaxAttempts is how many times a run is tried before it is left
	// failed for an admin to see; Backoff is the wait before attempt n+1.
	MaxAttempts int
	Backoff     func(attempt int) time.Duration
	// Now is the clock, for tests.
	Now func() time.Time
}

// NewExportScheduler makes a scheduler writing into outbox with the given
// exporters; Start runs it.
func NewExportScheduler(db *sqlx.DB, outbox string, exporters map[string]survey.ExportFunc, log *slog.Logger) *ExportScheduler {
	if log == nil {
		log = slog.Default()
	}
	s := &ExportScheduler{db: db, log: log, outbox: outbox, exporters: exporters,
		MaxAttempts: 5, Backoff: func(n int) time.Duration { return time.Minute << min(n-1, 10) }, Now: time.Now}
	s.table = newCronTable(log, func() time.Time { return s.Now() }, func(ctx context.Context, id int64, at time.Time) error {
		_, err := s.Run(ctx, id, at)
		return err
	})
	return s
}

// Start loads the schedules and runs them until ctx ends; edits made on any
// server are picked up, and failed runs retried, within a minute.
func (s *ExportScheduler) Start(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, qInterruptExportRuns, "服务器在运行中停止 / the server stopped during the run"); err != nil {
		return err
	}
	if err := s.reload(ctx); err != nil {
		return err
	}
	go func() {
		if _, err := s.CatchUp(ctx); err != nil {
			s.log.Error("catch up on scheduled exports", "err", err)
		}
	}()
	s.table.loop(ctx, func() {
		if err := s.reload(ctx); err != nil {
			s.log.Error("reload export schedules", "err", err)
		}
		if _, err := s.RetryDue(ctx); err != nil {
			s.log.Error("retry exports", "err", err)
		}
	})
	return nil
}

func (s *ExportScheduler) reload(ctx context.Context) error {
	ss, err := ListExportSchedules(ctx, s.db)
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
		return false, fmt.Errorf("sampler: claim export run: %w", err)
	}
	return true, s.perform(ctx, scheduleID, run.ID, run.Attempts, at)
}

// CatchUp runs, for every enabled schedule, the latest of its scheduled
// times that passed while no server was running, and returns how many it
// ran. Only the latest: its files supersede those the earlier times would
// have written, and the office is waiting for them. A time due in the last
// minute may still be starting on another server and is left to it.
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
		var latest time.Time
		for t, k := cs.Next(from.In(core.Shanghai)), 0; !t.IsZero() && t.Before(now.Add(-time.Minute)) && k < 100000; t, k = cs.Next(t), k+1 {
			latest = t
		}
		if latest.IsZero() {
			continue
		}
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
	var files []ExportFile
	if err == nil {
		dir, files, err = s.write(ctx, sc, at)
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

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var unsafePath = regexp.MustCompile(`[^\p{L}\p{N}_.-]`)

// RunDir is where a run's files go: outbox/<wave>/<yyyymmdd-hhmm>, the time
// in core.Shanghai. Characters of the wave name that a path cannot carry safely
// become _.
func RunDir(outbox, wave string, at time.Time) string {
	w := unsafePath.ReplaceAllString(wave, "_")
	if strings.Trim(w, ".") == "" {
		w = "_" + w
	}
	return filepath.Join(outbox, w, at.In(core.Shanghai).Format("20060102-1504"))
}

// write writes every file of the schedule and the manifest into a hidden
// directory beside the run's and then renames it, so that the office never
// picks up half a run.
func (s *ExportScheduler) write(ctx context.Context, sc ExportSchedule, at time.Time) (string, []ExportFile, error) {
	dir := RunDir(s.outbox, sc.Wave, at)
	if _, err := os.Stat(dir); err == nil {
		return "", nil, fmt.Errorf("目录 %s 已存在 / directory %s already exists", dir, dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+"-*")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(tmp) // gone after the rename; otherwise the debris of a failed run
	enc, err := csvfile.ParseEncoding(sc.Encoding)
	if err != nil {
		return "", nil, err
	}
	opt := survey.ExportOptions{MinCell: sc.MinCell}
	var files []ExportFile
	for _, kind := range sc.Kinds {
		ex, ok := s.exporters[kind]
		if !ok {
			return "", nil, fmt.Errorf("没有 %q 这种导出文件 / there is no export kind %q", kind, kind)
		}
		f := ExportFile{File: kind + "-" + unsafePath.ReplaceAllString(sc.Wave, "_") + ".csv", Kind: kind}
		if err := writeFile(filepath.Join(tmp, f.File), func(w io.Writer) (int, error) {
			cw, err := csvfile.NewWriter(w, enc)
			if err != nil {
				return 0, err
			}
			n, err := ex(ctx, s.db, sc.Wave, cw, opt)
			if err == nil {
				err = cw.Flush()
			}
			return n, err
		}, &f); err != nil {
			return "", nil, fmt.Errorf("%s: %w", f.File, err)
		}
		files = append(files, f)
	}
	m := ExportFile{File: ManifestName}
	if err := writeFile(filepath.Join(tmp, ManifestName), func(w io.Writer) (int, error) {
		cw, err := csvfile.NewWriter(w, csvfile.UTF8)
		if err != nil {
			return 0, err
		}
		cw.Write(ManifestHeader)
		for _, f := range files {
			cw.Write([]string{f.File, strconv.Itoa(f.Rows), strconv.FormatInt(f.Bytes, 10), f.SHA256})
		}
		return len(files), cw.Flush()
	}, &m); err != nil {
		return "", nil, err
	}
	if err := syncDir(tmp); err != nil {
		return "", nil, err
	}
	// Audited before the files appear, as minyi export does, so that no
	// file reaches the office unrecorded.
	for _, f := range files {
		if err := core.AuditNow(context.WithoutCancel(ctx), s.db, core.AuditEntry{Actor: "minyi scheduled export", Action: "export",
			Subject: f.Kind + ":" + sc.Wave, Details: map[string]any{"file": filepath.Join(dir, f.File), "rows": f.Rows, "sha256": f.SHA256,
				"encoding": enc, "min_cell": sc.MinCell, "schedule": sc.Name, "via": "schedule"}}); err != nil {
			return "", nil, err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", nil, err
	}
	syncDir(filepath.Dir(dir))
	return dir, files, nil
}

// writeFile creates name, fills it with body through a SHA-256 and a byte
// count, syncs it to disk and records rows, size and hash in f.
func writeFile(name string, body func(io.Writer) (int, error), f *ExportFile) error {
	out, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(out, h)}
	n, err := body(cw)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	f.Rows, f.Bytes, f.SHA256 = n, cw.n, hex.EncodeToString(h.Sum(nil))
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
