package survey

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ResponsesHeader is the responses CSV of docs/design.md §7 for a questionnaire.
func ResponsesHeader(items []string) []string {
	return append([]string{"interview_id", "district_code", "mode", "weight", "sex", "age_group"}, items...)
}

// WriteResponses writes a wave's anonymised microdata: one row per
// interview with its final weight, demographics and indicator codes. The
// interview_id column is the interview's public id, random and drawn once
// when it was stored: the same in every export, so that files can be
// compared and joined, yet it cannot be traced back to a case, a number, an
// interviewer or the order of interviewing. Rows are in the order of these
// ids, which is no order of the interviews.
//
// Rows stream from PostgreSQL to w one at a time, so memory does not grow
// with the wave: the server extracts the answer codes, joins each interview
// to the final weight of its weighting cell (computed beforehand from
// counts, not from the interviews) and sorts by public id; the weights and the rows
// are read in one snapshot, so an interview saved meanwhile is in neither.
func WriteResponses(ctx context.Context, db *sqlx.DB, wave string, w interface{ Write([]string) error }) (int, error) {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	waveID, q, err := WaveQuestionnaire(ctx, tx, wave)
	if err != nil {
		return 0, err
	}
	cells, err := exportWeights(ctx, tx, waveID)
	if err != nil {
		return 0, err
	}
	items := q.IndicatorIDs()
	if err := w.Write(ResponsesHeader(items)); err != nil {
		return 0, err
	}
	// The order is a sort on the server; room for it in memory spares a
	// sort on disk.
	if _, err := tx.ExecContext(ctx, `SET LOCAL work_mem = '64MB'`); err != nil {
		return 0, err
	}
	var args []any
	query := responsesQuery(waveID, items, cells, func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	})
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("survey: responses: %w", err)
	}
	defer rows.Close()
	// Columns: the weight given on import, the cell's weight, public id,
	// district and mode, then sex, age group and the items; each group of text values
	// joined by the unit separator, so that the driver hands over three
	// strings a row rather than one per column.
	var fixed sql.NullFloat64
	var cellWeight sql.NullString
	var head, tail []byte
	plain, _ := w.(interface{ WritePlain([]byte) (bool, error) })
	var line []byte
	rec := make([]string, 6+len(items))
	n := 0
	for rows.Next() {
		if err := rows.Scan(&fixed, &cellWeight, &head, &tail); err != nil {
			return n, err
		}
		line = appendJoined(line[:0], head)
		line = append(line, ',')
		switch {
		case fixed.Valid:
			line = strconv.AppendFloat(line, fixed.Float64, 'f', 6, 64)
		case cellWeight.Valid:
			line = append(line, cellWeight.String...)
		default:
			return n, fmt.Errorf("survey: an interview of district %s has no weight", head)
		}
		line = append(line, ',')
		line = appendJoined(line, tail)
		// Most rows are plain codes and numbers and go out as they are;
		// any other row takes the careful way, cell by cell.
		done := false
		if plain != nil && plainCodes(tail) && !bytes.ContainsRune(head, ',') {
			var err error
			if done, err = plain.WritePlain(line); err != nil {
				return n, err
			}
		}
		if !done {
			hs, ts := bytes.Split(head, sep), bytes.Split(tail, sep)
			if len(hs) != 3 || len(ts) != 2+len(items) {
				return n, fmt.Errorf("survey: a row of the responses has %d and %d fields, want 3 and %d", len(hs), len(ts), 2+len(items))
			}
			rec[0], rec[1], rec[2] = string(hs[0]), string(hs[1]), string(hs[2])
			if fixed.Valid {
				rec[3] = strconv.FormatFloat(fixed.Float64, 'f', 6, 64)
			} else {
				rec[3] = cellWeight.String
			}
			for i, c := range ts {
				rec[4+i] = normCode(string(c))
			}
			if err := w.Write(rec); err != nil {
				return n, err
			}
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, tx.Commit()
}

// responsesQuery is the SELECT behind the microdata export. Its columns
// follow the questionnaire's indicators, so it is built here rather than
// named in sql/pg/queries; every value, the item names included, goes through
// bind, which makes it a parameter (or, for psql, a quoted literal).
func responsesQuery(waveID int64, items []string, cells []weightCell, bind func(any) string) string {
	var ds, sex, age, urban, weight []string
	for _, c := range cells {
		if c.Computed == 0 {
			continue
		}
		ds, sex, age, urban = append(ds, c.District), append(sex, c.Sex), append(age, c.AgeGroup), append(urban, c.Urban)
		weight = append(weight, strconv.FormatFloat(c.Weight, 'f', 6, 64))
	}
	wave := bind(waveID)
	var b strings.Builder
	b.WriteString(`SELECT i.weight, c.weight, i.public_id || E'\x1f' || i.district_code || E'\x1f' || i.mode,
       concat_ws(E'\x1f', coalesce(i.answers->>'sex', ''), coalesce(i.answers->>'age_group', '')`)
	for _, it := range items {
		fmt.Fprintf(&b, ",\n           coalesce(i.answers->>%s::text, '')", bind(it))
	}
	b.WriteString(")")
	fmt.Fprintf(&b, `
FROM interviews i
LEFT JOIN unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) AS c(district, sex, age_group, urban, weight)
  ON i.weight IS NULL AND c.district = i.district_code AND c.sex = coalesce(i.answers->>'sex', '')
 AND c.age_group = coalesce(i.answers->>'age_group', '') AND c.urban = coalesce(i.answers->>'urban', '')
WHERE i.wave_id = %s AND i.review_status <> 'invalid'
ORDER BY i.public_id`, bind(pq.StringArray(ds)), bind(pq.StringArray(sex)), bind(pq.StringArray(age)), bind(pq.StringArray(urban)), bind(pq.StringArray(weight)), wave)
	return b.String()
}

// ResponsesCopyQuery is the microdata export's SELECT for a wave with its
// values written in, for `COPY (…) TO STDOUT` through psql: the baseline
// of the export's benchmark.
func ResponsesCopyQuery(ctx context.Context, db *sqlx.DB, wave string) (string, error) {
	waveID, q, err := WaveQuestionnaire(ctx, db, wave)
	if err != nil {
		return "", err
	}
	cells, err := exportWeights(ctx, db, waveID)
	if err != nil {
		return "", err
	}
	return responsesQuery(waveID, q.IndicatorIDs(), cells, func(v any) string {
		switch v := v.(type) {
		case int64:
			return strconv.FormatInt(v, 10)
		case string:
			return pq.QuoteLiteral(v)
		case pq.StringArray:
			q := make([]string, len(v))
			for i, x := range v {
				q[i] = pq.QuoteLiteral(x)
			}
			return "ARRAY[" + strings.Join(q, ",") + "]::text[]"
		}
		panic(fmt.Sprintf("survey: cannot write %T into SQL", v))
	}), nil
}

// sep joins the values of a column group in the export's SELECT.
var sep = []byte{0x1f}

// appendJoined appends a column group with commas between its values.
func appendJoined(line, group []byte) []byte {
	for _, c := range group {
		if c == 0x1f {
			c = ','
		}
		line = append(line, c)
	}
	return line
}

// plainCodes reports whether every value of a group of codes is already
// printed as normCode would print it: empty, or digits not starting with 0.
func plainCodes(group []byte) bool {
	start := true
	for _, c := range group {
		switch {
		case c == 0x1f:
			start = true
			continue
		case c < '0' || c > '9' || (start && c == '0'):
			return false
		}
		start = false
	}
	return true
}

// normCode prints an answer code as the estimator reads it: a number, or
// nothing when the answer is missing or not a number.
func normCode(s string) string {
	if len(s) == 1 && s[0] >= '1' && s[0] <= '9' {
		return s
	}
	c, _ := strconv.Atoi(s)
	return code(c)
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
