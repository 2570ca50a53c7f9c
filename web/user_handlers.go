package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/users"
)

// usersData is the users page: every account, the form for a new one,
// and a temporary password just made, shown once.
type usersData struct {
	Accounts []users.Account
	Roles    []users.Role
	Form     users.NewAccount
	// Issued is the account whose temporary password is shown, once.
	Issued, Password string
}

func (s *Server) users(c echo.Context) error {
	return s.showUsers(c, http.StatusOK, usersData{}, nil, nil)
}

func (s *Server) showUsers(c echo.Context, status int, d usersData, msg, errMsg *core.Text) error {
	us, err := users.List(c.Request().Context(), s.db)
	if err != nil {
		return err
	}
	d.Accounts, d.Roles = us, users.Roles
	return s.renderView(c, status, "users", &view{Title: core.Text{ZH: "用户", EN: "Users"}, Msg: msg, Err: errMsg, Data: d})
}

// usersError shows a refused user change on the users page.
func (s *Server) usersError(c echo.Context, d usersData, err error) error {
	var de *core.Error
	if !errors.As(err, &de) || de.Code == core.EInternal {
		return err
	}
	status := http.StatusUnprocessableEntity
	switch de.Code {
	case core.ENotFound:
		status = http.StatusNotFound
	case core.EConflict:
		status = http.StatusConflict
	}
	return s.showUsers(c, status, d, nil, &core.Text{ZH: de.ZH, EN: de.EN})
}

// createUser makes an account with a temporary password, shown once on the
// page that answers (never in an address, which browsers keep).
func (s *Server) createUser(c echo.Context) error {
	a := users.NewAccount{Username: strings.TrimSpace(c.FormValue("username")), DisplayName: strings.TrimSpace(c.FormValue("display_name")),
		Role: users.Role(c.FormValue("role")), Converter: c.FormValue("converter") != ""}
	pw, err := users.Create(c.Request().Context(), s.db, currentUser(c), a)
	if err != nil {
		return s.usersError(c, usersData{Form: a}, err)
	}
	msg := core.Text{ZH: "已创建用户 " + a.Username + "。", EN: "User " + a.Username + " is created."}
	return s.showUsers(c, http.StatusOK, usersData{Issued: a.Username, Password: pw}, &msg, nil)
}

func userID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, echo.NewHTTPError(http.StatusNotFound)
	}
	return id, nil
}

func (s *Server) deactivateUser(c echo.Context) error { return s.setUserActive(c, false) }
func (s *Server) activateUser(c echo.Context) error   { return s.setUserActive(c, true) }

func (s *Server) setUserActive(c echo.Context, active bool) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	if _, err := users.SetActive(c.Request().Context(), s.db, currentUser(c), id, active); err != nil {
		return s.usersError(c, usersData{}, err)
	}
	if active {
		return c.Redirect(http.StatusSeeOther, "/users?msg=activated")
	}
	return c.Redirect(http.StatusSeeOther, "/users?msg=deactivated")
}

func (s *Server) resetUser(c echo.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	name, pw, err := users.ResetPassword(c.Request().Context(), s.db, currentUser(c), id)
	if err != nil {
		return s.usersError(c, usersData{}, err)
	}
	msg := core.Text{ZH: "已重置 " + name + " 的密码，其登录已全部退出。", EN: "The password of " + name + " is reset and all their sessions have ended."}
	return s.showUsers(c, http.StatusOK, usersData{Issued: name, Password: pw}, &msg, nil)
}

func (s *Server) endUserSessions(c echo.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	if _, _, err := users.EndSessions(c.Request().Context(), s.db, currentUser(c), id); err != nil {
		return s.usersError(c, usersData{}, err)
	}
	return c.Redirect(http.StatusSeeOther, "/users?msg=signedout")
}

// passwordPage is where anyone signed in changes their own password, and
// where a temporary password sends its user.
func (s *Server) passwordPage(c echo.Context) error {
	return s.showPassword(c, http.StatusOK, nil)
}

func (s *Server) showPassword(c echo.Context, status int, errMsg *core.Text) error {
	return s.renderView(c, status, "password", &view{Title: core.Text{ZH: "修改密码", EN: "Change password"}, Err: errMsg,
		Data: map[string]any{"MinLength": users.MinPasswordLength}})
}

func (s *Server) changePassword(c echo.Context) error {
	u := currentUser(c)
	next := c.FormValue("new")
	if next != c.FormValue("repeat") {
		return s.showPassword(c, http.StatusUnprocessableEntity, &core.Text{ZH: "两次输入的新密码不一致", EN: "the two new passwords differ"})
	}
	token := ""
	if ck, err := c.Cookie(sessionCookie); err == nil {
		token = ck.Value
	}
	err := users.ChangePassword(c.Request().Context(), s.db, u, token, c.FormValue("current"), next, c.RealIP())
	var th *users.Throttled
	if errors.As(err, &th) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(th.Seconds()))
		t := th.Text()
		return s.showPassword(c, http.StatusTooManyRequests, &t)
	}
	if t, ok := domainText(err); ok {
		return s.showPassword(c, http.StatusUnprocessableEntity, t)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/password?msg=password")
}
