package sampler

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"minyi/core"

	"github.com/robfig/cron/v3"
)

// cronJob is a stored schedule as the cron table sees it.
type cronJob struct {
	ID      int64
	Name    string
	Spec    string
	Enabled bool
}

// cronTable keeps a cron's entries in line with stored schedules, for the
// wave and the export schedulers alike: one entry per enabled schedule,
// replaced when its spec changes, removed when it is gone or disabled.
type cronTable struct {
	cron *cron.Cron
	log  *slog.Logger
	now  func() time.Time
	// run performs a schedule's run at the minute it fell due.
	run func(ctx context.Context, id int64, at time.Time) error

	mu      sync.Mutex
	entries map[int64]entry
}

type entry struct {
	id   cron.EntryID
	spec string
}

func newCronTable(log *slog.Logger, now func() time.Time, run func(context.Context, int64, time.Time) error) *cronTable {
	return &cronTable{cron: cron.New(cron.WithLocation(core.Shanghai)), log: log, now: now, run: run, entries: map[int64]entry{}}
}

// sync brings the entries in line with jobs.
func (t *cronTable) sync(jobs []cronJob) {
	t.mu.Lock()
	defer t.mu.Unlock()
	keep := map[int64]bool{}
	for _, j := range jobs {
		if !j.Enabled {
			continue
		}
		keep[j.ID] = true
		e, ok := t.entries[j.ID]
		if ok && e.spec == j.Spec {
			continue
		}
		if ok {
			t.cron.Remove(e.id)
		}
		cs, err := ParseSpec(j.Spec)
		if err != nil {
			t.log.Error("bad schedule", "name", j.Name, "err", err)
			continue
		}
		id, name := j.ID, j.Name
		eid := t.cron.Schedule(cs, cron.FuncJob(func() {
			// Specs have minute resolution, so the minute is the run's
			// identity, the same on every server.
			at := t.now().In(core.Shanghai).Truncate(time.Minute)
			if err := t.run(context.Background(), id, at); err != nil {
				t.log.Error("scheduled run failed", "schedule", name, "at", at, "err", err)
			}
		}))
		t.entries[j.ID] = entry{id: eid, spec: j.Spec}
	}
	for id, e := range t.entries {
		if !keep[id] {
			t.cron.Remove(e.id)
			delete(t.entries, id)
		}
	}
}

// loop starts the cron and, every minute until ctx ends, calls tick (which
// reloads the schedules, so that edits made on any server are picked up).
func (t *cronTable) loop(ctx context.Context, tick func()) {
	t.cron.Start()
	go func() {
		tk := time.NewTicker(time.Minute)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				<-t.cron.Stop().Done()
				return
			case <-tk.C:
				tick()
			}
		}
	}()
}
