package schedule

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sampler"
	"minyi/sql/pgtest"
	"minyi/survey"
)

// smallCity is a database with three districts, a telephone frame with
// district hints and the default questionnaire.
func smallCity(t *testing.T) *sqlx.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlx.Open("postgres", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ds := []sampler.District{{Code: "500101", Name: "万州区", Population: 5000}, {Code: "500102", Name: "涪陵区", Population: 3000}, {Code: "500103", Name: "渝中区", Population: 2000}}
	if _, err := sampler.SaveDistricts(ctx, db, ds); err != nil {
		t.Fatal(err)
	}
	phones, err := sampler.SyntheticPhones(3, 300)
	if err != nil {
		t.Fatal(err)
	}
	var es []sampler.PhoneEntry
	for i, p := range phones {
		es = append(es, sampler.PhoneEntry{Phone: p, District: ds[i%3].Code})
	}
	if _, err := sampler.AddPhones(ctx, db, es); err != nil {
		t.Fatal(err)
	}
	if _, err := survey.SaveQuestionnaire(ctx, db, survey.Default()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestParseSpec(t *testing.T) {
	if _, err := ParseSpec("0 2 1 * *"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSpec("@monthly"); err != nil {
		t.Fatal(err)
	}
	_, err := ParseSpec("every month")
	if err == nil || !strings.Contains(err.Error(), "定时规则") || !strings.Contains(err.Error(), "not a valid cron spec") {
		t.Fatalf("bad spec: %v", err)
	}
	// 02:00 on the first of the month is 02:00 in core.Shanghai, whatever the
	// server's zone.
	cs, _ := ParseSpec("0 2 1 * *")
	next := cs.Next(time.Date(2026, 11, 27, 12, 0, 0, 0, core.Shanghai))
	if want := time.Date(2026, 12, 1, 2, 0, 0, 0, core.Shanghai); !next.Equal(want) {
		t.Fatalf("next run %v, want %v", next, want)
	}
}

// TestScheduledRunHappensOnce runs the same scheduled time on four
// "servers" at once: one creates and draws the wave, the others do nothing.
func TestScheduledRunHappensOnce(t *testing.T) {
	db := smallCity(t)
	ctx := context.Background()
	sc, err := SaveWaveSchedule(ctx, db, WaveSchedule{Name: "monthly", Spec: "0 2 1 * *", Rate: 0.002, MinPerDistrict: 2, ExpectedRate: 0.5, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 2, 0, 0, 0, core.Shanghai)
	var wg sync.WaitGroup
	results := make([]WaveRunResult, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = NewWaveScheduler(db, nil).Run(ctx, sc.ID, at)
		}(i)
	}
	wg.Wait()
	claimed := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("server %d: %v", i, errs[i])
		}
		if r.Claimed {
			claimed++
			if r.Wave != "monthly-20261201-0200" || r.Report == nil || r.Report.Target != 20 {
				t.Fatalf("run: %+v", r)
			}
		}
	}
	if claimed != 1 {
		t.Fatalf("%d servers ran the same scheduled time", claimed)
	}
	var waves, cases int
	db.Get(&waves, `SELECT count(*) FROM waves`)
	db.Get(&cases, `SELECT count(*) FROM cases`)
	if waves != 1 || cases == 0 {
		t.Fatalf("%d waves and %d cases after the run", waves, cases)
	}
	runs, err := ListWaveRuns(ctx, db, 10)
	if err != nil || len(runs) != 1 || runs[0].Status != "ok" || runs[0].WaveName != "monthly-20261201-0200" {
		t.Fatalf("history %+v %v", runs, err)
	}
}

func TestFailedRunIsRecorded(t *testing.T) {
	db := smallCity(t)
	ctx := context.Background()
	sc, err := SaveWaveSchedule(ctx, db, WaveSchedule{Name: "weekly", Spec: "0 3 * * 1", Rate: 0.5, ExpectedRate: 1, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	// Someone already made a wave of the name the run would use: the run
	// fails, and the failure is kept with its reason.
	if _, err := sampler.CreateWave(ctx, db, sampler.WaveSpec{Name: "weekly-20261130-0300", Rate: 0.002}); err != nil {
		t.Fatal(err)
	}
	_, runErr := NewWaveScheduler(db, nil).Run(ctx, sc.ID, time.Date(2026, 11, 30, 3, 0, 0, 0, core.Shanghai))
	if runErr == nil {
		t.Fatal("the run did not fail")
	}
	runs, _ := ListWaveRuns(ctx, db, 10)
	if len(runs) != 1 {
		t.Fatalf("runs %+v", runs)
	}
	if runs[0].Status != "failed" || runs[0].Error == "" {
		t.Fatalf("failed run recorded as %+v", runs[0])
	}
}

func TestMissedRunsAreReported(t *testing.T) {
	db := smallCity(t)
	ctx := context.Background()
	sc, err := SaveWaveSchedule(ctx, db, WaveSchedule{Name: "monthly", Spec: "0 2 1 * *", Rate: 0.002, ExpectedRate: 0.5, Enabled: true, Modes: pq.StringArray{"phone"}})
	if err != nil {
		t.Fatal(err)
	}
	// The schedule was set up in August and no server ran since.
	db.Exec(`UPDATE wave_schedules SET updated_at = $1 WHERE id = $2`, time.Date(2026, 8, 15, 0, 0, 0, 0, core.Shanghai), sc.ID)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, core.Shanghai)
	s := NewWaveScheduler(db, nil)
	n, err := s.RecordMissed(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 { // 1 September, October and November
		t.Fatalf("%d missed runs recorded, want 3", n)
	}
	if n, _ := s.RecordMissed(ctx, now); n != 0 {
		t.Fatalf("missed runs recorded twice: %d", n)
	}
	runs, _ := ListWaveRuns(ctx, db, 10)
	if len(runs) != 3 || runs[0].Status != "missed" || !runs[0].ScheduledFor.Equal(time.Date(2026, 11, 1, 2, 0, 0, 0, core.Shanghai)) {
		t.Fatalf("history %+v", runs)
	}
}
