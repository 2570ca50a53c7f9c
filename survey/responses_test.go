package survey

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/simplifiedchinese"

	"minyi/csvfile"
)

// parseWhole reads a Responses CSV held whole, with repeated interview ids
// found as the rows go by: the rows, or an *ImportError listing the
// problems by line.
func parseWhole(r io.Reader, items []string, districts map[string]bool) ([]ResponseRow, error) {
	var rows []ResponseRow
	problems, err := readResponses(r, items, districts, map[string]int{}, func(row ResponseRow) error {
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if problems.Len() > 0 {
		e := importError(problems)
		slices.SortStableFunc(e.Problems, func(a, b csvfile.Problem) int { return a.Line - b.Line })
		return nil, e
	}
	return rows, nil
}

var testItems = []string{"q01", "q02", "q03"}
var testDistricts = map[string]bool{"500101": true, "500102": true}

func parse(t *testing.T, text string) ([]ResponseRow, *ImportError) {
	t.Helper()
	rows, err := parseWhole(strings.NewReader(text), testItems, testDistricts)
	if err == nil {
		return rows, nil
	}
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("error is %T, not *ImportError: %v", err, err)
	}
	if rows != nil {
		t.Error("rows returned together with an error")
	}
	return nil, ie
}

// problem is a problem as the tests write them: its line and message.
type problem struct {
	Line    int
	Message string
}

func listed(ps []csvfile.Problem) []problem {
	out := make([]problem, len(ps))
	for i, p := range ps {
		out[i] = problem{p.Line, p.Reason()}
	}
	return out
}

func TestParseResponsesGood(t *testing.T) {
	// BOM, columns in another order, a psu column, spaces, and a quoted
	// cell spanning two lines so that line numbers are checked too.
	text := "\xEF\xBB\xBFq03,interview_id,district_code,mode,weight,sex,age_group,q01,q02,psu\n" +
		"8,A1,500101,phone,,1,3,1,2,\n" +
		"\n" +
		"9,\"A\n2\",500102,door,12.5,2,5,5,4,c7\n" +
		"1, A3 ,500101,Phone,3,2,1,3,3,\r\n"
	rows, ie := parse(t, text)
	if ie != nil {
		t.Fatal(ie)
	}
	want := []ResponseRow{
		{Line: 2, InterviewID: "A1", District: "500101", Mode: "phone", Weight: 0, Sex: 1, AgeGroup: 3, Codes: []int{1, 2, 8}},
		{Line: 4, InterviewID: "A\n2", District: "500102", Mode: "door", Weight: 12.5, Sex: 2, AgeGroup: 5, PSU: "c7", Codes: []int{5, 4, 9}},
		{Line: 6, InterviewID: "A3", District: "500101", Mode: "phone", Weight: 3, Sex: 2, AgeGroup: 1, Codes: []int{3, 3, 1}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("got\n%+v\nwant\n%+v", rows, want)
	}
}

func TestParseResponsesCollectsEveryProblem(t *testing.T) {
	text := "interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03\n" +
		"A1,500101,phone,,1,3,1,2,3\n" + // line 2: fine
		"A2,599999,fax,-1,3,6,1,2,3\n" + // line 3: district, mode, weight, sex, age group
		"A1,500101,door,abc,1,1,1,2,3\n" + // line 4: duplicate id, weight
		"A4,500101,door,1,1,1,0,7,\n" + // line 5: three answer codes
		"A5,500101,door,1,1,1\n" + // line 6: field count
		",500101,door,1,1,1,1,1,1\n" // line 7: empty id
	_, ie := parse(t, text)
	if ie == nil {
		t.Fatal("no error")
	}
	want := []problem{
		{3, `区县代码 "599999" 不存在 / unknown district_code "599999"`},
		{3, `访问方式 "fax" 无效，应为 phone 或 door / mode "fax" is not phone or door`},
		{3, `权重 "-1" 不是正数 / weight "-1" is not a positive number`},
		{3, `性别代码 "3" 无效，应为 1 或 2 / sex "3" is not 1 or 2`},
		{3, `年龄组代码 "6" 无效，应为 1 到 5 / age_group "6" is not 1 to 5`},
		{4, `interview_id "A1" 与第 2 行重复 / duplicate interview_id "A1" (first on line 2)`},
		{4, `权重 "abc" 不是正数 / weight "abc" is not a positive number`},
		{5, `q01 的答案代码 "0" 无效 / q01: invalid answer code "0"`},
		{5, `q02 的答案代码 "7" 无效 / q02: invalid answer code "7"`},
		{5, `q03 的答案代码 "" 无效 / q03: invalid answer code ""`},
		{6, `有 6 列，表头有 9 列 / has 6 fields but the header has 9`},
		{7, `interview_id 为空 / empty interview_id`},
	}
	if got := listed(ie.Problems); !reflect.DeepEqual(got, want) {
		t.Errorf("problems\n got %+v\nwant %+v", got, want)
	}
	lines := strings.Split(ie.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Error() has %d lines, want %d:\n%s", len(lines), len(want), ie.Error())
	}
	if lines[8] != `第 5 行：q02 的答案代码 "7" 无效 / line 5: q02: invalid answer code "7"` {
		t.Errorf("line format: %s", lines[8])
	}
}

func TestParseResponsesHeader(t *testing.T) {
	const columns = "interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03,psu"
	cases := []struct {
		name, text string
		want       []problem
	}{
		{"empty file", "", []problem{{1, "文件为空 / the file is empty"}}},
		{"BOM only", "\xEF\xBB\xBF", []problem{{1, "文件为空 / the file is empty"}}},
		{"header only", "interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03\n",
			[]problem{{1, "文件没有数据行 / the file has no data rows"}}},
		{"missing", "interview_id,district_code,mode,sex,q01,q03\nA1,500101,phone,1,1,1\n",
			[]problem{{1, "缺少列 weight, age_group, q02（可用列：" + columns + "） / missing column(s) weight, age_group, q02 (columns: " + columns + ")"}}},
		{"repeated", "interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03,q01\n",
			[]problem{{1, "列 q01 重复 / column(s) q01 appear more than once"}}},
		// Extra columns are reported, and the rows are still checked.
		{"extra", "interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03,phone,address\n" +
			"A1,500101,phone,,1,3,1,2,7,13800000000,x\n",
			[]problem{
				{1, `未知的列 "phone", "address"（可用列：` + columns + `） / unknown column(s) "phone", "address" (columns: ` + columns + ")"},
				{2, `q03 的答案代码 "7" 无效 / q03: invalid answer code "7"`},
			}},
	}
	for _, c := range cases {
		_, ie := parse(t, c.text)
		if ie == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if got := listed(ie.Problems); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestParseResponsesMalformedCSV(t *testing.T) {
	text := "interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03\n" +
		"A1,500101,phone,,1,3,1,2,3\n" +
		"A2,500101,ph\"one,,1,3,1,2,3\n" +
		"A3,500101,phone,,1,3,1,2,9\n" +
		"A4,599999,phone,,1,3,1,2,9\n"
	_, ie := parse(t, text)
	if ie == nil || len(ie.Problems) != 2 {
		t.Fatalf("got %v", ie)
	}
	if p := ie.Problems[0]; p.Line != 3 || !strings.Contains(p.Reason(), "malformed CSV") {
		t.Errorf("first problem %+v", p)
	}
	// Reading goes on after the bad row.
	if p := ie.Problems[1]; p.Line != 5 || !strings.Contains(p.Reason(), "599999") {
		t.Errorf("second problem %+v", p)
	}
}

func TestParseResponsesReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := parseWhole(iotest.ErrReader(boom), testItems, testDistricts)
	if !errors.Is(err, boom) {
		t.Errorf("read error: %v", err)
	}
}

func TestParseResponsesNilDistricts(t *testing.T) {
	rows, err := parseWhole(strings.NewReader(
		"interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03\nA1,123,door,,1,1,1,1,1\n"), testItems, nil)
	if err != nil || len(rows) != 1 || rows[0].District != "123" {
		t.Errorf("nil districts: %v %v", rows, err)
	}
}

func TestParseResponsesGB18030(t *testing.T) {
	text := "interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03,psu\n" +
		"甲1,500101,phone,,1,3,1,2,3,社区一\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	rows, ie := parse(t, gb)
	if ie != nil || len(rows) != 1 || rows[0].InterviewID != "甲1" || rows[0].PSU != "社区一" {
		t.Errorf("rows %+v, %v", rows, ie)
	}
}

// A file that is no CSV at all is one problem on line 1; a hopeless file
// lists its first problems and counts the rest.
func TestParseResponsesBoundedProblems(t *testing.T) {
	if _, ie := parse(t, "PK\x03\x04"); ie == nil || len(ie.Problems) != 1 || ie.Problems[0].Line != 1 ||
		!strings.Contains(ie.Error(), "this is an Excel or ZIP file") {
		t.Errorf("spreadsheet: %v", ie)
	}
	var b strings.Builder
	b.WriteString("interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "A%d,500101,phone,,1,3,1,2,0\n", i)
	}
	_, ie := parse(t, b.String())
	if ie == nil || len(ie.Problems) != csvfile.MaxProblems || ie.Count() != 300 ||
		!strings.HasSuffix(ie.Error(), "\n……另有 200 处 / … and 200 more") {
		t.Errorf("got %d problems of %d", len(ie.Problems), ie.Count())
	}
}
