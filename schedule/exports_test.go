package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
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
)

// exportCity is smallCity with a wave of 12 interviews and an export
// schedule of its codebook and microdata.
func exportCity(t *testing.T) (*sqlx.DB, *ExportSchedule) {
	t.Helper()
	ctx := context.Background()
	db := smallCity(t)
	var qid int64
	if err := db.Get(&qid, `SELECT max(id) FROM questionnaires`); err != nil {
		t.Fatal(err)
	}
	w, err := sampler.CreateWave(ctx, db, sampler.WaveSpec{Name: "2026-11", Rate: 0.002, QuestionnaireID: qid})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		if _, err := db.Exec(`INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, answers, source)
			VALUES ($1, $2, $3, 'phone', $4, 'import')`, w.ID, qid, []string{"500101", "500102", "500103"}[i%3],
			fmt.Sprintf(`{"sex": "%d", "age_group": "%d", "q01": "%d", "q02": "8"}`, 1+i%2, 1+i%5, 1+i%5)); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := SaveExportSchedule(ctx, db, ExportSchedule{Name: "office", Wave: "2026-11", Kinds: []string{"codebook", "responses"},
		Spec: "0 6 * * 1", Encoding: "gb18030", MinCell: 10, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return db, sc
}

// readManifest reads a run's manifest into file → [rows, bytes, sha256].
func readManifest(t *testing.T, dir string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, export.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "file,rows,bytes,sha256" {
		t.Fatalf("manifest header %v", recs[0])
	}
	m := map[string][]string{}
	for _, r := range recs[1:] {
		m[r[0]] = r[1:]
	}
	return m
}

// TestScheduledExportWritesFilesWithManifest: a run writes each file into
// outbox/<wave>/<time>/, and the manifest's rows, sizes and SHA-256 are
// those of the files on disk; nothing half-written is left beside it; the
// run, its files and the audit entries are recorded.
func TestScheduledExportWritesFilesWithManifest(t *testing.T) {
	ctx := context.Background()
	db, sc := exportCity(t)
	outbox := t.TempDir()
	s := NewExportScheduler(db, outbox, nil)
	at := time.Date(2026, 11, 30, 6, 0, 0, 0, core.Shanghai)
	claimed, err := s.Run(ctx, sc.ID, at)
	if err != nil || !claimed {
		t.Fatalf("run: %v %v", claimed, err)
	}
	dir := filepath.Join(outbox, "2026-11", "20261130-0600")
	m := readManifest(t, dir)
	// The responses come with their value labels and SPSS syntax.
	if len(m) != 4 || m["responses-2026-11-gb18030.csv"][0] != "12" || m["value-labels-2026-11-gb18030.csv"] == nil || m["responses-2026-11-gb18030.sps"] == nil {
		t.Fatalf("manifest %v", m)
	}
	for name, rec := range m {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != rec[2] || strconv.Itoa(len(b)) != rec[1] {
			t.Errorf("%s: manifest says %v, file has %d bytes and hash %x", name, rec, len(b), sum)
		}
		if strings.HasPrefix(string(b), "\ufeff") {
			t.Errorf("%s: a GB18030 file with a UTF-8 byte-order mark", name)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(outbox, "2026-11"))
	if len(entries) != 1 {
		t.Fatalf("outbox holds %d entries, want only the run's directory", len(entries))
	}
	runs, err := ListExportRuns(ctx, db, 10)
	if err != nil || len(runs) != 1 || runs[0].Status != "ok" || runs[0].Directory != dir || len(runs[0].Files()) != 4 || runs[0].Files()[1].Rows != 12 {
		t.Fatalf("runs: %v %+v", err, runs)
	}
	var audited int
	db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'export' AND actor = 'minyi scheduled export' AND details->>'schedule' = 'office'`)
	if audited != 4 {
		t.Fatalf("%d audit entries, want one per file", audited)
	}
}

// TestScheduledExportRunsOnceAcrossServers: two schedulers (two servers)
// firing at the same minute produce one run and one directory.
func TestScheduledExportRunsOnceAcrossServers(t *testing.T) {
	ctx := context.Background()
	db, sc := exportCity(t)
	outbox := t.TempDir()
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, core.Shanghai)
	var wg sync.WaitGroup
	claims := make([]bool, 2)
	errs := make([]error, 2)
	for i := range claims {
		s := NewExportScheduler(db, outbox, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			claims[i], errs[i] = s.Run(ctx, sc.ID, at)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || claims[0] == claims[1] {
		t.Fatalf("claims %v, errors %v", claims, errs)
	}
	var n int
	db.Get(&n, `SELECT count(*) FROM export_runs`)
	entries, _ := os.ReadDir(filepath.Join(outbox, "2026-11"))
	if n != 1 || len(entries) != 1 {
		t.Fatalf("%d runs and %d directories, want 1 and 1", n, len(entries))
	}
}

// TestFailedScheduledExportIsRetried: a run into an outbox that cannot be
// written fails visibly, with its error and the time of the next attempt;
// it is not retried early, is retried once due, and succeeds when the
// outbox is writable again. After the last attempt a failure stays.
func TestFailedScheduledExportIsRetried(t *testing.T) {
	ctx := context.Background()
	db, sc := exportCity(t)
	base := t.TempDir()
	blocker := filepath.Join(base, "outbox")
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 6, 0, 0, 0, core.Shanghai)
	s := NewExportScheduler(db, blocker, nil)
	s.Now = func() time.Time { return now }
	if _, err := s.Run(ctx, sc.ID, now); err == nil {
		t.Fatal("a run into an unwritable outbox succeeded")
	}
	runs, _ := ListExportRuns(ctx, db, 10)
	if len(runs) != 1 || runs[0].Status != "failed" || !strings.Contains(runs[0].Error, "not a directory") || runs[0].Attempts != 1 ||
		runs[0].NextAttemptAt == nil || !runs[0].NextAttemptAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("failed run: %+v", runs)
	}
	if n, err := s.RetryDue(ctx); n != 0 || err != nil {
		t.Fatalf("retried before it was due: %d %v", n, err)
	}
	// Still unwritable at the second attempt: the wait doubles.
	now = now.Add(time.Minute)
	if n, err := s.RetryDue(ctx); n != 1 || err == nil {
		t.Fatalf("second attempt: %d %v", n, err)
	}
	runs, _ = ListExportRuns(ctx, db, 10)
	if runs[0].Attempts != 2 || !runs[0].NextAttemptAt.Equal(now.Add(2*time.Minute)) {
		t.Fatalf("after the second attempt: %+v", runs[0])
	}
	// The outbox is repaired; the third attempt writes the files.
	os.Remove(blocker)
	now = now.Add(2 * time.Minute)
	if n, err := s.RetryDue(ctx); n != 1 || err != nil {
		t.Fatalf("third attempt: %d %v", n, err)
	}
	runs, _ = ListExportRuns(ctx, db, 10)
	if runs[0].Status != "ok" || runs[0].Attempts != 3 || runs[0].NextAttemptAt != nil || runs[0].Error != "" {
		t.Fatalf("after the repair: %+v", runs[0])
	}
	if m := readManifest(t, runs[0].Directory); len(m) != 4 {
		t.Fatalf("manifest %v", m)
	}

	// With attempts exhausted the failure stays for an admin to see.
	s.MaxAttempts = 1
	s2 := NewExportScheduler(db, filepath.Join(runs[0].Directory, export.ManifestName), nil)
	s2.MaxAttempts, s2.Now = 1, s.Now
	if _, err := s2.Run(ctx, sc.ID, now.Add(time.Hour)); err == nil {
		t.Fatal("run under a file succeeded")
	}
	runs, _ = ListExportRuns(ctx, db, 10)
	if runs[0].Status != "failed" || runs[0].NextAttemptAt != nil {
		t.Fatalf("last attempt: %+v", runs[0])
	}
	now = now.Add(48 * time.Hour)
	if n, _ := s2.RetryDue(ctx); n != 0 {
		t.Fatal("a run was retried after its last attempt")
	}
}

func TestSaveExportScheduleRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	db, _ := exportCity(t)
	good := ExportSchedule{Name: "x", Wave: "2026-11", Kinds: []string{"codebook"}, Spec: "@daily", Encoding: "utf-8", MinCell: 10}
	for _, c := range []struct {
		change func(*ExportSchedule)
		want   string
	}{
		{func(s *ExportSchedule) { s.Spec = "daily" }, "not a valid cron spec"},
		{func(s *ExportSchedule) { s.Kinds = []string{"phones"} }, `no export kind "phones"`},
		{func(s *ExportSchedule) { s.Kinds = nil }, "at least one"},
		{func(s *ExportSchedule) { s.Encoding = "latin1" }, "utf-8 or gb18030"},
		{func(s *ExportSchedule) { s.MinCell = 0 }, "at least 1"},
		{func(s *ExportSchedule) { s.Wave = "nope" }, "nope"},
		{func(s *ExportSchedule) { s.Name = "a/b" }, "letters, digits"},
	} {
		s := good
		c.change(&s)
		if _, err := SaveExportSchedule(ctx, db, s); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", s, err, c.want)
		}
	}
}

// TestMissedScheduledExportCaughtUp: times that passed while no server ran
// are caught up at start with one run, at the latest of them; a second
// start finds nothing to do.
func TestMissedScheduledExportCaughtUp(t *testing.T) {
	ctx := context.Background()
	db, _ := exportCity(t)
	// Saved on Wednesday 25 November; Mondays 06:00; now Tuesday 8 December.
	if _, err := db.Exec(`UPDATE export_schedules SET updated_at = $1`, time.Date(2026, 11, 25, 12, 0, 0, 0, core.Shanghai)); err != nil {
		t.Fatal(err)
	}
	s := NewExportScheduler(db, t.TempDir(), nil)
	s.Now = func() time.Time { return time.Date(2026, 12, 8, 9, 0, 0, 0, core.Shanghai) }
	if n, err := s.CatchUp(ctx); n != 1 || err != nil {
		t.Fatalf("caught up %d: %v", n, err)
	}
	runs, _ := ListExportRuns(ctx, db, 10)
	if len(runs) != 1 || runs[0].Status != "ok" || !runs[0].ScheduledFor.Equal(time.Date(2026, 12, 7, 6, 0, 0, 0, core.Shanghai)) {
		t.Fatalf("runs %+v", runs)
	}
	if n, err := s.CatchUp(ctx); n != 0 || err != nil {
		t.Fatalf("second catch-up ran %d: %v", n, err)
	}
}
