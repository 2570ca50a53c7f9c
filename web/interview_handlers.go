package web

import (
	"context"
	"errors"
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
	// The form's "started" is the page's own clock, for its paradata; the
	// interview's start is the server's (dialer.CompleteInterview).
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
			IdempotencyKey: key, Source: lc.InterviewSource(),
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
			Err:   &core.Text{ZH: "这份问卷已在另一个窗口或设备上修改，本页的答案没有保存。下面是最新的答案，请核对后再保存。", EN: "This interview was changed in another tab or device; the answers on this page were not saved. The latest answers are shown below: check them and save again."},
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
			Err:   &core.Text{ZH: "有 " + strconv.Itoa(len(errs)) + " 道题需要改正，已在题目旁标出；答案都还在。", EN: strconv.Itoa(len(errs)) + " questions need attention (marked below); your answers are kept."},
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
		return c.Redirect(http.StatusSeeOther, workHome(c)+"?msg=partial")
	case dialer.CodeBreakOff:
		return c.Redirect(http.StatusSeeOther, workHome(c)+"?msg=breakoff")
	}
	return c.Redirect(http.StatusSeeOther, workHome(c)+"?msg=callback")
}
