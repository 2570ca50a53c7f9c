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

// maxInterviewID bounds an interview id and a psu, which are stored and
// shown.
const maxInterviewID = 200

// validAnswerCodes are the answer codes of docs/statistics.md §1.
var validAnswerCodes = map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 8: true, 9: true}

// readResponses reads a Responses CSV, in UTF-8 (with or without a
// byte-order mark, as Excel writes) or GB18030, one row at a time, and
// calls emit with each row that passes its own checks, in file order. The
// header must name the fixed columns and every item, in any order,
// optionally a psu column, and nothing else. Cells are trimmed of
// surrounding spaces. What is wrong with the other rows, and what made the
// rest of the file unreadable, is in the problems returned (problems with
// the file as a whole are on line 1); only the current row is held in
// memory. firstLine, when not nil, finds repeated interview ids as the
// rows go by (a file held whole); otherwise the caller finds them.
// districts holds the known district codes; a nil map skips that check.
// The error is one of reading r or of emit, never one of the file.
func readResponses(r io.Reader, items []string, districts map[string]bool, firstLine map[string]int, emit func(ResponseRow) error) (*csvfile.Problems, error) {
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
		return fileProblems(csvfile.NewProblems(0), err)
	}
	// Extra columns are reported but leave the rows checkable.
	cols := csvfile.Columns{Required: append(slices.Clone(responseColumns), items...), Optional: []string{psuColumn}, Others: csvfile.ReportOthers}
	if err := f.ReadHeader(cols); err != nil {
		return fileProblems(f.Problems(), err)
	}
	problems := f.Problems()
	for {
		rec, err := f.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fileProblems(problems, err)
		}
		if row, ok := parseResponse(rec, items, districts, firstLine, problems); ok {
			if err := emit(row); err != nil {
				return problems, err
			}
		}
	}
	if f.Rows() == 0 {
		problems.Addf(1, "", "文件没有数据行", "the file has no data rows")
	}
	return problems, nil
}

// fileProblems adds what stopped the reading to the problems when the file
// is at fault, on line 1 at least; any other error is returned as it is.
func fileProblems(problems *csvfile.Problems, err error) (*csvfile.Problems, error) {
	var fe *csvfile.Error
	if !errors.As(err, &fe) {
		return problems, err
	}
	for _, p := range fe.Problems {
		p.Line = max(p.Line, 1)
		problems.Add(p)
	}
	return problems, nil
}

// parseResponse checks one row, adding what is wrong with it to problems.
// ok is false when anything is; firstLine, when not nil, has the line of
// each interview id seen so far. Values are quoted short in messages: a
// file of long bad cells must not make a long list.
func parseResponse(rec csvfile.Row, items []string, districts map[string]bool, firstLine map[string]int, problems *csvfile.Problems) (row ResponseRow, ok bool) {
	line := rec.Line
	before := problems.Len()
	cell := rec.Get
	row = ResponseRow{Line: line, Codes: make([]int, len(items))}

	row.InterviewID = cell("interview_id")
	switch first, dup := firstLine[row.InterviewID]; {
	case row.InterviewID == "":
		problems.Addf(line, "interview_id", "interview_id 为空", "empty interview_id")
	case len(row.InterviewID) > maxInterviewID:
		problems.Addf(line, "interview_id", "interview_id %s 超过 %d 字节", "interview_id %s is longer than %d bytes", csvfile.Quote(row.InterviewID), maxInterviewID)
	case dup:
		problems.Addf(line, "interview_id", "interview_id %s 与第 %d 行重复", "duplicate interview_id %s (first on line %d)", csvfile.Quote(row.InterviewID), first)
	case firstLine != nil:
		firstLine[row.InterviewID] = line
	}

	row.District = cell("district_code")
	if row.District == "" {
		problems.Addf(line, "district_code", "区县代码为空", "empty district_code")
	} else if districts != nil && !districts[row.District] {
		problems.Addf(line, "district_code", "区县代码 %s 不存在", "unknown district_code %s", csvfile.Quote(row.District))
	}

	row.Mode = strings.ToLower(cell("mode"))
	if row.Mode != "phone" && row.Mode != "door" {
		problems.Addf(line, "mode", "访问方式 %s 无效，应为 phone 或 door", "mode %s is not phone or door", csvfile.Quote(cell("mode")))
	}

	if s := cell("weight"); s != "" {
		w, err := strconv.ParseFloat(s, 64)
		if err != nil || !(w > 0) || math.IsInf(w, 0) {
			problems.Addf(line, "weight", "权重 %s 不是正数", "weight %s is not a positive number", csvfile.Quote(s))
		} else {
			row.Weight = w
		}
	}

	var valid bool
	if row.Sex, valid = codeIn(cell("sex"), 1, 2); !valid {
		problems.Addf(line, "sex", "性别代码 %s 无效，应为 1 或 2", "sex %s is not 1 or 2", csvfile.Quote(cell("sex")))
	}
	if row.AgeGroup, valid = codeIn(cell("age_group"), 1, 5); !valid {
		problems.Addf(line, "age_group", "年龄组代码 %s 无效，应为 1 到 5", "age_group %s is not 1 to 5", csvfile.Quote(cell("age_group")))
	}

	if row.PSU = cell(psuColumn); len(row.PSU) > maxInterviewID {
		problems.Addf(line, psuColumn, "psu %s 超过 %d 字节", "psu %s is longer than %d bytes", csvfile.Quote(row.PSU), maxInterviewID)
	}

	for j, it := range items {
		s := cell(it)
		c, err := strconv.Atoi(s)
		if err != nil || !validAnswerCodes[c] {
			problems.Addf(line, it, "%s 的答案代码 %s 无效", "%s: invalid answer code %s", it, csvfile.Quote(s))
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
