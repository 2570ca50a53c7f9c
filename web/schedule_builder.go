package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/schedule"
)

// The schedule builder is the part of the wave and export schedule forms
// that says when a schedule runs: daily, weekly on chosen days, monthly on
// one day, at a time of day, or a raw cron spec; with the next five run
// times beside it, rendered here and fetched again as the form changes.

// nextShown is how many coming run times the builder shows.
const nextShown = 5

var weekdayText = map[time.Weekday]core.Text{
	time.Monday: {ZH: "周一", EN: "Mon"}, time.Tuesday: {ZH: "周二", EN: "Tue"}, time.Wednesday: {ZH: "周三", EN: "Wed"},
	time.Thursday: {ZH: "周四", EN: "Thu"}, time.Friday: {ZH: "周五", EN: "Fri"}, time.Saturday: {ZH: "周六", EN: "Sat"},
	time.Sunday: {ZH: "周日", EN: "Sun"},
}

type dayChoice struct {
	Value   int
	Label   core.Text
	Checked bool
}

// builderView is what the builder's template gets.
type builderView struct {
	Lang string
	B    schedule.Builder
	Days []dayChoice
	Spec string
	Next []string
	Err  *core.Text
}

// builderFromForm reads the builder's fields from a form or query.
func builderFromForm(get func(string) string, days []string) schedule.Builder {
	b := schedule.Builder{Repeat: schedule.Repeat(get("repeat")), Time: strings.TrimSpace(get("time")), Cron: strings.TrimSpace(get("cron"))}
	b.MonthDay, _ = strconv.Atoi(strings.TrimSpace(get("monthday")))
	for _, d := range days {
		if n, err := strconv.Atoi(d); err == nil {
			b.Days = append(b.Days, time.Weekday(n))
		}
	}
	return b
}

// viewBuilder works out the spec and its next run times after now for the
// page; a spec that cannot be made is shown as its reason.
func viewBuilder(lang string, b schedule.Builder, now time.Time) builderView {
	v := builderView{Lang: lang, B: b}
	for _, d := range schedule.WeekOrder {
		v.Days = append(v.Days, dayChoice{Value: int(d), Label: weekdayText[d], Checked: containsDay(b.Days, d)})
	}
	spec, err := b.Spec()
	var next []time.Time
	if err == nil {
		v.Spec = spec
		next, err = schedule.NextTimes(spec, now, nextShown)
	}
	if t, ok := domainText(err); ok {
		v.Err = t
		return v
	}
	for _, t := range next {
		v.Next = append(v.Next, runTime(lang, t))
	}
	return v
}

func containsDay(days []time.Weekday, d time.Weekday) bool {
	for _, x := range days {
		if x == d {
			return true
		}
	}
	return false
}

// runTime is a run time as people read it, in Beijing time:
// 2026年12月7日 周一 02:00, or Mon 7 Dec 2026 02:00.
func runTime(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(core.Shanghai)
	if lang == "en" {
		return t.Format("Mon 2 Jan 2006 15:04")
	}
	return fmt.Sprintf("%d年%d月%d日 %s %s", t.Year(), int(t.Month()), t.Day(), weekdayText[t.Weekday()].ZH, t.Format("15:04"))
}

// specText says in words when a stored spec runs: 每周一、周三 02:00.
func specText(lang string, spec string) string {
	b := schedule.BuilderFor(spec)
	en := lang == "en"
	switch b.Repeat {
	case schedule.Daily:
		if en {
			return "daily at " + b.Time
		}
		return "每天 " + b.Time
	case schedule.Weekly:
		var ds []string
		for _, d := range schedule.WeekOrder {
			if containsDay(b.Days, d) {
				ds = append(ds, weekdayText[d].ZH)
				if en {
					ds[len(ds)-1] = weekdayText[d].EN
				}
			}
		}
		if en {
			return "every " + strings.Join(ds, ", ") + " at " + b.Time
		}
		return "每" + strings.Join(ds, "、") + " " + b.Time
	case schedule.Monthly:
		if en {
			return fmt.Sprintf("monthly on day %d at %s", b.MonthDay, b.Time)
		}
		return fmt.Sprintf("每月 %d 日 %s", b.MonthDay, b.Time)
	}
	if en {
		return "cron " + spec
	}
	return "高级规则 " + spec
}

// scheduleNext renders the next run times of the builder's choices, for
// the builder to show as the form changes.
func (s *Server) scheduleNext(c echo.Context) error {
	q := c.QueryParams()
	v := viewBuilder(lang(c), builderFromForm(q.Get, q["day"]), s.opt.Now())
	c.Response().Header().Set("Cache-Control", "no-store")
	var buf strings.Builder
	if err := s.pages.set["schedules"].ExecuteTemplate(&buf, "schedule-next", v); err != nil {
		return fmt.Errorf("web: render next run times: %w", err)
	}
	return c.HTML(http.StatusOK, buf.String())
}
