package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/users"
)

// teamRow is one group of interviewers on the groups page.
type teamRow struct {
	Team    string
	Members int
	Wave    *dialer.TeamWave
}

type teamsData struct {
	Teams   []teamRow
	Members []users.Member
	// Callable are the waves a group can be set to call: drawn, with the
	// telephone mode.
	Callable []string
}

// teams is where a supervisor chooses the wave each group of interviewers
// calls, and puts interviewers in groups.
func (s *Server) teams(c echo.Context) error {
	return s.showTeams(c, http.StatusOK, nil)
}

func (s *Server) showTeams(c echo.Context, status int, errMsg *core.Text) error {
	ctx := c.Request().Context()
	ms, err := users.Interviewers(ctx, s.db)
	if err != nil {
		return err
	}
	tws, err := dialer.TeamWaves(ctx, s.db)
	if err != nil {
		return err
	}
	ws, err := sampler.ListWaves(ctx, s.db)
	if err != nil {
		return err
	}
	d := teamsData{Members: ms}
	rows := map[string]*teamRow{"": {Team: ""}}
	order := []string{""}
	row := func(team string) *teamRow {
		if r, ok := rows[team]; ok {
			return r
		}
		rows[team] = &teamRow{Team: team}
		order = append(order, team)
		return rows[team]
	}
	for _, m := range ms {
		row(m.Team).Members++
	}
	for i := range tws {
		row(tws[i].Team).Wave = &tws[i]
	}
	for _, t := range order {
		d.Teams = append(d.Teams, *rows[t])
	}
	for i := range ws {
		if ws[i].Drawn() && hasMode(ws[i].Modes, "phone") {
			d.Callable = append(d.Callable, ws[i].Name)
		}
	}
	return s.renderView(c, status, "teams", &view{Title: core.Text{ZH: "访员分组与轮次", EN: "Interviewer groups and waves"}, Err: errMsg, Data: d})
}

func hasMode(modes []string, m string) bool {
	for _, x := range modes {
		if x == m {
			return true
		}
	}
	return false
}

// setTeamWave sets the wave a group calls.
func (s *Server) setTeamWave(c echo.Context) error {
	u := currentUser(c)
	team, err := users.CleanTeam(c.FormValue("team"))
	if err == nil {
		err = dialer.SetTeamWave(c.Request().Context(), s.db, u.ID, u.Username, team, c.FormValue("wave"))
	}
	if msg, status, ok := userError(err); ok {
		return s.showTeams(c, status, msg)
	}
	if err != nil {
		return err
	}
	s.forgetCallingWave()
	return c.Redirect(http.StatusSeeOther, "/teams?msg=teamwave")
}

// setMemberTeam puts an interviewer in a group.
func (s *Server) setMemberTeam(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	err = users.SetTeam(c.Request().Context(), s.db, currentUser(c), id, c.FormValue("team"))
	if msg, status, ok := userError(err); ok {
		return s.showTeams(c, status, msg)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/teams?msg=team")
}

// userError is an error to show on the form that caused it, with its
// status.
func userError(err error) (*core.Text, int, bool) {
	var de *core.Error
	if err == nil || !errors.As(err, &de) {
		return nil, 0, false
	}
	status := map[string]int{core.EInvalid: http.StatusUnprocessableEntity, core.ENotFound: http.StatusNotFound, core.EConflict: http.StatusConflict}[de.Code]
	if status == 0 {
		return nil, 0, false
	}
	return &core.Text{ZH: de.ZH, EN: de.EN}, status, true
}

func init() {
	notices["teamwave"] = core.Text{ZH: "已设定该组的电话访问轮次。", EN: "The group's calling wave is set."}
	notices["team"] = core.Text{ZH: "已更改访员的分组。", EN: "The interviewer's group is changed."}
}
