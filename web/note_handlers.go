package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/users"
)

// addNote appends a note to the case the interviewer holds; a case they do
// not hold is not found.
func (s *Server) addNote(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	u := currentUser(c)
	err = dialer.AddNote(c.Request().Context(), s.db, id, u.ID, u.Username, dialer.NoteCase, c.FormValue("note"))
	if de, ok := err.(*core.Error); ok && de.Code == core.EInvalid {
		return s.showCase(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN}, "")
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+strconv.FormatInt(id, 10)+"?msg=note")
}

// setAutoNext is the interviewer's choice whether the next case opens once
// an outcome is recorded.
func (s *Server) setAutoNext(c echo.Context) error {
	if err := users.SetAutoNext(c.Request().Context(), s.db, currentUser(c), c.FormValue("auto_next") == "1"); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/calls?msg=settings")
}

func init() {
	notices["note"] = core.Text{ZH: "备注已保存。", EN: "The note is saved."}
	notices["settings"] = core.Text{ZH: "设置已保存。", EN: "The setting is saved."}
}
