package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/export"
	"minyi/sampler"
	"minyi/schedule"
	"minyi/survey"
)

type exportScheduleForm struct {
	Name, Wave, Spec, Encoding, MinCell string
	Kinds                               map[string]bool
	Enabled                             bool
}

type exportSchedulesData struct {
	Schedules []schedule.ExportSchedule
	Next      map[int64]time.Time
	Runs      []schedule.ExportRun
	Waves     []sampler.Wave
	Kinds     []string
	Form      exportScheduleForm
	// PublicKey checks the signatures of what the server hands out; the
	// office keeps it to check files with minyi verify.
	PublicKey, KeyID string
}

func (s *Server) exportSchedules(c echo.Context) error {
	return s.showExportSchedules(c, http.StatusOK, exportScheduleForm{Spec: "0 6 * * 1", Encoding: "utf-8",
		MinCell: strconv.Itoa(survey.MinCell), Kinds: map[string]bool{"scores": true, "indicators": true}, Enabled: true}, nil, nil)
}

func (s *Server) showExportSchedules(c echo.Context, status int, f exportScheduleForm, msg, errText *core.Text) error {
	ctx := c.Request().Context()
	ss, err := schedule.ListExportSchedules(ctx, s.db)
	if err != nil {
		return err
	}
	runs, err := schedule.ListExportRuns(ctx, s.db, 50)
	if err != nil {
		return err
	}
	waves, err := sampler.ListWaves(ctx, s.db)
	if err != nil {
		return err
	}
	sort.SliceStable(waves, func(i, j int) bool { return waves[i].Name > waves[j].Name })
	next := map[int64]time.Time{}
	for _, sc := range ss {
		next[sc.ID] = sc.Next(s.opt.Now())
	}
	d := exportSchedulesData{Schedules: ss, Next: next, Runs: runs, Waves: waves, Kinds: export.Kinds, Form: f}
	if s.opt.Signer != nil {
		d.PublicKey, d.KeyID = s.opt.Signer.Public().String(), s.opt.Signer.Public().ID()
	}
	return s.renderView(c, status, "exports", &view{
		Title: core.Text{ZH: "定时导出", EN: "Scheduled exports"}, Msg: msg, Err: errText, Data: d,
	})
}

func (s *Server) saveExportSchedule(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	f := exportScheduleForm{Name: strings.TrimSpace(form.Get("name")), Wave: form.Get("wave"), Spec: strings.TrimSpace(form.Get("spec")),
		Encoding: form.Get("encoding"), MinCell: strings.TrimSpace(form.Get("min_cell")), Enabled: form.Get("enabled") != "", Kinds: map[string]bool{}}
	var kinds []string
	for _, k := range form["kind"] {
		f.Kinds[k] = true
		kinds = append(kinds, k)
	}
	minCell, err := strconv.Atoi(f.MinCell)
	if err != nil {
		t := &core.Text{ZH: "最小单元格须为整数", EN: "the smallest cell must be a whole number"}
		return s.showExportSchedules(c, http.StatusUnprocessableEntity, f, nil, t)
	}
	_, err = schedule.SaveExportSchedule(c.Request().Context(), s.db, schedule.ExportSchedule{Name: f.Name, Wave: f.Wave, Kinds: kinds,
		Spec: f.Spec, Encoding: f.Encoding, MinCell: minCell, Enabled: f.Enabled})
	if t, ok := domainText(err); ok {
		return s.showExportSchedules(c, http.StatusUnprocessableEntity, f, nil, t)
	}
	if err != nil {
		return err
	}
	msg := core.Text{ZH: "定时导出 " + f.Name + " 已保存。", EN: "Scheduled export " + f.Name + " saved."}
	return s.showExportSchedules(c, http.StatusOK, f, &msg, nil)
}
