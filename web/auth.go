package web

import (
	"crypto/subtle"
	"database/sql"
	"errors"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"time"

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

// secureCookies: a cookie set on a request that came over TLS, to us or to
// a trusted proxy that says so, is never sent back over plain HTTP.
func (s *Server) secureCookies(c echo.Context) bool {
	r := c.Request()
	if s.opt.SecureCookies || r.TLS != nil {
		return true
	}
	if !s.fromTrustedProxy(r) {
		return false
	}
	// The nearest proxy's word is the last one.
	vs := r.Header.Values(echo.HeaderXForwardedProto)
	if len(vs) == 0 {
		return false
	}
	parts := strings.Split(vs[len(vs)-1], ",")
	return strings.EqualFold(strings.TrimSpace(parts[len(parts)-1]), "https")
}

// fromTrustedProxy reports whether the peer is one of the trusted proxies.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	for _, n := range s.opt.TrustedProxies {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// loadUser puts the signed-in user, if any, into the request context. It
// reads the session cookie and nothing of the body.
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

// gate is every route's own middleware, run before anything reads the
// body. From the session cookie alone it decides: not signed in gets 401
// (a GET is sent to sign in), a role the route does not list gets 403, and
// a temporary password allows only replacing it. Only then does it set the
// route's body limit and read deadline, and check a state-changing
// request's CSRF token: from the X-CSRF-Token header, the form, or the
// first field of an upload, whose file is left to stream.
func (s *Server) gate(rt Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			unsafe := isUnsafe(r.Method)
			u := currentUser(c)
			if rt.Roles != nil {
				if u == nil {
					if !unsafe {
						return c.Redirect(http.StatusSeeOther, "/login?next="+urlQueryEscape(r.URL.RequestURI()))
					}
					return s.errorPage(c, http.StatusUnauthorized, core.Text{ZH: "您尚未登录或登录已过期，请先登录", EN: "you are not signed in, or your session has ended: please sign in"})
				}
				if !hasRole(rt.Roles, u.Role) {
					return s.errorPage(c, http.StatusForbidden, core.Text{ZH: "您的角色无权访问此页面", EN: "your role may not open this page"})
				}
				if u.MustChangePassword && rt.Path != "/password" && rt.Path != "/logout" {
					if !unsafe {
						return c.Redirect(http.StatusSeeOther, "/password")
					}
					return s.errorPage(c, http.StatusForbidden, core.Text{ZH: "请先修改管理员给您的临时密码", EN: "first replace the temporary password an admin gave you"})
				}
			}
			if !unsafe {
				if !validUTF8(r) {
					return errBadUTF8
				}
				return next(c)
			}
			limit := int64(formBodyLimit)
			switch {
			case rt.Roles == nil:
				limit = signInBodyLimit
			case rt.Upload:
				limit = s.opt.MaxUpload
			}
			if r.ContentLength > limit {
				return &http.MaxBytesError{Limit: limit}
			}
			if b := bodyOf(c); b != nil {
				b.limit = limit
				if rt.Upload && rt.Roles != nil && isMultipart(r) {
					return s.openUpload(c, u, next)
				}
			}
			if wantsForm(r) {
				if err := r.ParseForm(); err != nil {
					return err
				}
			}
			if !validUTF8(r) {
				return errBadUTF8
			}
			if rt.Roles != nil && !validCSRF(c, u.CSRF) {
				return s.csrfFailed(c)
			}
			return next(c)
		}
	}
}

// openUpload checks an upload's CSRF token, reading at most csrfPartLimit,
// then gives the body the upload's limit and time and reads the fields
// before the file.
func (s *Server) openUpload(c echo.Context, u *users.User, next echo.HandlerFunc) error {
	b := bodyOf(c)
	if got := c.Request().Header.Get("X-CSRF-Token"); got != "" {
		if !sameToken(got, u.CSRF) {
			return s.csrfFailed(c)
		}
		mr, err := c.Request().MultipartReader()
		if err != nil {
			return err
		}
		return s.streamUpload(c, b, mr, next)
	}
	b.limit = csrfPartLimit
	mr, got := firstField(c)
	if mr == nil || !sameToken(got, u.CSRF) {
		return s.csrfFailed(c)
	}
	return s.streamUpload(c, b, mr, next)
}

func (s *Server) streamUpload(c echo.Context, b *body, mr *multipart.Reader, next echo.HandlerFunc) error {
	b.limit = s.opt.MaxUpload
	http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(s.opt.Timeouts.Upload))
	if err := readUploadFields(c, mr); err != nil {
		return err
	}
	return next(c)
}

func (s *Server) csrfFailed(c echo.Context) error {
	return s.errorPage(c, http.StatusForbidden, core.Text{ZH: "表单已过期，请返回并刷新页面后重试", EN: "the form has expired (CSRF check failed): go back, reload and try again"})
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
	return sameToken(got, want)
}

func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
