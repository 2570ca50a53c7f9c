package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
)

// heldVerification loads the verification call of the URL only for the
// interviewer holding it; anyone else gets 404.
func (s *Server) heldVerification(c echo.Context) (*dialer.Verification, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	return dialer.VerificationFor(c.Request().Context(), s.db, id, currentUser(c).ID)
}

type verificationData struct {
	V        *dialer.Verification
	Dial     dialLink
	Outcomes []dialer.VerificationOutcome
}

// verificationPage is a verification call-back: the number to call, what
// to ask, and the short outcome set.
func (s *Server) verificationPage(c echo.Context) error {
	return s.showVerification(c, http.StatusOK, nil)
}

func (s *Server) showVerification(c echo.Context, status int, errMsg *core.Text) error {
	v, err := s.heldVerification(c)
	if err != nil {
		return err
	}
	dial, err := s.opt.Dialer.Dial(c.Request().Context(), &dialer.Case{ID: v.CaseID, WaveID: v.WaveID, Phone: v.Phone, District: v.District})
	if err != nil {
		return err
	}
	return s.renderView(c, status, "verification", &view{
		Title: core.Text{ZH: "回访 " + strconv.FormatInt(v.ID, 10), EN: "Verification " + strconv.FormatInt(v.ID, 10)}, Err: errMsg,
		Data: verificationData{V: v, Dial: linkOf(dial), Outcomes: dialer.VerificationOutcomes},
	})
}

func (s *Server) recordVerification(c echo.Context) error {
	v, err := s.heldVerification(c)
	if err != nil {
		return err
	}
	err = dialer.RecordVerification(c.Request().Context(), s.db, v.ID, currentUser(c).ID, c.FormValue("outcome"), c.FormValue("note"), s.opt.Now())
	if de, ok := err.(*core.Error); ok && de.Code == core.EInvalid {
		return s.showVerification(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/calls?msg=verified")
}
