package survey

// IndicatorRate is the satisfaction rate (满意率) and the don't-know rate
// (不清楚率) of one indicator in one district, or city-wide, with the
// counts they are made of, so that every published share can be shown
// beside its denominator (docs/statistics.md §1).
//
// Both are plain shares of interviews, not weighted estimates: the
// satisfaction rate is Satisfied / Valid, the valid answers (codes with
// points) that are "very satisfied" or "satisfied"; the don't-know rate
// is DontKnow / N, the interviews of the domain (every completed
// interview, as in the score's n) that answered "don't know" or refused.
// An item that was not asked of an interview counts in N but in neither
// numerator.
type IndicatorRate struct {
	District string // district code, or "ALL"
	Item     string
	// 满意率 = Satisfied / Valid.
	Satisfied, Valid int
	// 不清楚率 = DontKnow / N.
	DontKnow, N int
}

// SatisfactionRate is Satisfied / Valid; ok is false when no answer was
// valid, where the share is undefined rather than 0.
func (r IndicatorRate) SatisfactionRate() (rate float64, ok bool) {
	if r.Valid == 0 {
		return 0, false
	}
	return float64(r.Satisfied) / float64(r.Valid), true
}

// DontKnowRate is DontKnow / N; ok is false when the domain has no
// interview.
func (r IndicatorRate) DontKnowRate() (rate float64, ok bool) {
	if r.N == 0 {
		return 0, false
	}
	return float64(r.DontKnow) / float64(r.N), true
}

// IndicatorRates returns the rates of every indicator row of ests (the
// output of Estimates, or WaveScores.Estimates), in the same order; the
// district-score rows have no rates and are skipped. The counts are
// made by Estimates in the same pass as the scores, so the rates always
// describe exactly the interviews the scores were computed from.
func IndicatorRates(ests []Estimate) []IndicatorRate {
	out := make([]IndicatorRate, 0, len(ests))
	for _, e := range ests {
		if e.Item == CompositeItem {
			continue
		}
		out = append(out, IndicatorRate{District: e.District, Item: e.Item,
			Satisfied: e.NSatisfied, Valid: e.NValid, DontKnow: e.NDontKnow, N: e.N})
	}
	return out
}
