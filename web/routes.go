package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Route is one entry of the route table: who may call what.
type Route struct {
	Method  string
	Path    string
	Roles   []Role // nil: public
	Handler echo.HandlerFunc
}

var (
	anyone   = []Role{RoleAdmin, RoleSupervisor, RoleInterview, RoleField, RoleOffice}
	admin    = []Role{RoleAdmin}
	managers = []Role{RoleAdmin, RoleSupervisor}
	callers  = []Role{RoleInterview}
	readers  = []Role{RoleAdmin, RoleSupervisor, RoleOffice}
	export   = []Role{RoleAdmin, RoleOffice}
)

// Routes is the route table: every route and the roles that may use it, in
// one screen. A table-driven test checks every route against every role.
func (s *Server) Routes() []Route {
	return []Route{
		{http.MethodGet, "/static/:file", nil, s.static},
		{http.MethodGet, "/login", nil, s.loginPage},
		{http.MethodPost, "/login", nil, s.login},
		{http.MethodGet, "/lang/:lang", nil, s.setLang},

		{http.MethodGet, "/", anyone, s.home},
		{http.MethodPost, "/logout", anyone, s.logout},

		{http.MethodGet, "/districts", managers, s.districts},
		{http.MethodGet, "/waves", managers, s.waves},
		{http.MethodPost, "/waves", admin, s.createWave},
		{http.MethodGet, "/waves/:wave", managers, s.wave},
		{http.MethodPost, "/waves/:wave/draw", admin, s.drawWave},
		{http.MethodGet, "/users", admin, s.users},

		{http.MethodGet, "/calls", callers, s.calls},
		{http.MethodPost, "/calls/next", callers, s.nextCase},
		{http.MethodGet, "/cases/:id", callers, s.casePage},
		{http.MethodPost, "/cases/:id/outcome", callers, s.recordOutcome},
		{http.MethodGet, "/cases/:id/interview", callers, s.interviewForm},
		{http.MethodPost, "/cases/:id/interview", callers, s.submitInterview},

		{http.MethodGet, "/scores", readers, s.scoresIndex},
		{http.MethodGet, "/scores/:wave", readers, s.scores},
		{http.MethodGet, "/scores/:wave/scores.csv", export, s.exportScores},
	}
}
