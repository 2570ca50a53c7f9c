package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/export"
	"minyi/sampler"
	"minyi/schedule"
	"minyi/survey"
)

type exportScheduleForm struct {
	Name, Title, Wave, Encoding, MinCell string
	Builder                              schedule.Builder
	Kinds                                map[string]bool
	Enabled                              bool
}

type exportSchedulesData struct {
	Schedules []schedule.ExportSchedule
	Next      map[int64]string
	When      map[int64]string
	Runs      []schedule.ExportRun
	Waves     []sampler.Wave
	Kinds     []string
	Form      exportScheduleForm
	Builder   builderView
	// PublicKey checks the signatures of what the server hands out; the
	// office keeps it to check files with minyi verify.
	PublicKey, KeyID string
}

func (s *Server) exportSchedules(c echo.Context) error {
	f := exportScheduleForm{Builder: schedule.BuilderFor("0 6 * * 1"), Encoding: "utf-8",
		MinCell: strconv.Itoa(survey.MinCell), Kinds: map[string]bool{"scores": true, "indicators": true}, Enabled: true}
	if name := c.QueryParam("edit"); name != "" {
		ss, err := schedule.ListExportSchedules(c.Request().Context(), s.db)
		if err != nil {
			return err
		}
		for _, sc := range ss {
			if sc.Name == name {
				f = exportScheduleForm{Name: sc.Name, Title: sc.Title, Wave: sc.Wave, Builder: schedule.BuilderFor(sc.Spec), Encoding: sc.Encoding,
					MinCell: strconv.Itoa(sc.MinCell), Kinds: map[string]bool{}, Enabled: sc.Enabled}
				for _, k := range sc.Kinds {
					f.Kinds[k] = true
				}
			}
		}
	}
	return s.showExportSchedules(c, http.StatusOK, f, nil, nil)
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
	l := lang(c)
	next, when := map[int64]string{}, map[int64]string{}
	for _, sc := range ss {
		next[sc.ID] = runTime(l, sc.Next(s.opt.Now()))
		when[sc.ID] = specText(l, sc.Spec)
	}
	d := exportSchedulesData{Schedules: ss, Next: next, When: when, Runs: runs, Waves: waves, Kinds: export.Kinds, Form: f,
		Builder: viewBuilder(l, f.Builder, s.opt.Now())}
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
	f := exportScheduleForm{Name: strings.TrimSpace(form.Get("name")), Title: strings.TrimSpace(form.Get("title")), Wave: form.Get("wave"),
		Builder: builderFromForm(form.Get, form["day"]), Encoding: form.Get("encoding"), MinCell: strings.TrimSpace(form.Get("min_cell")), Enabled: form.Get("enabled") != "", Kinds: map[string]bool{}}
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
	if f.Title == "" {
		t := &core.Text{ZH: "请填写中文名称", EN: "enter a title"}
		return s.showExportSchedules(c, http.StatusUnprocessableEntity, f, nil, t)
	}
	spec, err := f.Builder.Spec()
	var saved *schedule.ExportSchedule
	if err == nil {
		saved, err = schedule.SaveExportSchedule(c.Request().Context(), s.db, schedule.ExportSchedule{Name: f.Name, Title: f.Title, Wave: f.Wave, Kinds: kinds,
			Spec: spec, Encoding: f.Encoding, MinCell: minCell, Enabled: f.Enabled})
	}
	if t, ok := domainText(err); ok {
		return s.showExportSchedules(c, http.StatusUnprocessableEntity, f, nil, t)
	}
	if err != nil {
		return err
	}
	u := currentUser(c)
	if err := core.AuditNow(c.Request().Context(), s.db, core.AuditEntry{ActorID: u.ID, Actor: u.Username, Action: "export-schedule", Subject: saved.Name,
		Details: map[string]any{"title": saved.Title, "wave": saved.Wave, "kinds": []string(saved.Kinds), "spec": saved.Spec,
			"encoding": saved.Encoding, "min_cell": saved.MinCell, "enabled": saved.Enabled}}); err != nil {
		return err
	}
	msg := core.Text{ZH: "定时导出“" + saved.Title + "”已保存。", EN: "Scheduled export " + saved.Title + " saved."}
	return s.showExportSchedules(c, http.StatusOK, f, &msg, nil)
}
