package export

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sampler"
	"minyi/sql/pg"
)

var (
	qExportSecret = pg.Q("exports/secret")
	qCallRecords  = pg.Q("exports/call-records")
)

// CallsHeader is the call records CSV's header: one row per attempt on a
// case. case_ref is the case's reference for exports (CaseRef), not its
// row id; interviewer_id is the interviewer's user id, not a name; the
// times are Beijing time; sip_code, ring and talk seconds and hangup_by are
// empty for an attempt not placed through Minyi's own calls.
var CallsHeader = []string{"case_ref", "attempted_at", "interviewer_id", "mode", "outcome", "aapor_code", "final",
	"sip_code", "ring_seconds", "talk_seconds", "hangup_by"}

// caseRefs gives cases their references for exports: an HMAC-SHA256 of
// the row id under the install's secret (migration 0108), cut to 16 hex
// digits. The same case gets the same reference in every export; without
// the secret, held in the database alone, a reference tells neither the
// row id (which leads to the number) nor the order of the draw.
type caseRefs struct{ key []byte }

func newCaseRefs(ctx context.Context, db sqlx.QueryerContext) (caseRefs, error) {
	var key []byte
	if err := sqlx.GetContext(ctx, db, &key, qExportSecret); err != nil {
		return caseRefs{}, fmt.Errorf("export: the export secret: %w", err)
	}
	return caseRefs{key: key}, nil
}

// CaseRef is a case's reference in exports.
func (r caseRefs) CaseRef(caseID int64) string {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte("case:" + strconv.FormatInt(caseID, 10)))
	return hex.EncodeToString(m.Sum(nil))[:16]
}

// writeCalls writes a wave's call records, streamed row by row.
func writeCalls(ctx context.Context, db *sqlx.DB, wave string, w interface{ Write([]string) error }) (int, error) {
	wv, err := sampler.GetWave(ctx, db, wave)
	if err != nil {
		return 0, err
	}
	refs, err := newCaseRefs(ctx, db)
	if err != nil {
		return 0, err
	}
	rows, err := db.QueryContext(ctx, qCallRecords, wv.ID)
	if err != nil {
		return 0, fmt.Errorf("export: call records: %w", err)
	}
	defer rows.Close()
	if err := w.Write(CallsHeader); err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		var (
			caseID, interviewer       int64
			at                        time.Time
			mode, outcome, code, hung string
			final                     bool
			sip, ring, talk           sql.NullInt64
		)
		if err := rows.Scan(&caseID, &at, &interviewer, &mode, &outcome, &code, &final, &sip, &ring, &talk, &hung); err != nil {
			return n, err
		}
		rec := []string{refs.CaseRef(caseID), at.In(core.Shanghai).Format(time.RFC3339), strconv.FormatInt(interviewer, 10),
			mode, outcome, code, flag(final), nullInt(sip, 1), nullInt(ring, 1000), nullInt(talk, 1000), hung}
		if err := w.Write(rec); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// nullInt prints v divided by unit (milliseconds as seconds with one
// decimal), or nothing when v is NULL.
func nullInt(v sql.NullInt64, unit int64) string {
	if !v.Valid {
		return ""
	}
	if unit == 1 {
		return strconv.FormatInt(v.Int64, 10)
	}
	return strconv.FormatFloat(float64(v.Int64)/float64(unit), 'f', 1, 64)
}
