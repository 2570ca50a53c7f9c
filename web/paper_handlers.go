package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/door"
	"minyi/sampler"
	"minyi/survey"
	"minyi/users"
)

func init() {
	notices["paper1"] = core.Text{ZH: "第一次录入已保存；这份问卷还需另一位录入员独立录入一次。", EN: "First keying saved; another operator must now key this form independently."}
	notices["paper2"] = core.Text{ZH: "两次录入一致，访问已入库。", EN: "Both keyings agree; the interview is stored."}
	notices["papermismatch"] = core.Text{ZH: "两次录入不一致，已交督导裁定；裁定前不计入结果。", EN: "The keyings differ; a supervisor will decide. Until then the form counts nowhere."}
	notices["paperresolved"] = core.Text{ZH: "已按裁定入库。", EN: "Decided and stored."}
}

type paperData struct {
	// Number is the form number as typed; Form its issued form, once it is
	// found.
	Number string
	Form   *door.IssuedForm
	Forms  []survey.PaperForm
	// The keying form, once an issued number is chosen.
	Q         *survey.Questionnaire
	Answers   survey.Answers
	Errors    map[string]core.Text
	Districts []sampler.District
}

// paper is the keyed-entry page: type the number printed on the form (from
// the interviewer's visit sheet), check the household it names, then key
// the form with the same keyboard form as a telephone interview.
func (s *Server) paper(c echo.Context) error {
	return s.showPaper(c, http.StatusOK, nil, nil, nil)
}

func (s *Server) showPaper(c echo.Context, status int, msg *core.Text, answers survey.Answers, errs map[string]core.Text) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	d := paperData{Number: strings.TrimSpace(c.FormValue("number")), Answers: answers, Errors: errs}
	var mine int64
	if u.Role != users.RoleAdmin && u.Role != users.RoleSupervisor {
		mine = u.ID
	}
	var err error
	if d.Forms, err = survey.PaperForms(ctx, s.db, mine); err != nil {
		return err
	}
	if d.Number != "" {
		d.Form, err = door.LookupForm(ctx, s.db, d.Number)
		var de *core.Error
		switch {
		case errors.As(err, &de) && de.Code == core.EInvalid:
			// A number no sheet carried: say so, and offer no form to key.
			if msg == nil {
				msg, status = &core.Text{ZH: de.ZH, EN: de.EN}, http.StatusUnprocessableEntity
			}
		case err != nil:
			return err
		default:
			d.Number = d.Form.Number
			if _, d.Q, err = survey.WaveQuestionnaire(ctx, s.db, d.Form.WaveName); err != nil {
				return err
			}
			if d.Districts, err = sampler.ListDistricts(ctx, s.db); err != nil {
				return err
			}
			if d.Answers == nil {
				d.Answers = survey.Answers{}
			}
		}
	}
	return s.renderView(c, status, "paper", &view{Title: core.Text{ZH: "纸质问卷双录入", EN: "Paper forms: double entry"}, Err: msg, Data: d})
}

// keyPaper stores one keying of a paper form.
func (s *Server) keyPaper(c echo.Context) error {
	ctx := c.Request().Context()
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	ans := formAnswers(form)
	districts, err := s.districtSet(ctx)
	if err != nil {
		return err
	}
	u := currentUser(c)
	res, val, err := door.KeyPaperForm(ctx, s.db, strings.TrimSpace(form.Get("number")), survey.Editor{ID: u.ID, Username: u.Username}, ans, districts)
	if de, ok := err.(*core.Error); ok && (de.Code == core.EInvalid || de.Code == core.EConflict) {
		status := http.StatusUnprocessableEntity
		if de.Code == core.EConflict {
			status = http.StatusConflict
		}
		return s.showPaper(c, status, &core.Text{ZH: de.ZH, EN: de.EN}, ans, nil)
	}
	if err != nil {
		return err
	}
	if val != nil {
		errs := fieldErrors(val.Errors)
		return s.showPaper(c, http.StatusUnprocessableEntity, &core.Text{
			ZH: "有 " + strconv.Itoa(len(errs)) + " 道题需要改正，已在题目旁标出；没有保存。",
			EN: strconv.Itoa(len(errs)) + " questions need attention (marked below); nothing was saved."}, ans, errs)
	}
	msg := map[string]string{survey.PaperEntering: "paper1", survey.PaperAccepted: "paper2", survey.PaperMismatch: "papermismatch"}[res.Status]
	return c.Redirect(http.StatusSeeOther, "/paper?msg="+msg)
}

type paperDiff struct {
	Q      survey.Question
	Values [2]string
	Labels [2]core.Text
}

// paperForm shows a supervisor both keyings of a form, differences first.
func (s *Server) paperForm(c echo.Context) error {
	return s.showPaperForm(c, http.StatusOK, nil)
}

func (s *Server) showPaperForm(c echo.Context, status int, msg *core.Text) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	f, err := survey.GetPaperForm(ctx, s.db, id)
	if err != nil {
		return err
	}
	_, q, err := survey.WaveQuestionnaire(ctx, s.db, f.WaveName)
	if err != nil {
		return err
	}
	var diffs []paperDiff
	for _, qid := range f.Differences(q) {
		d := paperDiff{Q: *q.Question(qid)}
		for i := 0; i < 2; i++ {
			d.Values[i] = f.Entries[i].Answers[qid]
			d.Labels[i] = q.AnswerText(qid, d.Values[i])
		}
		diffs = append(diffs, d)
	}
	return s.renderView(c, status, "paper_form", &view{
		Title: core.Text{ZH: "纸质问卷 " + f.Number, EN: "Paper form " + f.Number}, Err: msg,
		Data: map[string]any{"Form": f, "Diffs": diffs},
	})
}

// resolvePaper stores a form whose keyings differ, as the supervisor chose.
func (s *Server) resolvePaper(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	chosen := map[string]string{}
	for k, v := range form {
		if qid, ok := strings.CutPrefix(k, "choose_"); ok && len(v) > 0 {
			chosen[qid] = v[0]
		}
	}
	districts, err := s.districtSet(ctx)
	if err != nil {
		return err
	}
	u := currentUser(c)
	_, val, err := door.ResolvePaperForm(ctx, s.db, id, survey.Editor{ID: u.ID, Username: u.Username}, chosen, districts)
	if de, ok := err.(*core.Error); ok && (de.Code == core.EInvalid || de.Code == core.EConflict) {
		return s.showPaperForm(c, http.StatusUnprocessableEntity, &core.Text{ZH: de.ZH, EN: de.EN})
	}
	if err != nil {
		return err
	}
	if val != nil {
		var parts []string
		for _, fe := range val.Errors {
			parts = append(parts, fe.Question+": "+fe.Message.ZH)
		}
		return s.showPaperForm(c, http.StatusUnprocessableEntity, &core.Text{
			ZH: "所选答案不能通过检查：" + strings.Join(parts, ";"), EN: "the chosen answers do not pass the checks: " + strings.Join(parts, "; ")})
	}
	return c.Redirect(http.StatusSeeOther, "/paper?msg=paperresolved")
}
