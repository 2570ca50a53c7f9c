package survey

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qWaveQuestionnaire = pg.Q("survey/wave-questionnaire")
	qAssessmentWeight  = pg.Q("survey/assessment-weight")
)

// AssessmentWeight is the poll's default share of a district leadership's
// annual assessment; each wave may set its own.
const AssessmentWeight = 0.30

// WaveScores are the estimates of one wave.
type WaveScores struct {
	Items     []string
	Districts []DistrictInfo // every district, in code order
	Estimates []Estimate
	Ranks     []Rank
	Weighting []DistrictWeighting // how each district's weights were made
	// AssessmentWeight turns a district score into assessment points.
	AssessmentWeight float64
	// Questionnaire is the version the wave was scored with.
	Questionnaire *Questionnaire
}

// Composite returns the district-score row of a district ("ALL" for the city).
func (s *WaveScores) Composite(district string) *Estimate {
	return s.Row(district, "composite")
}

// Row returns the estimate of an item in a district, or nil.
func (s *WaveScores) Row(district, item string) *Estimate {
	for i := range s.Estimates {
		if s.Estimates[i].District == district && s.Estimates[i].Item == item {
			return &s.Estimates[i]
		}
	}
	return nil
}

// RankOf returns a district's rank, or nil when it has none.
func (s *WaveScores) RankOf(district string) *Rank {
	for i := range s.Ranks {
		if s.Ranks[i].District == district {
			return &s.Ranks[i]
		}
	}
	return nil
}

// ScoreWave computes a wave's estimates with the score map of its
// questionnaire version. Interviews without a final weight get the base
// weight N_h/m_h of their district.
func ScoreWave(ctx context.Context, db sqlx.QueryerContext, waveID int64, q *Questionnaire) (*WaveScores, error) {
	sc, _, err := scoreWave(ctx, db, waveID, q)
	return sc, err
}

// scoreWave also returns the respondents with their final weights.
func scoreWave(ctx context.Context, db sqlx.QueryerContext, waveID int64, q *Questionnaire) (*WaveScores, []Respondent, error) {
	var ds []struct {
		Code       string `db:"code"`
		Name       string `db:"name"`
		Population int64  `db:"population"`
	}
	if err := sqlx.SelectContext(ctx, db, &ds, `SELECT code, name, population FROM districts ORDER BY code`); err != nil {
		return nil, nil, fmt.Errorf("survey: districts: %w", err)
	}
	pops := map[string]int64{}
	out := &WaveScores{Items: q.IndicatorIDs(), Questionnaire: q}
	for _, d := range ds {
		pops[d.Code] = d.Population
		out.Districts = append(out.Districts, DistrictInfo{Code: d.Code, Name: d.Name})
	}
	rs, err := Respondents(ctx, db, waveID, q)
	if err != nil {
		return nil, nil, err
	}
	if len(rs) == 0 {
		// Before the first interview every row is empty, not an error.
		for _, item := range append(append([]string(nil), out.Items...), CompositeItem) {
			out.Estimates = append(out.Estimates, Estimate{District: AllDistricts, Item: item})
		}
		return out, rs, nil
	}
	// The districts are looked up once for all three steps.
	ix := indexDistricts(rs)
	if err := baseWeights(pops, rs, ix); err != nil {
		return nil, nil, err
	}
	margins, err := LoadMargins(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	if out.Weighting, err = calibrate(rs, margins, ix); err != nil {
		return nil, nil, err
	}
	out.Estimates, err = estimates(q.Design(), rs, ix)
	if err != nil {
		return nil, nil, err
	}
	var comps []Estimate
	for _, e := range out.Estimates {
		if e.Item == "composite" && e.District != "ALL" {
			comps = append(comps, e)
		}
	}
	out.Ranks = RankDistricts(comps)
	return out, rs, nil
}

// WaveQuestionnaire finds a wave by name and the questionnaire version it
// collects with.
func WaveQuestionnaire(ctx context.Context, db sqlx.QueryerContext, wave string) (int64, *Questionnaire, error) {
	var row struct {
		ID  int64  `db:"id"`
		QID *int64 `db:"questionnaire_id"`
	}
	if err := sqlx.GetContext(ctx, db, &row, qWaveQuestionnaire, wave); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil, core.Errorf(core.ENotFound, "没有名为 %q 的轮次", "no wave named %q", wave)
		}
		return 0, nil, err
	}
	if row.QID == nil {
		return 0, nil, core.Errorf(core.EInvalid, "轮次 %q 没有问卷", "wave %q has no questionnaire", wave)
	}
	q, err := GetQuestionnaire(ctx, db, *row.QID)
	return row.ID, q, err
}

// ScoreWaveNamed scores a wave given by name.
func ScoreWaveNamed(ctx context.Context, db sqlx.QueryerContext, wave string) (*WaveScores, error) {
	id, q, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return nil, err
	}
	sc, err := ScoreWave(ctx, db, id, q)
	if err != nil {
		return nil, err
	}
	if err := sqlx.GetContext(ctx, db, &sc.AssessmentWeight, qAssessmentWeight, id); err != nil {
		return nil, err
	}
	return sc, nil
}
