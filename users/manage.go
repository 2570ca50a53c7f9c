package users

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"regexp"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"minyi/core"
	"minyi/sql/pg"
)

var (
	qUserByID        = pg.Q("users/user-by-id")
	qMarkNewAccount  = pg.Q("users/mark-new-account")
	qSetActive       = pg.Q("users/set-active")
	qSetTemporary    = pg.Q("users/set-temporary-password")
	qChangePassword  = pg.Q("users/change-password")
	qEndSessions     = pg.Q("users/end-sessions")
	qEndOtherSession = pg.Q("users/end-other-sessions")
)

// usernamePattern is the users table's check, to say what is wrong before
// the database refuses it.
var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{2,64}$`)

// CheckUsername says why a username cannot be used, or nil.
func CheckUsername(username string) error {
	if !usernamePattern.MatchString(username) {
		return core.Errorf(core.EInvalid, "用户名须为 2–64 个英文字母、数字或 _ . -", "a username is 2–64 letters, digits or _ . -")
	}
	return nil
}

// NewAccount is an account an admin creates.
type NewAccount struct {
	Username    string
	DisplayName string
	Role        Role
	Converter   bool // a refusal converter (interviewers only)
}

// Create makes an account with a temporary password, which it returns for
// the admin to hand over; its user must replace it at the first sign-in.
func Create(ctx context.Context, db *sqlx.DB, by *User, a NewAccount) (string, error) {
	if err := CheckUsername(a.Username); err != nil {
		return "", err
	}
	if !ValidRole(string(a.Role)) {
		return "", core.Errorf(core.EInvalid, "请选择角色", "choose a role")
	}
	if a.Converter && a.Role != RoleInterview {
		return "", core.Errorf(core.EInvalid, "只有访员可以是拒访转化员", "only interviewers can be refusal converters")
	}
	password := TemporaryPassword()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return "", err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	var id int64
	err = tx.GetContext(ctx, &id, qInsertUser, a.Username, a.DisplayName, string(hash), string(a.Role))
	if errors.Is(err, sql.ErrNoRows) {
		return "", core.Errorf(core.EConflict, "用户名 %s 已被使用", "the username %s is taken", a.Username)
	}
	if err != nil {
		return "", fmt.Errorf("users: create: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qMarkNewAccount, id, a.Converter); err != nil {
		return "", err
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: by.ID, Actor: by.Username, Action: "user-add", Subject: a.Username,
		Details: map[string]any{"role": a.Role, "refusal_converter": a.Converter, "display_name": a.DisplayName}}); err != nil {
		return "", err
	}
	return password, tx.Commit()
}

// target reads the account an admin acts on.
func target(ctx context.Context, tx *sqlx.Tx, id int64) (Account, error) {
	var a Account
	err := tx.GetContext(ctx, &a, qUserByID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return a, core.Errorf(core.ENotFound, "没有这个用户", "no such user")
	}
	return a, err
}

// SetActive deactivates an account, which ends its sessions at once, or
// activates it again. Admins cannot deactivate themselves, so that an
// active admin always remains.
func SetActive(ctx context.Context, db *sqlx.DB, by *User, id int64, active bool) (string, error) {
	if !active && id == by.ID {
		return "", core.Errorf(core.EInvalid, "不能停用您自己的账号", "you cannot deactivate your own account")
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	a, err := target(ctx, tx, id)
	if err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, qSetActive, id, active); err != nil {
		return "", err
	}
	action := "user-activate"
	var ended int64
	if !active {
		action = "user-deactivate"
		res, err := tx.ExecContext(ctx, qEndSessions, id)
		if err != nil {
			return "", err
		}
		ended, _ = res.RowsAffected()
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: by.ID, Actor: by.Username, Action: action, Subject: a.Username,
		Details: map[string]any{"was_active": a.Active, "sessions_ended": ended}}); err != nil {
		return "", err
	}
	return a.Username, tx.Commit()
}

// ResetPassword gives an account a new temporary password, which it
// returns, ends its sessions and lifts its sign-in back-off; the user must
// choose a password of their own at the next sign-in. Admins change their
// own password on the password page instead.
func ResetPassword(ctx context.Context, db *sqlx.DB, by *User, id int64) (username, password string, err error) {
	if id == by.ID {
		return "", "", core.Errorf(core.EInvalid, "请在“修改密码”页面修改您自己的密码", "change your own password on the password page")
	}
	password = TemporaryPassword()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return "", "", err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return "", "", err
	}
	defer tx.Rollback()
	a, err := target(ctx, tx, id)
	if err != nil {
		return "", "", err
	}
	if _, err := tx.ExecContext(ctx, qSetTemporary, id, string(hash)); err != nil {
		return "", "", err
	}
	res, err := tx.ExecContext(ctx, qEndSessions, id)
	if err != nil {
		return "", "", err
	}
	ended, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, qThrottleForget, accountKey(a.Username), pairPrefix(a.Username)); err != nil {
		return "", "", err
	}
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: by.ID, Actor: by.Username, Action: "user-password-reset", Subject: a.Username,
		Details: map[string]any{"sessions_ended": ended}}); err != nil {
		return "", "", err
	}
	return a.Username, password, tx.Commit()
}

// EndSessions signs an account out on every browser and returns how many
// sessions ended.
func EndSessions(ctx context.Context, db *sqlx.DB, by *User, id int64) (string, int64, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return "", 0, err
	}
	defer tx.Rollback()
	a, err := target(ctx, tx, id)
	if err != nil {
		return "", 0, err
	}
	res, err := tx.ExecContext(ctx, qEndSessions, id)
	if err != nil {
		return "", 0, err
	}
	n, _ := res.RowsAffected()
	if err := core.Audit(ctx, tx, core.AuditEntry{ActorID: by.ID, Actor: by.Username, Action: "user-sessions-end", Subject: a.Username,
		Details: map[string]any{"sessions_ended": n}}); err != nil {
		return "", 0, err
	}
	return a.Username, n, tx.Commit()
}

// errWrongCurrent is the answer to a wrong current password.
var errWrongCurrent = core.Errorf(core.EInvalid, "当前密码不正确", "the current password is wrong")

// ChangePassword sets a user's own password: the current one is checked
// behind the same back-off as a sign-in (a session left open is not a
// licence to guess it), the new one must pass CheckPassword and differ.
// The user's other sessions end; the one given by its cookie token stays.
func ChangePassword(ctx context.Context, db *sqlx.DB, u *User, token, current, next, address string) error {
	if current == "" {
		return core.Errorf(core.EInvalid, "请输入当前密码", "enter your current password")
	}
	if err := CheckPassword(u.Username, next); err != nil {
		return err
	}
	if next == current {
		return core.Errorf(core.EInvalid, "新密码不能与当前密码相同", "the new password must differ from the current one")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(next), BcryptCost)
	if err != nil {
		return err
	}
	_, err = verify(ctx, db, u.Username, current, address, errWrongCurrent, func(tx *sqlx.Tx, id int64, failed, refused int) error {
		if id != u.ID {
			return core.Errorf(core.EConflict, "账号已变化，请重新登录", "the account changed; sign in again")
		}
		if _, err := tx.ExecContext(ctx, qChangePassword, id, string(hash)); err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(token))
		res, err := tx.ExecContext(ctx, qEndOtherSession, id, sum[:])
		if err != nil {
			return err
		}
		ended, _ := res.RowsAffected()
		return core.Audit(ctx, tx, core.AuditEntry{ActorID: id, Actor: u.Username, Action: "password-change",
			Details: map[string]any{"address": address, "was_temporary": u.MustChangePassword, "other_sessions_ended": ended}})
	})
	return err
}
