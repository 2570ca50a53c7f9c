package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"minyi/core"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"
)

// SignIn checks a password behind the back-off of throttle.go and records
// the attempt. A refused attempt is a *Throttled and reaches no bcrypt;
// a checked one is a row of sign_in_attempts, and only successes (with the
// failures and refusals since the previous one) and the start of a
// back-off are entries of the audit log.
func SignIn(ctx context.Context, db *sqlx.DB, username, password, address string) (int64, error) {
	return verify(ctx, db, username, password, address, errBadLogin, func(tx *sqlx.Tx, id int64, failed, refused int) error {
		return core.Audit(ctx, tx, core.AuditEntry{ActorID: id, Actor: username, Action: "sign-in",
			Details: map[string]any{"address": address, "failed_before": failed, "refused_before": refused}})
	})
}

// verify runs one throttled password check; ok runs in the transaction
// that records a success.
func verify(ctx context.Context, db *sqlx.DB, username, password, address string, wrong error, ok func(tx *sqlx.Tx, id int64, failed, refused int) error) (int64, error) {
	known, err := knownAddress(ctx, db, username, address)
	if err != nil {
		return 0, fmt.Errorf("users: sign-in throttle: %w", err)
	}
	if err := admit(ctx, db, throttleKeys(username, address, !known), username, address); err != nil {
		return 0, err
	}
	id, err := Authenticate(ctx, db, username, password)
	if err != nil {
		if _, rerr := db.ExecContext(ctx, qRecordAttempt, accountName(username), address, false); rerr != nil {
			return 0, rerr
		}
		prune(ctx, db, false)
		if errors.Is(err, errBadLogin) {
			return 0, wrong
		}
		return 0, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	failed, refused, err := succeeded(ctx, tx, username, address, !known)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, qRecordAttempt, accountName(username), address, true); err != nil {
		return 0, err
	}
	if err := ok(tx, id, failed, refused); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	prune(ctx, db, true)
	return id, nil
}

// errBadLogin does not say which of the two was wrong.
var errBadLogin = core.Errorf(core.EInvalid, "用户名或密码不正确", "wrong username or password")

// Authenticate checks a username and password.
func Authenticate(ctx context.Context, db *sqlx.DB, username, password string) (int64, error) {
	var u struct {
		ID          int64  `db:"id"`
		Username    string `db:"username"`
		DisplayName string `db:"display_name"`
		Hash        string `db:"password_hash"`
		Role        string `db:"role"`
		Active      bool   `db:"active"`
	}
	err := db.GetContext(ctx, &u, qUserByName, username)
	if errors.Is(err, sql.ErrNoRows) {
		// Spend the same time as a real check so that timing does not tell
		// which usernames exist.
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return 0, errBadLogin
	}
	if err != nil {
		return 0, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.Hash), []byte(password)) != nil || !u.Active {
		return 0, errBadLogin
	}
	return u.ID, nil
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), BcryptCost)
