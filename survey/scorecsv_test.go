package survey

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"minyi/csvfile"
)

func sampleEstimates(t *testing.T) []Estimate {
	t.Helper()
	d := Design{Items: []string{"q01", "q02"}, Points: defaultPoints}
	rs := []Respondent{
		{District: "500101", Weight: 1, Codes: []int{1, 3}},
		{District: "500101", Weight: 1, Codes: []int{2, 3}},
		{District: "500101", Weight: 2, Codes: []int{8, 2}},
		{District: "500102", Weight: 3, Codes: []int{4, 9}}, // single respondent: no SE
	}
	ests, err := Estimates(d, rs)
	if err != nil {
		t.Fatal(err)
	}
	return ests
}

func TestWriteScoresLong(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteScoresLong(&buf, sampleEstimates(t)); err != nil {
		t.Fatal(err)
	}
	// By hand: 500101 q01 as in the worked check, 90 ± 1.959964·√75;
	// q02 60,60,80 with weights 1,1,2: R = 70, z = (−2.5, −2.5, 5),
	// v = 3/2 · 37.5, SE = 7.5; the composite as in TestCompositeByHand.
	// ALL q01: (100 + 80 + 3·40)/5 = 60; ALL composite (60 + 70)/2 = 65.
	// 500102 has one respondent, so it and ALL have no SE.
	want := `district_code,item,n,n_valid,score,se,ci_low,ci_high
500101,q01,3,2,90.0000,8.6603,73.0262,106.9738
500101,q02,3,3,70.0000,7.5000,55.3003,84.6997
500101,composite,3,3,80.0000,5.7282,68.7729,91.2271
500102,q01,1,1,40.0000,,,
500102,q02,1,0,,,,
500102,composite,1,1,40.0000,,,
ALL,q01,4,3,60.0000,,,
ALL,q02,4,3,70.0000,,,
ALL,composite,4,4,65.0000,,,
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestWriteScoresWide(t *testing.T) {
	ests := sampleEstimates(t)
	var buf bytes.Buffer
	w, err := csvfile.NewWriter(&buf, csvfile.UTF8)
	if err != nil {
		t.Fatal(err)
	}
	districts := []DistrictInfo{{"500102", "=涪陵区"}, {"500101", "万州区"}, {"500103", "渝中区"}}
	ranks := RankDistricts(composites(ests))
	if err := WriteScoresWide(w, ests, districts, ranks, 0.3, []string{"q01", "q02"}, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "\xEF\xBB\xBF") {
		t.Fatal("no BOM")
	}
	got, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\xEF\xBB\xBF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"district_code", "district_name", "n", "score", "se", "ci_low", "ci_high", "rank", "rank_low", "rank_high", "assessment_points", "q01", "q02", "suppressed"},
		{"500102", "'=涪陵区", "1", "40.0000", "", "", "", "", "", "", "12.0000", "40.0000", "", "0"},
		{"500101", "万州区", "3", "80.0000", "5.7282", "68.7729", "91.2271", "1", "1", "1", "24.0000", "90.0000", "70.0000", "0"},
		{"500103", "渝中区", "0", "", "", "", "", "", "", "", "", "", "", "0"},
		{"ALL", "全市", "4", "65.0000", "", "", "", "", "", "", "19.5000", "60.0000", "70.0000", "0"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d:\n%q", len(got), len(want), got)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d\n got %q\nwant %q", i, got[i], want[i])
		}
	}

	// Estimates for a district missing from the list are refused.
	w, _ = csvfile.NewWriter(&buf, csvfile.UTF8)
	if err := WriteScoresWide(w, ests, districts[1:], ranks, 0.3, []string{"q01"}, 1); err == nil || !strings.Contains(err.Error(), "500102") {
		t.Errorf("missing district: %v", err)
	}
	// So is a table without its city-wide row.
	if err := WriteScoresWide(w, ests[:3], districts, ranks, 0.3, []string{"q01"}, 1); err == nil || !strings.Contains(err.Error(), "ALL") {
		t.Errorf("missing ALL: %v", err)
	}
}

// readCSVFile parses a file written by csvfile (UTF-8 with BOM).
func readCSVFile(t *testing.T, b []byte) [][]string {
	t.Helper()
	got, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\xEF\xBB\xBF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestSmallCellsSuppressed: at a threshold of 3 interviews, the district
// with one interview keeps its n but shows no score, interval, rank or
// points, and says it was suppressed; districts with 3 or more and the
// city-wide row are unchanged. The long file does the same row by row.
func TestSmallCellsSuppressed(t *testing.T) {
	ests := sampleEstimates(t)
	districts := []DistrictInfo{{"500101", "万州区"}, {"500102", "涪陵区"}, {"500103", "渝中区"}}
	ranks := RankDistricts(composites(ests))
	var buf bytes.Buffer
	w, _ := csvfile.NewWriter(&buf, csvfile.UTF8)
	if err := WriteScoresWide(w, ests, districts, ranks, 0.3, []string{"q01", "q02"}, 3); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := [][]string{
		{"district_code", "district_name", "n", "score", "se", "ci_low", "ci_high", "rank", "rank_low", "rank_high", "assessment_points", "q01", "q02", "suppressed"},
		{"500101", "万州区", "3", "80.0000", "5.7282", "68.7729", "91.2271", "1", "1", "1", "24.0000", "90.0000", "70.0000", "0"},
		{"500102", "涪陵区", "1", "", "", "", "", "", "", "", "", "", "", "1"},
		{"500103", "渝中区", "0", "", "", "", "", "", "", "", "", "", "", "0"},
		{"ALL", "全市", "4", "65.0000", "", "", "", "", "", "", "19.5000", "60.0000", "70.0000", "0"},
	}
	got := readCSVFile(t, buf.Bytes())
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("wide at k=3:\n got %q\nwant %q", got, want)
	}

	buf.Reset()
	w, _ = csvfile.NewWriter(&buf, csvfile.UTF8)
	if err := WriteScoresLongTo(w, ests, 3); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	wantLong := `district_code,item,n,n_valid,score,se,ci_low,ci_high,suppressed
500101,q01,3,2,90.0000,8.6603,73.0262,106.9738,0
500101,q02,3,3,70.0000,7.5000,55.3003,84.6997,0
500101,composite,3,3,80.0000,5.7282,68.7729,91.2271,0
500102,q01,1,1,,,,,1
500102,q02,1,0,,,,,1
500102,composite,1,1,,,,,1
ALL,q01,4,3,60.0000,,,,0
ALL,q02,4,3,70.0000,,,,0
ALL,composite,4,4,65.0000,,,,0
`
	if g := strings.ReplaceAll(strings.TrimPrefix(buf.String(), "\xEF\xBB\xBF"), "\r\n", "\n"); g != wantLong {
		t.Errorf("long at k=3:\n%s\nwant\n%s", g, wantLong)
	}
	// At k=5 the city-wide row of 4 interviews is suppressed too.
	buf.Reset()
	w, _ = csvfile.NewWriter(&buf, csvfile.UTF8)
	WriteScoresLongTo(w, ests, 5)
	w.Flush()
	if !strings.Contains(buf.String(), "ALL,composite,4,4,,,,,1\r\n") {
		t.Errorf("ALL not suppressed at k=5:\n%s", buf.String())
	}
}
