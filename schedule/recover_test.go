package schedule

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/export"
	"minyi/sampler"
	"minyi/sql/pgtest"
)

// syncBuffer is a log sink that several goroutines may write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLog() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

func audited(t *testing.T, db *sqlx.DB, action, subjectLike string) int {
	t.Helper()
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM audit_log WHERE action = $1 AND subject LIKE $2`, action, subjectLike); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPanicInScheduledWaveIsCaught: a draw that panics fails its run with
// the reason, is logged with its stack and audited, and the scheduler (and
// the process) carry on.
func TestPanicInScheduledWaveIsCaught(t *testing.T) {
	db := smallCity(t)
	ctx := context.Background()
	sc, err := SaveWaveSchedule(ctx, db, WaveSchedule{Name: "monthly", Spec: "0 2 1 * *", Rate: 0.002, ExpectedRate: 0.5, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	log, buf := testLog()
	s := NewWaveScheduler(db, log)
	s.draw = func(context.Context, *sqlx.DB, string, int64) (*sampler.DrawReport, error) { panic("frame on fire") }
	_, err = s.Run(ctx, sc.ID, time.Date(2026, 12, 1, 2, 0, 0, 0, core.Shanghai))
	var p *PanicError
	if !errors.As(err, &p) {
		t.Fatalf("run error %v, want a caught panic", err)
	}
	runs, _ := ListWaveRuns(ctx, db, 10)
	if len(runs) != 1 || runs[0].Status != "failed" || !strings.Contains(runs[0].Error, "frame on fire") || !strings.Contains(runs[0].Error, "内部错误") {
		t.Fatalf("runs %+v", runs)
	}
	if !strings.Contains(buf.String(), "frame on fire") || !strings.Contains(buf.String(), "goroutine") {
		t.Fatalf("log has no panic with its stack: %s", buf.String())
	}
	if audited(t, db, "panic", "monthly@%") != 1 {
		t.Fatal("the panic was not audited")
	}
	// The next month runs normally.
	s.draw = sampler.Draw
	if res, err := s.Run(ctx, sc.ID, time.Date(2027, 1, 1, 2, 0, 0, 0, core.Shanghai)); err != nil || !res.Claimed {
		t.Fatalf("next run: %+v %v", res, err)
	}
}

// TestPanicInScheduledExportIsCaughtAndRetried: a scheduled export that
// panics fails its run (to be retried), logged and audited.
func TestPanicInScheduledExportIsCaughtAndRetried(t *testing.T) {
	db, sc := exportCity(t)
	ctx := context.Background()
	log, buf := testLog()
	s := NewExportScheduler(db, t.TempDir(), log)
	s.write = func(context.Context, *sqlx.DB, []export.Request, string, map[string]any) ([]export.File, error) {
		var files []export.File
		return files[:1], nil // out of range: a real runtime panic
	}
	at := time.Date(2026, 11, 30, 6, 0, 0, 0, core.Shanghai)
	if _, err := s.Run(ctx, sc.ID, at); err == nil {
		t.Fatal("a panicking run succeeded")
	}
	runs, _ := ListExportRuns(ctx, db, 10)
	if len(runs) != 1 || runs[0].Status != "failed" || !strings.Contains(runs[0].Error, "out of range") || runs[0].NextAttemptAt == nil {
		t.Fatalf("runs %+v", runs)
	}
	if !strings.Contains(buf.String(), "out of range") || audited(t, db, "panic", "office@%") != 1 {
		t.Fatalf("panic not logged and audited: %s", buf.String())
	}
}

// TestCronRecoversEscapedPanics: the cron runs every job under
// cron.Recover, so even a panic outside a run's own guard is logged and the
// cron goes on to its next job.
func TestCronRecoversEscapedPanics(t *testing.T) {
	log, buf := testLog()
	ran := make(chan struct{}, 4)
	tab := newCronTable(log, time.Now, func(context.Context, int64, time.Time) error {
		ran <- struct{}{}
		panic("escaped")
	})
	tab.sync([]cronJob{{ID: 1, Name: "every-second", Spec: "@every 1s", Enabled: true}})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := tab.loop(ctx, func() {})
	for range 2 {
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatal("the job did not run again after its panic")
		}
	}
	cancel()
	<-stopped
	if !strings.Contains(buf.String(), "escaped") {
		t.Fatalf("the panic was not logged: %s", buf.String())
	}
}

// TestJobPanicFailsTheJob: a background job that panics is marked failed
// with the reason, logged and audited; the process carries on.
func TestJobPanicFailsTheJob(t *testing.T) {
	db := openDB(t)
	log, buf := testLog()
	jobs := NewJobs(context.Background(), db, t.TempDir(), log)
	id, err := jobs.Start(context.Background(), JobSpec{Kind: "draw", Subject: "w"}, func(context.Context, *Run) (string, error) {
		panic("index out of range")
	})
	if err != nil {
		t.Fatal(err)
	}
	jobs.Wait(context.Background())
	j, err := GetJob(context.Background(), db, id)
	if err != nil || j.Status != "failed" || !strings.Contains(j.Error, "index out of range") {
		t.Fatalf("job %+v %v", j, err)
	}
	if !strings.Contains(buf.String(), "index out of range") || audited(t, db, "panic", "draw #%") != 1 {
		t.Fatalf("panic not logged and audited: %s", buf.String())
	}
}

// TestJobsStopOnShutdown: when the server's context ends a running job is
// told to stop, recorded as stopped by the shutdown, and Wait returns; its
// files are gone.
func TestJobsStopOnShutdown(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	ctx, shutdown := context.WithCancel(context.Background())
	jobs := NewJobs(ctx, db, dir, nil)
	started := make(chan *Run)
	id, err := jobs.Start(context.Background(), JobSpec{Kind: "frame-phone", Subject: "big.csv", Input: strings.NewReader("phone\n13900000000\n")},
		func(ctx context.Context, run *Run) (string, error) {
			started <- run
			<-ctx.Done() // a long import, interrupted
			return "", ctx.Err()
		})
	if err != nil {
		t.Fatal(err)
	}
	run := <-started
	if b, err := os.ReadFile(run.Input); err != nil || !strings.HasPrefix(string(b), "phone") {
		t.Fatalf("the job's input: %q %v", b, err)
	}
	shutdown()
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := jobs.Wait(wctx); err != nil {
		t.Fatal("jobs did not stop:", err)
	}
	j, _ := GetJob(context.Background(), db, id)
	if j.Status != "failed" || !strings.Contains(j.Error, "server shut down") {
		t.Fatalf("job %+v", j)
	}
	if _, err := os.Stat(filepath.Dir(run.Input)); !os.IsNotExist(err) {
		t.Fatalf("the job's files are still there: %v", err)
	}
}

// TestJobLeftRunningByACrashIsFailed: a job whose server died (its row
// says running, no server holds its lock) is marked failed with the reason
// at the next start and its files are removed; a job another live server
// is running is left alone, with its files.
func TestJobLeftRunningByACrashIsFailed(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	dir := t.TempDir()
	// A live server runs a job: its lock is held.
	live := NewJobs(ctx, db, dir, nil)
	release := make(chan struct{})
	liveID, err := live.Start(ctx, JobSpec{Kind: "draw", Subject: "w", Input: strings.NewReader("x")}, func(ctx context.Context, _ *Run) (string, error) {
		<-release
		return "done", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A crashed server left a job running, and its upload behind.
	var deadID int64
	if err := db.Get(&deadID, `INSERT INTO jobs (kind, subject) VALUES ('frame-phone', 'census.csv') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	deadDir := filepath.Join(dir, itoa(deadID))
	os.MkdirAll(deadDir, 0o700)
	os.WriteFile(filepath.Join(deadDir, "input"), []byte("phone\n"), 0o600)
	stray := filepath.Join(dir, "99999999")
	os.MkdirAll(stray, 0o700)

	n, err := NewJobs(ctx, db, dir, nil).Recover(ctx)
	if err != nil || n != 1 {
		t.Fatalf("recovered %d: %v", n, err)
	}
	dead, _ := GetJob(ctx, db, deadID)
	if dead.Status != "failed" || !strings.Contains(dead.Error, "服务器在任务运行中停止") || dead.FinishedAt == nil {
		t.Fatalf("crashed job %+v", dead)
	}
	for _, gone := range []string{deadDir, stray} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s was not removed: %v", gone, err)
		}
	}
	if j, _ := GetJob(ctx, db, liveID); j.Status != "running" {
		t.Fatalf("a live server's job was marked %s", j.Status)
	}
	if _, err := os.Stat(filepath.Join(dir, itoa(liveID), "input")); err != nil {
		t.Fatalf("a live job's files were removed: %v", err)
	}
	close(release)
	live.Wait(ctx)
	if j, _ := GetJob(ctx, db, liveID); j.Status != "ok" {
		t.Fatalf("live job ended %s", j.Status)
	}
}

// TestCatchUpRule: the one rule for both schedulers — times after from and
// over a minute ago, at most maxMissed of the latest, oldest first.
func TestCatchUpRule(t *testing.T) {
	hourly, _ := ParseSpec("0 * * * *")
	from := time.Date(2026, 11, 30, 0, 30, 0, 0, core.Shanghai)
	now := time.Date(2026, 11, 30, 3, 0, 30, 0, core.Shanghai) // 03:00 is under a minute ago
	got := missedTimes(hourly, from, now)
	if len(got) != 2 || got[0].Hour() != 1 || got[1].Hour() != 2 {
		t.Fatalf("missed %v", got)
	}
	everyMinute, _ := ParseSpec("* * * * *")
	now = from.Add(48 * time.Hour)
	got = missedTimes(everyMinute, from, now)
	if len(got) != maxMissed || !got[len(got)-1].Equal(now.Add(-2*time.Minute).Truncate(time.Minute)) || !got[0].Before(got[1]) {
		t.Fatalf("%d missed, last %v", len(got), got[len(got)-1])
	}
	// Ten years of downtime on a per-minute spec: still the latest.
	got = missedTimes(everyMinute, from.AddDate(-10, 0, 0), now)
	if len(got) != maxMissed || !got[len(got)-1].Equal(now.Add(-2*time.Minute).Truncate(time.Minute)) {
		t.Fatalf("%d missed, last %v", len(got), got[len(got)-1])
	}
	// A yearly spec: the window grows back to from.
	yearly, _ := ParseSpec("0 0 1 1 *")
	got = missedTimes(yearly, time.Date(2020, 6, 1, 0, 0, 0, 0, core.Shanghai), now)
	if len(got) != 6 || got[0].Year() != 2021 || got[5].Year() != 2026 {
		t.Fatalf("yearly missed %v", got)
	}
}

func openDB(t *testing.T) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
