package survey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/csvfile"
	"minyi/sql/pg"
)

var (
	qImportCreateStaging = pg.Q("responses/create-staging")
	qImportRepeatedIDs   = pg.Q("responses/repeated-ids")
	qImportIDsInWave     = pg.Q("responses/ids-in-wave")
	qImportMedianWeight  = pg.Q("responses/median-weight")
	qImportWeightsOut    = pg.Q("responses/weights-outside")
	qImportStaged        = pg.Q("responses/staged")
)

// WeightRange is how far an imported weight may be from the median of the
// weights its file gives: at most this many times it, and at least its
// fraction 1/WeightRange. A weight of 10¹² among weights near 500 would make
// one respondent outvote a district; a weight near 0 would silence one. The
// median, not the mean, is the yardstick: one huge weight raises the mean
// of a small file so much that it passes a test against the mean.
const WeightRange = 1000

// ImportOptions are the choices of one responses import and who makes it.
type ImportOptions struct {
	// AllowWeights, when not empty, is why weights outside the plausible
	// range (WeightRange) are right; the import then keeps them, and the
	// reason and the rows go into the audit log.
	AllowWeights string
	ActorID      int64  // the user, or 0 for a command
	Actor        string // their username, or the command ("minyi responses import")
	FileName     string
}

// ImportResult says what an import stored.
type ImportResult struct {
	Rows   int
	SHA256 string // of the file as read
	// Outside is how many rows have a weight outside the plausible range,
	// kept because the import allowed them.
	Outside int
}

// batchRows is how many staged rows are read back at once to be stored.
const batchRows = 1000

// ImportResponses reads a responses CSV into a wave: every row or none.
// A file with problems is rejected with the first csvfile.MaxProblems of
// them, each with its line, and how many more there are: bad rows, an
// interview id repeated in the file or already in the wave, and weights
// outside the plausible range unless opt allows them. The file is read once,
// a row at a time, into a staging table where those checks are made, so
// that neither a large file nor a bad one takes memory that grows with it.
// The interviews enter review as imported and the import is audited, with
// the file's SHA-256.
func ImportResponses(ctx context.Context, db *sqlx.DB, wave string, r io.Reader, opt ImportOptions) (ImportResult, error) {
	opt.AllowWeights = strings.TrimSpace(opt.AllowWeights)
	waveID, q, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return ImportResult{}, err
	}
	var codes []string
	if err := db.SelectContext(ctx, &codes, `SELECT code FROM districts`); err != nil {
		return ImportResult{}, err
	}
	districts := map[string]bool{}
	for _, c := range codes {
		districts[c] = true
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return ImportResult{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, qImportCreateStaging); err != nil {
		return ImportResult{}, fmt.Errorf("survey: import staging table: %w", err)
	}
	st, err := tx.PreparexContext(ctx, `COPY response_import_rows (line, interview_id, district_code, mode, psu, weight, sex, age_group, answers) FROM STDIN`)
	if err != nil {
		return ImportResult{}, fmt.Errorf("survey: import copy: %w", err)
	}
	ids := q.IndicatorIDs()
	h := sha256.New()
	problems, err := readResponses(io.TeeReader(r, h), ids, districts, nil, func(row ResponseRow) error {
		ans := Answers{"district": row.District, "sex": strconv.Itoa(row.Sex), "age_group": strconv.Itoa(row.AgeGroup)}
		for i, id := range ids {
			ans[id] = strconv.Itoa(row.Codes[i])
		}
		b, err := json.Marshal(ans)
		if err != nil {
			return err
		}
		_, err = st.ExecContext(ctx, row.Line, row.InterviewID, row.District, row.Mode, nullStr(row.PSU), nullFloat(row.Weight), row.Sex, row.AgeGroup, string(b))
		return err
	})
	if err != nil {
		st.Close()
		return ImportResult{}, fmt.Errorf("survey: import: %w", err)
	}
	if _, err := st.ExecContext(ctx); err != nil {
		st.Close()
		return ImportResult{}, fmt.Errorf("survey: import copy: %w", err)
	}
	st.Close()
	found := newFoundProblems(problems)
	if err := checkStaged(ctx, tx, waveID, found); err != nil {
		return ImportResult{}, err
	}
	weights, err := checkWeights(ctx, tx, found, opt.AllowWeights != "")
	if err != nil {
		return ImportResult{}, err
	}
	if found.total > 0 {
		return ImportResult{}, found.err()
	}
	res := ImportResult{SHA256: hex.EncodeToString(h.Sum(nil)), Outside: weights.outside}
	if res.Rows, err = storeStaged(ctx, db, tx, waveID, q.ID); err != nil {
		return ImportResult{}, err
	}
	details := map[string]any{"rows": res.Rows, "sha256": res.SHA256, "file": opt.FileName, "median_weight": weights.median}
	if weights.outside > 0 {
		details["weights_outside"] = map[string]any{"reason": opt.AllowWeights, "rows": weights.outside, "lines": weights.lines,
			"low": weights.low, "high": weights.high}
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: opt.ActorID, Actor: opt.Actor, Action: "responses-import", Subject: wave, Details: details}); err != nil {
		return ImportResult{}, err
	}
	return res, tx.Commit()
}

// foundProblems gathers the problems of an import from the reader and from
// the checks on the staged rows: each source keeps its first ones by line,
// and counts them all.
type foundProblems struct {
	list  []csvfile.Problem
	total int
}

func newFoundProblems(ps *csvfile.Problems) *foundProblems {
	return &foundProblems{list: slices.Clone(ps.List()), total: ps.Len()}
}

// err lists the first csvfile.MaxProblems by line and how many more there
// are.
func (f *foundProblems) err() *ImportError {
	slices.SortStableFunc(f.list, func(a, b csvfile.Problem) int { return a.Line - b.Line })
	list := f.list[:min(len(f.list), csvfile.MaxProblems)]
	return &ImportError{Problems: list, Omitted: f.total - len(list)}
}

// checkStaged finds interview ids repeated in the file or already in the
// wave.
func checkStaged(ctx context.Context, tx *sqlx.Tx, waveID int64, found *foundProblems) error {
	var repeated []struct {
		Line      int    `db:"line"`
		ID        string `db:"interview_id"`
		FirstLine int    `db:"first_line"`
		Total     int    `db:"total"`
	}
	if err := tx.SelectContext(ctx, &repeated, qImportRepeatedIDs, csvfile.MaxProblems); err != nil {
		return fmt.Errorf("survey: import repeated ids: %w", err)
	}
	for _, r := range repeated {
		found.list = append(found.list, csvfile.Problem{Line: r.Line, Column: "interview_id", Message: core.Text{
			ZH: fmt.Sprintf("interview_id %s 与第 %d 行重复", csvfile.Quote(r.ID), r.FirstLine),
			EN: fmt.Sprintf("duplicate interview_id %s (first on line %d)", csvfile.Quote(r.ID), r.FirstLine)}})
	}
	if len(repeated) > 0 {
		found.total += repeated[0].Total
	}
	var inWave []struct {
		Line  int    `db:"line"`
		ID    string `db:"interview_id"`
		Total int    `db:"total"`
	}
	if err := tx.SelectContext(ctx, &inWave, qImportIDsInWave, waveID, csvfile.MaxProblems); err != nil {
		return fmt.Errorf("survey: import ids in the wave: %w", err)
	}
	for _, r := range inWave {
		found.list = append(found.list, csvfile.Problem{Line: r.Line, Column: "interview_id", Message: core.Text{
			ZH: fmt.Sprintf("访问编号 %s 已在轮次中", csvfile.Quote(r.ID)),
			EN: fmt.Sprintf("interview_id %s is already in the wave", csvfile.Quote(r.ID))}})
	}
	if len(inWave) > 0 {
		found.total += inWave[0].Total
	}
	return nil
}

// weightCheck is what the weight check found.
type weightCheck struct {
	median, low, high float64
	outside           int   // rows outside [low, high]
	lines             []int // the first of them
}

// checkWeights finds the rows whose weight is outside the plausible range
// around the median of the file's weights: problems, unless allowed.
func checkWeights(ctx context.Context, tx *sqlx.Tx, found *foundProblems, allowed bool) (weightCheck, error) {
	var wc weightCheck
	var median *float64
	if err := tx.GetContext(ctx, &median, qImportMedianWeight); err != nil {
		return wc, fmt.Errorf("survey: import median weight: %w", err)
	}
	if median == nil {
		return wc, nil
	}
	wc.median, wc.low, wc.high = *median, *median/WeightRange, *median*WeightRange
	var outside []struct {
		Line   int     `db:"line"`
		Weight float64 `db:"weight"`
		Total  int     `db:"total"`
	}
	if err := tx.SelectContext(ctx, &outside, qImportWeightsOut, wc.low, wc.high, csvfile.MaxProblems); err != nil {
		return wc, fmt.Errorf("survey: import weights: %w", err)
	}
	if len(outside) == 0 {
		return wc, nil
	}
	wc.outside = outside[0].Total
	for _, o := range outside {
		wc.lines = append(wc.lines, o.Line)
		if allowed {
			continue
		}
		w := strconv.FormatFloat(o.Weight, 'g', 6, 64)
		rng := strconv.FormatFloat(wc.low, 'g', 6, 64) + "–" + strconv.FormatFloat(wc.high, 'g', 6, 64)
		med := strconv.FormatFloat(wc.median, 'g', 6, 64)
		found.list = append(found.list, csvfile.Problem{Line: o.Line, Column: "weight", Message: core.Text{
			ZH: fmt.Sprintf("权重 %s 超出合理范围 %s（本文件权重中位数 %s 的千分之一到一千倍）；如确有依据，请用 --allow-weights 写明理由后导入", w, rng, med),
			EN: fmt.Sprintf("weight %s is outside the plausible range %s (1/%d to %d times the file's median weight %s); if it is right, import with --allow-weights REASON", w, rng, WeightRange, WeightRange, med)}})
	}
	if !allowed {
		found.total += wc.outside
	}
	return wc, nil
}

// storeStaged stores the staged rows as interviews, a batch at a time, in
// file order, and returns how many.
func storeStaged(ctx context.Context, db *sqlx.DB, tx *sqlx.Tx, waveID, questionnaireID int64) (int, error) {
	n, after := 0, 0
	for {
		var batch []struct {
			Line      int     `db:"line"`
			ID        string  `db:"interview_id"`
			District  string  `db:"district_code"`
			Mode      string  `db:"mode"`
			PSU       string  `db:"psu"`
			Weight    float64 `db:"weight"`
			Sex       int     `db:"sex"`
			AgeGroup  int     `db:"age_group"`
			RawAnswer []byte  `db:"answers"`
		}
		if err := tx.SelectContext(ctx, &batch, qImportStaged, after, batchRows); err != nil {
			return 0, fmt.Errorf("survey: import staged rows: %w", err)
		}
		for _, row := range batch {
			var ans Answers
			if err := json.Unmarshal(row.RawAnswer, &ans); err != nil {
				return 0, err
			}
			_, created, err := InsertInterview(ctx, db, tx, Interview{
				WaveID: waveID, ExternalID: row.ID, QuestionnaireID: questionnaireID, District: row.District,
				Mode: row.Mode, PSU: row.PSU, Weight: row.Weight, Sex: row.Sex, AgeGroup: row.AgeGroup,
				Answers: ans, Source: "import",
			})
			if err == nil && !created {
				err = errors.New("already stored")
			}
			if err != nil {
				return 0, fmt.Errorf("survey: import line %d: %w", row.Line, err)
			}
			n++
			after = row.Line
		}
		if len(batch) < batchRows {
			return n, nil
		}
	}
}
