package core

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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
	qAuditHead   = pg.Q("audit/head")
)

// Head names an entry of the chain by its sequence number and hash: the
// state of the whole log up to it, since each hash covers the one before.
type Head struct {
	Seq  int64  `db:"seq" json:"seq"`
	Hash string `db:"hash" json:"hash"`
}

// Audit appends an entry inside the caller's transaction, so that the
// record and the change it records commit together.
func Audit(ctx context.Context, tx *sqlx.Tx, e AuditEntry) error {
	_, err := AuditHead(ctx, tx, e)
	return err
}

// AuditHead is Audit returning the entry's place in the chain.
func AuditHead(ctx context.Context, tx *sqlx.Tx, e AuditEntry) (Head, error) {
	details := []byte("{}")
	if e.Details != nil {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return Head{}, err
		}
		details = b
	}
	if err := LockAudit(ctx, tx); err != nil {
		return Head{}, err
	}
	var actor any
	if e.ActorID > 0 {
		actor = e.ActorID
	}
	var h Head
	if err := tx.QueryRowxContext(ctx, qAuditAppend, actor, e.Actor, e.Action, e.Subject, string(details)).StructScan(&h); err != nil {
		return Head{}, fmt.Errorf("core: audit: %w", err)
	}
	return h, nil
}

// LockAudit takes the lock that serialises appends, until tx ends: work
// that reads the log before appending to it (sealing evidence) takes it
// first, so that no append comes in between.
func LockAudit(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, qAuditLock); err != nil {
		return fmt.Errorf("core: audit lock: %w", err)
	}
	return nil
}

// ChainHead returns the newest entry; Seq is 0 for an empty log.
func ChainHead(ctx context.Context, db sqlx.QueryerContext) (Head, error) {
	var h Head
	err := sqlx.GetContext(ctx, db, &h, qAuditHead)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{}, nil
	}
	if err != nil {
		return Head{}, fmt.Errorf("core: audit head: %w", err)
	}
	return h, nil
}

// AuditNow appends an entry in a transaction of its own.
func AuditNow(ctx context.Context, db *sqlx.DB, e AuditEntry) error {
	_, err := AuditNowHead(ctx, db, e)
	return err
}

// AuditNowHead is AuditNow returning the entry's place in the chain.
func AuditNowHead(ctx context.Context, db *sqlx.DB, e AuditEntry) (Head, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Head{}, err
	}
	defer tx.Rollback()
	h, err := AuditHead(ctx, tx, e)
	if err != nil {
		return Head{}, err
	}
	return h, tx.Commit()
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
			rep.Problems = append(rep.Problems, fmt.Sprintf("第 %d–%d 条缺失（被删除） / entries %d–%d are missing (deleted)", prevSeq+1, r.Seq-1, prevSeq+1, r.Seq-1))
		case r.Prev != prevHash:
			rep.Problems = append(rep.Problems, fmt.Sprintf("第 %d 条与前一条的链接断开（前面有插入或删除） / entry %d does not chain to the entry before it (an entry was inserted or deleted before it)", r.Seq, r.Seq))
		}
		if r.Computed != r.Hash {
			rep.Problems = append(rep.Problems, fmt.Sprintf("第 %d 条的内容被改动或是插入的 / entry %d was changed or inserted: its content does not match its hash", r.Seq, r.Seq))
		}
		prevSeq, prevHash = r.Seq, r.Hash
	}
	return rep, rows.Err()
}
