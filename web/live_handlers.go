package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
)

// live is the supervisors' live view of a wave; a small script refreshes
// its numbers from liveJSON without reloading the page.
func (s *Server) live(c echo.Context) error {
	w, l, err := s.liveOf(c)
	if err != nil {
		return err
	}
	hours, err := dialer.LiveHours(c.Request().Context(), s.db, w.ID)
	if err != nil {
		return err
	}
	pace, err := dialer.LiveInterviewers(c.Request().Context(), s.db, w.ID)
	if err != nil {
		return err
	}
	return s.renderView(c, http.StatusOK, "live", &view{
		Title: core.Text{ZH: "实时进度 · " + w.Name, EN: "Live progress · " + w.Name},
		Data: map[string]any{"Wave": w.Name, "Live": l, "Every": refreshEvery(c.QueryParam("every")),
			"Chart": progressChart(l.Days, l.Districts), "Switch": s.opt.Telephony != nil,
			"Targets": targetChart(l.Districts), "Rates": rateChart(hours), "Pace": paceChart(pace)},
	})
}

func (s *Server) liveJSON(c echo.Context) error {
	_, l, err := s.liveOf(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, l)
}

func (s *Server) liveOf(c echo.Context) (*sampler.Wave, *dialer.Live, error) {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return nil, nil, err
	}
	l, err := dialer.LiveView(ctx, s.db, w.ID)
	return w, l, err
}

// refreshEvery is the live view's refresh interval in seconds: 10 unless
// the address asks for another between 1 and 60.
func refreshEvery(q string) int {
	n, err := strconv.Atoi(q)
	if err != nil || n < 1 || n > 60 {
		return 10
	}
	return n
}

// MinInterviewLength is the shortest plausible interview: a faster one is
// flagged for review.
const MinInterviewLength = 2 * time.Minute

// supervision shows a wave's appointments (how many, and a day-by-hour
// calendar, the list on their own page), its interviewers' figures, how
// many interviews wait for review and why (the list on the review page),
// and its verification call-backs a page at a time.
func (s *Server) supervision(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	rules, err := dialer.GetRules(ctx, s.db, w.ID)
	if err != nil {
		return err
	}
	ds, err := s.districtOptions(ctx)
	if err != nil {
		return err
	}
	us, err := s.userOptions(ctx, interviewerRoles...)
	if err != nil {
		return err
	}
	p, err := parseList(c, listSpec{Districts: ds, Users: us, UserLabel: core.Text{ZH: "被核实访员", EN: "Interviewer verified"},
		Flags: flagOptions(dialer.VerificationResults, verificationResultNames), FlagLabel: core.Text{ZH: "回访结果", EN: "Result"},
		Dates: true, DateLabel: core.Text{ZH: "抽取日期", EN: "Chosen"}})
	if err != nil {
		return err
	}
	// The page's figures count over the whole wave, each in a query of
	// its own: they run side by side, on connections of their own.
	var (
		hours         []dialer.AppointmentHour
		verifications []dialer.VerificationPageRow
		total         int
		summary       []dialer.VerificationCount
		stats         []dialer.InterviewerStats
		counts        dialer.FlagCounts
	)
	errs := make([]error, 5)
	var wg sync.WaitGroup
	for i, run := range []func() error{
		func() (err error) { hours, err = dialer.AppointmentCalendar(ctx, s.db, w.ID, rules.Grace()); return },
		func() (err error) {
			verifications, total, err = dialer.VerificationsPage(ctx, s.db, w.ID, p.Filter)
			return
		},
		func() (err error) { summary, err = dialer.VerificationSummary(ctx, s.db, w.ID); return },
		func() (err error) { stats, err = dialer.Interviewers(ctx, s.db, w.ID); return },
		func() (err error) {
			_, counts, err = s.reviewQueue(w).Page(ctx, s.db, core.ListFilter{Limit: 1})
			return
		},
	} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = run() }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.counted(total)
	appts, missed := 0, 0
	for _, h := range hours {
		appts += h.N
		missed += h.Missed
	}
	return s.render(c, http.StatusOK, "supervision", core.Text{ZH: "督导 · " + w.Name, EN: "Supervision · " + w.Name}, map[string]any{
		"Wave": w.Name, "Appointments": appts, "Missed": missed, "Calendar": calendarOf(hours),
		"Stats": stats, "Counts": counts, "MinLength": int(MinInterviewLength.Seconds()),
		"Grace": rules.GraceMinutes, "Verifications": verifications, "VerifySummary": summary, "List": p,
	})
}

var verificationResultNames = map[string]core.Text{
	"open":          {ZH: "待回访", EN: "open"},
	"confirmed":     {ZH: "已确认", EN: "confirmed"},
	"not_confirmed": {ZH: "未确认", EN: "not confirmed"},
	"refused":       {ZH: "拒答", EN: "refused"},
	"unreachable":   {ZH: "联系不上", EN: "unreachable"},
}

// chart is a cumulative completes line against the wave's target, drawn as
// SVG by the template.
type chart struct {
	Points  string // SVG polyline points
	Target  int
	Total   int
	First   string
	Last    string
	TargetY float64
}

func progressChart(days []dialer.DayCount, ds []dialer.LiveDistrict) chart {
	const w, h = 600.0, 160.0
	c := chart{}
	for _, d := range ds {
		c.Target += d.Target
	}
	if len(days) == 0 || c.Target == 0 {
		return c
	}
	c.First, c.Last = days[0].Day, days[len(days)-1].Day
	top := float64(c.Target)
	cum := 0
	pts := make([]string, 0, len(days)+1)
	pts = append(pts, fmt.Sprintf("0,%.1f", h))
	for i, d := range days {
		cum += d.N
		x := w
		if len(days) > 1 {
			x = float64(i) / float64(len(days)-1) * w
		}
		y := h - math.Min(1, float64(cum)/top)*h
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
	}
	c.Total = cum
	c.Points = strings.Join(pts, " ")
	return c
}
