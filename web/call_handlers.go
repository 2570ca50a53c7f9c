package web

import (
	"context"
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

func (s *Server) questionnaireOf(ctx context.Context, waveName string) (*survey.Questionnaire, error) {
	w, err := sampler.GetWave(ctx, s.db, waveName)
	if err != nil {
		return nil, err
	}
	if w.QuestionnaireID == nil {
		return nil, survey.Errorf(survey.EInvalid, "轮次 %s 没有问卷", "wave %s has no questionnaire", w.Name)
	}
	return survey.GetQuestionnaire(ctx, s.db, *w.QuestionnaireID)
}

func (s *Server) interviewForm(c echo.Context) error {
	cs, err := s.heldCase(c)
	if err != nil {
		return err
	}
	q, err := s.questionnaireOf(c.Request().Context(), cs.WaveName)
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

func (s *Server) submitInterview(c echo.Context) error {
	ctx := c.Request().Context()
	cs, err := s.heldCase(c)
	if err != nil {
		// A resend of a submission that already closed the case still gets
		// its success answer.
		if id, perr := strconv.ParseInt(c.Param("id"), 10, 64); perr == nil {
			if _, ierr := dialer.InterviewOfCase(ctx, s.db, id, currentUser(c).ID, c.FormValue("key")); ierr == nil {
				return c.Redirect(http.StatusSeeOther, "/calls?msg=saved")
			}
		}
		return err
	}
	q, err := s.questionnaireOf(ctx, cs.WaveName)
	if err != nil {
		return err
	}
	ds, err := sampler.ListDistricts(ctx, s.db)
	if err != nil {
		return err
	}
	ans := survey.Answers{}
	for _, qu := range q.Questions {
		if v := strings.TrimSpace(c.FormValue("q_" + qu.ID)); v != "" {
			ans[qu.ID] = v
		}
	}
	val := q.Validate(ans, sampler.DistrictSet(ds))
	if !val.Eligible {
		if err := dialer.ScreenOut(ctx, s.db, cs.ID, currentUser(c).ID); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/calls?msg=screened")
	}
	key := c.FormValue("key")
	if len(val.Errors) > 0 || key == "" {
		errs := map[string]survey.Text{}
		for _, fe := range val.Errors {
			errs[fe.Question] = fe.Message
		}
		if key == "" {
			key = randomToken()
		}
		return s.renderView(c, http.StatusUnprocessableEntity, "interview", &view{
			Title: survey.Text{ZH: "访问问卷", EN: "Interview"},
			Err:   &survey.Text{ZH: "有 " + strconv.Itoa(len(errs)) + " 道题需要改正,已在题目旁标出;答案都还在。", EN: strconv.Itoa(len(errs)) + " questions need attention (marked below); your answers are kept."},
			Data:  interviewData{Case: cs, Q: q, Districts: ds, Answers: ans, Errors: errs, Key: key, Started: c.FormValue("started")},
		})
	}
	started, _ := time.Parse(time.RFC3339, c.FormValue("started"))
	sex, _ := strconv.Atoi(ans["sex"])
	age, _ := strconv.Atoi(ans["age_group"])
	_, err = dialer.CompleteInterview(ctx, s.db, cs.ID, currentUser(c).ID, survey.Interview{
		WaveID: cs.WaveID, CaseID: cs.ID, QuestionnaireID: q.ID, InterviewerID: currentUser(c).ID,
		District: ans["district"], Mode: "phone", Sex: sex, AgeGroup: age, Answers: ans,
		IdempotencyKey: key, Source: "cati", StartedAt: started,
	})
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/calls?msg=saved")
}
