package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"minyi/core"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"
)

// Sign-in throttling: after this many failures for one username (since its
// last success) or from one address within the window, further attempts
// are refused until the window has passed, without checking the password.
const (
	MaxFailuresPerUser    = 5
	MaxFailuresPerAddress = 20
	LockoutWindow         = 15 * time.Minute
)

// ErrLockedOut says that sign-ins are refused for a while.
var ErrLockedOut = core.Errorf(core.EInvalid, "登录失败次数过多,请 15 分钟后再试,或请管理员协助", "too many failed sign-ins: try again in 15 minutes, or ask an admin")

// SignIn checks a password with throttling and records the attempt.
func SignIn(ctx context.Context, db *sqlx.DB, username, password, address string) (int64, error) {
	var f struct {
		ByUser    int        `db:"by_user"`
		ByAddress int        `db:"by_address"`
		Last      *time.Time `db:"last_failure"`
	}
	window := fmt.Sprintf("%d seconds", int(LockoutWindow.Seconds()))
	if err := db.GetContext(ctx, &f, qRecentFailures, username, address, window); err != nil {
		return 0, fmt.Errorf("users: sign-in throttle: %w", err)
	}
	if f.ByUser >= MaxFailuresPerUser || f.ByAddress >= MaxFailuresPerAddress {
		if err := core.AuditNow(ctx, db, core.AuditEntry{Actor: username, Action: "sign-in-refused", Details: map[string]string{"address": address}}); err != nil {
			return 0, err
		}
		return 0, ErrLockedOut
	}
	id, err := Authenticate(ctx, db, username, password)
	if _, rerr := db.ExecContext(ctx, qRecordAttempt, username, address, err == nil); rerr != nil && err == nil {
		return 0, rerr
	}
	action := "sign-in"
	if err != nil {
		action = "sign-in-failed"
	}
	if aerr := core.AuditNow(ctx, db, core.AuditEntry{ActorID: id, Actor: username, Action: action, Details: map[string]string{"address": address}}); aerr != nil && err == nil {
		return 0, aerr
	}
	return id, err
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
