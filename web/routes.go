package web

import (
	"net/http"

	"minyi/users"

	"github.com/labstack/echo/v4"
)

// Route is one entry of the route table: who may call what.
type Route struct {
	Method  string
	Path    string
	Roles   []users.Role // nil: public
	Handler echo.HandlerFunc
	// Upload: takes a file, streamed with the server's upload limit; the
	// form's fields before the file are read first, the CSRF token first of
	// all. Other routes take forms or JSON of up to 1 MB.
	Upload bool
}

var (
	anyone   = []users.Role{users.RoleAdmin, users.RoleSupervisor, users.RoleInterview, users.RoleField, users.RoleOffice}
	admin    = []users.Role{users.RoleAdmin}
	managers = []users.Role{users.RoleAdmin, users.RoleSupervisor}
	callers  = []users.Role{users.RoleInterview}
	// callbackers find a called-back case by its number; takers take it
	// up and continue it: interviewers, and supervisors who answered the
	// respondent's call themselves. A case's pages are its holder's alone
	// (heldCase), so a supervisor reaches only a case they took.
	callbackers = []users.Role{users.RoleAdmin, users.RoleSupervisor, users.RoleInterview}
	takers      = []users.Role{users.RoleInterview, users.RoleSupervisor}
	caseWorkers = []users.Role{users.RoleInterview, users.RoleField, users.RoleSupervisor}
	readers     = []users.Role{users.RoleAdmin, users.RoleSupervisor, users.RoleOffice}
	office      = []users.Role{users.RoleAdmin, users.RoleOffice}
	// editors may open an interview: supervisors any, interviewers only
	// their own sent back to them (an object-level check in the handler).
	editors = []users.Role{users.RoleAdmin, users.RoleSupervisor, users.RoleInterview, users.RoleField}
	field   = []users.Role{users.RoleField}
	workers = []users.Role{users.RoleInterview, users.RoleField}
)

// Routes is the route table: every route and the roles that may use it, in
// one screen. A table-driven test checks every route against every role.
func (s *Server) Routes() []Route {
	return []Route{
		{http.MethodGet, "/static/:file", nil, s.static, false},
		{http.MethodGet, "/login", nil, s.loginPage, false},
		{http.MethodPost, "/login", nil, s.login, false},
		{http.MethodGet, "/lang/:lang", nil, s.setLang, false},

		{http.MethodGet, "/", anyone, s.home, false},
		{http.MethodPost, "/logout", anyone, s.logout, false},
		{http.MethodGet, "/password", anyone, s.passwordPage, false},
		{http.MethodPost, "/password", anyone, s.changePassword, false},

		{http.MethodGet, "/districts", managers, s.districts, false},
		{http.MethodPost, "/districts", admin, s.importDistricts, true},
		{http.MethodGet, "/margins", managers, s.margins, false},
		{http.MethodPost, "/margins", admin, s.importMargins, true},
		{http.MethodGet, "/frames", managers, s.frames, false},
		{http.MethodPost, "/frames", admin, s.uploadFrame, true},
		{http.MethodGet, "/frames/imports/:id", managers, s.frameImport, false},
		{http.MethodGet, "/schedules", managers, s.schedules, false},
		{http.MethodPost, "/schedules", admin, s.saveSchedule, false},
		{http.MethodGet, "/schedules/next", admin, s.scheduleNext, false},
		{http.MethodGet, "/exports", admin, s.exportSchedules, false},
		{http.MethodPost, "/exports", admin, s.saveExportSchedule, false},
		{http.MethodGet, "/waves", managers, s.waves, false},
		{http.MethodPost, "/waves", admin, s.createWave, false},
		{http.MethodGet, "/waves/:wave", managers, s.wave, false},
		{http.MethodPost, "/waves/:wave/draw", admin, s.drawWave, false},
		{http.MethodPost, "/waves/:wave/replicates", managers, s.openReplicates, false},
		{http.MethodPost, "/waves/:wave/rules", managers, s.saveRules, false},
		{http.MethodGet, "/waves/:wave/live", managers, s.live, false},
		{http.MethodGet, "/waves/:wave/live.json", managers, s.liveJSON, false},
		{http.MethodGet, "/waves/:wave/supervision", managers, s.supervision, false},
		{http.MethodGet, "/waves/:wave/reviews", managers, s.reviews, false},
		{http.MethodGet, "/waves/:wave/reviews/approve", managers, s.approveConfirm, false},
		{http.MethodPost, "/waves/:wave/reviews/approve", managers, s.approveAll, false},
		{http.MethodGet, "/waves/:wave/appointments", managers, s.appointments, false},
		{http.MethodGet, "/interviews/:id", editors, s.interviewPage, false},
		{http.MethodPost, "/interviews/:id/review", managers, s.reviewInterview, false},
		{http.MethodPost, "/interviews/:id/answers", editors, s.editInterview, false},
		{http.MethodGet, "/returned", workers, s.returned, false},
		{http.MethodGet, "/paper", editors, s.paper, false},
		{http.MethodPost, "/paper", editors, s.keyPaper, false},
		{http.MethodGet, "/paper/:id", managers, s.paperForm, false},
		{http.MethodPost, "/paper/:id/resolve", managers, s.resolvePaper, false},
		{http.MethodGet, "/jobs", managers, s.jobs, false},
		{http.MethodGet, "/jobs/:id", managers, s.job, false},
		{http.MethodGet, "/audit", office, s.auditLog, false},
		{http.MethodGet, "/teams", managers, s.teams, false},
		{http.MethodPost, "/teams/wave", managers, s.setTeamWave, false},
		{http.MethodPost, "/teams/members/:id", managers, s.setMemberTeam, false},
		{http.MethodGet, "/users", admin, s.users, false},
		{http.MethodPost, "/users", admin, s.createUser, false},
		{http.MethodPost, "/users/:id/converter", admin, s.setConverter, false},
		{http.MethodPost, "/users/:id/deactivate", admin, s.deactivateUser, false},
		{http.MethodPost, "/users/:id/activate", admin, s.activateUser, false},
		{http.MethodPost, "/users/:id/reset", admin, s.resetUser, false},
		{http.MethodPost, "/users/:id/signout", admin, s.endUserSessions, false},
		{http.MethodGet, "/questionnaires", managers, s.questionnaireList, false},
		{http.MethodPost, "/questionnaires", admin, s.uploadQuestionnaire, true},
		{http.MethodGet, "/questionnaires/:id", managers, s.questionnairePreview, false},
		{http.MethodGet, "/questionnaires/:id/definition.json", admin, s.questionnaireDefinition, false},
		{http.MethodGet, "/questionnaires/:id/edit", admin, s.questionnaireEditor, false},
		{http.MethodPost, "/questionnaires/:id/edit", admin, s.saveQuestionnaireEdit, false},

		{http.MethodGet, "/calls", callers, s.calls, false},
		{http.MethodPost, "/calls/next", callers, s.nextCase, false},
		{http.MethodGet, "/cases/:id", takers, s.casePage, false},
		{http.MethodPost, "/cases/:id/outcome", takers, s.recordOutcome, false},
		{http.MethodPost, "/cases/:id/participation", takers, s.participation, false},
		{http.MethodPost, "/cases/:id/notes", takers, s.addNote, false},
		{http.MethodPost, "/calls/settings", callers, s.setAutoNext, false},
		{http.MethodGet, "/cases/:id/interview", caseWorkers, s.interviewForm, false},
		{http.MethodPost, "/cases/:id/interview", caseWorkers, s.submitInterview, false},
		{http.MethodPost, "/cases/:id/draft", caseWorkers, s.saveDraft, false},
		{http.MethodPost, "/cases/:id/breakoff", takers, s.breakOff, false},
		{http.MethodPost, "/cases/:id/call", callers, s.callCase, false},
		{http.MethodGet, "/cases/:id/call", callers, s.callStatus, false},
		{http.MethodPost, "/cases/:id/hangup", callers, s.hangupCall, false},
		{http.MethodPost, "/cases/:id/consent", callers, s.callConsent, false},
		{http.MethodGet, "/callbacks", callbackers, s.callbacks, false},
		{http.MethodPost, "/callbacks", callbackers, s.searchCallback, false},
		{http.MethodPost, "/callbacks/:id/take", takers, s.takeCallback, false},
		{http.MethodGet, "/phone", callers, s.phonePage, false},
		{http.MethodGet, "/phone/browser", callers, s.browserPhonePage, false},
		{http.MethodPost, "/phone/browser/offer", callers, s.browserOffer, false},
		{http.MethodGet, "/phone/browser/state", callers, s.browserState, false},
		{http.MethodPost, "/phone/browser/hangup", callers, s.browserHangup, false},
		{http.MethodGet, "/telephony", admin, s.telephonyPage, false},
		{http.MethodPost, "/telephony/phones/:id", admin, s.setPhoneURI, false},
		{http.MethodPost, "/telephony/waves/:id", admin, s.setWaveRecording, false},
		{http.MethodGet, "/waves/:wave/calls.json", managers, s.liveCalls, false},
		{http.MethodGet, "/calls/:id/listen", managers, s.listen, false},
		{http.MethodGet, "/recordings/:id", managers, s.recording, false},
		{http.MethodGet, "/verifications/:id", callers, s.verificationPage, false},
		{http.MethodPost, "/verifications/:id/outcome", callers, s.recordVerification, false},

		{http.MethodGet, "/waves/:wave/field", managers, s.fieldAssignments, false},
		{http.MethodPost, "/waves/:wave/field", managers, s.assignField, false},
		{http.MethodPost, "/waves/:wave/field/visits", admin, s.setMaxVisits, false},
		{http.MethodGet, "/waves/:wave/field/sheet/:user", admin, s.interviewerSheet, false},
		{http.MethodGet, "/field", field, s.fieldList, false},
		{http.MethodGet, "/field/sheet", field, s.fieldSheet, false},
		{http.MethodGet, "/field/cases/:id", field, s.fieldCase, false},
		{http.MethodPost, "/field/cases/:id/visit", field, s.recordVisit, false},
		{http.MethodPost, "/field/cases/:id/interview", field, s.startFieldInterview, false},
		{http.MethodPost, "/field/cases/:id/breakoff", field, s.fieldBreakOff, false},

		{http.MethodGet, "/scores", readers, s.scoresIndex, false},
		{http.MethodGet, "/scores/:wave", readers, s.scores, false},
		{http.MethodGet, "/scores/:wave/scores.csv", office, s.exportScores, false},
		{http.MethodGet, "/waves/:wave/export/:kind", readers, s.download, false},
		{http.MethodGet, "/waves/:wave/export", readers, s.downloadChosen, false},
		{http.MethodGet, "/waves/:wave/signature/:kind", readers, s.downloadSignature, false},
		{http.MethodGet, "/waves/:wave/rates", readers, s.rates, false},
	}
}
