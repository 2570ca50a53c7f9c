package survey

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/sql/pg"
)

// Interview evidence (docs/evidence.md §2): every stored version of an
// interview leaves a row with the hash of its content, and the sealer
// folds those rows into the audit chain.

var (
	qRecordEvidence   = pg.Q("survey/record-evidence")
	qInterviewHashes  = pg.Q("survey/interview-hashes")
	qEvidenceHorizon  = pg.Q("survey/evidence-horizon")
	qLastSeal         = pg.Q("survey/last-seal")
	qUnsealedEvidence = pg.Q("survey/unsealed-evidence")
	qAllEvidence      = pg.Q("survey/all-evidence")
)

// SealAction is the audit action of a seal; its details list every
// evidence row it covers as [row id, interview id, version, hash].
const SealAction = "evidence-seal"

// sealChunk is how many rows one seal entry lists at most, so that a
// first seal over a large database is several entries of bounded size.
const sealChunk = 5000

// RecordEvidence records the content of an interview as it now stands,
// inside the transaction that changed it, and returns its hash.
func RecordEvidence(ctx context.Context, tx *sqlx.Tx, id int64) (version int, hash string, err error) {
	if err := tx.QueryRowxContext(ctx, qRecordEvidence, id).Scan(&version, &hash); err != nil {
		return 0, "", fmt.Errorf("survey: record evidence of interview %d: %w", id, err)
	}
	return version, hash, nil
}

// EvidenceRow is one recorded version of an interview.
type EvidenceRow struct {
	ID          int64  `db:"id"`
	InterviewID int64  `db:"interview_id"`
	Version     int    `db:"version"`
	Hash        string `db:"hash"`
}

// SealEvidence appends to the audit chain every evidence row of the
// transactions that have ended since the last seal, and returns how many
// it sealed. Servers call it every minute, and before anything is
// published or exported, so that the chain head a signed file carries
// covers the interviews it counts.
func SealEvidence(ctx context.Context, db *sqlx.DB, actor string) (int, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n, err := sealIn(ctx, tx, actor)
	if err != nil || n == 0 {
		return 0, err
	}
	return n, tx.Commit()
}

// sealIn seals within tx, which then holds the audit lock.
func sealIn(ctx context.Context, tx *sqlx.Tx, actor string) (int, error) {
	// The lock first: the last seal read below is then the last there is.
	if err := core.LockAudit(ctx, tx); err != nil {
		return 0, err
	}
	var last struct {
		To    sql.NullString `db:"to"`
		MaxID int64          `db:"max_id"`
	}
	if err := tx.GetContext(ctx, &last, qLastSeal); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("survey: last seal: %w", err)
	}
	var horizon string
	if err := tx.GetContext(ctx, &horizon, qEvidenceHorizon); err != nil {
		return 0, fmt.Errorf("survey: evidence horizon: %w", err)
	}
	from, after := "0", int64(0)
	if last.To.Valid {
		from = last.To.String
	}
	h, _ := strconv.ParseUint(horizon, 10, 64)
	f, _ := strconv.ParseUint(from, 10, 64)
	if h < f {
		// The transaction counter went back: the database was restored
		// into another cluster. Its new rows have ids above every row
		// sealed before.
		from, after = "0", last.MaxID
	}
	var rows []EvidenceRow
	if err := tx.SelectContext(ctx, &rows, qUnsealedEvidence, from, horizon, after); err != nil {
		return 0, fmt.Errorf("survey: unsealed evidence: %w", err)
	}
	maxID := last.MaxID
	for start := 0; start < len(rows); start += sealChunk {
		chunk := rows[start:min(start+sealChunk, len(rows))]
		items := make([][4]any, len(chunk))
		for i, r := range chunk {
			items[i] = [4]any{r.ID, r.InterviewID, r.Version, r.Hash}
			maxID = max(maxID, r.ID)
		}
		if err := core.Audit(ctx, tx, core.AuditEntry{Actor: actor, Action: SealAction, Subject: "interviews",
			Details: map[string]any{"from": from, "to": horizon, "after_id": after, "max_id": maxID, "items": items}}); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// InterviewHash is an interview's content hash as it is stored now.
type InterviewHash struct {
	ID   int64  `db:"id"`
	Hash string `db:"hash"`
}

// EachInterviewHash calls fn with every interview's current hash, in id
// order, without holding them all.
func EachInterviewHash(ctx context.Context, db sqlx.QueryerContext, fn func(InterviewHash) error) error {
	rows, err := db.QueryxContext(ctx, qInterviewHashes)
	if err != nil {
		return fmt.Errorf("survey: interview hashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h InterviewHash
		if err := rows.StructScan(&h); err != nil {
			return err
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachEvidenceRow calls fn with every evidence row, in id order.
func EachEvidenceRow(ctx context.Context, db sqlx.QueryerContext, fn func(EvidenceRow) error) error {
	rows, err := db.QueryxContext(ctx, qAllEvidence)
	if err != nil {
		return fmt.Errorf("survey: evidence: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r EvidenceRow
		if err := rows.StructScan(&r); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
