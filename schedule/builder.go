package schedule

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"minyi/core"
)

// Repeat is how often a schedule built on the page runs.
type Repeat string

const (
	Daily   Repeat = "daily"
	Weekly  Repeat = "weekly"
	Monthly Repeat = "monthly"
	// Raw is a cron spec typed in by hand, the advanced option.
	Raw Repeat = "cron"
)

// WeekOrder is the weekdays in the order a Chinese week is shown, Monday
// (周一) first; the values are cron's (0 is Sunday).
var WeekOrder = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// Builder is a schedule as an admin chooses it on the page: daily, weekly
// on some days, or monthly on one day, at a time of day in Beijing time;
// or a raw cron spec.
type Builder struct {
	Repeat   Repeat
	Days     []time.Weekday // for Weekly
	MonthDay int            // 1–31, for Monthly
	Time     string         // HH:MM, Beijing time
	Cron     string         // for Raw
}

// Spec is the five-field cron spec the builder stands for.
func (b Builder) Spec() (string, error) {
	if b.Repeat == Raw {
		spec := strings.TrimSpace(b.Cron)
		if spec == "" {
			return "", core.Errorf(core.EInvalid, "请填写定时规则", "enter a cron spec")
		}
		_, err := ParseSpec(spec)
		return spec, err
	}
	h, m, err := clockTime(b.Time)
	if err != nil {
		return "", err
	}
	switch b.Repeat {
	case Daily:
		return fmt.Sprintf("%d %d * * *", m, h), nil
	case Weekly:
		if len(b.Days) == 0 {
			return "", core.Errorf(core.EInvalid, "每周运行请至少选择一天", "choose at least one day of the week")
		}
		days := slices.Clone(b.Days)
		slices.Sort(days)
		days = slices.Compact(days)
		parts := make([]string, len(days))
		for i, d := range days {
			if d < time.Sunday || d > time.Saturday {
				return "", core.Errorf(core.EInvalid, "星期几无效", "not a day of the week")
			}
			parts[i] = strconv.Itoa(int(d))
		}
		return fmt.Sprintf("%d %d * * %s", m, h, strings.Join(parts, ",")), nil
	case Monthly:
		if b.MonthDay < 1 || b.MonthDay > 31 {
			return "", core.Errorf(core.EInvalid, "每月几号须在 1 到 31 之间", "the day of the month must be from 1 to 31")
		}
		return fmt.Sprintf("%d %d %d * *", m, h, b.MonthDay), nil
	}
	return "", core.Errorf(core.EInvalid, "请选择每天、每周、每月或高级规则", "choose daily, weekly, monthly or an advanced spec")
}

var hhmm = regexp.MustCompile(`^\s*(\d{1,2})[:：](\d{2})\s*$`)

func clockTime(s string) (h, m int, err error) {
	p := hhmm.FindStringSubmatch(s)
	if p != nil {
		h, _ = strconv.Atoi(p[1])
		m, _ = strconv.Atoi(p[2])
	}
	if p == nil || h > 23 || m > 59 {
		return 0, 0, core.Errorf(core.EInvalid, "时间“%s”无效，请写成“时:分”，例如 02:00", "the time %q is not valid; write hours:minutes, e.g. 02:00", s)
	}
	return h, m, nil
}

var (
	builtDaily   = regexp.MustCompile(`^(\d{1,2}) (\d{1,2}) \* \* \*$`)
	builtWeekly  = regexp.MustCompile(`^(\d{1,2}) (\d{1,2}) \* \* ([0-6](?:,[0-6])*)$`)
	builtMonthly = regexp.MustCompile(`^(\d{1,2}) (\d{1,2}) (\d{1,2}) \* \*$`)
)

// BuilderFor reads a stored spec back into the builder's choices; a spec
// the builder cannot make stays raw.
func BuilderFor(spec string) Builder {
	spec = strings.Join(strings.Fields(spec), " ")
	raw := Builder{Repeat: Raw, Cron: spec, Time: "02:00", MonthDay: 1, Days: []time.Weekday{time.Monday}}
	at := func(m, h string) (string, bool) {
		mi, _ := strconv.Atoi(m)
		hi, _ := strconv.Atoi(h)
		return fmt.Sprintf("%02d:%02d", hi, mi), mi <= 59 && hi <= 23
	}
	if p := builtDaily.FindStringSubmatch(spec); p != nil {
		if t, ok := at(p[1], p[2]); ok {
			return Builder{Repeat: Daily, Time: t, MonthDay: 1, Days: raw.Days}
		}
	}
	if p := builtWeekly.FindStringSubmatch(spec); p != nil {
		if t, ok := at(p[1], p[2]); ok {
			var days []time.Weekday
			for _, d := range strings.Split(p[3], ",") {
				n, _ := strconv.Atoi(d)
				days = append(days, time.Weekday(n))
			}
			return Builder{Repeat: Weekly, Time: t, Days: days, MonthDay: 1}
		}
	}
	if p := builtMonthly.FindStringSubmatch(spec); p != nil {
		if t, ok := at(p[1], p[2]); ok {
			if d, _ := strconv.Atoi(p[3]); d >= 1 && d <= 31 {
				return Builder{Repeat: Monthly, Time: t, MonthDay: d, Days: raw.Days}
			}
		}
	}
	return raw
}

// NextTimes is a spec's next n run times after t, in Beijing time. A spec
// that never falls due (the 30th of February) is refused.
func NextTimes(spec string, t time.Time, n int) ([]time.Time, error) {
	cs, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	var ts []time.Time
	for at := t.In(core.Shanghai); len(ts) < n; {
		at = cs.Next(at)
		if at.IsZero() {
			break
		}
		ts = append(ts, at)
	}
	if len(ts) == 0 {
		return nil, core.Errorf(core.EInvalid, "定时规则“%s”永远不会运行（例如 2 月 30 日）", "the schedule %q never falls due (like 30 February)", spec)
	}
	return ts, nil
}

// checkTitle checks the name people read, which may be Chinese.
func checkTitle(title string) error {
	if n := utf8.RuneCountInString(title); n < 1 || n > 60 || strings.TrimSpace(title) != title {
		return core.Errorf(core.EInvalid, "中文名称须为 1 到 60 个字", "the title must be 1 to 60 characters")
	}
	return nil
}
