package dialer

import (
	"math"
	"strings"
)

// Counts are the cases of a wave (or district) by AAPOR disposition group
// (docs/statistics.md §6): complete and partial interviews, refusals,
// non-contacts, other eligible non-interviews, unknown household, unknown
// other, and not eligible. QF counts the cases among NE that ended as 4.80
// (quota filled).
type Counts struct {
	I, P, R, NC, O, UH, UO, NE int
	QF                         int
}

// Add counts one case with its disposition code.
func (c *Counts) Add(code string) {
	switch {
	case code == "1.1" || strings.HasPrefix(code, "1.1"):
		c.I++
	case strings.HasPrefix(code, "1.2"):
		c.P++
	case strings.HasPrefix(code, "2.1"):
		c.R++
	case strings.HasPrefix(code, "2.2"):
		c.NC++
	case strings.HasPrefix(code, "2.3"), strings.HasPrefix(code, "2.9"):
		c.O++
	case strings.HasPrefix(code, "3.1"):
		c.UH++
	case strings.HasPrefix(code, "3."):
		c.UO++
	case strings.HasPrefix(code, "4.8"):
		// Quota filled: not eligible (4.80), so in no denominator but e's.
		c.NE++
		c.QF++
	case strings.HasPrefix(code, "4."):
		c.NE++
	default:
		// An unknown code is not silently an interview: count it as
		// unknown eligibility.
		c.UO++
	}
}

// Plus adds two counts.
func (c Counts) Plus(d Counts) Counts {
	return Counts{c.I + d.I, c.P + d.P, c.R + d.R, c.NC + d.NC, c.O + d.O, c.UH + d.UH, c.UO + d.UO, c.NE + d.NE, c.QF + d.QF}
}

// DefaultE estimates e, the eligible share of the cases of unknown
// eligibility, by the default of docs/statistics.md §6: the eligible share of
// the cases whose eligibility is known, (I+P+R+NC+O)/(I+P+R+NC+O+NE), with
// every 4.x case in NE, quota filled (4.80) included. NaN when nothing is
// known.
func (c Counts) DefaultE() float64 {
	known := float64(c.I + c.P + c.R + c.NC + c.O)
	return ratio(known, known+float64(c.NE))
}

// RateNames are the rates in the order of the rates CSV.
var RateNames = []string{"RR1", "RR2", "RR3", "RR4", "RR5", "RR6", "COOP1", "COOP2", "COOP3", "COOP4", "REF1", "REF2", "REF3", "CON1", "CON2", "CON3"}

// Rates computes the AAPOR outcome rates of docs/statistics.md §6 with e. A rate
// whose denominator is zero is NaN (printed empty), never a made-up 0.
func (c Counts) Rates(e float64) map[string]float64 {
	I, P, R, NC, O := float64(c.I), float64(c.P), float64(c.R), float64(c.NC), float64(c.O)
	U := float64(c.UH + c.UO)
	ip := I + P
	all := ip + R + NC + O
	return map[string]float64{
		"RR1":   ratio(I, all+U),
		"RR2":   ratio(ip, all+U),
		"RR3":   ratio(I, all+e*U),
		"RR4":   ratio(ip, all+e*U),
		"RR5":   ratio(I, all),
		"RR6":   ratio(ip, all),
		"COOP1": ratio(I, ip+R+O),
		"COOP2": ratio(ip, ip+R+O),
		"COOP3": ratio(I, ip+R),
		"COOP4": ratio(ip, ip+R),
		"REF1":  ratio(R, all+U),
		"REF2":  ratio(R, all+e*U),
		"REF3":  ratio(R, all),
		"CON1":  ratio(ip+R+O, ip+R+O+NC+U),
		"CON2":  ratio(ip+R+O, ip+R+O+NC+e*U),
		"CON3":  ratio(ip+R+O, ip+R+O+NC),
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
