package survey

import (
	"context"
	"math/rand/v2"
	"strconv"

	"github.com/jmoiron/sqlx"
)

// ResponsesHeader is the responses CSV of DESIGN.md for a questionnaire.
func ResponsesHeader(items []string) []string {
	return append([]string{"interview_id", "district_code", "mode", "weight", "sex", "age_group"}, items...)
}

// WriteResponses writes a wave's anonymised microdata: one row per
// interview with its final weight, demographics and indicator codes. The
// interview_id column numbers the rows 1…n in an order shuffled afresh for
// every export, so that a row cannot be traced back to a case, a number or
// an interviewer.
func WriteResponses(ctx context.Context, db sqlx.QueryerContext, wave string, w interface{ Write([]string) error }) (int, error) {
	waveID, q, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return 0, err
	}
	_, rs, err := scoreWave(ctx, db, waveID, q)
	if err != nil {
		return 0, err
	}
	items := q.IndicatorIDs()
	if err := w.Write(ResponsesHeader(items)); err != nil {
		return 0, err
	}
	order := rand.Perm(len(rs))
	for n, i := range order {
		r := rs[i]
		rec := []string{strconv.Itoa(n + 1), r.District, r.Mode, strconv.FormatFloat(r.Weight, 'f', 6, 64), code(r.Sex), code(r.AgeGroup)}
		for _, c := range r.Codes {
			rec = append(rec, code(c))
		}
		if err := w.Write(rec); err != nil {
			return n, err
		}
	}
	return len(rs), nil
}

func code(c int) string {
	if c == 0 {
		return ""
	}
	return strconv.Itoa(c)
}

// CodebookHeader is the codebook CSV's header.
var CodebookHeader = []string{"question_id", "section", "type", "text_zh", "text_en", "code", "label_zh", "label_en", "points"}

// WriteCodebook writes the codebook of a wave's questionnaire version: every
// question with its text and every answer code with its label and points.
func WriteCodebook(ctx context.Context, db sqlx.QueryerContext, wave string, w interface{ Write([]string) error }) (int, error) {
	_, q, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return 0, err
	}
	if err := w.Write(CodebookHeader); err != nil {
		return 0, err
	}
	n := 0
	for _, qu := range q.Questions {
		if len(qu.Options) == 0 {
			if err := w.Write([]string{qu.ID, qu.Section, qu.Type, qu.Text.ZH, qu.Text.EN, "", "", "", ""}); err != nil {
				return n, err
			}
			n++
			continue
		}
		for _, o := range qu.Options {
			pts := ""
			if qu.Section == "indicator" {
				if p, ok := q.Points[strconv.Itoa(o.Code)]; ok {
					pts = strconv.FormatFloat(p, 'f', -1, 64)
				}
			}
			if err := w.Write([]string{qu.ID, qu.Section, qu.Type, qu.Text.ZH, qu.Text.EN, strconv.Itoa(o.Code), o.Label.ZH, o.Label.EN, pts}); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
