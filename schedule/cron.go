// Package schedule runs work outside requests: waves created and drawn, and
// export files written, on cron schedules in Beijing time; and background
// jobs started from a page (a draw, a frame import) with their progress.
// Every server runs it; each scheduled run happens once across servers. A
// panic in any of this work is logged, audited and marked on the run or job
// it belongs to, and never takes the server down.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/robfig/cron/v3"

	"minyi/core"
)

// ParseSpec reads a five-field cron spec ("0 2 1 * *": 02:00 on the first
// of every month) or a descriptor such as @monthly. Its error never shows
// the cron library's English: the reason is said in both languages.
func ParseSpec(spec string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, &core.Error{Code: core.EInvalid,
			ZH: fmt.Sprintf("定时规则“%s”不能指定时区：一律按北京时间运行。", spec),
			EN: fmt.Sprintf("schedule %q may not name a time zone: every schedule runs in Beijing time", spec)}
	}
	cs, err := cron.ParseStandard(spec)
	if err != nil {
		why := cronReason(err)
		return nil, &core.Error{Code: core.EInvalid,
			ZH: fmt.Sprintf("定时规则“%s”无效：%s。格式为“分 时 日 月 周”，例如 0 2 1 * * 表示每月 1 日 02:00。", spec, why.ZH),
			EN: fmt.Sprintf("schedule %q is not a valid cron spec: %s (minute hour day month weekday, e.g. 0 2 1 * * for 02:00 on the 1st of each month)", spec, why.EN)}
	}
	return cs, nil
}

// cronReasons turn the cron library's parse errors into words for people.
var cronReasons = []struct {
	re   *regexp.Regexp
	text func(m []string) core.Text
}{
	{regexp.MustCompile(`^empty spec string`), func([]string) core.Text {
		return core.Text{ZH: "规则是空的", EN: "it is empty"}
	}},
	{regexp.MustCompile(`^expected exactly (\d+) fields, found (\d+)`), func(m []string) core.Text {
		return core.Text{ZH: "应有 " + m[1] + " 项，实际有 " + m[2] + " 项", EN: "it needs " + m[1] + " fields, not " + m[2]}
	}},
	{regexp.MustCompile(`^unrecognized descriptor: (.*)`), func(m []string) core.Text {
		return core.Text{ZH: "不认识 " + m[1] + "（可用 @daily、@weekly、@monthly）", EN: "unknown descriptor " + m[1] + " (use @daily, @weekly, @monthly)"}
	}},
	{regexp.MustCompile(`^failed to parse duration`), func([]string) core.Text {
		return core.Text{ZH: "@every 后的时长无效", EN: "the duration after @every is not valid"}
	}},
	{regexp.MustCompile(`^beginning of range \((-?\d+)\) below minimum \((\d+)\): (.*)`), func(m []string) core.Text {
		return core.Text{ZH: m[3] + " 中的 " + m[1] + " 小于最小值 " + m[2], EN: m[1] + " in " + m[3] + " is below the minimum " + m[2]}
	}},
	{regexp.MustCompile(`^end of range \((\d+)\) above maximum \((\d+)\): (.*)`), func(m []string) core.Text {
		return core.Text{ZH: m[3] + " 中的 " + m[1] + " 大于最大值 " + m[2], EN: m[1] + " in " + m[3] + " is above the maximum " + m[2]}
	}},
	{regexp.MustCompile(`^beginning of range \((\d+)\) beyond end of range \((\d+)\): (.*)`), func(m []string) core.Text {
		return core.Text{ZH: "范围 " + m[3] + " 的起点大于终点", EN: "the range " + m[3] + " starts after it ends"}
	}},
	{regexp.MustCompile(`^step of range should be a positive number: (.*)`), func(m []string) core.Text {
		return core.Text{ZH: m[1] + " 的步长须为正整数", EN: "the step in " + m[1] + " must be a positive number"}
	}},
	{regexp.MustCompile(`^too many (hyphens|slashes): (.*)`), func(m []string) core.Text {
		sign := map[string]string{"hyphens": "-", "slashes": "/"}[m[1]]
		return core.Text{ZH: m[2] + " 中的 " + sign + " 太多", EN: "too many " + sign + " in " + m[2]}
	}},
	{regexp.MustCompile(`^failed to parse int from ([^:]*)`), func(m []string) core.Text {
		return core.Text{ZH: m[1] + " 不是数字（月份可写 1-12，星期可写 0-6）", EN: m[1] + " is not a number (months are 1-12, weekdays 0-6)"}
	}},
	{regexp.MustCompile(`^negative number \((-?\d+)\) not allowed`), func(m []string) core.Text {
		return core.Text{ZH: "不能用负数 " + m[1], EN: "negative numbers such as " + m[1] + " are not allowed"}
	}},
}

func cronReason(err error) core.Text {
	for _, r := range cronReasons {
		if m := r.re.FindStringSubmatch(err.Error()); m != nil {
			return r.text(m)
		}
	}
	return core.Text{ZH: "格式不对", EN: "it is not in the expected form"}
}

// nextAfter is a spec's next time after t, zero for a bad spec.
func nextAfter(spec string, t time.Time) time.Time {
	cs, err := ParseSpec(spec)
	if err != nil {
		return time.Time{}
	}
	return cs.Next(t.In(core.Shanghai))
}

var scheduleName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,60}$`)

func checkName(name string) error {
	if !scheduleName.MatchString(name) {
		return core.Errorf(core.EInvalid, "名称只能用字母、数字和 _ . -，最长 60 个字符", "the name may use letters, digits and _ . - (at most 60)")
	}
	return nil
}

// The catch-up rule, the same for every kind of schedule: the times a
// schedule fell due while no server ran are those after its last run (or
// its last change) and more than a minute ago — a time due in the last
// minute may still be starting on another server. Of those, the latest
// maxMissed count.
const maxMissed = 1000

// missedTimes lists the times a spec fell due after from and before
// now − 1 minute by the catch-up rule, oldest first. It looks back over a
// window that doubles until the window holds maxMissed times or reaches
// from, so that a spec firing every minute over months of downtime costs
// no more than a few thousand steps.
func missedTimes(cs cron.Schedule, from, now time.Time) []time.Time {
	end := now.Add(-time.Minute)
	for w := time.Hour; ; w *= 2 {
		start := end.Add(-w)
		if !start.After(from) || w > 100*365*24*time.Hour {
			start = from
		}
		var ts []time.Time
		for t := cs.Next(start.In(core.Shanghai)); !t.IsZero() && t.Before(end); t = cs.Next(t) {
			ts = append(ts, t)
			if len(ts) > 2*maxMissed {
				ts = append(ts[:0], ts[len(ts)-maxMissed:]...)
			}
		}
		if len(ts) >= maxMissed || start.Equal(from) {
			return ts[max(0, len(ts)-maxMissed):]
		}
	}
}

// PanicError is a panic in scheduled or background work, caught and turned
// into an error so that the run or job can be marked failed.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string {
	return fmt.Sprintf("内部错误（程序崩溃）：%v / internal error (panic): %v", p.Value, p.Value)
}

// protect runs work, turning a panic into a *PanicError.
func protect(work func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return work()
}

// notePanic logs a caught panic with its stack and audits it, so that an
// admin finds it beside the failed run or job. Other errors pass.
func notePanic(ctx context.Context, db *sqlx.DB, log *slog.Logger, what, subject string, err error) {
	p, ok := err.(*PanicError)
	if !ok {
		return
	}
	log.Error("panic in "+what, "subject", subject, "panic", p.Value, "stack", string(p.Stack))
	if aerr := core.AuditNow(context.WithoutCancel(ctx), db, core.AuditEntry{Actor: "minyi " + what, Action: "panic",
		Subject: subject, Details: map[string]string{"panic": fmt.Sprint(p.Value)}}); aerr != nil {
		log.Error("audit a panic", "err", aerr)
	}
}

// cronLogger lets the cron library log through slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}

// cronJob is a stored schedule as the cron table sees it.
type cronJob struct {
	ID      int64
	Name    string
	Spec    string
	Enabled bool
}

// cronJobs is stored schedules as the cron table sees them.
func cronJobs[S any, P interface {
	*S
	cronJob() cronJob
}](ss []S) []cronJob {
	jobs := make([]cronJob, len(ss))
	for i := range ss {
		jobs[i] = P(&ss[i]).cronJob()
	}
	return jobs
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
	ctx context.Context // the server's, set by loop

	mu      sync.Mutex
	entries map[int64]entry
}

type entry struct {
	id   cron.EntryID
	spec string
}

func newCronTable(log *slog.Logger, now func() time.Time, run func(context.Context, int64, time.Time) error) *cronTable {
	// cron.Recover is the last net: runs catch their own panics (protect)
	// to mark them failed, so anything it catches escaped that.
	c := cron.New(cron.WithLocation(core.Shanghai), cron.WithChain(cron.Recover(cronLogger{log})))
	return &cronTable{cron: c, log: log, now: now, run: run, ctx: context.Background(), entries: map[int64]entry{}}
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
			if err := t.run(t.ctx, id, at); err != nil {
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
// Runs get ctx, so that they stop with the server; the returned channel is
// closed once the cron has stopped and its running jobs have returned.
func (t *cronTable) loop(ctx context.Context, tick func()) <-chan struct{} {
	t.ctx = ctx
	t.cron.Start()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(time.Minute)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				<-t.cron.Stop().Done()
				return
			case <-tk.C:
				// A panic in a tick must not end the loop (or the server).
				if err := protect(func() error { tick(); return nil }); err != nil {
					t.log.Error("schedule tick", "err", err)
				}
			}
		}
	}()
	return done
}
