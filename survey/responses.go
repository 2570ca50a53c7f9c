package survey

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ResponseRow is one validated row of a Responses CSV (DESIGN.md).
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

// Problem is one thing wrong with an imported file.
type Problem struct {
	Line    int    // 1-based; problems with the header or the file as a whole are on line 1
	Message string // "中文原因 / English reason"
}

// ImportError lists every problem found in an imported file, so that whoever
// keyed in the paper questionnaires can fix them all in one pass instead of
// one per attempt.
type ImportError struct {
	Problems []Problem
}

// Error lists the problems one per line as "第 N 行 / line N: 中文 / English".
func (e *ImportError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "第 %d 行 / line %d: %s", p.Line, p.Line, p.Message)
	}
	return b.String()
}

// The fixed columns of the Responses CSV; the item columns follow them.
var responseColumns = []string{"interview_id", "district_code", "mode", "weight", "sex", "age_group"}

const psuColumn = "psu"

// validAnswerCodes are the answer codes of STATISTICS.md §1.
var validAnswerCodes = map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 8: true, 9: true}

// ParseResponses reads a Responses CSV for import. The header must name the
// fixed columns and every item, in any order, optionally a psu column, and
// nothing else. An optional UTF-8 byte-order mark (as Excel writes) is
// skipped and cells are trimmed of surrounding spaces. Every row is checked
// and every problem collected; if there is any, the result is nil and the
// error an *ImportError. districts holds the known district codes; a nil
// map skips that check. A read error of r is returned as is.
func ParseResponses(r io.Reader, items []string, districts map[string]bool) ([]ResponseRow, error) {
	if len(items) == 0 {
		return nil, errors.New("survey: no items to import")
	}
	for i, it := range items {
		if it == "" || it == psuColumn || slices.Contains(responseColumns, it) || slices.Contains(items[:i], it) {
			return nil, fmt.Errorf("survey: item name %q is empty, repeated or clashes with a fixed column", it)
		}
	}

	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\xEF\xBB\xBF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // a wrong field count is reported with the other problems

	var problems []Problem
	add := func(line int, zh, en string) {
		problems = append(problems, Problem{Line: line, Message: zh + " / " + en})
	}
	fail := func() error { return &ImportError{Problems: problems} }

	header, err := cr.Read()
	if err == io.EOF {
		add(1, "文件为空", "the file is empty")
		return nil, fail()
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		add(1, "表头不是有效的 CSV："+pe.Err.Error(), "the header is not valid CSV: "+pe.Err.Error())
		return nil, fail()
	}
	if err != nil {
		return nil, err
	}

	col := make(map[string]int, len(header))
	var extra, dup []string
	wanted := make(map[string]bool)
	for _, c := range responseColumns {
		wanted[c] = true
	}
	for _, it := range items {
		wanted[it] = true
	}
	wanted[psuColumn] = true
	for i, name := range header {
		name = strings.TrimSpace(name)
		if _, seen := col[name]; seen {
			dup = append(dup, name)
			continue
		}
		col[name] = i
		if !wanted[name] {
			extra = append(extra, name)
		}
	}
	var missing []string
	for _, c := range append(slices.Clone(responseColumns), items...) {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		add(1, "缺少列 "+strings.Join(missing, ", "), "missing column(s) "+strings.Join(missing, ", "))
	}
	if len(dup) > 0 {
		add(1, "重复的列 "+strings.Join(dup, ", "), "repeated column(s) "+strings.Join(dup, ", "))
	}
	if len(extra) > 0 {
		add(1, "多余的列 "+strings.Join(extra, ", "), "unexpected column(s) "+strings.Join(extra, ", "))
	}
	// Without every column, or with two meanings for one, the rows cannot
	// be read; extra columns alone leave the rows checkable.
	if len(missing) > 0 || len(dup) > 0 {
		return nil, fail()
	}
	psuCol, hasPSU := col[psuColumn]

	var rows []ResponseRow
	firstLine := make(map[string]int)
	dataRows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if errors.As(err, &pe) {
			dataRows++
			add(pe.StartLine, "CSV 格式错误："+pe.Err.Error(), "malformed CSV: "+pe.Err.Error())
			continue
		}
		if err != nil {
			return nil, err
		}
		dataRows++
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			add(line, fmt.Sprintf("有 %d 个字段，应为 %d 个", len(rec), len(header)),
				fmt.Sprintf("has %d fields, expected %d", len(rec), len(header)))
			continue
		}
		cell := func(name string) string { return strings.TrimSpace(rec[col[name]]) }
		row := ResponseRow{Line: line, Codes: make([]int, len(items))}

		row.InterviewID = cell("interview_id")
		if row.InterviewID == "" {
			add(line, "interview_id 为空", "empty interview_id")
		} else if first, ok := firstLine[row.InterviewID]; ok {
			add(line, fmt.Sprintf("interview_id %q 与第 %d 行重复", row.InterviewID, first),
				fmt.Sprintf("duplicate interview_id %q (first on line %d)", row.InterviewID, first))
		} else {
			firstLine[row.InterviewID] = line
		}

		row.District = cell("district_code")
		if row.District == "" {
			add(line, "区县代码为空", "empty district_code")
		} else if districts != nil && !districts[row.District] {
			add(line, fmt.Sprintf("区县代码 %q 不存在", row.District),
				fmt.Sprintf("unknown district_code %q", row.District))
		}

		row.Mode = strings.ToLower(cell("mode"))
		if row.Mode != "phone" && row.Mode != "door" {
			add(line, fmt.Sprintf("访问方式 %q 无效，应为 phone 或 door", cell("mode")),
				fmt.Sprintf("mode %q is not phone or door", cell("mode")))
		}

		if s := cell("weight"); s != "" {
			w, err := strconv.ParseFloat(s, 64)
			if err != nil || !(w > 0) || math.IsInf(w, 0) {
				add(line, fmt.Sprintf("权重 %q 不是正数", s), fmt.Sprintf("weight %q is not a positive number", s))
			} else {
				row.Weight = w
			}
		}

		var ok bool
		if row.Sex, ok = codeIn(cell("sex"), 1, 2); !ok {
			add(line, fmt.Sprintf("性别代码 %q 无效，应为 1 或 2", cell("sex")),
				fmt.Sprintf("sex %q is not 1 or 2", cell("sex")))
		}
		if row.AgeGroup, ok = codeIn(cell("age_group"), 1, 5); !ok {
			add(line, fmt.Sprintf("年龄组代码 %q 无效，应为 1 到 5", cell("age_group")),
				fmt.Sprintf("age_group %q is not 1 to 5", cell("age_group")))
		}

		if hasPSU {
			row.PSU = strings.TrimSpace(rec[psuCol])
		}

		for j, it := range items {
			s := cell(it)
			c, err := strconv.Atoi(s)
			if err != nil || !validAnswerCodes[c] {
				add(line, fmt.Sprintf("%s 的答案代码 %q 无效", it, s), fmt.Sprintf("%s: invalid answer code %q", it, s))
				continue
			}
			row.Codes[j] = c
		}
		rows = append(rows, row)
	}
	if dataRows == 0 {
		add(1, "文件没有数据行", "the file has no data rows")
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, fail()
	}
	return rows, nil
}

// codeIn parses a small integer code and checks it lies in [lo, hi].
func codeIn(s string, lo, hi int) (int, bool) {
	c, err := strconv.Atoi(s)
	if err != nil || c < lo || c > hi {
		return 0, false
	}
	return c, true
}
