package core

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	"minyi/sql/pg"
)

// AuditEntry is one audited event.
type AuditEntry struct {
	ActorID int64  // 0 when not a signed-in user (a command, a failed sign-in)
	Actor   string // username, or "minyi <command>"
	Action  string // e.g. sign-in, sign-in-failed, export, user-add, interview-change
	Subject string // what it was about: a wave, a user, an interview id
	Details any    // more, as JSON: rows exported, old and new values…
}

var (
	qAuditLock   = pg.Q("audit/lock")
	qAuditAppend = pg.Q("audit/append")
	qAuditVerify = pg.Q("audit/verify")
)

// Audit appends an entry inside the caller's transaction, so that the
// record and the change it records commit together.
func Audit(ctx context.Context, tx *sqlx.Tx, e AuditEntry) error {
	details := []byte("{}")
	if e.Details != nil {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return err
		}
		details = b
	}
	if _, err := tx.ExecContext(ctx, qAuditLock); err != nil {
		return fmt.Errorf("core: audit lock: %w", err)
	}
	var actor any
	if e.ActorID > 0 {
		actor = e.ActorID
	}
	if _, err := tx.ExecContext(ctx, qAuditAppend, actor, e.Actor, e.Action, e.Subject, string(details)); err != nil {
		return fmt.Errorf("core: audit: %w", err)
	}
	return nil
}

// AuditNow appends an entry in a transaction of its own.
func AuditNow(ctx context.Context, db *sqlx.DB, e AuditEntry) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := Audit(ctx, tx, e); err != nil {
		return err
	}
	return tx.Commit()
}

// AuditReport is the outcome of checking the chain.
type AuditReport struct {
	Entries  int
	Problems []string // empty when the chain is intact
}

// VerifyAudit recomputes every row's hash and checks the chain: a changed
// row no longer matches its hash, an inserted or deleted row breaks the
// sequence or the link to the previous hash. Each problem names the rows.
func VerifyAudit(ctx context.Context, db sqlx.QueryerContext) (AuditReport, error) {
	rows, err := db.QueryxContext(ctx, qAuditVerify)
	if err != nil {
		return AuditReport{}, fmt.Errorf("core: audit verify: %w", err)
	}
	defer rows.Close()
	var rep AuditReport
	var prevSeq int64
	prevHash := ""
	for rows.Next() {
		var r struct {
			Seq      int64  `db:"seq"`
			Prev     string `db:"prev_hash"`
			Hash     string `db:"hash"`
			Computed string `db:"computed"`
		}
		if err := rows.StructScan(&r); err != nil {
			return rep, err
		}
		rep.Entries++
		switch {
		case r.Seq != prevSeq+1 && r.Seq > prevSeq+1:
			rep.Problems = append(rep.Problems, fmt.Sprintf("第 %d–%d 条缺失(被删除)/ entries %d–%d are missing (deleted)", prevSeq+1, r.Seq-1, prevSeq+1, r.Seq-1))
		case r.Prev != prevHash:
			rep.Problems = append(rep.Problems, fmt.Sprintf("第 %d 条与前一条的链接断开(前面有插入或删除)/ entry %d does not chain to the entry before it (an entry was inserted or deleted before it)", r.Seq, r.Seq))
		}
		if r.Computed != r.Hash {
			rep.Problems = append(rep.Problems, fmt.Sprintf("第 %d 条的内容被改动或是插入的 / entry %d was changed or inserted: its content does not match its hash", r.Seq, r.Seq))
		}
		prevSeq, prevHash = r.Seq, r.Hash
	}
	return rep, rows.Err()
}
