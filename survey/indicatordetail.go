package survey

import (
	"strconv"

	"minyi/core"
)

// IndicatorDetailHeader is the header of the indicator detail CSV. The
// satisfaction rate is the share of valid answers (n_valid) that are
// satisfied, the don't-know rate the share of all interviews (n) that
// answered don't know or refused (docs/statistics.md §1); both are unweighted.
var IndicatorDetailHeader = []string{"district_code", "district_name", "item", "item_zh", "item_en", "n", "n_valid",
	"score", "se", "ci_low", "ci_high", "satisfaction_rate", "dont_know_rate", SuppressedColumn}

// WriteIndicatorDetail writes one row per district and indicator, the
// districts in the order of sc.Districts and then the city-wide rows: the
// indicator score with its interval, the satisfaction rate and the
// don't-know rate. A district without interviews gets rows with n = 0 and
// empty cells; a row with fewer than minCell interviews keeps its n and
// n_valid but not its estimates, and says it was suppressed. It returns the
// number of rows written. The caller flushes w.
func WriteIndicatorDetail(w interface{ Write([]string) error }, sc *WaveScores, minCell int) (int, error) {
	if err := w.Write(IndicatorDetailHeader); err != nil {
		return 0, err
	}
	type key struct{ district, item string }
	est := make(map[key]Estimate, len(sc.Estimates))
	for _, e := range sc.Estimates {
		est[key{e.District, e.Item}] = e
	}
	rows := append([]DistrictInfo(nil), sc.Districts...)
	rows = append(rows, DistrictInfo{Code: AllDistricts, Name: CityName})
	var indicators []Question
	if sc.Questionnaire != nil {
		indicators = sc.Questionnaire.Indicators()
	}
	text := map[string]core.Text{}
	for _, q := range indicators {
		text[q.ID] = q.Text
	}
	n := 0
	for _, d := range rows {
		for _, item := range sc.Items {
			rec := make([]string, len(IndicatorDetailHeader))
			rec[0], rec[1], rec[2], rec[3], rec[4] = d.Code, d.Name, item, text[item].ZH, text[item].EN
			rec[5], rec[6], rec[13] = "0", "0", suppressedCell(false)
			if e, ok := est[key{d.Code, item}]; ok {
				rec[5], rec[6] = strconv.Itoa(e.N), strconv.Itoa(e.NValid)
				hide := Suppressed(e.N, minCell)
				rec[13] = suppressedCell(hide)
				if !hide && e.N > 0 {
					if e.HasScore {
						rec[7] = num(e.Score)
						if e.HasSE {
							rec[8], rec[9], rec[10] = num(e.SE), num(e.CILow), num(e.CIHigh)
						}
						rec[11] = num(e.SatisfiedRate)
					}
					rec[12] = num(e.DontKnowRate)
				}
			}
			if err := w.Write(rec); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
