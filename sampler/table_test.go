package sampler

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"minyi/core"
)

const twoDistrictsCSV = "code,name,resident_population,notes\n500101,万州区,1563050,x\n500102,涪陵区,1066714,\n"

func TestParseDistrictsEncodings(t *testing.T) {
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(twoDistrictsCSV)
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{"utf-8": twoDistrictsCSV, "utf-8 with BOM": "\uFEFF" + twoDistrictsCSV, "gb18030": gb} {
		ds, err := ParseDistricts(strings.NewReader(file))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := []District{{"500101", "万州区", 1563050}, {"500102", "涪陵区", 1066714}}
		if fmt.Sprint(ds) != fmt.Sprint(want) {
			t.Errorf("%s: %v", name, ds)
		}
	}
	gbMargins, _ := simplifiedchinese.GB18030.NewEncoder().String("district_code,variable,category,population,说明\n500101,sex,1,779146,男\n")
	if ms, err := ParseMargins(strings.NewReader(gbMargins), map[string]bool{"500101": true}); err != nil || len(ms) != 1 {
		t.Errorf("GB18030 margins: %v, %v", ms, err)
	}
}

func TestParseDistrictsProblems(t *testing.T) {
	// Line 4 repeats the code of line 2, which was rejected: it is fine.
	_, err := ParseDistricts(strings.NewReader("code,name,resident_population\n500101,万州区,-1\n500102,,5\n500101,万州区,7\n500103,渝中区,8,extra\n"))
	want := "区县文件有错误，未导入任何行 / the districts file has errors; nothing was imported: " +
		"第 2 行：常住人口 \"-1\" 不是正整数 / line 2: resident_population \"-1\" is not a positive integer\n" +
		"第 3 行：代码和名称不能为空 / line 3: code and name are required\n" +
		"第 5 行：有 4 列，表头有 3 列 / line 5: has 4 fields but the header has 3"
	if err == nil || err.Error() != want || core.ErrorCode(err) != core.EInvalid {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	for _, tc := range []struct{ name, file, want string }{
		{"empty", "", "区县文件有错误，未导入任何行 / the districts file has errors; nothing was imported: 文件为空 / the file is empty"},
		{"header only", "code,name,resident_population\n", "区县文件没有数据行 / the districts file has no data rows"},
		{"missing column", "code,name\n500101,万州区\n", "第 1 行：缺少列 resident_population/常住人口（可用列：code,name,resident_population / 代码,名称,常住人口）"},
		{"repeated column", "code,name,resident_population,name\n500101,万州区,1,x\n", "第 1 行：列 name 重复"},
		{"spreadsheet", "PK\x03\x04", "this is an Excel or ZIP file"},
	} {
		if _, err := ParseDistricts(strings.NewReader(tc.file)); err == nil || !strings.Contains(err.Error(), tc.want) || core.ErrorCode(err) != core.EInvalid {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// A hopeless file lists its first 100 problems and counts the rest, so that
// neither memory nor the error page grows with it.
func TestParseDistrictsManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("code,name,resident_population\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&b, "5%05d,区%d,none\n", i, i)
	}
	_, err := ParseDistricts(strings.NewReader(b.String()))
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Err == nil {
		t.Fatalf("got %v", err)
	}
	lines := strings.Split(ce.Err.Error(), "\n")
	if len(lines) != 101 || !strings.HasPrefix(lines[0], "第 2 行：") || !strings.HasPrefix(lines[99], "第 101 行：") ||
		lines[100] != "……另有 400 处 / … and 400 more" {
		t.Errorf("%d lines: first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
	}
}

// Files made by hand in a Chinese spreadsheet are headed in Chinese and
// saved in GB18030: the names of docs/design.md §7 are read as the columns.
func TestChineseColumnNames(t *testing.T) {
	gb := func(s string) string {
		t.Helper()
		out, err := simplifiedchinese.GB18030.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ds, err := ParseDistricts(strings.NewReader(gb("代码,名称,常住人口,备注\n500101,万州区,1563050,三峡库区\n500102,涪陵区,1066714,\n")))
	if want := []District{{"500101", "万州区", 1563050}, {"500102", "涪陵区", 1066714}}; err != nil || fmt.Sprint(ds) != fmt.Sprint(want) {
		t.Errorf("districts headed in Chinese: %v, %v", ds, err)
	}
	ms, err := ParseMargins(strings.NewReader(gb("区县代码,变量,类别,人口\n500101,sex,1,779146\n500101,sex,2,783904\n")), map[string]bool{"500101": true})
	if want := []Margin{{"500101", "sex", 1, 779146}, {"500101", "sex", 2, 783904}}; err != nil || fmt.Sprint(ms) != fmt.Sprint(want) {
		t.Errorf("margins headed in Chinese: %v, %v", ms, err)
	}
	var phones []PhoneRow
	rep, err := ParsePhoneFrame(strings.NewReader(gb("电话号码,区县代码\n13902300001,500101\n")), ParseOptions{}, func(r PhoneRow) error {
		phones = append(phones, r)
		return nil
	})
	if err != nil || len(phones) != 1 || phones[0].District != "500101" || rep.Encoding != "gb18030" {
		t.Errorf("telephone frame headed in Chinese: %+v, %+v, %v", phones, rep, err)
	}
	var hs []HouseholdRow
	_, err = ParseHouseholdFrame(strings.NewReader(gb("区县代码,街道,社区,住户编号,地址,街道规模,社区规模\n500101,高笋塘街道,白岩社区,H1,白岩路1号,3000,800\n")), ParseOptions{}, func(r HouseholdRow) error {
		hs = append(hs, r)
		return nil
	})
	if err != nil || len(hs) != 1 || hs[0].Address != "白岩路1号" || hs[0].CommunitySize != 800 {
		t.Errorf("household frame headed in Chinese: %+v, %v", hs, err)
	}
	// A header that lacks a column names it in both languages.
	_, err = ParseDistricts(strings.NewReader(gb("代码,名称\n500101,万州区\n")))
	if err == nil || !strings.Contains(err.Error(), "缺少列 resident_population/常住人口") {
		t.Errorf("missing column: %v", err)
	}
}
