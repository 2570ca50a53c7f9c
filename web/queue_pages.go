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

// auditActionNames name the audit log's actions for people; an action not
// named here shows as it is stored.
var auditActionNames = map[string]core.Text{
	"approle-check":           {ZH: "数据库角色检查", EN: "database role check"},
	"call-interrupted":        {ZH: "通话中断", EN: "call interrupted"},
	"callback-search":         {ZH: "按号码查找回拨样本", EN: "call-back search"},
	"callback-take":           {ZH: "接手回拨样本", EN: "call-back taken"},
	"case-note":               {ZH: "样本备注", EN: "case note"},
	"calling-rules":           {ZH: "修改拨打规则", EN: "calling rules changed"},
	"districts-upload":        {ZH: "上传区县", EN: "districts uploaded"},
	"draw":                    {ZH: "抽样", EN: "draw"},
	"evidence-baseline":       {ZH: "证据基线", EN: "evidence baseline"},
	"evidence-seal":           {ZH: "封存访问证据", EN: "interview evidence sealed"},
	"export":                  {ZH: "导出", EN: "export"},
	"export-schedule":         {ZH: "定时导出设置", EN: "export schedule"},
	"field-assign":            {ZH: "入户分配", EN: "door-to-door assignment"},
	"frame-import":            {ZH: "导入抽样框", EN: "frame import"},
	"interview-change":        {ZH: "修改访问", EN: "interview changed"},
	"interviews-bulk-approve": {ZH: "批量通过访问", EN: "interviews approved together"},
	"listen-in":               {ZH: "监听通话", EN: "listened in"},
	"margins-upload":          {ZH: "上传普查边际", EN: "census margins uploaded"},
	"panic":                   {ZH: "程序异常", EN: "program fault"},
	"paper-accept":            {ZH: "纸质问卷入库", EN: "paper form accepted"},
	"paper-key":               {ZH: "纸质问卷录入", EN: "paper form keyed"},
	"paper-resolve":           {ZH: "纸质问卷裁定", EN: "paper form differences decided"},
	"participation-consent":   {ZH: "受访者是否同意受访", EN: "respondent's consent"},
	"password-change":         {ZH: "修改密码", EN: "password changed"},
	"phone-uri":               {ZH: "设置话机", EN: "phone set"},
	"publish-scores":          {ZH: "发布得分", EN: "scores published"},
	"questionnaire-edit":      {ZH: "编辑问卷", EN: "questionnaire edited"},
	"recording":               {ZH: "录音", EN: "recording"},
	"recording-consent":       {ZH: "录音告知", EN: "recording consent"},
	"recording-delete":        {ZH: "删除录音", EN: "recording deleted"},
	"recording-play":          {ZH: "播放录音", EN: "recording played"},
	"refusal-converter":       {ZH: "设置拒访转化员", EN: "refusal converter"},
	"responses-import":        {ZH: "导入访问数据", EN: "responses imported"},
	"sign-in":                 {ZH: "登录", EN: "sign-in"},
	"team-wave":               {ZH: "指定分组轮次", EN: "group's wave chosen"},
	"sign-in-throttled":       {ZH: "登录受限", EN: "sign-in throttled"},
	"user-activate":           {ZH: "启用用户", EN: "user activated"},
	"user-add":                {ZH: "添加用户", EN: "user added"},
	"user-auto-next":          {ZH: "自动打开下一个样本设置", EN: "open next case setting"},
	"user-deactivate":         {ZH: "停用用户", EN: "user deactivated"},
	"user-password-reset":     {ZH: "重置密码", EN: "password reset"},
	"user-password-set":       {ZH: "设置密码", EN: "password set"},
	"user-sessions-end":       {ZH: "退出用户登录", EN: "user signed out"},
	"user-team":               {ZH: "调整访员分组", EN: "interviewer's group changed"},
	"wave-recording":          {ZH: "轮次录音设置", EN: "wave recording setting"},
	"wave-schedule":           {ZH: "定时抽样设置", EN: "wave schedule"},
}

// auditActionName names an action, or gives it as stored.
func auditActionName(a string) core.Text {
	if t, ok := auditActionNames[a]; ok {
		return t
	}
	return core.Text{ZH: a, EN: a}
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
		flags = append(flags, option{Value: a, Label: auditActionName(a)})
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
	names := map[string]core.Text{}
	for _, r := range rows {
		names[r.Action] = auditActionName(r.Action)
	}
	return s.render(c, http.StatusOK, "audit", core.Text{ZH: "审计日志", EN: "Audit log"}, map[string]any{"List": p, "Rows": rows, "Actions": names})
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
