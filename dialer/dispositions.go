package dialer

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
)

var qDispositions = pg.Q("dialer/dispositions")

// Disposition is one case's AAPOR code, for the dispositions CSV. It
// carries no telephone number or address.
type Disposition struct {
	CaseID   int64  `db:"case_id"`
	District string `db:"district_code"`
	Mode     string `db:"mode"`
	Attempts int    `db:"attempts"`
	Code     string `db:"code"`
}

// EachDisposition streams a wave's dispositions in case order.
func EachDisposition(ctx context.Context, db sqlx.QueryerContext, waveID int64, fn func(Disposition) error) error {
	rows, err := db.QueryxContext(ctx, qDispositions, waveID)
	if err != nil {
		return fmt.Errorf("dialer: dispositions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d Disposition
		if err := rows.StructScan(&d); err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// DispositionHeader is the dispositions CSV's header.
var DispositionHeader = []string{"case_id", "district_code", "mode", "attempts", "final_code"}

// Record is the CSV row of a disposition.
func (d Disposition) Record() []string {
	return []string{strconv.FormatInt(d.CaseID, 10), d.District, d.Mode, strconv.Itoa(d.Attempts), d.Code}
}

// RateRow is one district's (or ALL) counts and rates.
type RateRow struct {
	District string
	Counts   Counts
	E        float64
	Rates    map[string]float64
}

// WaveRates counts a wave's dispositions by district and computes the
// rates, each district with its own e; the last row is ALL. Cases drawn
// city-wide that never reached screening have no district and count only in
// ALL.
func WaveRates(ctx context.Context, db sqlx.QueryerContext, waveID int64) ([]RateRow, error) {
	by := map[string]*Counts{}
	var all Counts
	err := EachDisposition(ctx, db, waveID, func(d Disposition) error {
		all.Add(d.Code)
		if d.District == "" {
			return nil
		}
		c := by[d.District]
		if c == nil {
			c = &Counts{}
			by[d.District] = c
		}
		c.Add(d.Code)
		return nil
	})
	if err != nil {
		return nil, err
	}
	codes := make([]string, 0, len(by))
	for k := range by {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	var out []RateRow
	for _, k := range append(codes, "ALL") {
		c := all
		if k != "ALL" {
			c = *by[k]
		}
		e := c.DefaultE()
		out = append(out, RateRow{District: k, Counts: c, E: e, Rates: c.Rates(e)})
	}
	return out, nil
}

// RatesHeader is the rates CSV's header.
var RatesHeader = append([]string{"district_code", "I", "P", "R", "NC", "O", "UH", "UO", "NE", "e"}, RateNames...)

// Record is the CSV row of a rate row; undefined rates are empty.
func (r RateRow) Record() []string {
	c := r.Counts
	rec := []string{r.District}
	for _, n := range []int{c.I, c.P, c.R, c.NC, c.O, c.UH, c.UO, c.NE} {
		rec = append(rec, strconv.Itoa(n))
	}
	rec = append(rec, num4(r.E))
	for _, n := range RateNames {
		rec = append(rec, num4(r.Rates[n]))
	}
	return rec
}

// EstimateNote says how e was estimated, to print beside the rates.
const EstimateNote = "e = (I+P+R+NC+O)/(I+P+R+NC+O+NE)：已知资格的样本中合格者的比例，各区县分别估计 / the eligible share of the cases whose eligibility is known, estimated per district"

func num4(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return strconv.FormatFloat(x, 'f', 4, 64)
}
