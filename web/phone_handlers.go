package web

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/media"
	"minyi/telephony"
	"minyi/users"
)

// The pages of Minyi's own telephony: placing a call from the case page
// and following it, the interviewer's phone account, the admin's view of
// the trunk and the phones, listening in, and playing recordings.

func init() {
	notices["phoneuri"] = core.Text{ZH: "话机地址已保存。", EN: "The phone address is saved."}
	notices["waverecording"] = core.Text{ZH: "轮次的录音设置已保存。", EN: "The wave's recording setting is saved."}
}

// switchOf is the telephony placing calls, ok=false with preview dialing.
func (s *Server) switchOf() (dialer.Switch, bool) {
	sw, ok := s.opt.Dialer.(dialer.Switch)
	return sw, ok
}

// wantsJSON says whether the page's script sent the request.
func wantsJSON(c echo.Context) bool {
	return strings.Contains(c.Request().Header.Get("Accept"), "application/json")
}

// callCase places a call on the case (拨打): the script follows it from
// the status; without script the page reloads and shows it.
func (s *Server) callCase(c echo.Context) error {
	sw, ok := s.switchOf()
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	cs, err := s.heldCase(c)
	if err != nil {
		return err
	}
	_, err = sw.Call(c.Request().Context(), cs, currentUser(c).ID)
	var de *core.Error
	if errors.As(err, &de) && (de.Code == core.EInvalid || de.Code == core.EConflict) {
		if wantsJSON(c) {
			return c.JSON(http.StatusConflict, map[string]any{"problem": s.text(c, core.Text{ZH: de.ZH, EN: de.EN})})
		}
		return s.showCase(c, http.StatusConflict, &core.Text{ZH: de.ZH, EN: de.EN}, "")
	}
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return s.callStatus(c)
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+strconv.FormatInt(cs.ID, 10))
}

// text is a bilingual text in the page's language.
func (s *Server) text(c echo.Context, t core.Text) string {
	if lang(c) == "en" && t.EN != "" {
		return t.EN
	}
	return t.ZH
}

// callJSON is the status of a call as the case page's script reads it.
type callJSON struct {
	ID        int64   `json:"id"`
	State     string  `json:"state"`
	Label     string  `json:"label"`
	Seconds   float64 `json:"seconds"`
	SIPCode   int     `json:"sip_code"`
	Outcome   string  `json:"outcome,omitempty"`
	Coded     string  `json:"coded,omitempty"` // the outcome the network gave, for people
	HangupBy  string  `json:"hangup_by,omitempty"`
	Problem   string  `json:"problem,omitempty"`
	Answered  bool    `json:"answered"`
	Recording bool    `json:"recording"`
	Consent   string  `json:"consent,omitempty"`
}

// callStatus is the interviewer's latest call on the case, as JSON. It
// answers after the case has left them too (a busy line codes and
// releases it), since it only ever shows their own calls.
func (s *Server) callStatus(c echo.Context) error {
	sw, ok := s.switchOf()
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	st, err := sw.Status(c.Request().Context(), id, currentUser(c).ID)
	if core.ErrorCode(err) == core.ENotFound {
		return c.JSON(http.StatusOK, callJSON{State: "none"})
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, statusJSON(c, s, st))
}

func statusJSON(c echo.Context, s *Server, st dialer.CallStatus) callJSON {
	j := callJSON{ID: st.ID, State: st.State, Label: s.text(c, st.StateLabel()), Seconds: st.Seconds, SIPCode: st.SIPCode,
		Outcome: st.Outcome, HangupBy: st.HangupBy, Answered: st.AnsweredAt != nil, Recording: st.Recording, Consent: st.Consent}
	if st.Outcome != "" {
		j.Coded = s.text(c, st.OutcomeLabel())
	}
	if st.Problem != nil {
		j.Problem = s.text(c, *st.Problem)
	}
	return j
}

// hangupCall ends the interviewer's call on the case (挂断).
func (s *Server) hangupCall(c echo.Context) error {
	sw, ok := s.switchOf()
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	cs, err := s.heldCase(c)
	if err != nil {
		return err
	}
	if err := sw.Hangup(c.Request().Context(), cs.ID, currentUser(c).ID); err != nil && core.ErrorCode(err) != core.ENotFound {
		return err
	}
	if wantsJSON(c) {
		return s.callStatus(c)
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+strconv.FormatInt(cs.ID, 10))
}

// callConsent stores the respondent's answer to the recording consent
// prompt; a refusal stops the recording.
func (s *Server) callConsent(c echo.Context) error {
	if s.opt.Telephony == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	cs, err := s.heldCase(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	if err := s.opt.Telephony.Consent(c.Request().Context(), cs.ID, u.ID, u.Username, c.FormValue("consent") == "yes"); err != nil {
		return err
	}
	if wantsJSON(c) {
		return s.callStatus(c)
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+strconv.FormatInt(cs.ID, 10))
}

// phonePage is the interviewer's phone: the SIP account their phone
// registers with, and whether it is registered now.
func (s *Server) phonePage(c echo.Context) error {
	data := map[string]any{"On": s.opt.Telephony != nil}
	if s.opt.Telephony != nil {
		a, err := telephony.AccountOf(c.Request().Context(), s.db, currentUser(c).ID)
		if err != nil {
			return err
		}
		at, registered := s.opt.Telephony.PhoneRegistered(a)
		data["Account"], data["Registrar"], data["Realm"] = a, s.opt.Telephony.Registrar(), s.opt.Telephony.Realm()
		data["Registered"], data["At"] = registered, at
	}
	return s.render(c, http.StatusOK, "phone", core.Text{ZH: "我的话机", EN: "My phone"}, data)
}

// phoneRow is an interviewer's phone on the admin's telephony page.
type phoneRow struct {
	User       users.Account
	Account    *telephony.Account
	Registered bool
	At         string
}

// telephonyPage shows the admin the trunk's settings (never the
// password) and every interviewer's phone.
func (s *Server) telephonyPage(c echo.Context) error {
	return s.showTelephony(c, http.StatusOK, nil)
}

func (s *Server) showTelephony(c echo.Context, status int, errMsg *core.Text) error {
	ctx := c.Request().Context()
	data := map[string]any{"On": s.opt.Telephony != nil}
	if s.opt.Telephony != nil {
		data["Settings"] = s.opt.Telephony.Config().Settings()
		us, err := users.List(ctx, s.db)
		if err != nil {
			return err
		}
		var rows []phoneRow
		for _, u := range us {
			if u.Role != users.RoleInterview || !u.Active {
				continue
			}
			a, err := telephony.AccountOf(ctx, s.db, u.ID)
			if err != nil {
				return err
			}
			at, ok := s.opt.Telephony.PhoneRegistered(a)
			rows = append(rows, phoneRow{User: u, Account: a, Registered: ok, At: at})
		}
		data["Phones"] = rows
	}
	waves, err := dialer.WaveRecordings(ctx, s.db)
	if err != nil {
		return err
	}
	data["Waves"] = waves
	return s.renderView(c, status, "telephony", &view{Title: core.Text{ZH: "电话线路", EN: "Telephony"}, Err: errMsg, Data: data})
}

// setPhoneURI sets the SIP URI an interviewer's desk phone is called at.
func (s *Server) setPhoneURI(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	u := currentUser(c)
	err = telephony.SetPhoneURI(c.Request().Context(), s.db, id, c.FormValue("phone_uri"), u.ID, u.Username)
	var de *core.Error
	if errors.As(err, &de) && de.Code == core.EInvalid {
		return s.showTelephony(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/telephony?msg=phoneuri")
}

// setWaveRecording sets whether a wave records its calls and how long.
func (s *Server) setWaveRecording(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	days := 0
	if v := strings.TrimSpace(c.FormValue("days")); v != "" {
		if days, err = strconv.Atoi(v); err != nil {
			return s.showTelephony(c, http.StatusUnprocessableEntity, &core.Text{ZH: "保存天数须为整数", EN: "the retention must be a whole number of days"})
		}
	}
	u := currentUser(c)
	err = dialer.SetWaveRecording(c.Request().Context(), s.db, id, c.FormValue("record") == "1", days, u.ID, u.Username)
	var de *core.Error
	if errors.As(err, &de) && de.Code == core.EInvalid {
		return s.showTelephony(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/telephony?msg=waverecording")
}

// liveCalls lists a wave's calls under way, for the live view's listen-in.
func (s *Server) liveCalls(c echo.Context) error {
	w, _, err := s.liveOf(c)
	if err != nil {
		return err
	}
	calls, err := dialer.LiveCalls(c.Request().Context(), s.db, w.ID)
	if err != nil {
		return err
	}
	type row struct {
		ID          int64   `json:"id"`
		CaseID      int64   `json:"case_id"`
		Interviewer string  `json:"interviewer"`
		District    string  `json:"district"`
		State       string  `json:"state"`
		Label       string  `json:"label"`
		Seconds     float64 `json:"seconds"`
	}
	out := []row{}
	for _, k := range calls {
		since := k.StartedAt
		if k.AnsweredAt != nil {
			since = *k.AnsweredAt
		}
		out = append(out, row{ID: k.ID, CaseID: k.CaseID, Interviewer: k.Interviewer, District: k.District, State: k.State,
			Label: s.text(c, k.StateLabel()), Seconds: time.Since(since).Seconds()})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

// listen streams a call under way to a supervisor as live Ogg Opus: a
// copy of both channels, nothing sent back, so that neither party hears
// the listener. Audited.
func (s *Server) listen(c echo.Context) error {
	if s.opt.Telephony == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	u := currentUser(c)
	ctx := c.Request().Context()
	frames, stop, err := s.opt.Telephony.Listen(ctx, id, u.ID, u.Username)
	if err != nil {
		return err
	}
	defer stop()
	h := c.Response().Header()
	h.Set("Content-Type", "audio/ogg")
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	err = media.StreamOgg(ctx, c.Response(), c.Response().Flush, frames)
	if err != nil && ctx.Err() == nil && !errors.Is(err, io.ErrClosedPipe) {
		s.opt.Logger.Warn("listen-in ended", "call", id, "err", err)
	}
	return nil
}

// recording streams a call's recording to a supervisor (an audio element
// seeks with ranges). Each playback — a request from the start — is
// audited; recordings are in no export.
func (s *Server) recording(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	u := currentUser(c)
	rg := c.Request().Header.Get("Range")
	playback := rg == "" || strings.HasPrefix(rg, "bytes=0-")
	r, f, err := dialer.OpenRecording(c.Request().Context(), s.db, id, u.ID, u.Username, playback)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Type", "audio/ogg")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-SHA256", r.SHA256)
	http.ServeContent(c.Response(), c.Request(), "", st.ModTime(), f)
	return nil
}
