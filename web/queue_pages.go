package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/schedule"
	"minyi/survey"
	"minyi/users"
)

// returned lists the interviews sent back to the signed-in interviewer, a
// page at a time, narrowed by district and the days they were sent back.
func (s *Server) returned(c echo.Context) error {
	ctx := c.Request().Context()
	ds, err := s.districtOptions(ctx)
	if err != nil {
		return err
	}
	p, err := parseList(c, listSpec{Districts: ds, Dates: true, DateLabel: core.Text{ZH: "退回日期", EN: "Sent back"}})
	if err != nil {
		return err
	}
	rows, total, err := survey.ReturnedPage(ctx, s.db, currentUser(c).ID, p.Filter)
	if err != nil {
		return err
	}
	p.counted(total)
	return s.render(c, http.StatusOK, "returned", core.Text{ZH: "退回的访问", EN: "Interviews sent back"}, map[string]any{"List": p, "Rows": rows})
}

var appointmentFlagNames = map[string]core.Text{
	"upcoming": {ZH: "待回拨", EN: "upcoming"},
	"in_call":  {ZH: "正在回拨", EN: "being called"},
	"missed":   {ZH: "已错过", EN: "missed"},
}

// appointments lists a wave's appointments by time, a page at a time,
// narrowed by district, who made them, state and day.
func (s *Server) appointments(c echo.Context) error {
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
	us, err := s.userOptions(ctx, users.RoleInterview)
	if err != nil {
		return err
	}
	p, err := parseList(c, listSpec{Districts: ds, Users: us, UserLabel: core.Text{ZH: "预约访员", EN: "Made by"},
		Flags: flagOptions([]string{"upcoming", "in_call", "missed"}, appointmentFlagNames), FlagLabel: core.Text{ZH: "状态", EN: "Status"},
		Dates: true, DateLabel: core.Text{ZH: "预约日期", EN: "Due"}})
	if err != nil {
		return err
	}
	rows, total, missed, err := dialer.AppointmentsPage(ctx, s.db, w.ID, rules.Grace(), p.Filter)
	if err != nil {
		return err
	}
	p.counted(total)
	return s.render(c, http.StatusOK, "appointments", core.Text{ZH: "预约 · " + w.Name, EN: "Appointments · " + w.Name}, map[string]any{
		"Wave": w.Name, "List": p, "Rows": rows, "Missed": missed, "Grace": rules.GraceMinutes,
	})
}

var jobStatusNames = map[string]core.Text{
	"running": {ZH: "进行中", EN: "running"},
	"ok":      {ZH: "已完成", EN: "done"},
	"failed":  {ZH: "失败", EN: "failed"},
}

// jobs lists the background jobs (draws, frame imports), newest first, a
// page at a time, narrowed by who started them, status and day.
func (s *Server) jobs(c echo.Context) error {
	ctx := c.Request().Context()
	us, err := s.userOptions(ctx, users.RoleAdmin, users.RoleSupervisor)
	if err != nil {
		return err
	}
	p, err := parseList(c, listSpec{Users: us, UserLabel: core.Text{ZH: "发起人", EN: "Started by"},
		Flags: flagOptions(schedule.JobStatuses, jobStatusNames), FlagLabel: core.Text{ZH: "状态", EN: "Status"},
		Dates: true, DateLabel: core.Text{ZH: "开始日期", EN: "Started"}})
	if err != nil {
		return err
	}
	rows, total, err := schedule.JobsPage(ctx, s.db, p.Filter)
	if err != nil {
		return err
	}
	p.counted(total)
	return s.render(c, http.StatusOK, "jobs", core.Text{ZH: "后台任务", EN: "Jobs"}, map[string]any{"List": p, "Rows": rows, "Names": jobStatusNames})
}

// auditLog lists the audit log, newest first, a page at a time, narrowed
// by who acted, the action and day.
func (s *Server) auditLog(c echo.Context) error {
	ctx := c.Request().Context()
	us, err := s.userOptions(ctx)
	if err != nil {
		return err
	}
	actions, err := core.AuditActions(ctx, s.db)
	if err != nil {
		return err
	}
	flags := make([]option, 0, len(actions))
	for _, a := range actions {
		flags = append(flags, option{Value: a, Label: core.Text{ZH: a, EN: a}})
	}
	p, err := parseList(c, listSpec{Users: us, UserLabel: core.Text{ZH: "操作人", EN: "Who"},
		Flags: flags, FlagLabel: core.Text{ZH: "操作", EN: "Action"},
		Dates: true, DateLabel: core.Text{ZH: "日期", EN: "Date"}})
	if err != nil {
		return err
	}
	rows, total, err := core.AuditPage(ctx, s.db, p.Filter)
	if err != nil {
		return err
	}
	p.counted(total)
	return s.render(c, http.StatusOK, "audit", core.Text{ZH: "审计日志", EN: "Audit log"}, map[string]any{"List": p, "Rows": rows})
}

// calendarDay is one day of the appointment calendar: counts by hour.
type calendarDay struct {
	Day     string
	Weekday time.Weekday
	Hours   [24]int
	Total   int
}

func calendarOf(hours []dialer.AppointmentHour) []calendarDay {
	var days []calendarDay
	for _, h := range hours {
		if len(days) == 0 || days[len(days)-1].Day != h.Day {
			wd := time.Sunday
			if t, err := time.Parse("2006-01-02", h.Day); err == nil {
				wd = t.Weekday()
			}
			days = append(days, calendarDay{Day: h.Day, Weekday: wd})
		}
		d := &days[len(days)-1]
		if h.Hour >= 0 && h.Hour < 24 {
			d.Hours[h.Hour] += h.N
		}
		d.Total += h.N
	}
	return days
}

// WeekdayName names the day's weekday in lang.
func (d calendarDay) WeekdayName(lang string) string {
	if lang == "en" {
		return d.Weekday.String()[:3]
	}
	return [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}[d.Weekday]
}
