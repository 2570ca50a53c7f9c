package dialer

import (
	"math"
	"testing"
)

// A hand-computed wave: I=40 P=10 R=20 NC=15 O=5 UH=30 UO=10 NE=20.
// e = 90/110 = 0.8181…; RR3 = 40/(90 + e·40) = 40/122.7272… = 0.325926.
func TestRatesByHand(t *testing.T) {
	c := Counts{I: 40, P: 10, R: 20, NC: 15, O: 5, UH: 30, UO: 10, NE: 20}
	e := c.DefaultE()
	if math.Abs(e-90.0/110) > 1e-12 {
		t.Fatalf("e = %v", e)
	}
	r := c.Rates(e)
	want := map[string]float64{
		"RR1": 40.0 / 130, "RR2": 50.0 / 130, "RR3": 40 / (90 + e*40), "RR4": 50 / (90 + e*40),
		"RR5": 40.0 / 90, "RR6": 50.0 / 90,
		"COOP1": 40.0 / 75, "COOP2": 50.0 / 75, "COOP3": 40.0 / 70, "COOP4": 50.0 / 70,
		"REF1": 20.0 / 130, "REF2": 20 / (90 + e*40), "REF3": 20.0 / 90,
		"CON1": 75.0 / 130, "CON2": 75 / (75 + 15 + e*40), "CON3": 75.0 / 90,
	}
	for _, n := range RateNames {
		if math.Abs(r[n]-want[n]) > 1e-12 {
			t.Errorf("%s = %v, want %v", n, r[n], want[n])
		}
	}
	if math.Abs(r["RR3"]-0.325926) > 1e-6 {
		t.Errorf("RR3 = %v, want 0.325926", r["RR3"])
	}
}

func TestDispositionGroups(t *testing.T) {
	var c Counts
	for _, code := range []string{"1.1", "1.2", "2.11", "2.111", "2.12", "2.21", "2.20", "2.30", "3.11", "3.12", "3.13", "3.20", "3.90", "4.30", "4.70", "4.80"} {
		c.Add(code)
	}
	want := Counts{I: 1, P: 1, R: 3, NC: 2, O: 1, UH: 3, UO: 2, NE: 3, QF: 1}
	if c != want {
		t.Fatalf("groups %+v, want %+v", c, want)
	}
}

func TestEmptyDenominatorsAreNotZero(t *testing.T) {
	r := Counts{NE: 5}.Rates(Counts{NE: 5}.DefaultE())
	if !math.IsNaN(r["RR1"]) || !math.IsNaN(r["COOP1"]) {
		t.Fatalf("rates of a wave with no eligible case: %v", r)
	}
}

// Cases closed as quota filled (4.80) are not eligible (docs/statistics.md §6):
// added to the hand-computed wave, they change no rate's denominator
// except through e, which counts them in NE by the default formula.
func TestQuotaFilledLeavesRatesAndE(t *testing.T) {
	base := Counts{I: 40, P: 10, R: 20, NC: 15, O: 5, UH: 30, UO: 10, NE: 20}
	c := base
	for i := 0; i < 25; i++ {
		c.Add("4.80")
	}
	if c.NE != 45 || c.QF != 25 {
		t.Fatalf("counts %+v", c)
	}
	e := c.DefaultE()
	if math.Abs(e-90.0/135) > 1e-12 {
		t.Fatalf("e = %v, want 90/135", e)
	}
	r, want := c.Rates(e), base.Rates(e)
	for _, n := range RateNames {
		if math.Abs(r[n]-want[n]) > 1e-12 {
			t.Errorf("%s = %v with quota-filled cases, %v without at the same e", n, r[n], want[n])
		}
	}
	// RR3 = I / ((I+P) + (R+NC+O) + e(UH+UO)) = 40 / (90 + 40·90/135).
	if math.Abs(r["RR3"]-40/(90+40*90.0/135)) > 1e-12 {
		t.Errorf("RR3 = %v", r["RR3"])
	}
}
