package web

import (
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"minyi/dialer"
	"minyi/sampler"
	"minyi/survey"
)

func (s *Server) scoresIndex(c echo.Context) error {
	ws, err := sampler.ListWaves(c.Request().Context(), s.db)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "scores_index", survey.Text{ZH: "民调得分", EN: "Poll scores"}, ws)
}

// scoreRow is one district on the scores page.
type scoreRow struct {
	District survey.DistrictInfo
	Score    *survey.Estimate
	Rank     *survey.Rank
	Points   float64
}

type scoresData struct {
	Wave      string
	Scores    *survey.WaveScores
	Labels    map[string]survey.Text // item -> indicator name
	Rows      []scoreRow
	City      *survey.Estimate
	Items     []string
	Lo, Hi    float64 // the chart's axis
	CanExport bool
	Downloads []string // export kinds the user may download
}

func (s *Server) scores(c echo.Context) error {
	name := c.Param("wave")
	sc, err := survey.ScoreWaveNamed(c.Request().Context(), s.db, name)
	if err != nil {
		return err
	}
	d := scoresData{Wave: name, Scores: sc, Labels: map[string]survey.Text{}, City: sc.Composite("ALL"), Items: sc.Items, Lo: 100, Hi: 0,
		CanExport: hasRole(export, currentUser(c).Role), Downloads: ExportsFor(currentUser(c).Role)}
	for _, di := range sc.Districts {
		r := scoreRow{District: di, Score: sc.Composite(di.Code), Rank: sc.RankOf(di.Code)}
		if r.Score != nil && r.Score.HasScore {
			r.Points = sc.AssessmentWeight * r.Score.Score
			lo, hi := r.Score.Score, r.Score.Score
			if r.Score.HasSE {
				lo, hi = r.Score.CILow, r.Score.CIHigh
			}
			d.Lo, d.Hi = min(d.Lo, lo), max(d.Hi, hi)
		}
		d.Rows = append(d.Rows, r)
	}
	for _, qu := range sc.Questionnaire.Indicators() {
		if qu.Indicator != nil {
			d.Labels[qu.ID] = *qu.Indicator
		}
	}
	if d.Lo > d.Hi {
		d.Lo, d.Hi = 0, 100
	}
	d.Lo, d.Hi = max(0, float64(int(d.Lo/10))*10), min(100, float64(int(d.Hi/10)+1)*10)
	// Highest score first; districts without a score last, by code.
	sort.SliceStable(d.Rows, func(i, j int) bool {
		a, b := d.Rows[i].Score, d.Rows[j].Score
		ha, hb := a != nil && a.HasScore, b != nil && b.HasScore
		if ha != hb {
			return ha
		}
		return ha && a.Score > b.Score
	})
	return s.render(c, http.StatusOK, "scores", survey.Text{ZH: "民调得分 · " + name, EN: "Poll scores · " + name}, d)
}

// exportScores sends the wide-form scores CSV for the assessment office.
func (s *Server) exportScores(c echo.Context) error {
	return s.sendExport(c, "scores", c.Param("wave"))
}

// rates shows the AAPOR outcome rates of a wave per district.
func (s *Server) rates(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := sampler.GetWave(ctx, s.db, c.Param("wave"))
	if err != nil {
		return err
	}
	rows, err := dialer.WaveRates(ctx, s.db, w.ID)
	if err != nil {
		return err
	}
	names := map[string]string{}
	ds, err := sampler.ListDistricts(ctx, s.db)
	if err != nil {
		return err
	}
	for _, d := range ds {
		names[d.Code] = d.Name
	}
	return s.render(c, http.StatusOK, "rates", survey.Text{ZH: "应答率 · " + w.Name, EN: "Outcome rates · " + w.Name},
		map[string]any{"Wave": w.Name, "Rows": rows, "Names": names, "Rates": dialer.RateNames, "Note": dialer.EstimateNote})
}
