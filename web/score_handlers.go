package web

import (
	"net/http"
	"slices"
	"sort"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/export"
	"minyi/sampler"
	"minyi/survey"
)

func (s *Server) scoresIndex(c echo.Context) error {
	ws, err := survey.ScoreWaves(c.Request().Context(), s.db)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "scores_index", core.Text{ZH: "民调得分", EN: "Poll scores"}, ws)
}

// scoreRow is one district on the scores page.
type scoreRow struct {
	District survey.DistrictInfo
	Score    *survey.Estimate
	Rank     *survey.Rank
	Points   float64
	Bands    []string // the labels of its tie bands: districts sharing one are tied
	Tied     int      // how many districts it is statistically tied with
	Effect   float64  // Kish's weighting effect of its weights
	HasEff   bool
}

// bandRow is a tie band as the page shows it: its label, the ranks it
// spans and how many districts it holds, never their names (a row of 39
// names made the page 22,892 px tall).
type bandRow struct {
	Label             string
	RankLow, RankHigh int
	Districts         int
}

// weightingGroup is the districts weighted the same way, with the range of
// their sweeps and weighting effects; each district's effect is in the
// scores table.
type weightingGroup struct {
	survey.DistrictWeighting // the method: FixedOnly and Raked
	Districts                int
	SweepsLo, SweepsHi       int
	EffectLo, EffectHi       float64
}

// rateCell is one indicator's satisfaction and don't-know rates in one
// district, with the counts they are shares of.
type rateCell struct {
	Rate survey.IndicatorRate
	Sat  float64
	HasS bool
	DK   float64
	HasD bool
}

// rateRow is a district's (or the city's) rates, one cell per item.
type rateRow struct {
	Name  string
	City  bool
	Cells []rateCell
}

type scoresData struct {
	Wave      string
	Scores    *survey.WaveScores
	Labels    map[string]core.Text // item -> indicator name
	Rows      []scoreRow
	City      *survey.Estimate
	Items     []string
	Lo, Hi    float64 // the chart's axis
	CanExport bool
	Downloads []string  // export kinds the user may download
	Rates     []rateRow // 满意率 and 不清楚率 per district, then city-wide
	Bands     []bandRow
	Weighting []weightingGroup
	// Live is how the live scores differ from the latest publication;
	// Changed names the districts that differ.
	Live    *survey.LiveDiff
	Changed []string
	Signed  bool // downloads are signed: the page links their signatures
}

func (s *Server) scores(c echo.Context) error {
	name := c.Param("wave")
	sc, err := survey.ScoreWaveNamed(c.Request().Context(), s.db, name)
	if err != nil {
		return err
	}
	d := scoresData{Wave: name, Scores: sc, Labels: map[string]core.Text{}, City: sc.Composite("ALL"), Items: sc.Items, Lo: 100, Hi: 0,
		CanExport: hasRole(office, currentUser(c).Role), Downloads: export.For(currentUser(c).Role), Signed: s.opt.Signer != nil}
	names := make(map[string]string, len(sc.Districts))
	for _, di := range sc.Districts {
		names[di.Code] = di.Name
	}
	if d.Live, err = survey.CompareWithPublication(c.Request().Context(), s.db, name, sc); err != nil {
		return err
	}
	if d.Live != nil {
		for _, code := range d.Live.Districts {
			n := names[code]
			if code == survey.AllDistricts {
				n = survey.CityName
			}
			d.Changed = append(d.Changed, n)
		}
	}
	bandsOf := map[string][]string{}
	for _, b := range sc.Bands() {
		d.Bands = append(d.Bands, bandRow{Label: b.Label, RankLow: b.RankLow, RankHigh: b.RankHigh, Districts: len(b.Districts)})
		for _, code := range b.Districts {
			bandsOf[code] = append(bandsOf[code], b.Label)
		}
	}
	effect := map[string]float64{}
	for _, w := range sc.Weighting {
		effect[w.District] = w.Effect
	}
	d.Weighting = weightingGroups(sc.Weighting)
	for _, di := range sc.Districts {
		r := scoreRow{District: di, Score: sc.Composite(di.Code), Rank: sc.RankOf(di.Code), Bands: bandsOf[di.Code]}
		r.Effect, r.HasEff = effect[di.Code]
		if r.Rank != nil {
			r.Tied = len(r.Rank.TiedWith)
		}
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
	d.Rates = rateRows(sc, names)
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
	return s.render(c, http.StatusOK, "scores", core.Text{ZH: "民调得分 · " + name, EN: "Poll scores · " + name}, d)
}

// weightingGroups groups the districts by how their weights were made, in
// the order each way first appears.
func weightingGroups(ws []survey.DistrictWeighting) []weightingGroup {
	var out []weightingGroup
	for _, w := range ws {
		i := slices.IndexFunc(out, func(g weightingGroup) bool {
			return g.FixedOnly == w.FixedOnly && slices.Equal(g.Raked, w.Raked)
		})
		if i < 0 {
			out = append(out, weightingGroup{DistrictWeighting: w, SweepsLo: w.Sweeps, SweepsHi: w.Sweeps, EffectLo: w.Effect, EffectHi: w.Effect})
			i = len(out) - 1
		}
		g := &out[i]
		g.Districts++
		g.SweepsLo, g.SweepsHi = min(g.SweepsLo, w.Sweeps), max(g.SweepsHi, w.Sweeps)
		g.EffectLo, g.EffectHi = min(g.EffectLo, w.Effect), max(g.EffectHi, w.Effect)
	}
	return out
}

// rateRows lays out survey.IndicatorRates as district × item, districts
// in code order and the city last.
func rateRows(sc *survey.WaveScores, names map[string]string) []rateRow {
	idx := map[string]int{}
	for j, it := range sc.Items {
		idx[it] = j
	}
	byDistrict := map[string][]rateCell{}
	for _, r := range survey.IndicatorRates(sc.Estimates) {
		j, ok := idx[r.Item]
		if !ok {
			continue
		}
		if byDistrict[r.District] == nil {
			byDistrict[r.District] = make([]rateCell, len(sc.Items))
		}
		c := rateCell{Rate: r}
		c.Sat, c.HasS = r.SatisfactionRate()
		c.DK, c.HasD = r.DontKnowRate()
		byDistrict[r.District][j] = c
	}
	var out []rateRow
	for _, di := range sc.Districts {
		if cells, ok := byDistrict[di.Code]; ok {
			out = append(out, rateRow{Name: names[di.Code], Cells: cells})
		}
	}
	if cells, ok := byDistrict[survey.AllDistricts]; ok && len(out) > 0 {
		out = append(out, rateRow{Name: survey.CityName, City: true, Cells: cells})
	}
	return out
}

// exportScores sends the wide-form scores CSV for the assessment office.
func (s *Server) exportScores(c echo.Context) error {
	return s.sendExport(c, "scores", c.Param("wave"))
}

// mainRates are the rates the rates page shows beside the counts, so that
// the table fits a laptop's screen; all of them are behind a toggle and in
// the CSV.
var mainRates = []string{"RR1", "RR3", "COOP1", "REF1", "CON1"}

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
	return s.render(c, http.StatusOK, "rates", core.Text{ZH: "应答率 · " + w.Name, EN: "Outcome rates · " + w.Name},
		map[string]any{"Wave": w.Name, "Rows": rows, "Names": names, "Main": mainRates, "Rates": dialer.RateNames, "Note": dialer.EstimateNote})
}
