package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
)

// The browser phone's page (浏览器话机): a headset check, then the
// interviewer's browser becomes their phone for the shift. The page stays
// open beside the case and interview pages; calls placed from the case
// page are bridged to it.

// browserPhonePage shows the headset check and the phone.
func (s *Server) browserPhonePage(c echo.Context) error {
	data := map[string]any{"On": s.opt.Telephony != nil}
	if t := s.opt.Telephony; t != nil {
		ice, err := json.Marshal(t.ICEServers())
		if err != nil {
			return err
		}
		data["ICE"] = string(ice)
	}
	return s.render(c, http.StatusOK, "browser_phone", core.Text{ZH: "浏览器话机", EN: "Browser phone"}, data)
}

// browserOffer takes the page's WebRTC offer and answers it: from then on
// the browser is the interviewer's phone.
func (s *Server) browserOffer(c echo.Context) error {
	t := s.opt.Telephony
	if t == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	var req struct {
		SDP string `json:"sdp"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 128<<10)).Decode(&req); err != nil {
		return c.JSON(http.StatusUnprocessableEntity, map[string]string{"problem": s.text(c,
			core.Text{ZH: "连接请求无法读取，请刷新页面再试。", EN: "The connection request cannot be read; reload the page and try again."})})
	}
	answer, err := t.ConnectBrowser(c.Request().Context(), currentUser(c).ID, req.SDP)
	var de *core.Error
	if errors.As(err, &de) && de.Code == core.EInvalid {
		return c.JSON(http.StatusUnprocessableEntity, map[string]string{"problem": s.text(c, core.Text{ZH: de.ZH, EN: de.EN})})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"sdp": answer})
}

// browserState is the phone and its call, as the page shows them.
func (s *Server) browserState(c echo.Context) error {
	t := s.opt.Telephony
	if t == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	st := t.BrowserState(currentUser(c).ID)
	label := core.Text{ZH: "空闲", EN: "idle"}
	if l, ok := dialer.CallStateLabels[st.Call]; ok {
		label = l
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{"connected": st.Connected, "call": st.Call, "label": s.text(c, label),
		"seconds": st.Seconds, "case": st.CaseID})
}

// browserHangup hangs up the interviewer's call from the phone page.
func (s *Server) browserHangup(c echo.Context) error {
	t := s.opt.Telephony
	if t == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err := t.HangupUser(currentUser(c).ID); err != nil && core.ErrorCode(err) != core.ENotFound {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
