package survey

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"minyi/core"
	"minyi/csvfile"

	"github.com/jmoiron/sqlx"
)

// ImportResponses reads a responses CSV into a wave: every row or none. A
// file with problems is rejected with every problem and its line number.
func ImportResponses(ctx context.Context, db *sqlx.DB, wave string, r io.Reader) (int, error) {
	waveID, q, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return 0, err
	}
	var codes []string
	if err := db.SelectContext(ctx, &codes, `SELECT code FROM districts`); err != nil {
		return 0, err
	}
	districts := map[string]bool{}
	for _, c := range codes {
		districts[c] = true
	}
	rows, err := ParseResponses(r, q.IndicatorIDs(), districts)
	if err != nil {
		return 0, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	ids := q.IndicatorIDs()
	problems := csvfile.NewProblems(0)
	for _, row := range rows {
		ans := Answers{"district": row.District, "sex": strconv.Itoa(row.Sex), "age_group": strconv.Itoa(row.AgeGroup)}
		for i, id := range ids {
			ans[id] = strconv.Itoa(row.Codes[i])
		}
		_, created, err := InsertInterview(ctx, db, tx, Interview{
			WaveID: waveID, ExternalID: row.InterviewID, QuestionnaireID: q.ID, District: row.District,
			Mode: row.Mode, PSU: row.PSU, Weight: row.Weight, Sex: row.Sex, AgeGroup: row.AgeGroup,
			Answers: ans, Source: "import",
		})
		if err != nil && core.ErrorCode(err) != core.EConflict {
			return 0, fmt.Errorf("survey: import line %d: %w", row.Line, err)
		}
		if err != nil || !created {
			problems.Addf(row.Line, "interview_id", "访问编号 %q 已在轮次中", "interview_id %q is already in the wave", row.InterviewID)
		}
	}
	if problems.Len() > 0 {
		return 0, importError(problems)
	}
	return len(rows), tx.Commit()
}
