// Package users owns accounts, roles, passwords, sign-in and sessions. The
// web server asks it who a request comes from; the command line adds users
// through it.
package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"minyi/core"
	"minyi/sql/pg"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"
)

// Role is what a user may do.
type Role string

// The roles of docs/design.md §1.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleInterview  Role = "interviewer"
	RoleField      Role = "field_interviewer"
	RoleOffice     Role = "office"
)

// Roles lists every role, for forms and tests.
var Roles = []Role{RoleAdmin, RoleSupervisor, RoleInterview, RoleField, RoleOffice}

// RoleLabel names a role for people.
func RoleLabel(r Role) core.Text {
	switch r {
	case RoleAdmin:
		return core.Text{ZH: "管理员", EN: "Admin"}
	case RoleSupervisor:
		return core.Text{ZH: "督导", EN: "Supervisor"}
	case RoleInterview:
		return core.Text{ZH: "访员", EN: "Interviewer"}
	case RoleField:
		return core.Text{ZH: "入户访员", EN: "Field interviewer"}
	case RoleOffice:
		return core.Text{ZH: "考核办", EN: "Assessment office"}
	}
	return core.Text{ZH: string(r), EN: string(r)}
}

// ValidRole reports whether s names a role.
func ValidRole(s string) bool {
	for _, r := range Roles {
		if string(r) == s {
			return true
		}
	}
	return false
}

// BcryptCost is the password hashing cost: slow enough to make a stolen
// table expensive to crack, fast enough for a sign-in.
const BcryptCost = 12

// SessionLifetime is how long a sign-in lasts: one long shift.
const SessionLifetime = 12 * time.Hour

var (
	qInsertUser     = pg.Q("users/insert-user")
	qUserByName     = pg.Q("users/user-by-name")
	qListUsers      = pg.Q("users/list-users")
	qInsertSession  = pg.Q("users/insert-session")
	qDeleteSession  = pg.Q("users/delete-session")
	qExpireSessions = pg.Q("users/delete-expired-sessions")
	qSetPassword    = pg.Q("users/set-password")
	qRecordAttempt  = pg.Q("users/record-attempt")
	qSetConverter   = pg.Q("users/set-refusal-converter")
)

// User is a signed-in person.
type User struct {
	ID          int64  `db:"id"`
	Username    string `db:"username"`
	DisplayName string `db:"display_name"`
	Role        Role   `db:"role"`
	CSRF        string `db:"csrf_token"`
	// MustChangePassword: the password is a temporary one an admin set;
	// the user may do nothing but choose their own.
	MustChangePassword bool `db:"must_change_password"`
	// Team is the interviewer's group, empty for the default one: the wave they
	// call is the one a supervisor chose for it.
	Team string `db:"team"`
	// AutoNext: the next case opens once an outcome is recorded.
	AutoNext bool `db:"auto_next"`
}

// Add creates a user with a bcrypt-hashed password. created is false when
// the username already exists (nothing is changed then).
func Add(ctx context.Context, db *sqlx.DB, username, displayName, password string, role Role) (created bool, err error) {
	if !ValidRole(string(role)) {
		return false, core.Errorf(core.EInvalid, "角色 %q 无效", "invalid role %q", role)
	}
	if err := CheckUsername(username); err != nil {
		return false, err
	}
	if err := CheckPassword(username, password); err != nil {
		return false, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return false, err
	}
	var id int64
	err = db.GetContext(ctx, &id, qInsertUser, username, displayName, string(hash), string(role))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("users: add user: %w", err)
	}
	return true, nil
}

// AddMany creates many users with one password, hashing it once (for
// training rooms and load tests, where hashing per user would take minutes).
// It returns their ids; existing usernames are an error.
func AddMany(ctx context.Context, db *sqlx.DB, usernames []string, password string, role Role) ([]int64, error) {
	if !ValidRole(string(role)) {
		return nil, core.Errorf(core.EInvalid, "角色 %q 无效", "invalid role %q", role)
	}
	for _, u := range usernames {
		if err := CheckPassword(u, password); err != nil {
			return nil, err
		}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return nil, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ids := make([]int64, len(usernames))
	for i, u := range usernames {
		if err := tx.GetContext(ctx, &ids[i], qInsertUser, u, "", string(hash), string(role)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, core.Errorf(core.EConflict, "用户 %q 已存在", "user %q already exists", u)
			}
			return nil, err
		}
	}
	return ids, tx.Commit()
}

// Ensure creates the user, or sets the password of an existing one (for
// the demo, which prints fresh passwords on every run).
func Ensure(ctx context.Context, db *sqlx.DB, username, displayName, password string, role Role) error {
	created, err := Add(ctx, db, username, displayName, password, role)
	if err != nil || created {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, qSetPassword, username, string(hash))
	return err
}

// Account is a user as listed for admins.
type Account struct {
	ID          int64     `db:"id"`
	Username    string    `db:"username"`
	DisplayName string    `db:"display_name"`
	Role        Role      `db:"role"`
	Active      bool      `db:"active"`
	Converter   bool      `db:"refusal_converter"`
	CreatedAt   time.Time `db:"created_at"`
	MustChange  bool      `db:"must_change_password"`
	Sessions    int       `db:"sessions"` // signed in on this many browsers
}

// List returns every user.
func List(ctx context.Context, db *sqlx.DB) ([]Account, error) {
	var us []Account
	err := db.SelectContext(ctx, &us, qListUsers)
	return us, err
}

// SetRefusalConverter marks a user as a refusal converter (who calls soft
// refusals back) or not, and returns the username.
func SetRefusalConverter(ctx context.Context, db *sqlx.DB, userID int64, on bool) (string, error) {
	var name string
	err := db.GetContext(ctx, &name, qSetConverter, userID, on)
	if errors.Is(err, sql.ErrNoRows) {
		return "", core.Errorf(core.ENotFound, "没有这个用户", "no such user")
	}
	return name, err
}
