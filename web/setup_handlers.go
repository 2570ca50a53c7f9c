package web

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sampler"
	"minyi/schedule"
)

// domainText turns a domain error into the message for the page, with its
// details (such as every bad line of a file).
func domainText(err error) (*core.Text, bool) {
	// An upload cut off at its limit or its deadline is not the file's
	// fault: handleError says which.
	if _, big := tooLarge(err); big || tooSlow(err) {
		return nil, false
	}
	var de *core.Error
	if !errors.As(err, &de) || de.Code == core.EInternal {
		return nil, false
	}
	t := core.Text{ZH: de.ZH, EN: de.EN}
	var listed interface{ Text() core.Text }
	switch {
	case de.Err != nil && errors.As(de.Err, &listed):
		// A file's problems, each in the page's language.
		d := listed.Text()
		t.ZH += "：\n" + d.ZH
		t.EN += ":\n" + d.EN
	case de.Err != nil:
		t.ZH += "：\n" + de.Err.Error()
		t.EN += ":\n" + de.Err.Error()
	}
	return &t, true
}

// uploader says who uploads a file, for its audit entry.
func uploader(c echo.Context, file string) sampler.Upload {
	u := currentUser(c)
	return sampler.Upload{ActorID: u.ID, Actor: u.Username, File: file, Reason: c.FormValue("reason")}
}

func (s *Server) importDistricts(c echo.Context) error {
	f, name, err := uploaded(c)
	if err == nil {
		defer f.Close()
		var read, n int
		if read, n, err = sampler.ImportDistricts(c.Request().Context(), s.db, f, uploader(c, name)); err == nil {
			s.forgetDistricts()
			msg := core.Text{ZH: "已读取 " + strconv.Itoa(read) + " 个区县，新增或更新 " + strconv.Itoa(n) + " 个。",
				EN: "Read " + strconv.Itoa(read) + " districts; " + strconv.Itoa(n) + " added or changed."}
			return s.showDistricts(c, http.StatusOK, &msg, nil)
		}
	}
	if t, ok := domainText(err); ok {
		return s.showDistricts(c, http.StatusUnprocessableEntity, nil, t)
	}
	return err
}

func (s *Server) forgetDistricts() {
	s.districtsMu.Lock()
	s.districtCodes = nil
	s.districtsMu.Unlock()
}

// marginRow is one district's census margins, by variable and category.
type marginRow struct {
	District sampler.District
	Values   map[string]int64 // "sex1", "age_group3", "urban2"
	Sex      int64            // the sex categories added up, to compare with the population
}

var marginColumns = []string{"sex1", "sex2", "age_group1", "age_group2", "age_group3", "age_group4", "age_group5", "urban1", "urban2"}

func (s *Server) margins(c echo.Context) error {
	return s.showMargins(c, http.StatusOK, nil, nil)
}

func (s *Server) showMargins(c echo.Context, status int, msg, errMsg *core.Text) error {
	ctx := c.Request().Context()
	ds, err := sampler.ListDistricts(ctx, s.db)
	if err != nil {
		return err
	}
	ms, err := sampler.ListMargins(ctx, s.db)
	if err != nil {
		return err
	}
	byDistrict := map[string]*marginRow{}
	var rows []*marginRow
	for _, d := range ds {
		r := &marginRow{District: d, Values: map[string]int64{}}
		byDistrict[d.Code] = r
		rows = append(rows, r)
	}
	for _, m := range ms {
		if r := byDistrict[m.District]; r != nil {
			r.Values[m.Variable+strconv.Itoa(m.Category)] = m.Population
			if m.Variable == "sex" {
				r.Sex += m.Population
			}
		}
	}
	return s.renderView(c, status, "margins", &view{
		Title: core.Text{ZH: "普查边际（加权目标）", EN: "Census margins (weighting targets)"}, Msg: msg, Err: errMsg,
		Data: map[string]any{"Rows": rows, "Columns": marginColumns, "Count": len(ms)},
	})
}

func (s *Server) importMargins(c echo.Context) error {
	ctx := c.Request().Context()
	f, name, err := uploaded(c)
	if err == nil {
		defer f.Close()
		var read, n int
		if read, n, err = sampler.ImportMargins(ctx, s.db, f, uploader(c, name)); err == nil {
			msg := core.Text{ZH: "已读取 " + strconv.Itoa(read) + " 行，新增或更新 " + strconv.Itoa(n) + " 行。",
				EN: "Read " + strconv.Itoa(read) + " rows; " + strconv.Itoa(n) + " added or changed."}
			return s.showMargins(c, http.StatusOK, &msg, nil)
		}
	}
	if t, ok := domainText(err); ok {
		return s.showMargins(c, http.StatusUnprocessableEntity, nil, t)
	}
	return err
}

type scheduleForm struct {
	Name, Title, Rate, MinPer, Expected, Modes string
	Builder                                    schedule.Builder
	Enabled                                    bool
	Err                                        *core.Text
}

type schedulesData struct {
	Schedules []schedule.WaveSchedule
	Next      map[int64]string
	When      map[int64]string
	Runs      []schedule.WaveRun
	Form      scheduleForm
	Builder   builderView
}

func (s *Server) schedules(c echo.Context) error {
	f := scheduleForm{Builder: schedule.BuilderFor("0 2 1 * *"), Rate: "0.002", MinPer: "2", Expected: "0.5", Modes: "phone", Enabled: true}
	if name := c.QueryParam("edit"); name != "" {
		ss, err := schedule.ListWaveSchedules(c.Request().Context(), s.db)
		if err != nil {
			return err
		}
		for _, sc := range ss {
			if sc.Name == name {
				f = scheduleForm{Name: sc.Name, Title: sc.Title, Builder: schedule.BuilderFor(sc.Spec), Rate: strconv.FormatFloat(sc.Rate, 'g', -1, 64),
					MinPer: strconv.Itoa(sc.MinPerDistrict), Expected: strconv.FormatFloat(sc.ExpectedRate, 'g', -1, 64),
					Modes: strings.Join(sc.Modes, ","), Enabled: sc.Enabled}
			}
		}
	}
	return s.showSchedules(c, http.StatusOK, f, nil)
}

func (s *Server) showSchedules(c echo.Context, status int, f scheduleForm, msg *core.Text) error {
	ctx := c.Request().Context()
	ss, err := schedule.ListWaveSchedules(ctx, s.db)
	if err != nil {
		return err
	}
	runs, err := schedule.ListWaveRuns(ctx, s.db, 50)
	if err != nil {
		return err
	}
	l := lang(c)
	next, when := map[int64]string{}, map[int64]string{}
	for _, sc := range ss {
		next[sc.ID] = runTime(l, sc.Next(s.opt.Now()))
		when[sc.ID] = specText(l, sc.Spec)
	}
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].Name < ss[j].Name })
	return s.renderView(c, status, "schedules", &view{
		Title: core.Text{ZH: "定时抽样", EN: "Scheduled waves"}, Msg: msg, Err: f.Err,
		Data: schedulesData{Schedules: ss, Next: next, When: when, Runs: runs, Form: f, Builder: viewBuilder(l, f.Builder, s.opt.Now())},
	})
}

func (s *Server) saveSchedule(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	f := scheduleForm{Name: strings.TrimSpace(form.Get("name")), Title: strings.TrimSpace(form.Get("title")),
		Builder: builderFromForm(form.Get, form["day"]),
		Rate:    form.Get("rate"), MinPer: strings.TrimSpace(form.Get("min_per_district")), Expected: form.Get("expected"),
		Modes: form.Get("modes"), Enabled: form.Get("enabled") != ""}
	rate, err1 := strconv.ParseFloat(f.Rate, 64)
	exp, err2 := strconv.ParseFloat(f.Expected, 64)
	if err1 != nil || err2 != nil {
		f.Err = &core.Text{ZH: "抽样比例和预期完成率须为 0 到 1 之间的小数", EN: "the rates must be fractions between 0 and 1"}
		return s.showSchedules(c, http.StatusUnprocessableEntity, f, nil)
	}
	minPer := 2
	if f.MinPer != "" {
		n, err := strconv.Atoi(f.MinPer)
		if err != nil || n < 0 {
			f.Err = &core.Text{ZH: "每区县最少完成访问数须为非负整数", EN: "the minimum per district must be a whole number, 0 or more"}
			return s.showSchedules(c, http.StatusUnprocessableEntity, f, nil)
		}
		minPer = n
	}
	if f.Title == "" {
		f.Err = &core.Text{ZH: "请填写中文名称", EN: "enter a title"}
		return s.showSchedules(c, http.StatusUnprocessableEntity, f, nil)
	}
	spec, err := f.Builder.Spec()
	var saved *schedule.WaveSchedule
	if err == nil {
		saved, err = schedule.SaveWaveSchedule(c.Request().Context(), s.db, schedule.WaveSchedule{Name: f.Name, Title: f.Title, Spec: spec, Rate: rate,
			MinPerDistrict: minPer, ExpectedRate: exp, Modes: pq.StringArray(strings.Split(f.Modes, ",")), Enabled: f.Enabled})
	}
	if t, ok := domainText(err); ok {
		f.Err = t
		return s.showSchedules(c, http.StatusUnprocessableEntity, f, nil)
	}
	if err != nil {
		return err
	}
	u := currentUser(c)
	if err := core.AuditNow(c.Request().Context(), s.db, core.AuditEntry{ActorID: u.ID, Actor: u.Username, Action: "wave-schedule", Subject: saved.Name,
		Details: map[string]any{"title": saved.Title, "spec": saved.Spec, "rate": saved.Rate, "min_per_district": saved.MinPerDistrict,
			"expected_rate": saved.ExpectedRate, "modes": []string(saved.Modes), "enabled": saved.Enabled}}); err != nil {
		return err
	}
	msg := core.Text{ZH: "定时抽样“" + saved.Title + "”已保存。", EN: "Schedule " + saved.Title + " saved."}
	f.Err = nil
	return s.showSchedules(c, http.StatusOK, f, &msg)
}
