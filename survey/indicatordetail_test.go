package survey

import (
	"bytes"
	"fmt"
	"testing"

	"minyi/csvfile"
)

// TestIndicatorDetailByHand: the sample's answers are, for 500101, q01 =
// 1, 2, 8 and q02 = 3, 3, 2; for 500102 (one interview) q01 = 4, q02 = 9
// (refused). Satisfaction rate = share of valid answers that are 1 or 2,
// don't-know rate = share of all interviews answering 8 or 9.
func TestIndicatorDetailByHand(t *testing.T) {
	q := Default()
	sc := &WaveScores{Items: []string{"q01", "q02"}, Estimates: sampleEstimates(t), Questionnaire: q,
		Districts: []DistrictInfo{{"500101", "万州区"}, {"500102", "涪陵区"}, {"500103", "渝中区"}}}
	q01, q02 := q.Indicators()[0].Text, q.Indicators()[1].Text
	var buf bytes.Buffer
	w, _ := csvfile.NewWriter(&buf, csvfile.UTF8)
	n, err := WriteIndicatorDetail(w, sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := [][]string{
		IndicatorDetailHeader,
		{"500101", "万州区", "q01", q01.ZH, q01.EN, "3", "2", "90.0000", "8.6603", "73.0262", "106.9738", "1.0000", "0.3333", "0"},
		{"500101", "万州区", "q02", q02.ZH, q02.EN, "3", "3", "70.0000", "7.5000", "55.3003", "84.6997", "0.3333", "0.0000", "0"},
		{"500102", "涪陵区", "q01", q01.ZH, q01.EN, "1", "1", "40.0000", "", "", "", "0.0000", "0.0000", "0"},
		{"500102", "涪陵区", "q02", q02.ZH, q02.EN, "1", "0", "", "", "", "", "", "1.0000", "0"},
		{"500103", "渝中区", "q01", q01.ZH, q01.EN, "0", "0", "", "", "", "", "", "", "0"},
		{"500103", "渝中区", "q02", q02.ZH, q02.EN, "0", "0", "", "", "", "", "", "", "0"},
		{"ALL", "全市", "q01", q01.ZH, q01.EN, "4", "3", "60.0000", "", "", "", "0.6667", "0.2500", "0"},
		{"ALL", "全市", "q02", q02.ZH, q02.EN, "4", "3", "70.0000", "", "", "", "0.3333", "0.2500", "0"},
	}
	got := readCSVFile(t, buf.Bytes())
	if n != 8 || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("%d rows\n got %q\nwant %q", n, got, want)
	}

	// At k = 2 the district of one interview keeps its counts only.
	buf.Reset()
	w, _ = csvfile.NewWriter(&buf, csvfile.UTF8)
	if _, err := WriteIndicatorDetail(w, sc, 2); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	got = readCSVFile(t, buf.Bytes())
	if fmt.Sprintf("%q", got[3]) != fmt.Sprintf("%q", []string{"500102", "涪陵区", "q01", q01.ZH, q01.EN, "1", "1", "", "", "", "", "", "", "1"}) ||
		got[1][13] != "0" || got[7][7] != "60.0000" {
		t.Fatalf("at k=2:\n%q", got)
	}
}
