package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"minyi/core"
	"minyi/users"

	"github.com/labstack/echo/v4"
)

type loginData struct {
	Next     string
	Username string
	CSRF     string
}

// loginPage shows the sign-in form. Before a session exists, CSRF is a
// double-submit token: a cookie and the same value in the form.
func (s *Server) loginPage(c echo.Context) error {
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return s.showLogin(c, http.StatusOK, "", nil)
}

func (s *Server) showLogin(c echo.Context, status int, username string, errMsg *core.Text) error {
	token := users.NewToken()
	c.SetCookie(&http.Cookie{Name: loginCSRF, Value: token, Path: "/login", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(c)})
	next := c.QueryParam("next")
	if next == "" {
		next = c.FormValue("next")
	}
	return s.renderView(c, status, "login", &view{
		Title: core.Text{ZH: "登录", EN: "Sign in"}, Err: errMsg,
		Data: loginData{Next: next, Username: username, CSRF: token},
	})
}

func (s *Server) login(c echo.Context) error {
	ck, err := c.Cookie(loginCSRF)
	if err != nil || ck.Value == "" || c.FormValue("csrf") != ck.Value {
		return s.showLogin(c, http.StatusForbidden, c.FormValue("username"), &core.Text{ZH: "登录表单已过期，请重试", EN: "the sign-in form expired; please try again"})
	}
	username := strings.TrimSpace(c.FormValue("username"))
	id, err := users.SignIn(c.Request().Context(), s.db, username, c.FormValue("password"), c.RealIP())
	if err != nil {
		var th *users.Throttled
		if errors.As(err, &th) {
			c.Response().Header().Set("Retry-After", strconv.Itoa(th.Seconds()))
			t := th.Text()
			return s.showLogin(c, http.StatusTooManyRequests, username, &t)
		}
		var de *core.Error
		if errors.As(err, &de) {
			return s.showLogin(c, http.StatusUnauthorized, username, &core.Text{ZH: de.ZH, EN: de.EN})
		}
		return err
	}
	token, err := users.StartSession(c.Request().Context(), s.db, id)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, token, int(users.SessionLifetime.Seconds()))
	c.SetCookie(&http.Cookie{Name: loginCSRF, Value: "", Path: "/login", MaxAge: -1})
	next := "/"
	if u, err := parseLocal(c.FormValue("next")); err == nil {
		next = u
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		users.EndSession(c.Request().Context(), s.db, ck.Value)
	}
	s.setSessionCookie(c, "", -1)
	return c.Redirect(http.StatusSeeOther, "/login")
}

// parseLocal accepts only a path on this site, so that a crafted "next"
// cannot send a user elsewhere after signing in.
func parseLocal(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || raw == "" || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(raw, "//") || strings.Contains(raw, "\\") {
		return "", errors.New("not a local path")
	}
	return u.RequestURI(), nil
}

// home sends each role to where its work is.
func (s *Server) home(c echo.Context) error {
	switch currentUser(c).Role {
	case users.RoleInterview:
		return c.Redirect(http.StatusSeeOther, "/calls")
	case users.RoleField:
		return c.Redirect(http.StatusSeeOther, "/field")
	case users.RoleOffice:
		return c.Redirect(http.StatusSeeOther, "/scores")
	case users.RoleAdmin, users.RoleSupervisor:
		return c.Redirect(http.StatusSeeOther, "/waves")
	}
	return s.render(c, http.StatusOK, "home", core.Text{ZH: "首页", EN: "Home"}, nil)
}
