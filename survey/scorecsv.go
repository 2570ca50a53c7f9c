package survey

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// longHeader is the header of the long scores CSV (docs/design.md §7).
var longHeader = []string{"district_code", "item", "n", "n_valid", "score", "se", "ci_low", "ci_high"}

// CityName is the district name shown on the city-wide row.
const CityName = "全市"

// num formats a published number: four decimals, always in the same form,
// so that the same data prints the same text.
func num(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }

// WriteScoresLong writes the long scores table as plain CSV with "\n" line
// ends and no byte-order mark: this is what `minyi scores --long` prints,
// for programs rather than spreadsheets. Rows keep the order of ests. The
// score is empty when there is no valid answer and the SE and interval are
// empty when there is no variance estimate, never a made-up number.
func WriteScoresLong(w io.Writer, ests []Estimate) error {
	cw := csv.NewWriter(w)
	if err := writeLong(cw, ests, 0, false); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// WriteScoresLongTo writes the same long table to a file for people
// (byte-order mark, CRLF, neutralised cells), with small cells suppressed:
// a row with fewer than minCell interviews keeps its n but not its
// estimates, and its last column, suppressed, says so. The caller flushes.
func WriteScoresLongTo(w interface{ Write([]string) error }, ests []Estimate, minCell int) error {
	return writeLong(w, ests, minCell, true)
}

func writeLong(w interface{ Write([]string) error }, ests []Estimate, minCell int, flag bool) error {
	header := longHeader
	if flag {
		header = append(slices.Clone(longHeader), SuppressedColumn)
	}
	if err := w.Write(header); err != nil {
		return err
	}
	for _, e := range ests {
		score, se, lo, hi := "", "", "", ""
		hide := Suppressed(e.N, minCell)
		if e.HasScore && !hide {
			score = num(e.Score)
			if e.HasSE {
				se, lo, hi = num(e.SE), num(e.CILow), num(e.CIHigh)
			}
		}
		rec := []string{e.District, e.Item, strconv.Itoa(e.N), strconv.Itoa(e.NValid), score, se, lo, hi}
		if flag {
			rec = append(rec, suppressedCell(hide))
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

// DistrictInfo names a district in the wide scores table.
type DistrictInfo struct{ Code, Name string }

// WriteScoresWide writes the table for the assessment office: one row per
// district in the order of districts, then the city-wide row. Each row has
// the district score with its interval, the rank and rank range, the
// assessment points (assessmentWeight · score) and the score of every item
// in items. Cells are empty where a value is undefined: no valid answer, no
// variance estimate, or not ranked. A district with no interviews gets a
// row with n = 0 and empty cells, so that it is visibly missing rather than
// silently dropped. The city-wide row has assessment points too but no rank.
// A row with fewer than minCell interviews keeps its n and nothing else,
// and its last column, suppressed, says so (see Suppressed).
//
// It takes only estimates, so no respondent can be identified from it. The
// caller flushes w.
func WriteScoresWide(w interface{ Write([]string) error }, ests []Estimate, districts []DistrictInfo, ranks []Rank, assessmentWeight float64, items []string, minCell int) error {
	if math.IsNaN(assessmentWeight) || math.IsInf(assessmentWeight, 0) {
		return fmt.Errorf("survey: assessment weight %v is not a finite number", assessmentWeight)
	}
	byDistrict := make(map[string]map[string]Estimate)
	for _, e := range ests {
		if byDistrict[e.District] == nil {
			byDistrict[e.District] = make(map[string]Estimate)
		}
		byDistrict[e.District][e.Item] = e
	}
	known := make(map[string]bool, len(districts))
	for _, d := range districts {
		known[d.Code] = true
	}
	// An estimate for a district missing from the list would vanish from
	// the assessment office's table; refuse rather than lose it.
	for code := range byDistrict {
		if code != AllDistricts && !known[code] {
			return fmt.Errorf("survey: scores for district %q, which is not in the district list", code)
		}
	}
	if _, ok := byDistrict[AllDistricts][CompositeItem]; !ok {
		return fmt.Errorf("survey: no city-wide (%s) composite score to write", AllDistricts)
	}
	rankOf := make(map[string]Rank, len(ranks))
	for _, r := range ranks {
		rankOf[r.District] = r
	}

	header := []string{"district_code", "district_name", "n", "score", "se", "ci_low", "ci_high",
		"rank", "rank_low", "rank_high", "assessment_points"}
	header = append(header, items...)
	header = append(header, SuppressedColumn)
	if err := w.Write(header); err != nil {
		return err
	}

	row := func(code, name string, withRank bool) []string {
		rec := make([]string, len(header))
		rec[0], rec[1] = code, name
		est := byDistrict[code]
		c, ok := est[CompositeItem]
		if !ok {
			rec[2], rec[len(rec)-1] = "0", suppressedCell(false)
			return rec
		}
		rec[2] = strconv.Itoa(c.N)
		if Suppressed(c.N, minCell) {
			rec[len(rec)-1] = suppressedCell(true)
			return rec
		}
		rec[len(rec)-1] = suppressedCell(false)
		if c.HasScore {
			rec[3] = num(c.Score)
			rec[10] = num(assessmentWeight * c.Score)
			if c.HasSE {
				rec[4], rec[5], rec[6] = num(c.SE), num(c.CILow), num(c.CIHigh)
			}
		}
		if r, ok := rankOf[code]; ok && withRank {
			rec[7], rec[8], rec[9] = strconv.Itoa(r.Rank), strconv.Itoa(r.RankLow), strconv.Itoa(r.RankHigh)
		}
		for j, it := range items {
			if e, ok := est[it]; ok && e.HasScore {
				rec[11+j] = num(e.Score)
			}
		}
		return rec
	}
	for _, d := range districts {
		if err := w.Write(row(d.Code, d.Name, true)); err != nil {
			return err
		}
	}
	return w.Write(row(AllDistricts, CityName, false))
}
