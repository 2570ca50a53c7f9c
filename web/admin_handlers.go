package web

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/schedule"
	"minyi/survey"
)

func (s *Server) districts(c echo.Context) error {
	return s.showDistricts(c, http.StatusOK, nil, nil)
}

func (s *Server) showDistricts(c echo.Context, status int, msg, errMsg *core.Text) error {
	ds, err := sampler.ListDistricts(c.Request().Context(), s.db)
	if err != nil {
		return err
	}
	var total int64
	for _, d := range ds {
		total += d.Population
	}
	return s.renderView(c, status, "districts", &view{
		Title: core.Text{ZH: "区县与常住人口", EN: "Districts and resident population"}, Msg: msg, Err: errMsg,
		Data: map[string]any{"Districts": ds, "Total": total},
	})
}

type wavesData struct {
	Waves []sampler.Wave
	Form  waveForm
}

type waveForm struct {
	Name, Rate, MinPer, Expected, Modes        string
	DoorShare                                  string
	Households, Communities, ReplicateSize     string
	ReplicateThreshold, Freshness, DistrictRts string
	Assessment                                 string
	Errors                                     map[string]core.Text
}

func (s *Server) waves(c echo.Context) error {
	return s.showWaves(c, http.StatusOK, waveForm{Rate: "0.002", MinPer: "2", Expected: "0.5", Modes: "phone", DoorShare: "0.5", Households: "10",
		Communities: "2", ReplicateSize: "0", ReplicateThreshold: "0.8", Freshness: "0", Assessment: "0.30"})
}

func (s *Server) showWaves(c echo.Context, status int, f waveForm) error {
	ws, err := sampler.ListWaves(c.Request().Context(), s.db)
	if err != nil {
		return err
	}
	v := &view{Title: core.Text{ZH: "调查轮次", EN: "Waves"}, Data: wavesData{Waves: ws, Form: f}}
	if len(f.Errors) > 0 {
		v.Err = &core.Text{ZH: "请改正下面标出的错误", EN: "please correct the errors marked below"}
	}
	return s.renderView(c, status, "waves", v)
}

func (s *Server) createWave(c echo.Context) error {
	f := waveForm{Name: strings.TrimSpace(c.FormValue("name")), Rate: c.FormValue("rate"), MinPer: c.FormValue("min_per_district"),
		Expected: c.FormValue("expected"),
		Modes:    c.FormValue("modes"), DoorShare: c.FormValue("door_share"), Households: c.FormValue("households"),
		Communities: c.FormValue("communities"), ReplicateSize: c.FormValue("replicate_size"),
		ReplicateThreshold: c.FormValue("replicate_threshold"), Freshness: c.FormValue("freshness"),
		DistrictRts: c.FormValue("district_rates"), Assessment: c.FormValue("assessment"), Errors: map[string]core.Text{}}
	num := func(field, raw string, lo, hi float64, def float64, msg core.Text) float64 {
		if strings.TrimSpace(raw) == "" {
			return def
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || x < lo || x > hi {
			f.Errors[field] = msg
		}
		return x
	}
	rate := num("rate", f.Rate, 1e-9, 1, 0.002, core.Text{ZH: "抽样比例应为 0 到 1 之间的小数，例如 0.002（即 2‰）", EN: "the rate is a fraction between 0 and 1, e.g. 0.002 (2‰)"})
	exp := num("expected", f.Expected, 1e-9, 1, 0.5, core.Text{ZH: "预期完成率应为 0 到 1 之间的小数", EN: "the expected completion rate is a fraction between 0 and 1"})
	share := num("door_share", f.DoorShare, 0, 1, 0.5, core.Text{ZH: "入户比例应在 0 到 1 之间", EN: "the door-to-door share is between 0 and 1"})
	whole := core.Text{ZH: "请填写非负整数", EN: "enter a whole number, 0 or more"}
	count := func(field, raw string, lo, hi, def float64) float64 {
		x := num(field, raw, lo, hi, def, whole)
		if x != math.Trunc(x) {
			f.Errors[field] = whole
		}
		return x
	}
	minPer := count("min_per_district", f.MinPer, 0, 1e6, 2)
	hh := count("households", f.Households, 1, 1e6, 10)
	comm := count("communities", f.Communities, 1, 1e6, 2)
	repSize := count("replicate_size", f.ReplicateSize, 0, 1e9, 0)
	repThr := num("replicate_threshold", f.ReplicateThreshold, 1e-9, 1, 0.8, core.Text{ZH: "应为 0 到 1 之间的小数", EN: "a fraction between 0 and 1"})
	fresh := count("freshness", f.Freshness, 0, 120, 0)
	assessment := num("assessment", f.Assessment, 1e-9, 1, 0.30, core.Text{ZH: "应为 0 到 1 之间的小数，例如 0.30", EN: "a fraction between 0 and 1, e.g. 0.30"})
	if f.Name == "" {
		f.Errors["name"] = core.Text{ZH: "请填写轮次名称", EN: "enter a wave name"}
	}
	modes := strings.Split(f.Modes, ",")
	if f.Modes == "" {
		modes = []string{"phone"}
	}
	rates := map[string]float64{}
	for _, line := range strings.FieldsFunc(f.DistrictRts, func(r rune) bool { return r == '\n' || r == ',' || r == ';' }) {
		code, val, ok := strings.Cut(strings.TrimSpace(line), "=")
		r, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if !ok || err != nil {
			f.Errors["district_rates"] = core.Text{ZH: "每行写成 区县代码=完成率，例如 500101=0.4", EN: "one CODE=RATE per line, e.g. 500101=0.4"}
			break
		}
		rates[strings.TrimSpace(code)] = r
	}
	if len(f.Errors) > 0 {
		return s.showWaves(c, http.StatusUnprocessableEntity, f)
	}
	qid, err := survey.SaveQuestionnaire(c.Request().Context(), s.db, survey.Default())
	if err != nil {
		return err
	}
	spec := sampler.WaveSpec{Name: f.Name, Rate: rate, ExpectedRate: exp, MinPerDistrict: int(minPer), Modes: modes, QuestionnaireID: qid, AssessmentWeight: assessment,
		DistrictRates: rates, Design: &sampler.Design{HouseholdsPerCommunity: int(hh), CommunitiesPerStreet: int(comm),
			ReplicateSize: int(repSize), ReplicateThreshold: repThr, FreshnessMonths: int(fresh)}}
	if len(modes) == 2 {
		spec.DoorShare = &share
	}
	w, err := sampler.CreateWave(c.Request().Context(), s.db, spec)
	if err != nil {
		var de *core.Error
		if errors.As(err, &de) && de.Code != core.EInternal {
			f.Errors["name"] = core.Text{ZH: de.ZH, EN: de.EN}
			return s.showWaves(c, http.StatusUnprocessableEntity, f)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/waves/"+url.PathEscape(w.Name)+"?msg=wavecreated")
}

type waveData struct {
	Wave        *sampler.Wave
	Plan        []sampler.Allocation
	Allocations []sampler.AllocationRow
	Progress    map[string]dialer.DistrictProgress
	Names       map[string]string
	Target      int
	Released    int
	Completes   int
	Seed        int64
	PlanErr     *core.Text
	Design      sampler.Design
	Replicates  []sampler.Replicate
	RepOpen     int
	Rules       dialer.Rules
}

func (s *Server) wave(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	d := waveData{Wave: w, Names: map[string]string{}, Progress: map[string]dialer.DistrictProgress{}}
	ds, err := sampler.ListDistricts(ctx, s.db)
	if err != nil {
		return err
	}
	for _, x := range ds {
		d.Names[x.Code] = x.Name
	}
	if d.Design, err = sampler.GetDesign(ctx, s.db, w.ID); err != nil {
		return err
	}
	if d.Rules, err = dialer.GetRules(ctx, s.db, w.ID); err != nil {
		return err
	}
	if w.Drawn() {
		if d.Allocations, err = sampler.Allocations(ctx, s.db, w.ID); err != nil {
			return err
		}
		if d.Replicates, err = sampler.Replicates(ctx, s.db, w.Name); err != nil {
			return err
		}
		for _, r := range d.Replicates {
			if r.Open() {
				d.RepOpen++
			}
		}
		ps, err := dialer.Progress(ctx, s.db, w.ID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			d.Progress[p.District] = p
			d.Completes += p.Completes
		}
		for _, a := range d.Allocations {
			d.Target += a.Target
			d.Released += a.Released
		}
	} else {
		plan, err := sampler.Plan(ctx, s.db, w)
		if err != nil {
			var de *core.Error
			if !errors.As(err, &de) {
				return err
			}
			d.PlanErr = &core.Text{ZH: de.ZH, EN: de.EN}
		}
		d.Plan = plan
		for _, a := range plan {
			d.Target += a.Target
		}
		n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000))
		d.Seed = n.Int64() + 1
	}
	return s.render(c, http.StatusOK, "wave", core.Text{ZH: "轮次 " + w.Name, EN: "Wave " + w.Name}, d)
}

// drawWave starts the draw as a background job and shows its progress:
// at city scale it is long work.
func (s *Server) drawWave(c echo.Context) error {
	seed, err := strconv.ParseInt(strings.TrimSpace(c.FormValue("seed")), 10, 64)
	if err != nil || seed <= 0 {
		return core.Errorf(core.EInvalid, "随机种子应为正整数", "the seed must be a positive integer")
	}
	wave := c.Param("wave")
	w, err := sampler.GetWave(c.Request().Context(), s.db, wave)
	if err != nil {
		return err
	}
	if w.Drawn() {
		return core.Errorf(core.EConflict, "轮次 %q 已经抽样", "wave %q has already been drawn", wave)
	}
	u := currentUser(c)
	if err := core.AuditNow(c.Request().Context(), s.db, core.AuditEntry{ActorID: u.ID, Actor: u.Username, Action: "draw",
		Subject: wave, Details: map[string]int64{"seed": seed}}); err != nil {
		return err
	}
	id, err := s.opt.Jobs.Start(c.Request().Context(), schedule.JobSpec{Kind: "draw", Subject: wave, UserID: u.ID}, func(ctx context.Context, _ *schedule.Run) (string, error) {
		rep, err := sampler.Draw(ctx, s.db, wave, seed)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("目标完成 %d，发放样本 %d / target %d completes, %d cases released", rep.Target, rep.Released, rep.Target, rep.Released), nil
	})
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/jobs/"+strconv.FormatInt(id, 10))
}

// job shows a background job's progress; the page reloads itself while the
// job runs (no script needed).
func (s *Server) job(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	j, err := schedule.GetJob(c.Request().Context(), s.db, id)
	if err != nil {
		return err
	}
	v := &view{Title: core.Text{ZH: "任务进度", EN: "Progress"}, Data: j}
	if j.Status == "running" {
		v.Refresh = 1
	}
	return s.renderView(c, http.StatusOK, "job", v)
}

// openReplicates opens the next replicates: of every district whose open
// ones have reached the wave's threshold, or of one district by hand.
func (s *Server) openReplicates(c echo.Context) error {
	ctx := c.Request().Context()
	wave := c.Param("wave")
	var n int
	if c.FormValue("district") == "" && c.FormValue("city") == "" {
		rs, err := sampler.OpenNextReplicates(ctx, s.db, wave, 0)
		if err != nil {
			return err
		}
		n = len(rs)
	} else {
		district := c.FormValue("district")
		if _, err := sampler.OpenReplicate(ctx, s.db, wave, district); err != nil {
			return err
		}
		n = 1
	}
	return c.Redirect(http.StatusSeeOther, "/waves/"+url.PathEscape(wave)+"?msg=opened&n="+strconv.Itoa(n))
}
