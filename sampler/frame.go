package sampler

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// PhoneEntry is one number of the telephone frame, already normalised.
type PhoneEntry struct {
	Phone    string
	District string // optional hint; "" when unknown
}

// ImportReport counts what an import did.
type ImportReport struct {
	Read       int
	Added      int
	Duplicates int // already in the frame or repeated in the input
}

// AddPhones streams numbers into the frame with COPY, in one transaction.
// Each stratum's ordinals stay dense (1..N) so that a draw can fetch drawn
// rows by ordinal without reading the frame.
func AddPhones(ctx context.Context, db *sqlx.DB, entries []PhoneEntry) (ImportReport, error) {
	rep := ImportReport{Read: len(entries)}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return rep, err
	}
	defer tx.Rollback()
	// Appending to a stratum must be serialised, or two imports would hand
	// out the same ordinals.
	if _, err := tx.ExecContext(ctx, `LOCK TABLE phone_frame IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return rep, err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE frame_in (line int, phone text, district_code text) ON COMMIT DROP`); err != nil {
		return rep, err
	}
	st, err := tx.PrepareContext(ctx, `COPY frame_in (line, phone, district_code) FROM STDIN`)
	if err != nil {
		return rep, err
	}
	for i, e := range entries {
		var d any
		if e.District != "" {
			d = e.District
		}
		if _, err := st.ExecContext(ctx, i, e.Phone, d); err != nil {
			st.Close()
			return rep, fmt.Errorf("sampler: copy frame: %w", err)
		}
	}
	if _, err := st.ExecContext(ctx); err != nil {
		st.Close()
		return rep, fmt.Errorf("sampler: copy frame: %w", err)
	}
	st.Close()
	res, err := tx.ExecContext(ctx, `
		INSERT INTO phone_frame (phone, district_code, ordinal)
		SELECT x.phone, x.district_code,
		       coalesce(b.n, 0) + row_number() OVER (PARTITION BY coalesce(x.district_code, '') ORDER BY x.line)
		FROM (SELECT DISTINCT ON (phone) line, phone, district_code FROM frame_in ORDER BY phone, line) x
		LEFT JOIN (SELECT coalesce(district_code, '') AS s, max(ordinal) AS n FROM phone_frame GROUP BY 1) b
		       ON b.s = coalesce(x.district_code, '')
		WHERE NOT EXISTS (SELECT 1 FROM phone_frame p WHERE p.phone = x.phone)`)
	if err != nil {
		return rep, fmt.Errorf("sampler: add to frame: %w", err)
	}
	n, _ := res.RowsAffected()
	rep.Added = int(n)
	rep.Duplicates = rep.Read - rep.Added
	return rep, tx.Commit()
}

// FrameSizes returns the number of frame units per stratum ("" = no district).
func FrameSizes(ctx context.Context, db sqlx.QueryerContext) (map[string]int64, error) {
	rows, err := db.QueryxContext(ctx, qFrameSizes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}
