package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"minyi/sql/pg"
	"minyi/survey"
)

// Role is what a user may do.
type Role string

// The roles of DESIGN.md.
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
func RoleLabel(r Role) survey.Text {
	switch r {
	case RoleAdmin:
		return survey.Text{ZH: "管理员", EN: "Admin"}
	case RoleSupervisor:
		return survey.Text{ZH: "督导", EN: "Supervisor"}
	case RoleInterview:
		return survey.Text{ZH: "访员", EN: "Interviewer"}
	case RoleField:
		return survey.Text{ZH: "入户访员", EN: "Field interviewer"}
	case RoleOffice:
		return survey.Text{ZH: "考核办", EN: "Assessment office"}
	}
	return survey.Text{ZH: string(r), EN: string(r)}
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

const (
	sessionCookie = "minyi_session"
	loginCSRF     = "minyi_login_csrf"
)

var (
	qInsertUser     = pg.Q("auth/insert-user")
	qUserByName     = pg.Q("auth/user-by-name")
	qListUsers      = pg.Q("auth/list-users")
	qInsertSession  = pg.Q("auth/insert-session")
	qDeleteSession  = pg.Q("auth/delete-session")
	qExpireSessions = pg.Q("auth/delete-expired-sessions")
	qSetPassword    = pg.Q("auth/set-password")
	qRecordAttempt  = pg.Q("auth/record-attempt")
	qRecentFailures = pg.Q("auth/recent-failures")
	qSetConverter   = pg.Q("auth/set-refusal-converter")
)

// User is a signed-in person.
type User struct {
	ID          int64  `db:"id"`
	Username    string `db:"username"`
	DisplayName string `db:"display_name"`
	Role        Role   `db:"role"`
	CSRF        string `db:"csrf_token"`
}

// AddUser creates a user with a bcrypt-hashed password. created is false when
// the username already exists (nothing is changed then).
func AddUser(ctx context.Context, db *sqlx.DB, username, displayName, password string, role Role) (created bool, err error) {
	if !ValidRole(string(role)) {
		return false, survey.Errorf(survey.EInvalid, "角色 %q 无效", "invalid role %q", role)
	}
	if len(password) < 8 {
		return false, survey.Errorf(survey.EInvalid, "密码至少 8 个字符", "the password needs at least 8 characters")
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
		return false, fmt.Errorf("web: add user: %w", err)
	}
	return true, nil
}

// AddUsers creates many users with one password, hashing it once (for
// training rooms and load tests, where hashing per user would take minutes).
// It returns their ids; existing usernames are an error.
func AddUsers(ctx context.Context, db *sqlx.DB, usernames []string, password string, role Role) ([]int64, error) {
	if !ValidRole(string(role)) {
		return nil, survey.Errorf(survey.EInvalid, "角色 %q 无效", "invalid role %q", role)
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
				return nil, survey.Errorf(survey.EConflict, "用户 %q 已存在", "user %q already exists", u)
			}
			return nil, err
		}
	}
	return ids, tx.Commit()
}

// SessionFor signs a user in without a password (for tools that act for
// users they created, such as the load simulator) and returns the session
// cookie value and its CSRF token.
func SessionFor(ctx context.Context, db *sqlx.DB, userID int64) (token, csrf string, err error) {
	token, err = CreateSession(ctx, db, userID)
	if err != nil {
		return "", "", err
	}
	u, err := sessionUser(ctx, db, token)
	if err != nil {
		return "", "", err
	}
	return token, u.CSRF, nil
}

// SessionCookie is the name of the session cookie.
const SessionCookie = sessionCookie

// EnsureUser creates the user, or sets the password of an existing one (for
// the demo, which prints fresh passwords on every run).
func EnsureUser(ctx context.Context, db *sqlx.DB, username, displayName, password string, role Role) error {
	created, err := AddUser(ctx, db, username, displayName, password, role)
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

// Sign-in throttling: after this many failures for one username (since its
// last success) or from one address within the window, further attempts
// are refused until the window has passed, without checking the password.
const (
	MaxFailuresPerUser    = 5
	MaxFailuresPerAddress = 20
	LockoutWindow         = 15 * time.Minute
)

// ErrLockedOut says that sign-ins are refused for a while.
var ErrLockedOut = survey.Errorf(survey.EInvalid, "登录失败次数过多,请 15 分钟后再试,或请管理员协助", "too many failed sign-ins: try again in 15 minutes, or ask an admin")

// SignIn checks a password with throttling and records the attempt.
func SignIn(ctx context.Context, db *sqlx.DB, username, password, address string) (int64, error) {
	var f struct {
		ByUser    int        `db:"by_user"`
		ByAddress int        `db:"by_address"`
		Last      *time.Time `db:"last_failure"`
	}
	window := fmt.Sprintf("%d seconds", int(LockoutWindow.Seconds()))
	if err := db.GetContext(ctx, &f, qRecentFailures, username, address, window); err != nil {
		return 0, fmt.Errorf("web: sign-in throttle: %w", err)
	}
	if f.ByUser >= MaxFailuresPerUser || f.ByAddress >= MaxFailuresPerAddress {
		if err := survey.AuditNow(ctx, db, survey.AuditEntry{Actor: username, Action: "sign-in-refused", Details: map[string]string{"address": address}}); err != nil {
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
	if aerr := survey.AuditNow(ctx, db, survey.AuditEntry{ActorID: id, Actor: username, Action: action, Details: map[string]string{"address": address}}); aerr != nil && err == nil {
		return 0, aerr
	}
	return id, err
}

// errBadLogin does not say which of the two was wrong.
var errBadLogin = survey.Errorf(survey.EInvalid, "用户名或密码不正确", "wrong username or password")

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

// CreateSession stores a new session and returns the cookie token. Only the
// token's hash is stored.
func CreateSession(ctx context.Context, db *sqlx.DB, userID int64) (string, error) {
	token := randomToken()
	sum := sha256.Sum256([]byte(token))
	_, err := db.ExecContext(ctx, qInsertSession, sum[:], userID, randomToken(), time.Now().Add(SessionLifetime))
	if err != nil {
		return "", fmt.Errorf("web: create session: %w", err)
	}
	db.ExecContext(ctx, qExpireSessions)
	return token, nil
}

func sessionUser(ctx context.Context, db *sqlx.DB, token string) (*User, error) {
	sum := sha256.Sum256([]byte(token))
	st, err := pg.Stmt(ctx, db, "auth/session-user")
	if err != nil {
		return nil, err
	}
	var u User
	if err := st.GetContext(ctx, &u, sum[:]); err != nil {
		return nil, err
	}
	return &u, nil
}

// UserRow is a user as listed for admins.
type UserRow struct {
	ID          int64     `db:"id"`
	Username    string    `db:"username"`
	DisplayName string    `db:"display_name"`
	Role        Role      `db:"role"`
	Active      bool      `db:"active"`
	Converter   bool      `db:"refusal_converter"`
	CreatedAt   time.Time `db:"created_at"`
}

// ListUsers returns every user.
func ListUsers(ctx context.Context, db *sqlx.DB) ([]UserRow, error) {
	var us []UserRow
	err := db.SelectContext(ctx, &us, qListUsers)
	return us, err
}

func deleteSession(ctx context.Context, db *sqlx.DB, token string) {
	sum := sha256.Sum256([]byte(token))
	db.ExecContext(ctx, qDeleteSession, sum[:])
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) setSessionCookie(c echo.Context, token string, maxAge int) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(c),
	})
}

func (s *Server) secureCookies(c echo.Context) bool {
	return s.opt.SecureCookies || c.IsTLS()
}

// loadUser puts the signed-in user, if any, into the request context.
func (s *Server) loadUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			u, err := sessionUser(c.Request().Context(), s.db, ck.Value)
			if err == nil {
				c.Set("user", u)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		return next(c)
	}
}

func currentUser(c echo.Context) *User {
	u, _ := c.Get("user").(*User)
	return u
}

// requireRoles is the gate every non-public route passes: not signed in
// sends the browser to sign in, the wrong role gets 403, and a
// state-changing request must carry the session's CSRF token.
func (s *Server) requireRoles(roles []Role, next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := currentUser(c)
		if u == nil {
			next := "/"
			if c.Request().Method == http.MethodGet {
				next = c.Request().URL.RequestURI()
			}
			return c.Redirect(http.StatusSeeOther, "/login?next="+urlQueryEscape(next))
		}
		if !hasRole(roles, u.Role) {
			return s.errorPage(c, http.StatusForbidden, survey.Text{ZH: "您的角色无权访问此页面", EN: "your role may not open this page"})
		}
		if isUnsafe(c.Request().Method) && !validCSRF(c, u.CSRF) {
			return s.errorPage(c, http.StatusForbidden, survey.Text{ZH: "表单已过期,请返回并刷新页面后重试", EN: "the form has expired (CSRF check failed): go back, reload and try again"})
		}
		return next(c)
	}
}

func hasRole(roles []Role, r Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

func isUnsafe(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

func validCSRF(c echo.Context, want string) bool {
	got := c.Request().Header.Get("X-CSRF-Token")
	if got == "" {
		got = c.FormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// SetRefusalConverter marks a user as a refusal converter (who calls soft
// refusals back) or not, and returns the username.
func SetRefusalConverter(ctx context.Context, db *sqlx.DB, userID int64, on bool) (string, error) {
	var name string
	err := db.GetContext(ctx, &name, qSetConverter, userID, on)
	if errors.Is(err, sql.ErrNoRows) {
		return "", survey.Errorf(survey.ENotFound, "没有这个用户", "no such user")
	}
	return name, err
}
