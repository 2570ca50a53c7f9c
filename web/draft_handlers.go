package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/survey"
)

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

// draftData is the form filled from a draft.
func draftData(cs *dialer.Case, q *survey.Questionnaire, ds []sampler.District, d *dialer.Draft) interviewData {
	return interviewData{
		Case: cs, Q: q, Districts: ds, Answers: d.Answers, Key: d.Key,
		Started: d.StartedAt.UTC().Format(time.RFC3339), Version: d.Version, Current: d.Current,
		Paradata: string(d.RawParadata),
	}
}
