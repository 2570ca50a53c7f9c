package csvfile

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/simplifiedchinese"

	"minyi/core"
)

var testColumns = Columns{Required: []string{"code", "name"}, Optional: []string{"note"}}

// readAll reads a file with testColumns and returns its rows as
// "line:code/name" and its problems as their String.
func readAll(t *testing.T, file string, opt Options, cols Columns) (rows, problems []string, r *Reader, err error) {
	t.Helper()
	r, err = NewReader(strings.NewReader(file), opt)
	if err != nil {
		return nil, nil, nil, err
	}
	if err = r.ReadHeader(cols); err != nil {
		return nil, nil, r, err
	}
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rows, nil, r, err
		}
		rows = append(rows, fmt.Sprintf("%d:%s/%s", row.Line, row.Get("code"), row.Get("name")))
	}
	for _, p := range r.Problems().List() {
		problems = append(problems, p.String())
	}
	return rows, problems, r, nil
}

func toGB18030(t *testing.T, s string) string {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadEncodings(t *testing.T) {
	const file = "Code , NAME\n500101,万州区\n500102,涪陵区\n"
	gb := toGB18030(t, file)
	for _, tc := range []struct {
		name, file string
		enc, want  Encoding
	}{
		{"utf-8", file, Auto, UTF8},
		{"utf-8 with BOM", bom + file, "", UTF8},
		{"utf-8 with BOM, given", bom + file, UTF8, UTF8},
		{"gb18030 detected", gb, Auto, GB18030},
		{"gb18030 given", gb, GB18030, GB18030},
		{"gbk given", gb, "GBK", GB18030},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, problems, r, err := readAll(t, tc.file, Options{Encoding: tc.enc}, testColumns)
			if err != nil {
				t.Fatal(err)
			}
			if want := "2:500101/万州区 3:500102/涪陵区"; strings.Join(rows, " ") != want || len(problems) > 0 {
				t.Errorf("rows %q, problems %q", rows, problems)
			}
			if r.Encoding() != tc.want {
				t.Errorf("encoding %s, want %s", r.Encoding(), tc.want)
			}
		})
	}
	// GB18030 read as UTF-8 does not decode; the hint names the option
	// only for an import that has one.
	for _, hint := range []bool{false, true} {
		_, problems, r, err := readAll(t, gb, Options{Encoding: UTF8, EncodingHint: hint}, testColumns)
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) != 2 || r.Refused() != 2 || r.Rows() != 2 || strings.Contains(problems[0], "--encoding gb18030") != hint {
			t.Errorf("hint %v: problems %q", hint, problems)
		}
	}
	if _, err := NewReader(strings.NewReader(bom+file), Options{Encoding: GB18030}); err == nil || !strings.Contains(err.Error(), "byte-order mark") {
		t.Errorf("BOM with gb18030 given: %v", err)
	}
	if _, err := NewReader(strings.NewReader(file), Options{Encoding: "latin1"}); core.ErrorCode(err) != core.EInvalid {
		t.Errorf("unknown encoding: %v", err)
	}
}

// A GB18030 file whose first Chinese text is beyond the first 64 KiB is
// still detected.
func TestReadDetectsGB18030Late(t *testing.T) {
	var b strings.Builder
	b.WriteString("code,name\n")
	for i := 0; b.Len() < 100<<10; i++ {
		fmt.Fprintf(&b, "%d,Road %d\n", i, i)
	}
	b.WriteString("LATE,高笋塘街道\n")
	rows, problems, r, err := readAll(t, toGB18030(t, b.String()), Options{}, testColumns)
	if err != nil {
		t.Fatal(err)
	}
	if r.Encoding() != GB18030 || rows[len(rows)-1] != fmt.Sprintf("%d:LATE/高笋塘街道", len(rows)+1) || len(problems) > 0 {
		t.Errorf("encoding %s, last row %q, problems %q", r.Encoding(), rows[len(rows)-1], problems)
	}
}

func TestReadRefusesWhatIsNotCSV(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"empty", "", "the file is empty"},
		{"blank", " \r\n\n", "the file is empty"},
		{"BOM only", bom, "the file is empty"},
		{"xlsx", "PK\x03\x04\x14\x00", "Excel or ZIP"},
		{"xls", "\xD0\xCF\x11\xE0\xA1\xB1", "Excel or ZIP"},
		{"utf-16", "\xFF\xFEc\x00o\x00", "UTF-16"},
		{"binary", "code,name\n1,\x00\n", "binary data"},
	} {
		_, err := NewReader(strings.NewReader(tc.file), Options{})
		var fe *Error
		if !errors.As(err, &fe) || fe.Problems[0].Line != 0 || core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestReadHeader(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		others       Others
		fatal        bool
		want         []string
	}{
		{"exact", "code,name", RefuseOthers, false, nil},
		{"any order, optional", "note, NAME ,code", RefuseOthers, false, nil},
		{"other ignored", "code,name,extra", IgnoreOthers, false, nil},
		{"other reported", "code,name,extra,more", ReportOthers, false,
			[]string{`第 1 行：未知的列 "extra", "more"（可用列：code,name,note） / line 1: unknown column(s) "extra", "more" (columns: code,name,note)`}},
		{"other refused", "code,name,extra", RefuseOthers, true,
			[]string{`第 1 行：未知的列 "extra"（可用列：code,name,note） / line 1: unknown column(s) "extra" (columns: code,name,note)`}},
		{"missing", "code,note", IgnoreOthers, true,
			[]string{"第 1 行：缺少列 name（可用列：code,name,note） / line 1: missing column(s) name (columns: code,name,note)"}},
		{"repeated", "code,name,Code", IgnoreOthers, true,
			[]string{"第 1 行：列 code 重复 / line 1: column(s) code appear more than once"}},
		{"every fault", "code,code,x", ReportOthers, true, []string{
			`第 1 行：未知的列 "x"（可用列：code,name,note） / line 1: unknown column(s) "x" (columns: code,name,note)`,
			"第 1 行：列 code 重复 / line 1: column(s) code appear more than once",
			"第 1 行：缺少列 name（可用列：code,name,note） / line 1: missing column(s) name (columns: code,name,note)"}},
		{"no header", "500101,万州区", IgnoreOthers, true,
			[]string{"第 1 行：文件须以表头行开头（可用列：code,name,note） / line 1: the file must start with a header row (columns: code,name,note)"}},
		{"not CSV", `co"de,name`, IgnoreOthers, true,
			[]string{`第 1 行：表头不是有效的 CSV（bare " in non-quoted-field） / line 1: the header is not valid CSV (bare " in non-quoted-field)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tc.header+"\n500101,万州区\n"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			cols := testColumns
			cols.Others = tc.others
			err = r.ReadHeader(cols)
			var got []string
			var fe *Error
			if errors.As(err, &fe) {
				for _, p := range fe.Problems {
					got = append(got, p.String())
				}
				if err.Error() != got[0] {
					t.Errorf("error %q, want the first problem %q", err, got[0])
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if (err != nil) != tc.fatal {
				t.Errorf("error %v, want fatal %v", err, tc.fatal)
			}
			for _, p := range r.Problems().List() {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if _, err2 := r.Read(); tc.fatal && err2 != err {
				t.Errorf("Read after a refused header: %v", err2)
			}
		})
	}
}

func TestReadRefusesBadRows(t *testing.T) {
	file := "code,name\n" +
		"1,a\n" + // 2 ok
		"2\n" + // 3 too few fields
		"3,b,c\n" + // 4 too many
		"4,b\"c\n" + // 5 bare quote
		"5,\"x\ny\"\n" + // 6 ok: a line break in quotes, unless NoControl
		"6,\xff\n" + // 8 not UTF-8
		"7,\uFFFD\n" + // 9 replacement character
		"\n" + // 10 blank lines are skipped
		"8,\"z\"\n" // 11 ok
	rows, problems, r, err := readAll(t, file, Options{}, testColumns)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"第 3 行：有 1 列，表头有 2 列 / line 3: has 1 fields but the header has 2",
		"第 4 行：有 3 列，表头有 2 列 / line 4: has 3 fields but the header has 2",
		`第 5 行：CSV 格式错误：bare " in non-quoted-field / line 5: malformed CSV: bare " in non-quoted-field`,
		"第 8 行：含有不是 UTF-8 的字节，文件编码可能有误 / line 8: contains bytes that are not UTF-8; the file's encoding may be wrong",
		"第 9 行：含有替换字符 U+FFFD，文件编码可能有误 / line 9: contains the replacement character U+FFFD; the file's encoding may be wrong",
	}
	if strings.Join(rows, " ") != "2:1/a 6:5/x\ny 11:8/z" || strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows %q\nproblems\n%s", rows, strings.Join(problems, "\n"))
	}
	if r.Rows() != 8 || r.Refused() != 5 {
		t.Errorf("rows %d refused %d, want 8 and 5", r.Rows(), r.Refused())
	}
	if ps := r.Problems().List(); ps[3].Column != "name" {
		t.Errorf("the column of a bad cell: %+v", ps[3])
	}
	// NoControl refuses the line break.
	_, problems, _, _ = readAll(t, file, Options{NoControl: true}, testColumns)
	if len(problems) != 6 || !strings.Contains(problems[3], "第 6 行：含有控制字符") {
		t.Errorf("NoControl: %q", problems)
	}
}

func TestRejectAndProblemLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("code,name\n")
	for i := 0; i < 250; i++ {
		fmt.Fprintf(&b, "%d,\n", i)
	}
	for _, max := range []int{0, 1000} {
		r, err := NewReader(strings.NewReader(b.String()), Options{MaxProblems: max})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.ReadHeader(testColumns); err != nil {
			t.Fatal(err)
		}
		for {
			row, err := r.Read()
			if err != nil {
				break
			}
			if row.Get("name") == "" {
				r.Reject(row.Line, "name", "名称为空（代码 %s）", "the name is empty (code %s)", row.Get("code"))
			}
		}
		ps := r.Problems()
		kept := min(250, max)
		if max == 0 {
			kept = MaxProblems
		}
		if len(ps.List()) != kept || ps.Omitted() != 250-kept || ps.Len() != 250 || r.Refused() != 250 {
			t.Errorf("max %d: kept %d, omitted %d", max, len(ps.List()), ps.Omitted())
		}
		lines := strings.Split(ps.String(), "\n")
		if lines[0] != "第 2 行：名称为空（代码 0） / line 2: the name is empty (code 0)" {
			t.Errorf("first problem %q", lines[0])
		}
		if max == 0 && (len(lines) != 101 || lines[100] != "……另有 150 处 / … and 150 more") {
			t.Errorf("%d lines, the last %q", len(lines), lines[len(lines)-1])
		}
	}
}

func TestReadStopsAtLongLines(t *testing.T) {
	long := "code,name\n1,a\n2," + strings.Repeat("x", MaxLineBytes) + "\n3,c\n"
	rows, _, _, err := readAll(t, long, Options{Kind: core.Text{ZH: "区县", EN: "a districts"}}, testColumns)
	var fe *Error
	if !errors.As(err, &fe) || fe.Problems[0].Line != 3 || len(rows) != 1 ||
		err.Error() != "第 3 行：行长超过 64 KiB，文件可能不是区县 CSV，或有未闭合的引号 / line 3: longer than 64 KiB; the file is probably not a districts CSV, or has an unclosed quote" {
		t.Errorf("long line: rows %q, %v", rows, err)
	}
	// An unclosed quote would make the CSV reader hold the rest of the file
	// as one field; the record limit names the line where it started.
	var b strings.Builder
	b.WriteString("code,name\n1,a\n2,\"b\n")
	for b.Len() < 2*MaxLineBytes {
		b.WriteString("3,c\n")
	}
	_, _, _, err = readAll(t, b.String(), Options{}, testColumns)
	if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "第 3 行：从此行开始的一条记录") {
		t.Errorf("unclosed quote: %v", err)
	}
	// A long header.
	_, err = NewReader(strings.NewReader(strings.Repeat("x", MaxLineBytes+10)), Options{})
	if err == nil {
		r, _ := NewReader(strings.NewReader(strings.Repeat("x", MaxLineBytes+10)), Options{})
		err = r.ReadHeader(testColumns)
	}
	if !errors.As(err, &fe) || fe.Problems[0].Line != 1 {
		t.Errorf("long header: %v", err)
	}
}

func TestReadErrorsAreKept(t *testing.T) {
	boom := errors.New("boom")
	_, err := NewReader(iotest.ErrReader(boom), Options{})
	if !errors.Is(err, boom) {
		t.Errorf("read error: %v", err)
	}
	// An error after the first 64 KiB, which NewReader looks at, stops Read.
	file := "code,name\n" + strings.Repeat("1,a\n", 20000)
	r, err := NewReader(io.MultiReader(strings.NewReader(file), iotest.ErrReader(boom)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ReadHeader(testColumns); err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = r.Read()
	}
	if !errors.Is(err, boom) || r.Rows() != 20000 {
		t.Errorf("read error after %d rows: %v", r.Rows(), err)
	}
}

// badRows generates a file of n rows, each refused, without holding it.
type badRows struct{ n, i int }

func (g *badRows) Read(p []byte) (int, error) {
	const row = "1,a,b\n"
	if g.i == 0 {
		g.i++
		return copy(p, "code,name\n"), nil
	}
	k := 0
	for k+len(row) <= len(p) && g.i <= g.n {
		k += copy(p[k:], row)
		g.i++
	}
	if k == 0 {
		return 0, io.EOF
	}
	return k, nil
}

// A huge file of bad rows streams through in bounded memory.
func TestReadBadFileInBoundedMemory(t *testing.T) {
	const n = 2_000_000 // 12 MB
	r, err := NewReader(&badRows{n: n}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ReadHeader(testColumns); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatal(err)
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if r.Rows() != n || r.Problems().Len() != n || len(r.Problems().List()) != MaxProblems {
		t.Errorf("rows %d, problems %d", r.Rows(), r.Problems().Len())
	}
	if m.HeapInuse > 8<<20 {
		t.Errorf("%d MiB of heap in use after reading", m.HeapInuse>>20)
	}
}
