package web

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
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

// currentWave is the wave interviewers call: the newest drawn one.
func (s *Server) currentWave(ctx context.Context) (*sampler.Wave, error) {
	ws, err := sampler.ListWaves(ctx, s.db)
	if err != nil {
		return nil, err
	}
	for i := range ws {
		if ws[i].Drawn() {
			return &ws[i], nil
		}
	}
	return nil, nil
}

// callingWave is the current wave and its calling rules, read at most
// once a second: every "next case" needs them, and they change only when
// a wave is drawn or its rules are edited (this server forgets them then;
// another server sees the change within the second).
func (s *Server) callingWave(ctx context.Context) (*sampler.Wave, dialer.Rules, error) {
	s.callingMu.Lock()
	defer s.callingMu.Unlock()
	if s.callingWaveAt.IsZero() || time.Since(s.callingWaveAt) > time.Second {
		w, err := s.currentWave(ctx)
		if err != nil {
			return nil, dialer.Rules{}, err
		}
		var r dialer.Rules
		if w != nil {
			if r, err = dialer.GetRules(ctx, s.db, w.ID); err != nil {
				return nil, r, err
			}
		}
		s.callingWaveCached, s.callingRules, s.callingWaveAt = w, r, time.Now()
	}
	return s.callingWaveCached, s.callingRules, nil
}

// forgetCallingWave makes the next request read the wave and rules afresh.
func (s *Server) forgetCallingWave() {
	s.callingMu.Lock()
	s.callingWaveAt = time.Time{}
	s.callingMu.Unlock()
}

type callsData struct {
	Wave  *sampler.Wave
	Held  string // the page of the task the interviewer holds
	Rules dialer.Rules
}

// calls is the interviewer's home: one big button for the next case.
func (s *Server) calls(c echo.Context) error {
	return s.showCalls(c, http.StatusOK, nil)
}

func (s *Server) showCalls(c echo.Context, status int, errMsg *core.Text) error {
	ctx := c.Request().Context()
	w, rules, err := s.callingWave(ctx)
	if err != nil {
		return err
	}
	d := callsData{Wave: w, Rules: rules}
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
	ctx := c.Request().Context()
	w, rules, err := s.callingWave(ctx)
	if err != nil {
		return err
	}
	if w == nil {
		return c.Redirect(http.StatusSeeOther, "/calls?msg=nocase")
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
		return c.Redirect(http.StatusSeeOther, "/calls?msg=nocase")
	}
	var de *core.Error
	if errors.Is(err, dialer.ErrClosed) && errors.As(err, &de) {
		// Outside the calling hours: say so, and when they start again.
		return s.showCalls(c, http.StatusConflict, &core.Text{ZH: de.ZH, EN: de.EN})
	}
	if err != nil {
		return err
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
	dial, err := s.opt.Dialer.Dial(c.Request().Context(), cs)
	if err != nil {
		return err
	}
	return s.renderView(c, status, "case", &view{
		Title: core.Text{ZH: "样本 " + strconv.FormatInt(cs.ID, 10), EN: "Case " + strconv.FormatInt(cs.ID, 10)}, Err: errMsg,
		Data: caseData{Case: cs, Dial: linkOf(dial), Attempts: as, Outcomes: dialer.Outcomes, MinTime: s.opt.Now().In(core.Shanghai).Format("2006-01-02T15:04"), Appt: appt,
			Draft: draft, Rule: s.partialRule()},
	})
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
	// RecordOutcome refuses (404) a case the interviewer does not hold.
	err = dialer.RecordOutcome(c.Request().Context(), s.db, id, currentUser(c).ID, c.FormValue("outcome"), appt, s.opt.Now())
	if de, ok := err.(*core.Error); ok && de.Code == core.EInvalid {
		return s.showCase(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN}, raw)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/calls?msg=recorded")
}

type interviewData struct {
	Case      *dialer.Case
	Q         *survey.Questionnaire
	Districts []sampler.District
	Answers   survey.Answers
	Errors    map[string]core.Text
	Key       string
	Started   string
	// Version is the draft version the page starts from; the page script
	// sends it with each draft write, and the save with the interview.
	Version int
	// Current is the question where the interview stopped, for resuming.
	Current string
	// Paradata gathered so far (JSON), for the page script to go on from.
	Paradata string
}

// DontKnow lists the questionnaire's don't-know codes for the page
// script's "/" and "*" keys.
func (d interviewData) DontKnow() string {
	var cs []string
	for _, c := range d.Q.DontKnow {
		cs = append(cs, strconv.Itoa(c))
	}
	return strings.Join(cs, ",")
}

// questionnaireOf returns the questionnaire version of a case's wave.
// Versions never change once stored, so each is parsed once and kept.
func (s *Server) questionnaireOf(ctx context.Context, cs *dialer.Case) (*survey.Questionnaire, error) {
	if cs.QuestionnaireID == nil {
		return nil, core.Errorf(core.EInvalid, "轮次 %s 没有问卷", "wave %s has no questionnaire", cs.WaveName)
	}
	id := *cs.QuestionnaireID
	if q, ok := s.questionnaires.Load(id); ok {
		return q.(*survey.Questionnaire), nil
	}
	q, err := survey.GetQuestionnaire(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	s.questionnaires.Store(id, q)
	return q, nil
}

func (s *Server) interviewForm(c echo.Context) error {
	cs, err := s.heldCase(c)
	if err != nil {
		return err
	}
	q, err := s.questionnaireOf(c.Request().Context(), cs)
	if err != nil {
		return err
	}
	ds, _, err := s.districtList(c.Request().Context())
	if err != nil {
		return err
	}
	// Opening the form starts the interview's draft, or resumes it with the
	// answers, idempotency key and start time it had.
	d, err := dialer.OpenDraft(c.Request().Context(), s.db, cs.ID, currentUser(c).ID, users.NewToken(), s.opt.Now())
	if err != nil {
		return err
	}
	// The district hint of the number is only a guess, so the screener asks.
	return s.render(c, http.StatusOK, "interview", core.Text{ZH: "访问问卷", EN: "Interview"}, draftData(cs, q, ds, d))
}

// draftData is the form filled from a draft.
func draftData(cs *dialer.Case, q *survey.Questionnaire, ds []sampler.District, d *dialer.Draft) interviewData {
	return interviewData{
		Case: cs, Q: q, Districts: ds, Answers: d.Answers, Key: d.Key,
		Started: d.StartedAt.UTC().Format(time.RFC3339), Version: d.Version, Current: d.Current,
		Paradata: string(d.RawParadata),
	}
}

// validationFailed carries the answers back to the form.
type validationFailed struct {
	q      *survey.Questionnaire
	errors []survey.FieldError
}

func (v *validationFailed) Error() string { return "invalid answers" }

var errScreenedOut = errors.New("screened out")

// submitInterview validates and saves an interview in one transaction that
// holds the case; nothing is stored unless every answer is valid.
func (s *Server) submitInterview(c echo.Context) error {
	ctx := c.Request().Context()
	user := currentUser(c)
	caseID, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	ans := formAnswers(form)
	key := form.Get("key")
	if key == "" {
		key = users.NewToken()
	}
	districts, err := s.districtSet(ctx)
	if err != nil {
		return err
	}
	started, _ := time.Parse(time.RFC3339, form.Get("started"))
	version, _ := strconv.Atoi(form.Get("draft_version"))
	_, err = dialer.CompleteInterview(ctx, s.db, caseID, user.ID, key, version, func(lc dialer.LockedCase) (survey.Interview, error) {
		q, err := s.questionnaireOf(ctx, &dialer.Case{QuestionnaireID: lc.QuestionnaireID})
		if err != nil {
			return survey.Interview{}, err
		}
		val := q.Validate(ans, districts)
		if !val.Eligible {
			return survey.Interview{}, errScreenedOut
		}
		if len(val.Errors) > 0 {
			return survey.Interview{}, &validationFailed{q: q, errors: val.Errors}
		}
		sex, _ := strconv.Atoi(ans["sex"])
		age, _ := strconv.Atoi(ans["age_group"])
		var pd *survey.Paradata
		if raw := form.Get("paradata"); raw != "" {
			pd = survey.ParseParadata([]byte(raw), q)
		}
		return survey.Interview{
			WaveID: lc.WaveID, CaseID: caseID, QuestionnaireID: q.ID, InterviewerID: user.ID,
			District: ans["district"], Mode: lc.Mode, PSU: lc.PSU, Sex: sex, AgeGroup: age, Answers: ans,
			IdempotencyKey: key, Source: lc.InterviewSource(), StartedAt: started,
			Paradata: pd, UserAgent: c.Request().UserAgent(),
		}, nil
	})
	var vf *validationFailed
	var conflict *dialer.DraftConflict
	switch {
	case errors.As(err, &conflict):
		// Another tab saved newer answers: show those rather than let this
		// page's older ones replace them unseen.
		cs, err := dialer.CaseFor(ctx, s.db, caseID, user.ID)
		if err != nil {
			return err
		}
		q, err := s.questionnaireOf(ctx, cs)
		if err != nil {
			return err
		}
		ds, err := sampler.ListDistricts(ctx, s.db)
		if err != nil {
			return err
		}
		d, err := dialer.GetDraft(ctx, s.db, caseID)
		if err != nil {
			return err
		}
		return s.renderView(c, http.StatusConflict, "interview", &view{
			Title: core.Text{ZH: "访问问卷", EN: "Interview"},
			Err:   &core.Text{ZH: "这份问卷已在另一个窗口或设备上修改,本页的答案没有保存。下面是最新的答案,请核对后再保存。", EN: "This interview was changed in another tab or device; the answers on this page were not saved. The latest answers are shown below: check them and save again."},
			Data:  draftData(cs, q, ds, d),
		})
	case err == nil:
		return c.Redirect(http.StatusSeeOther, workHome(c)+"?msg=saved")
	case errors.Is(err, dialer.ErrQuotaFilled):
		return c.Redirect(http.StatusSeeOther, workHome(c)+"?msg=quotafull")
	case errors.Is(err, errScreenedOut):
		if err := dialer.ScreenOut(ctx, s.db, caseID, user.ID); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, workHome(c)+"?msg=screened")
	case errors.As(err, &vf):
		cs, err := dialer.CaseFor(ctx, s.db, caseID, user.ID)
		if err != nil {
			return err
		}
		ds, err := sampler.ListDistricts(ctx, s.db)
		if err != nil {
			return err
		}
		errs := fieldErrors(vf.errors)
		// Nothing was written, so the draft is still at the version sent.
		if d, err := dialer.GetDraft(ctx, s.db, caseID); err == nil {
			version = d.Version
		}
		return s.renderView(c, http.StatusUnprocessableEntity, "interview", &view{
			Title: core.Text{ZH: "访问问卷", EN: "Interview"},
			Err:   &core.Text{ZH: "有 " + strconv.Itoa(len(errs)) + " 道题需要改正,已在题目旁标出;答案都还在。", EN: strconv.Itoa(len(errs)) + " questions need attention (marked below); your answers are kept."},
			Data: interviewData{Case: cs, Q: vf.q, Districts: ds, Answers: ans, Errors: errs, Key: key, Started: form.Get("started"), Version: version, Current: firstError(vf.q, errs),
				Paradata: string(survey.ParseParadata([]byte(form.Get("paradata")), vf.q).JSON())},
		})
	}
	return err
}

// formAnswers collects a questionnaire form's answers: the fields named
// q_<question>, trimmed, the empty ones left out.
func formAnswers(form url.Values) survey.Answers {
	ans := survey.Answers{}
	for k, v := range form {
		if id, ok := strings.CutPrefix(k, "q_"); ok && len(v) > 0 {
			if val := strings.TrimSpace(v[0]); val != "" {
				ans[id] = val
			}
		}
	}
	return ans
}

// fieldErrors are the messages to show beside each question.
func fieldErrors(fes []survey.FieldError) map[string]core.Text {
	errs := map[string]core.Text{}
	for _, fe := range fes {
		errs[fe.Question] = fe.Message
	}
	return errs
}

// districtSet returns the valid district codes, re-read at most every few
// seconds: they change only when an admin imports districts, and every save
// would otherwise read them.
func (s *Server) districtSet(ctx context.Context) (map[string]bool, error) {
	_, set, err := s.districtList(ctx)
	return set, err
}

// districtList returns the districts (for the screener's list) and their
// codes, re-read at most every few seconds, as districtSet.
func (s *Server) districtList(ctx context.Context) ([]sampler.District, map[string]bool, error) {
	s.districtsMu.Lock()
	defer s.districtsMu.Unlock()
	if s.districtCodes != nil && time.Since(s.districtsAt) < 5*time.Second {
		return s.districtRows, s.districtCodes, nil
	}
	ds, err := sampler.ListDistricts(ctx, s.db)
	if err != nil {
		return nil, nil, err
	}
	s.districtRows, s.districtCodes, s.districtsAt = ds, sampler.DistrictSet(ds), time.Now()
	return ds, s.districtCodes, nil
}

// firstError is the first question with an error, where the form resumes.
func firstError(q *survey.Questionnaire, errs map[string]core.Text) string {
	for _, qu := range q.Questions {
		if _, ok := errs[qu.ID]; ok {
			return qu.ID
		}
	}
	return ""
}

// draftRequest is a draft write from the page script (JSON), or from a
// plain form with the questionnaire's own field names.
type draftRequest struct {
	Version  int               `json:"version"`
	Current  string            `json:"current"`
	Answers  map[string]string `json:"answers"`
	Paradata json.RawMessage   `json:"paradata"`
}

// saveDraft keeps the answers given so far, so that the interview resumes
// after a closed tab or a lost connection. A write over a version that is
// no longer the newest (a second tab) is refused with 409.
func (s *Server) saveDraft(c echo.Context) error {
	ctx := c.Request().Context()
	cs, err := s.heldCase(c)
	if err != nil {
		return err
	}
	q, err := s.questionnaireOf(ctx, cs)
	if err != nil {
		return err
	}
	var in draftRequest
	if strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		if err := json.NewDecoder(c.Request().Body).Decode(&in); err != nil {
			return c.JSON(http.StatusBadRequest, map[string]any{"error": core.Text{ZH: "草稿格式不正确", EN: "the draft is not valid JSON"}})
		}
	} else {
		form, err := c.FormParams()
		if err != nil {
			return err
		}
		in.Version, _ = strconv.Atoi(form.Get("draft_version"))
		in.Current = form.Get("current")
		in.Answers = map[string]string{}
		for k, v := range form {
			if id, ok := strings.CutPrefix(k, "q_"); ok && len(v) > 0 {
				in.Answers[id] = v[0]
			}
		}
	}
	ans := draftAnswers(q, in.Answers)
	if q.Question(in.Current) == nil {
		in.Current = ""
	}
	var pd *survey.Paradata
	if len(in.Paradata) > 0 {
		pd = survey.ParseParadata(in.Paradata, q)
	}
	v, err := dialer.SaveDraft(ctx, s.db, cs.ID, currentUser(c).ID, in.Version, ans, in.Current, pd)
	var conflict *dialer.DraftConflict
	var de *core.Error
	switch {
	case errors.As(err, &conflict):
		return c.JSON(http.StatusConflict, map[string]any{"error": dialer.ConflictMessage, "version": conflict.Current})
	case errors.As(err, &de) && de.Code == core.ENotFound:
		return c.JSON(http.StatusNotFound, map[string]any{"error": core.Text{ZH: de.ZH, EN: de.EN}})
	case err != nil:
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"version": v})
}

// draftAnswers keeps the answers to the questionnaire's questions, with
// the ticked boxes of a multiple question ("<id>_<code>") joined into one
// answer, as the form is filled again from them. They are checked only
// when the interview is saved: a draft may hold what is not yet valid.
func draftAnswers(q *survey.Questionnaire, in map[string]string) survey.Answers {
	out := survey.Answers{}
	for _, qu := range q.Questions {
		v := strings.TrimSpace(in[qu.ID])
		if qu.Type == survey.TypeMultiple {
			var codes []string
			for _, o := range qu.Options {
				code := strconv.Itoa(o.Code)
				if survey.Chosen(v, o.Code) || strings.TrimSpace(in[qu.ID+"_"+code]) != "" {
					codes = append(codes, code)
				}
			}
			v = strings.Join(codes, ",")
		}
		// A UTF-8 character is at most 4 bytes: longer cannot be a real answer.
		if v != "" && len(v) <= 4*qu.MaxLen() {
			out[qu.ID] = v
		}
	}
	return out
}

func init() {
	// The outcomes of a break-off, shown on the calls page after it.
	notices["partial"] = core.Text{ZH: "访问中断,已答题目足够,按部分完成(AAPOR 1.2)保存。", EN: "Interview broken off; enough was answered to keep it as a partial interview (AAPOR 1.2)."}
	notices["breakoff"] = core.Text{ZH: "访问中断,已答题目不足,样本按中断(AAPOR 2.12)结束。", EN: "Interview broken off with too few answers; the case is closed as a break-off (AAPOR 2.12)."}
	notices["quotafull"] = core.Text{ZH: dialer.ErrQuotaFilled.ZH, EN: dialer.ErrQuotaFilled.EN}
	notices["verified"] = core.Text{ZH: "回访结果已记录。", EN: "The verification outcome is recorded."}
	notices["callback"] = core.Text{ZH: "访问在满意度题目之前中断,样本已放回队列,稍后回拨。", EN: "Interview broken off before the satisfaction questions; the case is back in the queue for a callback."}
}

// partialRule is the break-off rule the server was configured with.
func (s *Server) partialRule() dialer.BreakOffRule {
	if s.opt.PartialRule.MinShare > 0 {
		return s.opt.PartialRule
	}
	return dialer.PartialRule
}

// breakOff ends an interview in progress that the respondent broke off, by
// the partial rule: partial (1.2), break-off (2.12), or a callback.
func (s *Server) breakOff(c echo.Context) error {
	ctx := c.Request().Context()
	cs, err := s.heldCase(c)
	if err != nil {
		return err
	}
	districts, err := s.districtSet(ctx)
	if err != nil {
		return err
	}
	res, err := dialer.BreakOff(ctx, s.db, cs.ID, currentUser(c).ID, s.partialRule(), districts, func(lc dialer.LockedCase) (*survey.Questionnaire, error) {
		return s.questionnaireOf(ctx, &dialer.Case{QuestionnaireID: lc.QuestionnaireID})
	}, s.opt.Now())
	if de, ok := err.(*core.Error); ok && de.Code == core.EInvalid {
		return s.showCase(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN}, "")
	}
	if err != nil {
		return err
	}
	switch res.Code {
	case dialer.CodePartial:
		return c.Redirect(http.StatusSeeOther, "/calls?msg=partial")
	case dialer.CodeBreakOff:
		return c.Redirect(http.StatusSeeOther, "/calls?msg=breakoff")
	}
	return c.Redirect(http.StatusSeeOther, "/calls?msg=callback")
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
