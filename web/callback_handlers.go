package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/users"
)

type callbacksData struct {
	Digits   string
	Searched bool
	Matches  []dialer.CallbackMatch
	// Taker: the user may take a case up (interviewers; supervisors find
	// the case and tell them).
	Taker bool
	Min   int
	// Focus is the first match the user may take: its button has the
	// keyboard, so Enter takes it (0: the digits keep it).
	Focus int64
}

// callbacks is where a respondent who calls back is found by the end of
// their number.
func (s *Server) callbacks(c echo.Context) error {
	return s.showCallbacks(c, http.StatusOK, nil, callbacksData{})
}

func (s *Server) showCallbacks(c echo.Context, status int, errMsg *core.Text, d callbacksData) error {
	u := currentUser(c)
	d.Taker = u.Role == users.RoleInterview || u.Role == users.RoleSupervisor
	d.Min = dialer.MinCallbackDigits
	for _, m := range d.Matches {
		if d.Taker && m.Takeable(u.ID) {
			d.Focus = m.ID
			break
		}
	}
	return s.renderView(c, status, "callbacks", &view{Title: core.Text{ZH: "来电回拨", EN: "Call-backs"}, Err: errMsg, Data: d})
}

// callbackWaves are the waves a user may search: an interviewer's group's
// wave; for a supervisor, every wave a group calls.
func (s *Server) callbackWaves(c echo.Context) ([]int64, error) {
	u := currentUser(c)
	m, err := s.callingWaves(c.Request().Context())
	if err != nil {
		return nil, err
	}
	if u.Role == users.RoleInterview {
		if e, ok := m[u.Team]; ok {
			return []int64{e.wave.ID}, nil
		}
		return nil, errNoWaveDrawn
	}
	var ids []int64
	seen := map[int64]bool{}
	for _, e := range m {
		if !seen[e.wave.ID] {
			seen[e.wave.ID] = true
			ids = append(ids, e.wave.ID)
		}
	}
	if len(ids) == 0 {
		return nil, errNoWaveDrawn
	}
	return ids, nil
}

// searchCallback finds the cases whose number ends in the digits typed.
// The search is posted, so that the digits stay out of addresses and logs
// of requests, and counted and audited in dialer.FindCallback.
func (s *Server) searchCallback(c echo.Context) error {
	d := callbacksData{Digits: c.FormValue("digits")}
	ids, err := s.callbackWaves(c)
	if err == nil {
		d.Matches, err = dialer.FindCallback(c.Request().Context(), s.db, currentUser(c).ID, currentUser(c).Username, ids, d.Digits)
		d.Searched = err == nil
	}
	if msg, status, ok := userError(err); ok {
		return s.showCallbacks(c, status, msg, d)
	}
	if err != nil {
		return err
	}
	return s.showCallbacks(c, http.StatusOK, nil, d)
}

// takeCallback leases the case of a call-back to the interviewer who took
// the call and opens it; the call is logged on the case.
func (s *Server) takeCallback(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	u := currentUser(c)
	// The waves searched are those the case may be taken from: an
	// interviewer's group's, or for a supervisor every wave being called.
	waves, err := s.callbackWaves(c)
	for _, w := range waves {
		err = dialer.TakeCallback(c.Request().Context(), s.db, u.ID, u.Username, w, id, c.FormValue("digits"))
		if core.ErrorCode(err) != core.ENotFound {
			break
		}
	}
	if msg, status, ok := userError(err); ok && !errors.Is(err, errNoWaveDrawn) {
		return s.showCallbacks(c, status, msg, callbacksData{Digits: c.FormValue("digits")})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+strconv.FormatInt(id, 10)+"?msg=callback-taken")
}

func init() {
	notices["callback-taken"] = core.Text{ZH: "已接续来电回拨的样本，来电已记录在样本上。", EN: "The called-back case is yours; the call is logged on the case."}
}
