package csvfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func write(t *testing.T, enc Encoding, records ...[]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, enc)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUTF8BOMAndCRLF(t *testing.T) {
	got := write(t, UTF8, []string{"district_code", "district_name"}, []string{"500101", "万州区"})
	want := "\xEF\xBB\xBFdistrict_code,district_name\r\n500101,万州区\r\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// An empty file still carries the BOM, so Excel opens it as UTF-8.
	if got := write(t, UTF8); string(got) != "\xEF\xBB\xBF" {
		t.Errorf("empty file: %q", got)
	}
}

func TestQuoting(t *testing.T) {
	rec := []string{"a,b", `say "hi"`, "two\nlines", "plain"}
	got := write(t, UTF8, rec)
	want := "\xEF\xBB\xBF" + `"a,b","say ""hi""","two` + "\r\n" + `lines",plain` + "\r\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(got, []byte("\xEF\xBB\xBF"))))
	back, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	// encoding/csv turns the CRLF inside the quoted field back into LF.
	if !reflect.DeepEqual(back, rec) {
		t.Errorf("read back %q, want %q", back, rec)
	}
}

func TestFormulaNeutralisation(t *testing.T) {
	cases := map[string]string{
		"=1+1":       "'=1+1",
		"+cmd":       "'+cmd",
		"-2+3":       "'-2+3",
		"@SUM(A1)":   "'@SUM(A1)",
		"\t=1":       "'\t=1",
		"\r=1":       "'\r=1",
		"-5.5":       "-5.5",
		"+3":         "+3",
		"-1e3":       "-1e3",
		"-Inf":       "'-Inf",
		"-NaN":       "'-NaN",
		"-0x1p3":     "'-0x1p3",
		"-":          "'-",
		"90.0000":    "90.0000",
		"a=1":        "a=1",
		"全市":         "全市",
		"":           "",
		"=HYPERLINK": "'=HYPERLINK",
	}
	for in, want := range cases {
		if got := Neutralise(in); got != want {
			t.Errorf("Neutralise(%q) = %q, want %q", in, got, want)
		}
	}
	got := write(t, UTF8, []string{"=1+1", "-5.5", "@SUM(A1)"})
	if want := "\xEF\xBB\xBF'=1+1,-5.5,'@SUM(A1)\r\n"; string(got) != want {
		t.Errorf("written %q, want %q", got, want)
	}
}

func TestGB18030RoundTrip(t *testing.T) {
	rec := []string{"500101", "万州区", "很满意, \"满意\"", "𠀀"} // the last one needs four GB18030 bytes
	got := write(t, GB18030, []string{"district_code", "district_name", "label", "rare"}, rec)
	if bytes.HasPrefix(got, []byte("\xEF\xBB\xBF")) {
		t.Fatal("GB18030 file must not start with a UTF-8 BOM")
	}
	if bytes.Contains(got, []byte("万州区")) {
		t.Fatal("Chinese text was written as UTF-8")
	}
	utf8, err := simplifiedchinese.GB18030.NewDecoder().Bytes(got)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(bytes.NewReader(utf8)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 || !reflect.DeepEqual(records[1], rec) {
		t.Errorf("round trip gave %q", records)
	}
}

// Many records overflow every internal buffer; no character may be split.
func TestGB18030LongFile(t *testing.T) {
	var recs [][]string
	for range 5000 {
		recs = append(recs, []string{"渝中区", strings.Repeat("满意度", 7)})
	}
	got := write(t, GB18030, recs...)
	utf8, err := simplifiedchinese.GB18030.NewDecoder().Bytes(got)
	if err != nil {
		t.Fatal(err)
	}
	back, err := csv.NewReader(bytes.NewReader(utf8)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, recs) {
		t.Error("long GB18030 file did not round-trip")
	}
}

func TestParseEncoding(t *testing.T) {
	for in, want := range map[string]Encoding{"utf-8": UTF8, "UTF8": UTF8, "": UTF8, " GB18030 ": GB18030} {
		got, err := ParseEncoding(in)
		if err != nil || got != want {
			t.Errorf("ParseEncoding(%q) = %q, %v", in, got, err)
		}
	}
	_, err := ParseEncoding("latin1")
	if err == nil || err.Error() != `不支持的编码 / unsupported encoding: "latin1"` {
		t.Errorf("ParseEncoding(latin1): %v", err)
	}
	if _, err := NewWriter(io.Discard, "gbk"); err == nil {
		t.Error("NewWriter accepted gbk")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFlushReportsErrors(t *testing.T) {
	w, err := NewWriter(failWriter{}, UTF8)
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Write([]string{"a"})
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Flush: %v", err)
	}
}

// TestWritePlain: a plain record goes out as it is, with CRLF, identical
// to what Write makes of its cells, in either encoding; a record that
// needs quoting, neutralising or transcoding is refused and nothing of it
// is written.
func TestWritePlain(t *testing.T) {
	for _, enc := range []Encoding{UTF8, GB18030} {
		var a, b bytes.Buffer
		wa, _ := NewWriter(&a, enc)
		wb, _ := NewWriter(&b, enc)
		ok, err := wa.WritePlain([]byte("1,500101,phone,1234.500000,2,1,1,8,,9"))
		if !ok || err != nil {
			t.Fatalf("%s: plain record refused: %v", enc, err)
		}
		wb.Write([]string{"1", "500101", "phone", "1234.500000", "2", "1", "1", "8", "", "9"})
		for _, rec := range []string{"2,=SUM(A1)", "3,-1", "4,a b", "5,\"x\"", "6,渝中区", "7,x\ny", "8,+1", "9,@x", "10,a;b"} {
			if ok, err := wa.WritePlain([]byte(rec)); ok || err != nil {
				t.Errorf("%s: %q written plain (%v)", enc, rec, err)
			}
		}
		wa.Flush()
		wb.Flush()
		if a.String() != b.String() {
			t.Errorf("%s: WritePlain wrote %q, Write %q", enc, a.String(), b.String())
		}
	}
}
