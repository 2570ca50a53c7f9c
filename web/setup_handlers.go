package web

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

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
	if de.Err != nil {
		t.ZH += ":\n" + de.Err.Error()
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
			msg := core.Text{ZH: "已读取 " + strconv.Itoa(read) + " 个区县,新增或更新 " + strconv.Itoa(n) + " 个。",
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
		Title: core.Text{ZH: "普查边际(加权目标)", EN: "Census margins (weighting targets)"}, Msg: msg, Err: errMsg,
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
			msg := core.Text{ZH: "已读取 " + strconv.Itoa(read) + " 行,新增或更新 " + strconv.Itoa(n) + " 行。",
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
	Name, Spec, Rate, MinPer, Expected, Modes string
	Enabled                                   bool
	Err                                       *core.Text
}

type schedulesData struct {
	Schedules []schedule.WaveSchedule
	Next      map[int64]time.Time
	Runs      []schedule.WaveRun
	Form      scheduleForm
}

func (s *Server) schedules(c echo.Context) error {
	return s.showSchedules(c, http.StatusOK, scheduleForm{Spec: "0 2 1 * *", Rate: "0.002", MinPer: "2", Expected: "0.5", Modes: "phone", Enabled: true}, nil)
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
	next := map[int64]time.Time{}
	for _, sc := range ss {
		next[sc.ID] = sc.Next(s.opt.Now())
	}
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].Name < ss[j].Name })
	return s.renderView(c, status, "schedules", &view{
		Title: core.Text{ZH: "定时抽样", EN: "Scheduled waves"}, Msg: msg, Err: f.Err,
		Data: schedulesData{Schedules: ss, Next: next, Runs: runs, Form: f},
	})
}

func (s *Server) saveSchedule(c echo.Context) error {
	f := scheduleForm{Name: strings.TrimSpace(c.FormValue("name")), Spec: strings.TrimSpace(c.FormValue("spec")),
		Rate: c.FormValue("rate"), MinPer: strings.TrimSpace(c.FormValue("min_per_district")), Expected: c.FormValue("expected"),
		Modes: c.FormValue("modes"), Enabled: c.FormValue("enabled") != ""}
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
	modes := pq.StringArray(strings.Split(f.Modes, ","))
	_, err := schedule.SaveWaveSchedule(c.Request().Context(), s.db, schedule.WaveSchedule{Name: f.Name, Spec: f.Spec, Rate: rate,
		MinPerDistrict: minPer, ExpectedRate: exp, Modes: modes, Enabled: f.Enabled})
	if t, ok := domainText(err); ok {
		f.Err = t
		return s.showSchedules(c, http.StatusUnprocessableEntity, f, nil)
	}
	if err != nil {
		return err
	}
	msg := core.Text{ZH: "定时抽样 " + f.Name + " 已保存。", EN: "Schedule " + f.Name + " saved."}
	return s.showSchedules(c, http.StatusOK, scheduleForm{Spec: f.Spec, Rate: f.Rate, MinPer: f.MinPer, Expected: f.Expected, Modes: f.Modes, Enabled: true}, &msg)
}
