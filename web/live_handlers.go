package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/survey"
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

// flagged lists a wave's interviews to review: too short, straight-lined
// over its questionnaire's indicators, or corrected after being sent back.
func (s *Server) flagged(ctx context.Context, w *sampler.Wave) ([]dialer.Flagged, error) {
	_, q, err := survey.WaveQuestionnaire(ctx, s.db, w.Name)
	if err != nil {
		return nil, err
	}
	_, placesCalls := s.opt.Dialer.(dialer.Switch)
	return dialer.FlaggedInterviews(ctx, s.db, w.ID, MinInterviewLength, q.IndicatorIDs(), placesCalls)
}

// supervision shows a wave's appointments (a list and a day-by-hour
// calendar), its interviewers' figures and the interviews flagged for
// review.
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
	appts, err := dialer.Appointments(ctx, s.db, w.ID, rules.Grace())
	if err != nil {
		return err
	}
	verifications, err := dialer.Verifications(ctx, s.db, w.ID)
	if err != nil {
		return err
	}
	stats, err := dialer.Interviewers(ctx, s.db, w.ID)
	if err != nil {
		return err
	}
	flagged, err := s.flagged(ctx, w)
	if err != nil {
		return err
	}
	missed := 0
	for _, a := range appts {
		if a.Missed {
			missed++
		}
	}
	return s.render(c, http.StatusOK, "supervision", core.Text{ZH: "督导 · " + w.Name, EN: "Supervision · " + w.Name}, map[string]any{
		"Wave": w.Name, "Appointments": appts, "Missed": missed, "Calendar": calendarOf(appts),
		"Stats": stats, "Flagged": flagged, "MinLength": int(MinInterviewLength.Seconds()),
		"Grace": rules.GraceMinutes, "Verifications": verifications, "VerifySummary": verifySummary(verifications),
	})
}

// calendarDay is one day of the appointment calendar: counts by hour.
type calendarDay struct {
	Day   core.Text // the date and its day of the week
	Hours [24]int
	Total int
}

func calendarOf(appts []dialer.Appointment) []calendarDay {
	var days []calendarDay
	for _, a := range appts {
		t := a.At.In(core.Shanghai)
		wd := weekdayText[t.Weekday()]
		day := core.Text{ZH: t.Format("2006-01-02") + " " + wd.ZH, EN: t.Format("2006-01-02") + " " + wd.EN}
		if len(days) == 0 || days[len(days)-1].Day != day {
			days = append(days, calendarDay{Day: day})
		}
		d := &days[len(days)-1]
		d.Hours[t.Hour()]++
		d.Total++
	}
	return days
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

// verifyCount is one interviewer's verification call-backs by result.
type verifyCount struct {
	Interviewer                               string
	Open, Confirmed, NotConfirmed, Unresolved int
}

// verifySummary counts the call-backs per interviewer verified; those not
// confirmed are what a supervisor looks at.
func verifySummary(vs []dialer.VerificationRow) []verifyCount {
	idx := map[string]int{}
	var out []verifyCount
	for _, v := range vs {
		i, ok := idx[v.Interviewer]
		if !ok {
			i = len(out)
			idx[v.Interviewer] = i
			out = append(out, verifyCount{Interviewer: v.Interviewer})
		}
		switch v.Result {
		case "":
			out[i].Open++
		case "confirmed":
			out[i].Confirmed++
		case "not_confirmed":
			out[i].NotConfirmed++
		default:
			out[i].Unresolved++
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Interviewer < out[b].Interviewer })
	return out
}
