package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/survey"
	"minyi/users"
)

func init() {
	notices["reviewed"] = core.Text{ZH: "复核结果已保存。", EN: "The review is saved."}
	notices["edited"] = core.Text{ZH: "修改已保存，旧值和新值都已记录。", EN: "The change is saved; the old and new values are recorded."}
	notices["corrected"] = core.Text{ZH: "修改已保存，已交回督导复核。", EN: "Your correction is saved and back with the supervisor."}
}

// answerRow is one question of an interview as the review page shows it.
type answerRow struct {
	Q       survey.Question
	Answer  core.Text
	Seconds float64
	Changes int
}

// changeRow is a change to an interview as people read it: what changed,
// named, and its values by their labels.
type changeRow struct {
	survey.Change
	What, Old, New core.Text
	AtMS           int64 // of a change during the interview: after its start
}

// labelChange names a change's field and values: a question by its
// text, its answers by their labels, the review status by its name.
func labelChange(q *survey.Questionnaire, field, old, new string) (what, o, n core.Text) {
	if field == "review_status" {
		return core.Text{ZH: "复核状态", EN: "review status"}, survey.ReviewLabels[old], survey.ReviewLabels[new]
	}
	if qu := q.Question(field); qu != nil {
		what = qu.Text
		if qu.Indicator != nil {
			what = *qu.Indicator
		}
		return what, q.AnswerText(field, old), q.AnswerText(field, new)
	}
	return core.Text{ZH: field, EN: field}, core.Text{ZH: old, EN: old}, core.Text{ZH: new, EN: new}
}

type interviewPage struct {
	IV      *survey.StoredInterview
	Q       *survey.Questionnaire
	Rows    []answerRow
	Changes []changeRow
	// Edits are the paradata's changes of answer during the interview.
	Edits    []changeRow
	Paradata *survey.Paradata
	// The edit form's fields, as the interview form has them.
	Answers   survey.Answers
	Errors    map[string]core.Text
	Districts []sampler.District
	// Reviewer: the signed-in user may decide on the interview; otherwise
	// it is its interviewer correcting it.
	Reviewer bool
	// Recordings of the calls on the interview's case, for reviewers.
	Recordings []dialer.Recording
	// Phone is a telephone interview, whose respondent's agreement to take
	// part is recorded on the case page; Consent is the last answer
	// recorded before it ended, nil when none was: such an interview is
	// flagged here rather than refused at submission, since refusing would
	// throw away what a respondent has already answered, while a reviewer
	// can ask the interviewer and mark it invalid.
	Phone   bool
	Consent *dialer.Consent
}

// viewInterview loads an interview for the signed-in user: supervisors and
// admins see any; an interviewer only their own that was sent back to
// them, and anyone else's id gets 404 so that ids cannot be probed.
func (s *Server) viewInterview(c echo.Context) (*survey.StoredInterview, bool, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return nil, false, echo.NewHTTPError(http.StatusNotFound)
	}
	iv, err := survey.GetInterview(c.Request().Context(), s.db, id)
	if err != nil {
		return nil, false, err
	}
	u := currentUser(c)
	reviewer := u.Role == users.RoleAdmin || u.Role == users.RoleSupervisor
	if !reviewer && (iv.InterviewerID == nil || *iv.InterviewerID != u.ID || iv.ReviewStatus != survey.ReviewReturned) {
		return nil, false, echo.NewHTTPError(http.StatusNotFound)
	}
	return iv, reviewer, nil
}

func (s *Server) interviewPage(c echo.Context) error {
	iv, reviewer, err := s.viewInterview(c)
	if err != nil {
		return err
	}
	return s.showInterview(c, http.StatusOK, iv, reviewer, nil, nil, nil)
}

// showInterview renders the review page; answers and errors, when given,
// refill the edit form after a refused change.
func (s *Server) showInterview(c echo.Context, status int, iv *survey.StoredInterview, reviewer bool, msg *core.Text, answers survey.Answers, errs map[string]core.Text) error {
	ctx := c.Request().Context()
	q, err := s.questionnaireOf(ctx, &dialer.Case{QuestionnaireID: &iv.QuestionnaireID})
	if err != nil {
		return err
	}
	pd, err := survey.GetParadata(ctx, s.db, iv.ID)
	if err != nil {
		return err
	}
	changes, err := survey.InterviewChanges(ctx, s.db, iv.ID)
	if err != nil {
		return err
	}
	ds, err := sampler.ListDistricts(ctx, s.db)
	if err != nil {
		return err
	}
	perQ := map[string]int{}
	var edits []changeRow
	for _, ch := range pd.Changes {
		perQ[ch.Question]++
		w, o, n := labelChange(q, ch.Question, ch.From, ch.To)
		edits = append(edits, changeRow{What: w, Old: o, New: n, AtMS: ch.AtMS})
	}
	var rows2 []changeRow
	for _, ch := range changes {
		w, o, n := labelChange(q, ch.Field, ch.Old, ch.New)
		rows2 = append(rows2, changeRow{Change: ch, What: w, Old: o, New: n})
	}
	var rows []answerRow
	for _, qu := range q.Questions {
		a, ok := iv.Answers[qu.ID]
		if !ok && pd.QuestionMS[qu.ID] == 0 {
			continue
		}
		ans := q.AnswerText(qu.ID, a)
		if qu.Type == survey.TypeDistrict {
			// A district by its name, not its code.
			for _, d := range ds {
				if d.Code == a {
					ans = core.Text{ZH: d.Name, EN: d.Name}
				}
			}
		}
		rows = append(rows, answerRow{Q: qu, Answer: ans, Seconds: float64(pd.QuestionMS[qu.ID]) / 1000, Changes: perQ[qu.ID]})
	}
	if answers == nil {
		answers = iv.Answers
	}
	var recs []dialer.Recording
	if reviewer {
		if recs, err = dialer.RecordingsOfInterview(ctx, s.db, iv.ID); err != nil {
			return err
		}
	}
	d := interviewPage{
		IV: iv, Q: q, Rows: rows, Changes: rows2, Edits: edits, Paradata: pd,
		Answers: answers, Errors: errs, Districts: ds, Reviewer: reviewer, Recordings: recs,
		Phone: iv.Mode == "phone" && iv.CaseID != nil,
	}
	if d.Phone {
		cs, err := dialer.Consents(ctx, s.db, *iv.CaseID)
		if err != nil {
			return err
		}
		for i := range cs {
			if !cs[i].CreatedAt.After(iv.CompletedAt) {
				d.Consent = &cs[i]
			}
		}
	}
	title := core.Text{ZH: "访问 #" + strconv.FormatInt(iv.ID, 10), EN: "Interview #" + strconv.FormatInt(iv.ID, 10)}
	return s.renderView(c, status, "interview_review", &view{Title: title, Err: msg, Data: d})
}

func version(c echo.Context) int {
	v, _ := strconv.Atoi(c.FormValue("version"))
	return v
}

// reviewInterview records a supervisor's decision: approve, send back with
// a note, mark invalid with a reason, or count an invalid one again.
func (s *Server) reviewInterview(c echo.Context) error {
	iv, _, err := s.viewInterview(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	err = survey.ReviewInterview(c.Request().Context(), s.db, iv.ID, version(c), survey.Editor{ID: u.ID, Username: u.Username}, c.FormValue("action"), c.FormValue("note"))
	if de, ok := err.(*core.Error); ok && (de.Code == core.EInvalid || de.Code == core.EConflict) {
		status := http.StatusUnprocessableEntity
		if de.Code == core.EConflict {
			status = http.StatusConflict
		}
		fresh, ferr := survey.GetInterview(c.Request().Context(), s.db, iv.ID)
		if ferr != nil {
			return ferr
		}
		return s.showInterview(c, status, fresh, true, &core.Text{ZH: de.ZH, EN: de.EN}, nil, nil)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/interviews/"+strconv.FormatInt(iv.ID, 10)+"?msg=reviewed")
}

// editInterview changes an interview's answers: a supervisor correcting one,
// or its interviewer answering the note it was sent back with. The form was
// filled from a version of the interview; a change made since by someone
// else is never overwritten unseen.
func (s *Server) editInterview(c echo.Context) error {
	ctx := c.Request().Context()
	iv, reviewer, err := s.viewInterview(c)
	if err != nil {
		return err
	}
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
	val, err := survey.EditAnswers(ctx, s.db, iv.ID, version(c), survey.Editor{ID: u.ID, Username: u.Username}, !reviewer, ans, form.Get("note"), districts)
	if de, ok := err.(*core.Error); ok && (de.Code == core.EInvalid || de.Code == core.EConflict) {
		if de.Code == core.EConflict {
			// Show the newest version, with the edit form filled from it.
			fresh, ferr := survey.GetInterview(ctx, s.db, iv.ID)
			if ferr != nil {
				return ferr
			}
			if !reviewer && fresh.ReviewStatus != survey.ReviewReturned {
				return c.Redirect(http.StatusSeeOther, "/returned")
			}
			return s.showInterview(c, http.StatusConflict, fresh, reviewer, &core.Text{ZH: de.ZH, EN: de.EN}, nil, nil)
		}
		return s.showInterview(c, http.StatusUnprocessableEntity, iv, reviewer, &core.Text{ZH: de.ZH, EN: de.EN}, ans, nil)
	}
	if err != nil {
		return err
	}
	if val != nil {
		errs := fieldErrors(val.Errors)
		return s.showInterview(c, http.StatusUnprocessableEntity, iv, reviewer, &core.Text{
			ZH: "有 " + strconv.Itoa(len(errs)) + " 道题需要改正，已在题目旁标出；没有保存任何修改。",
			EN: strconv.Itoa(len(errs)) + " questions need attention (marked below); nothing was changed."}, ans, errs)
	}
	if !reviewer {
		return c.Redirect(http.StatusSeeOther, "/returned?msg=corrected")
	}
	return c.Redirect(http.StatusSeeOther, "/interviews/"+strconv.FormatInt(iv.ID, 10)+"?msg=edited")
}
