package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/survey"
	"minyi/users"
)

// errNoWaveDrawn says that the interviewer's group has no wave to call: a
// supervisor has not chosen one for it.
var errNoWaveDrawn = core.Errorf(core.ENotFound, "督导还没有为您的组指定电话访问的轮次", "a supervisor has not chosen the wave your group calls")

// callingEntry is the wave a group calls and its calling rules.
type callingEntry struct {
	wave  *sampler.Wave
	rules dialer.Rules
}

// callingWave is the wave the user's group calls, as a supervisor chose it,
// and its calling rules. The choices of every group are read at most once a
// second: every "next case" needs them, and they change only when a
// supervisor sets a group's wave or a wave's rules are edited (this server
// forgets them then; another server sees the change within the second).
// Once a second one request reads them afresh while the others go on with
// what was read a second ago, so a slow read never holds up a queue of
// interviewers. With no wave chosen for the group it returns
// errNoWaveDrawn.
func (s *Server) callingWave(ctx context.Context, team string) (*sampler.Wave, dialer.Rules, error) {
	m, err := s.callingWaves(ctx)
	if err != nil {
		return nil, dialer.Rules{}, err
	}
	e, ok := m[team]
	if !ok {
		return nil, dialer.Rules{}, errNoWaveDrawn
	}
	return e.wave, e.rules, nil
}

// callingWaves is every group's calling wave, read at most once a second.
func (s *Server) callingWaves(ctx context.Context) (map[string]callingEntry, error) {
	s.callingMu.Lock()
	known := !s.callingWaveAt.IsZero()
	m := s.callingByTeam
	if known && (time.Since(s.callingWaveAt) <= time.Second || s.callingReading) {
		s.callingMu.Unlock()
		return m, nil
	}
	s.callingReading = true
	gen := s.callingGen
	s.callingMu.Unlock()

	m, err := s.readCallingWaves(ctx)
	s.callingMu.Lock()
	defer s.callingMu.Unlock()
	s.callingReading = false
	if err != nil {
		return nil, err
	}
	if gen == s.callingGen {
		s.callingByTeam, s.callingWaveAt = m, time.Now()
	}
	return m, nil
}

// readCallingWaves reads the wave each group calls and its rules.
func (s *Server) readCallingWaves(ctx context.Context) (map[string]callingEntry, error) {
	tws, err := dialer.TeamWaves(ctx, s.db)
	if err != nil {
		return nil, err
	}
	m := make(map[string]callingEntry, len(tws))
	if len(tws) == 0 {
		return m, nil
	}
	ws, err := sampler.ListWaves(ctx, s.db)
	if err != nil {
		return nil, err
	}
	byID := map[int64]callingEntry{}
	for i := range ws {
		byID[ws[i].ID] = callingEntry{wave: &ws[i]}
	}
	for _, tw := range tws {
		e, ok := byID[tw.WaveID]
		if !ok {
			continue
		}
		if e.wave.Draw.Seed != nil && e.rules == (dialer.Rules{}) {
			if e.rules, err = dialer.GetRules(ctx, s.db, tw.WaveID); err != nil {
				return nil, err
			}
			byID[tw.WaveID] = e
		}
		m[tw.Team] = e
	}
	return m, nil
}

// forgetCallingWave makes the next request read the waves and rules afresh.
func (s *Server) forgetCallingWave() {
	s.callingMu.Lock()
	s.callingWaveAt = time.Time{}
	s.callingGen++
	s.callingMu.Unlock()
}

type callsData struct {
	// AutoNext: the interviewer's setting, the next case opens once an
	// outcome is recorded.
	AutoNext bool
	Wave     *sampler.Wave
	Held     string // the page of the task the interviewer holds
	Rules    dialer.Rules
	// Switch: Minyi places the calls, and offers progressive dialing.
	Switch bool
}

// calls is the interviewer's home: one big button for the next case.
func (s *Server) calls(c echo.Context) error {
	return s.showCalls(c, http.StatusOK, nil)
}

func (s *Server) showCalls(c echo.Context, status int, errMsg *core.Text) error {
	ctx := c.Request().Context()
	w, rules, err := s.callingWave(ctx, currentUser(c).Team)
	if err != nil && !errors.Is(err, errNoWaveDrawn) {
		return err
	}
	_, sw := s.switchOf()
	d := callsData{Wave: w, Rules: rules, Switch: sw, AutoNext: currentUser(c).AutoNext} // no wave: the page says there is nothing to call
	if w != nil {
		if t, err := dialer.HeldTask(ctx, s.db, w.ID, currentUser(c).ID); err == nil {
			d.Held = taskPath(t)
		}
	}
	return s.renderView(c, status, "calls", &view{Title: core.Text{ZH: "电话访问", EN: "Calls"}, Err: errMsg, Data: d})
}

// taskPath is the page of a call task.
func taskPath(t dialer.Task) string {
	if t.Kind == dialer.TaskVerification {
		return "/verifications/" + strconv.FormatInt(t.ID, 10)
	}
	return "/cases/" + strconv.FormatInt(t.ID, 10)
}

func (s *Server) nextCase(c echo.Context) error {
	return s.openNext(c, "")
}

// openNext hands the interviewer their next task and opens its page, with
// the notice named by msg (after an outcome was recorded).
func (s *Server) openNext(c echo.Context, msg string) error {
	ctx := c.Request().Context()
	w, rules, err := s.callingWave(ctx, currentUser(c).Team)
	if errors.Is(err, errNoWaveDrawn) {
		return c.Redirect(http.StatusSeeOther, "/calls?msg=nocase")
	}
	if err != nil {
		return err
	}
	user := currentUser(c).ID
	t, err := dialer.NextTask(ctx, s.db, w.ID, user, rules, s.opt.Now())
	if err == dialer.ErrNoCase {
		// The open replicates may be worked out: open the next ones that
		// are due and try once more.
		if opened, oerr := sampler.OpenNextReplicates(ctx, s.db, w.Name, 0); oerr == nil && len(opened) > 0 {
			t, err = dialer.NextTask(ctx, s.db, w.ID, user, rules, s.opt.Now())
		}
	}
	if err == dialer.ErrNoCase {
		return c.Redirect(http.StatusSeeOther, "/calls?msg=nocase"+msg)
	}
	var de *core.Error
	if errors.Is(err, dialer.ErrClosed) && errors.As(err, &de) {
		// Outside the calling hours: say so, and when they start again.
		return s.showCalls(c, http.StatusConflict, &core.Text{ZH: de.ZH, EN: de.EN})
	}
	if err != nil {
		return err
	}
	if sw, ok := s.switchOf(); ok && c.FormValue("dial") == "1" && t.Kind == dialer.TaskCase {
		// Progressive dialing: the interviewer is ready, and the case is
		// called at once; a call that cannot be placed is said on the
		// case page, where the number can be dialled by hand.
		if cs, err := dialer.CaseFor(ctx, s.db, t.ID, user); err == nil {
			if _, err := sw.Call(ctx, cs, user); err != nil {
				var de *core.Error
				if !errors.As(err, &de) {
					return err
				}
				c.SetParamNames("id")
				c.SetParamValues(strconv.FormatInt(t.ID, 10))
				return s.showCase(c, http.StatusConflict, &core.Text{ZH: de.ZH, EN: de.EN}, "")
			}
		}
	}
	if msg != "" {
		return c.Redirect(http.StatusSeeOther, taskPath(t)+"?msg="+msg)
	}
	return c.Redirect(http.StatusSeeOther, taskPath(t))
}

// heldCase loads the case of the URL only for the interviewer holding it;
// anyone else gets 404, so case ids cannot be probed.
func (s *Server) heldCase(c echo.Context) (*dialer.Case, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	return dialer.CaseFor(c.Request().Context(), s.db, id, currentUser(c).ID)
}

type caseData struct {
	Case     *dialer.Case
	Dial     dialLink
	Attempts []dialer.Attempt
	Outcomes []dialer.Outcome
	MinTime  string
	Appt     string
	// Draft is the interview in progress, nil before the questionnaire is
	// opened: only a started interview can be broken off.
	Draft *dialer.Draft
	Rule  dialer.BreakOffRule
	// Switch: Minyi places the calls (拨打); LastCall is the
	// interviewer's latest call on the case, CallActive when under way.
	Switch     bool
	LastCall   *dialer.Call
	CallActive bool
	// Notes are those left on the case, for whoever calls it next.
	Notes []dialer.Note
	// Intro and Consent are the questionnaire's introduction and consent
	// script, read when someone answers; Consents the answers recorded.
	Intro, Consent core.Text
	Consents       []dialer.Consent
}

func (s *Server) casePage(c echo.Context) error {
	return s.showCase(c, http.StatusOK, nil, "")
}

func (s *Server) showCase(c echo.Context, status int, errMsg *core.Text, appt string) error {
	cs, err := s.heldCase(c)
	if err != nil {
		return err
	}
	as, err := dialer.Attempts(c.Request().Context(), s.db, cs.ID)
	if err != nil {
		return err
	}
	draft, err := dialer.GetDraft(c.Request().Context(), s.db, cs.ID)
	if err != nil && core.ErrorCode(err) != core.ENotFound {
		return err
	}
	// The telephony decides how the number is called: a tel: link to
	// click (preview dialing), or a call the switch has placed.
	notes, err := dialer.Notes(c.Request().Context(), s.db, cs.ID)
	if err != nil {
		return err
	}
	dial, err := s.opt.Dialer.Dial(c.Request().Context(), cs)
	if err != nil {
		return err
	}
	consents, err := dialer.Consents(c.Request().Context(), s.db, cs.ID)
	if err != nil {
		return err
	}
	d := caseData{Case: cs, Dial: linkOf(dial), Attempts: as, Outcomes: dialer.Outcomes, MinTime: s.opt.Now().In(core.Shanghai).Format("2006-01-02T15:04"), Appt: appt,
		Draft: draft, Rule: s.partialRule(), Notes: notes, Consent: survey.DefaultConsent, Consents: consents}
	if q, err := s.questionnaireOf(c.Request().Context(), cs); err == nil {
		d.Intro, d.Consent = q.Introduction, q.ConsentScript()
	}
	// Minyi places calls from an interviewer's phone; a supervisor on a
	// call-back is on the line already.
	if sw, ok := s.switchOf(); ok && currentUser(c).Role == users.RoleInterview {
		d.Switch = true
		if st, err := sw.Status(c.Request().Context(), cs.ID, currentUser(c).ID); err == nil {
			d.LastCall, d.CallActive = &st.Call, st.State != dialer.CallEnded
		}
	}
	return s.renderView(c, status, "case", &view{
		Title: core.Text{ZH: "样本 " + strconv.FormatInt(cs.ID, 10), EN: "Case " + strconv.FormatInt(cs.ID, 10)}, Err: errMsg, Data: d,
	})
}

// participation records the respondent's answer to the consent script:
// agreed, the questionnaire opens; declined, the case is coded a refusal
// and the interviewer moves on as after any outcome.
func (s *Server) participation(c echo.Context) error {
	cs, err := s.heldCase(c)
	if err != nil {
		return err
	}
	answer := c.FormValue("answer")
	if answer != "yes" && answer != "no" {
		return s.showCase(c, http.StatusUnprocessableEntity, &core.Text{ZH: "请记录受访者是否同意接受访问。", EN: "Record whether the respondent agreed to take part."}, "")
	}
	u := currentUser(c)
	if err := dialer.RecordConsent(c.Request().Context(), s.db, cs.ID, u.ID, u.Username, answer == "yes", s.opt.Now()); err != nil {
		return err
	}
	if answer == "yes" {
		return c.Redirect(http.StatusSeeOther, "/cases/"+strconv.FormatInt(cs.ID, 10)+"/interview")
	}
	return s.afterOutcome(c)
}

func (s *Server) recordOutcome(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	var appt time.Time
	raw := strings.TrimSpace(c.FormValue("appointment"))
	if raw != "" {
		appt, err = time.ParseInLocation("2006-01-02T15:04", raw, core.Shanghai)
		if err != nil {
			return s.showCase(c, http.StatusUnprocessableEntity, &core.Text{ZH: "预约时间格式不正确", EN: "the appointment time is not a valid date and time"}, raw)
		}
	}
	u := currentUser(c)
	// A note given with the outcome (with an appointment, say) is kept
	// first, while the case is still held; it stays even if the outcome is
	// refused, and the page shows it then.
	if note := strings.TrimSpace(c.FormValue("note")); note != "" {
		kind := dialer.NoteCase
		if o, ok := dialer.OutcomeByCode(c.FormValue("outcome")); ok && o.NeedTime {
			kind = dialer.NoteAppointment
		}
		err := dialer.AddNote(c.Request().Context(), s.db, id, u.ID, u.Username, kind, note)
		if de, ok := err.(*core.Error); ok && de.Code == core.EInvalid {
			return s.showCase(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN}, raw)
		}
		if err != nil {
			return err
		}
	}
	// RecordOutcome refuses (404) a case the interviewer does not hold.
	err = dialer.RecordOutcome(c.Request().Context(), s.db, id, u.ID, c.FormValue("outcome"), appt, s.opt.Now())
	if de, ok := err.(*core.Error); ok && de.Code == core.EInvalid {
		return s.showCase(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN}, raw)
	}
	if err != nil {
		return err
	}
	return s.afterOutcome(c)
}

// afterOutcome opens the interviewer's next case, unless they turned that
// off; a supervisor, who takes no cases from the queue, goes back to the
// call-backs.
func (s *Server) afterOutcome(c echo.Context) error {
	if u := currentUser(c); u.AutoNext && u.Role == users.RoleInterview {
		return s.openNext(c, "recorded")
	}
	return c.Redirect(http.StatusSeeOther, workHome(c)+"?msg=recorded")
}

func init() {
	// The outcomes of a break-off, shown on the calls page after it.
	notices["partial"] = core.Text{ZH: "访问中断，已答题目足够，按部分完成（AAPOR 1.2）保存。", EN: "Interview broken off; enough was answered to keep it as a partial interview (AAPOR 1.2)."}
	notices["breakoff"] = core.Text{ZH: "访问中断，已答题目不足，样本按中断（AAPOR 2.12）结束。", EN: "Interview broken off with too few answers; the case is closed as a break-off (AAPOR 2.12)."}
	notices["quotafull"] = core.Text{ZH: dialer.ErrQuotaFilled.ZH, EN: dialer.ErrQuotaFilled.EN}
	notices["nocaserecorded"] = core.Text{ZH: "呼叫结果已记录。现在没有可拨打的样本。", EN: "The outcome is recorded. There is no case to call now."}
	notices["verified"] = core.Text{ZH: "回访结果已记录。", EN: "The verification outcome is recorded."}
	notices["callback"] = core.Text{ZH: "访问在满意度题目之前中断，样本已放回队列，稍后回拨。", EN: "Interview broken off before the satisfaction questions; the case is back in the queue for a callback."}
}

// dialLink is a dial result for a template: the link as a URL the template
// may put in href (html/template allows only http, https and mailto of
// itself).
type dialLink struct {
	Href    template.URL
	Display string
	Placed  bool
}

// dialSchemes are the links a Dialer may give: telephone URIs and a
// switch's web pages.
var dialSchemes = []string{"tel:", "sip:", "sips:", "callto:", "https:", "http:"}

func linkOf(d dialer.DialResult) dialLink {
	l := dialLink{Display: d.Display, Placed: d.Placed}
	for _, p := range dialSchemes {
		if strings.HasPrefix(strings.ToLower(d.Href), p) && !strings.ContainsAny(d.Href, " \"'<>") {
			l.Href = template.URL(d.Href)
		}
	}
	return l
}
