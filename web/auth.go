package web

import (
	"crypto/subtle"
	"database/sql"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/users"
)

const (
	sessionCookie = "minyi_session"
	loginCSRF     = "minyi_login_csrf"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = sessionCookie

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
			u, err := users.SessionUser(c.Request().Context(), s.db, ck.Value)
			if err == nil {
				c.Set("user", u)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		return next(c)
	}
}

func currentUser(c echo.Context) *users.User {
	u, _ := c.Get("user").(*users.User)
	return u
}

// requireRoles is the gate every non-public route passes: not signed in
// sends the browser to sign in, the wrong role gets 403, and a
// state-changing request must carry the session's CSRF token.
func (s *Server) requireRoles(roles []users.Role, next echo.HandlerFunc) echo.HandlerFunc {
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
			return s.errorPage(c, http.StatusForbidden, core.Text{ZH: "您的角色无权访问此页面", EN: "your role may not open this page"})
		}
		if isUnsafe(c.Request().Method) && !validCSRF(c, u.CSRF) {
			return s.errorPage(c, http.StatusForbidden, core.Text{ZH: "表单已过期,请返回并刷新页面后重试", EN: "the form has expired (CSRF check failed): go back, reload and try again"})
		}
		return next(c)
	}
}

func hasRole(roles []users.Role, r users.Role) bool {
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
