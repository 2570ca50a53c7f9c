package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"minyi/dialer"
	"minyi/sampler"
	"minyi/survey"
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

type callsData struct {
	Wave *sampler.Wave
	Held *dialer.Case
}

// calls is the interviewer's home: one big button for the next case.
func (s *Server) calls(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := s.currentWave(ctx)
	if err != nil {
		return err
	}
	d := callsData{Wave: w}
	if w != nil {
		if id, err := dialer.HeldCase(ctx, s.db, w.ID, currentUser(c).ID); err == nil {
			d.Held, _ = dialer.GetCase(ctx, s.db, id)
		}
	}
	return s.render(c, http.StatusOK, "calls", survey.Text{ZH: "电话访问", EN: "Calls"}, d)
}

func (s *Server) nextCase(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := s.currentWave(ctx)
	if err != nil {
		return err
	}
	if w == nil {
		return c.Redirect(http.StatusSeeOther, "/calls?msg=nocase")
	}
	cs, err := dialer.NextCase(ctx, s.db, w.ID, currentUser(c).ID)
	if err == dialer.ErrNoCase {
		// The open replicates may be worked out: open the next ones that
		// are due and try once more.
		if opened, oerr := sampler.OpenNextReplicates(ctx, s.db, w.Name, 0); oerr == nil && len(opened) > 0 {
			cs, err = dialer.NextCase(ctx, s.db, w.ID, currentUser(c).ID)
		}
	}
	if err == dialer.ErrNoCase {
		return c.Redirect(http.StatusSeeOther, "/calls?msg=nocase")
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+strconv.FormatInt(cs.ID, 10))
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
	Attempts []dialer.Attempt
	Outcomes []dialer.Outcome
	MinTime  string
	Appt     string
}

func (s *Server) casePage(c echo.Context) error {
	return s.showCase(c, http.StatusOK, nil, "")
}

func (s *Server) showCase(c echo.Context, status int, errMsg *survey.Text, appt string) error {
	cs, err := s.heldCase(c)
	if err != nil {
		return err
	}
	as, err := dialer.Attempts(c.Request().Context(), s.db, cs.ID)
	if err != nil {
		return err
	}
	return s.renderView(c, status, "case", &view{
		Title: survey.Text{ZH: "样本 " + strconv.FormatInt(cs.ID, 10), EN: "Case " + strconv.FormatInt(cs.ID, 10)}, Err: errMsg,
		Data: caseData{Case: cs, Attempts: as, Outcomes: dialer.Outcomes, MinTime: s.opt.Now().In(shanghai).Format("2006-01-02T15:04"), Appt: appt},
	})
}

func (s *Server) recordOutcome(c echo.Context) error {
	cs, err := s.heldCase(c)
	if err != nil {
		return err
	}
	var appt time.Time
	raw := strings.TrimSpace(c.FormValue("appointment"))
	if raw != "" {
		appt, err = time.ParseInLocation("2006-01-02T15:04", raw, shanghai)
		if err != nil {
			return s.showCase(c, http.StatusUnprocessableEntity, &survey.Text{ZH: "预约时间格式不正确", EN: "the appointment time is not a valid date and time"}, raw)
		}
	}
	err = dialer.RecordOutcome(c.Request().Context(), s.db, cs.ID, currentUser(c).ID, c.FormValue("outcome"), appt, s.opt.Now())
	if de, ok := err.(*survey.Error); ok && de.Code == survey.EInvalid {
		return s.showCase(c, http.StatusUnprocessableEntity, &survey.Text{ZH: de.ZH, EN: de.EN}, raw)
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
	Errors    map[string]survey.Text
	Key       string
	Started   string
}

// questionnaireOf returns the questionnaire version of a case's wave.
// Versions never change once stored, so each is parsed once and kept.
func (s *Server) questionnaireOf(ctx context.Context, cs *dialer.Case) (*survey.Questionnaire, error) {
	if cs.QuestionnaireID == nil {
		return nil, survey.Errorf(survey.EInvalid, "轮次 %s 没有问卷", "wave %s has no questionnaire", cs.WaveName)
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
	ds, err := sampler.ListDistricts(c.Request().Context(), s.db)
	if err != nil {
		return err
	}
	// The district hint of the number is only a guess, so the screener asks.
	return s.render(c, http.StatusOK, "interview", survey.Text{ZH: "访问问卷", EN: "Interview"}, interviewData{
		Case: cs, Q: q, Districts: ds, Answers: survey.Answers{}, Key: randomToken(),
		Started: s.opt.Now().UTC().Format(time.RFC3339),
	})
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
	ans := survey.Answers{}
	for k, v := range form {
		if id, ok := strings.CutPrefix(k, "q_"); ok && len(v) > 0 {
			if val := strings.TrimSpace(v[0]); val != "" {
				ans[id] = val
			}
		}
	}
	key := form.Get("key")
	if key == "" {
		key = randomToken()
	}
	districts, err := s.districtSet(ctx)
	if err != nil {
		return err
	}
	started, _ := time.Parse(time.RFC3339, form.Get("started"))
	_, err = dialer.CompleteInterview(ctx, s.db, caseID, user.ID, key, func(lc dialer.LockedCase) (survey.Interview, error) {
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
		return survey.Interview{
			WaveID: lc.WaveID, CaseID: caseID, QuestionnaireID: q.ID, InterviewerID: user.ID,
			District: ans["district"], Mode: "phone", Sex: sex, AgeGroup: age, Answers: ans,
			IdempotencyKey: key, Source: "cati", StartedAt: started,
		}, nil
	})
	var vf *validationFailed
	switch {
	case err == nil:
		return c.Redirect(http.StatusSeeOther, "/calls?msg=saved")
	case errors.Is(err, errScreenedOut):
		if err := dialer.ScreenOut(ctx, s.db, caseID, user.ID); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/calls?msg=screened")
	case errors.As(err, &vf):
		cs, err := dialer.CaseFor(ctx, s.db, caseID, user.ID)
		if err != nil {
			return err
		}
		ds, err := sampler.ListDistricts(ctx, s.db)
		if err != nil {
			return err
		}
		errs := map[string]survey.Text{}
		for _, fe := range vf.errors {
			errs[fe.Question] = fe.Message
		}
		return s.renderView(c, http.StatusUnprocessableEntity, "interview", &view{
			Title: survey.Text{ZH: "访问问卷", EN: "Interview"},
			Err:   &survey.Text{ZH: "有 " + strconv.Itoa(len(errs)) + " 道题需要改正,已在题目旁标出;答案都还在。", EN: strconv.Itoa(len(errs)) + " questions need attention (marked below); your answers are kept."},
			Data:  interviewData{Case: cs, Q: vf.q, Districts: ds, Answers: ans, Errors: errs, Key: key, Started: form.Get("started")},
		})
	}
	return err
}

// districtSet returns the valid district codes, re-read at most every few
// seconds: they change only when an admin imports districts, and every save
// would otherwise read them.
func (s *Server) districtSet(ctx context.Context) (map[string]bool, error) {
	s.districtsMu.Lock()
	defer s.districtsMu.Unlock()
	if s.districtCodes != nil && time.Since(s.districtsAt) < 5*time.Second {
		return s.districtCodes, nil
	}
	ds, err := sampler.ListDistricts(ctx, s.db)
	if err != nil {
		return nil, err
	}
	s.districtCodes, s.districtsAt = sampler.DistrictSet(ds), time.Now()
	return s.districtCodes, nil
}
