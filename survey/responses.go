package survey

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"minyi/core"
	"minyi/csvfile"
)

// ResponseRow is one validated row of a Responses CSV (docs/design.md §7).
type ResponseRow struct {
	Line        int // 1-based line number in the file (header is line 1)
	InterviewID string
	District    string
	Mode        string  // "phone" or "door"
	Weight      float64 // 0 when the cell is empty
	Sex         int
	AgeGroup    int
	PSU         string
	Codes       []int // aligned with items
}

// ImportError lists the problems found in an imported file, so that
// whoever keyed in the paper questionnaires can fix them all in one pass
// instead of one per attempt: the first csvfile.MaxProblems, and how many
// more there are.
type ImportError struct {
	Problems []csvfile.Problem
	Omitted  int
}

func importError(ps *csvfile.Problems) *ImportError {
	return &ImportError{Problems: ps.List(), Omitted: ps.Omitted()}
}

// Count is how many problems were found, listed or not.
func (e *ImportError) Count() int { return len(e.Problems) + e.Omitted }

// ErrorCode says that the file, not the system, is at fault.
func (e *ImportError) ErrorCode() string { return core.EInvalid }

// Error lists the problems one per line as "第 N 行 / line N: 中文 /
// English", then how many more there are.
func (e *ImportError) Error() string {
	return csvfile.FormatProblems(e.Problems, e.Omitted)
}

// The fixed columns of the Responses CSV; the item columns follow them.
var responseColumns = []string{"interview_id", "district_code", "mode", "weight", "sex", "age_group"}

const psuColumn = "psu"

// validAnswerCodes are the answer codes of docs/statistics.md §1.
var validAnswerCodes = map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 8: true, 9: true}

// ParseResponses reads a Responses CSV for import, in UTF-8 (with or
// without a byte-order mark, as Excel writes) or GB18030. The header must
// name the fixed columns and every item, in any order, optionally a psu
// column, and nothing else. Cells are trimmed of surrounding spaces. Every
// row is checked and every problem collected; if there is any, the result
// is nil and the error an *ImportError. districts holds the known district
// codes; a nil map skips that check. An error reading r is returned
// wrapped.
func ParseResponses(r io.Reader, items []string, districts map[string]bool) ([]ResponseRow, error) {
	if len(items) == 0 {
		return nil, errors.New("survey: no items to import")
	}
	for i, it := range items {
		if it == "" || it == psuColumn || slices.Contains(responseColumns, it) || slices.Contains(items[:i], it) {
			return nil, fmt.Errorf("survey: item name %q is empty, repeated or clashes with a fixed column", it)
		}
	}
	f, err := csvfile.NewReader(r, csvfile.Options{Kind: core.Text{ZH: "答卷", EN: "a responses"}})
	if err != nil {
		return nil, responsesError(csvfile.NewProblems(0), err)
	}
	// Extra columns are reported but leave the rows checkable.
	cols := csvfile.Columns{Required: append(slices.Clone(responseColumns), items...), Optional: []string{psuColumn}, Others: csvfile.ReportOthers}
	if err := f.ReadHeader(cols); err != nil {
		return nil, responsesError(f.Problems(), err)
	}
	problems := f.Problems()
	var rows []ResponseRow
	firstLine := make(map[string]int)
	for {
		rec, err := f.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, responsesError(problems, err)
		}
		if row, ok := parseResponse(rec, items, districts, firstLine, problems); ok {
			rows = append(rows, row)
		}
	}
	if f.Rows() == 0 {
		problems.Addf(1, "", "文件没有数据行", "the file has no data rows")
	}
	if problems.Len() > 0 {
		e := importError(problems)
		slices.SortStableFunc(e.Problems, func(a, b csvfile.Problem) int { return a.Line - b.Line })
		return nil, e
	}
	return rows, nil
}

// responsesError is the error for a file the reader could not read on: an
// *ImportError when the file is at fault, with what stopped the reading
// after the problems found before; problems with the file as a whole are
// on line 1.
func responsesError(problems *csvfile.Problems, err error) error {
	var fe *csvfile.Error
	if !errors.As(err, &fe) {
		return err
	}
	for _, p := range fe.Problems {
		p.Line = max(p.Line, 1)
		problems.Add(p)
	}
	return importError(problems)
}

// parseResponse checks one row, adding what is wrong with it to problems.
// ok is false when anything is; firstLine has the line of each interview
// id seen so far.
func parseResponse(rec csvfile.Row, items []string, districts map[string]bool, firstLine map[string]int, problems *csvfile.Problems) (row ResponseRow, ok bool) {
	line := rec.Line
	before := problems.Len()
	cell := rec.Get
	row = ResponseRow{Line: line, Codes: make([]int, len(items))}

	row.InterviewID = cell("interview_id")
	if row.InterviewID == "" {
		problems.Addf(line, "interview_id", "interview_id 为空", "empty interview_id")
	} else if first, ok := firstLine[row.InterviewID]; ok {
		problems.Addf(line, "interview_id", "interview_id %q 与第 %d 行重复", "duplicate interview_id %q (first on line %d)", row.InterviewID, first)
	} else {
		firstLine[row.InterviewID] = line
	}

	row.District = cell("district_code")
	if row.District == "" {
		problems.Addf(line, "district_code", "区县代码为空", "empty district_code")
	} else if districts != nil && !districts[row.District] {
		problems.Addf(line, "district_code", "区县代码 %q 不存在", "unknown district_code %q", row.District)
	}

	row.Mode = strings.ToLower(cell("mode"))
	if row.Mode != "phone" && row.Mode != "door" {
		problems.Addf(line, "mode", "访问方式 %q 无效，应为 phone 或 door", "mode %q is not phone or door", cell("mode"))
	}

	if s := cell("weight"); s != "" {
		w, err := strconv.ParseFloat(s, 64)
		if err != nil || !(w > 0) || math.IsInf(w, 0) {
			problems.Addf(line, "weight", "权重 %q 不是正数", "weight %q is not a positive number", s)
		} else {
			row.Weight = w
		}
	}

	var valid bool
	if row.Sex, valid = codeIn(cell("sex"), 1, 2); !valid {
		problems.Addf(line, "sex", "性别代码 %q 无效，应为 1 或 2", "sex %q is not 1 or 2", cell("sex"))
	}
	if row.AgeGroup, valid = codeIn(cell("age_group"), 1, 5); !valid {
		problems.Addf(line, "age_group", "年龄组代码 %q 无效，应为 1 到 5", "age_group %q is not 1 to 5", cell("age_group"))
	}

	row.PSU = cell(psuColumn)

	for j, it := range items {
		s := cell(it)
		c, err := strconv.Atoi(s)
		if err != nil || !validAnswerCodes[c] {
			problems.Addf(line, it, "%s 的答案代码 %q 无效", "%s: invalid answer code %q", it, s)
			continue
		}
		row.Codes[j] = c
	}
	return row, problems.Len() == before
}

// codeIn parses a small integer code and checks it lies in [lo, hi].
func codeIn(s string, lo, hi int) (int, bool) {
	c, err := strconv.Atoi(s)
	if err != nil || c < lo || c > hi {
		return 0, false
	}
	return c, true
}
