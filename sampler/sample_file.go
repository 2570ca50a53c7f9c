package sampler

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
)

var qSampledCases = pg.Q("sampler/sampled-cases")

// SampleHeader are the columns of a wave's sample file: each drawn case
// with its stratum ("" for the city-wide stratum of numbers without a
// district), its inclusion probability and its replicate (empty for
// door-to-door households, released whole).
var SampleHeader = []string{"case_id", "mode", "stratum", "inclusion_prob", "replicate"}

// SampleContactHeader are the columns a sample file with contacts adds.
var SampleContactHeader = []string{"phone", "address"}

// SampledCase is one drawn case as the sample file lists it.
type SampledCase struct {
	ID        int64           `db:"id"`
	Mode      string          `db:"mode"`
	Stratum   string          `db:"stratum"`
	Prob      sql.NullFloat64 `db:"inclusion_prob"`
	Replicate sql.NullInt64   `db:"replicate"`
	Phone     string          `db:"phone"`
	Address   string          `db:"address"`
}

// Record is the case as a row of the sample file, with its contacts when
// asked for.
func (c SampledCase) Record(contacts bool) []string {
	r := []string{strconv.FormatInt(c.ID, 10), c.Mode, c.Stratum, "", ""}
	if c.Prob.Valid {
		r[3] = strconv.FormatFloat(c.Prob.Float64, 'g', -1, 64)
	}
	if c.Replicate.Valid {
		r[4] = strconv.FormatInt(c.Replicate.Int64, 10)
	}
	if contacts {
		r = append(r, c.Phone, c.Address)
	}
	return r
}

// EachSampledCase calls fn with each drawn case of a wave, in the order
// drawn, one row at a time so that a sample of any size takes no more
// memory. Telephone numbers and addresses are read only with contacts.
func EachSampledCase(ctx context.Context, db sqlx.QueryerContext, waveID int64, contacts bool, fn func(SampledCase) error) error {
	rows, err := db.QueryxContext(ctx, qSampledCases, waveID, contacts)
	if err != nil {
		return fmt.Errorf("sampler: sampled cases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c SampledCase
		if err := rows.StructScan(&c); err != nil {
			return fmt.Errorf("sampler: sampled cases: %w", err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}
