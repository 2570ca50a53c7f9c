package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/sampler"
	"minyi/survey"
)

// The questionnaire editor changes a stored version's questions, answer
// options and skip rules in the browser. What it makes is checked exactly
// like an uploaded definition (survey.ParseQuestionnaire on the same JSON)
// and stored as the next version: stored versions never change, so a
// version that waves or interviews use stays as it was. Everything the
// editor does not show (score map, screener codes, ranges, notes) comes
// over from the version being edited, question by question.

// editOption is one answer option row; a blank row adds an option.
type editOption struct {
	Code, ZH, EN string
}

// editQuestion is one question as the editor's form holds it.
type editQuestion struct {
	Index                 int
	ID, Orig              string // Orig: the id in the version edited, "" for a new question
	Section, Type, ZH, EN string
	Options               []editOption
	Delete                bool
	IfQuestion, IfCodes   string // a skip rule on one earlier question's codes
	IfJSON                string // any other condition, as in the definition file
}

type editorData struct {
	Info      survey.QuestionnaireInfo
	Script    editScript
	Questions []editQuestion
	IDs       []string
	Sections  []string
	Types     []string
	Problems  []core.Text
	// Preview is the edited questionnaire as an interviewer sees it, in
	// the view the interview form's "questions" template takes.
	Preview *view
}

// editScript is what the interviewer reads when someone answers: the
// introduction and the consent script, in both languages.
type editScript struct {
	IntroZH, IntroEN, ConsentZH, ConsentEN string
}

func scriptOf(q *survey.Questionnaire) editScript {
	return editScript{IntroZH: q.Introduction.ZH, IntroEN: q.Introduction.EN, ConsentZH: q.Consent.ZH, ConsentEN: q.Consent.EN}
}

// scriptFromForm reads the script's fields; a form without them (posted
// by a page from before they were there) leaves base's as they are.
func scriptFromForm(f url.Values, base *survey.Questionnaire) editScript {
	sc := scriptOf(base)
	for k, dst := range map[string]*string{"intro_zh": &sc.IntroZH, "intro_en": &sc.IntroEN, "consent_zh": &sc.ConsentZH, "consent_en": &sc.ConsentEN} {
		if _, ok := f[k]; ok {
			*dst = strings.TrimSpace(f.Get(k))
		}
	}
	return sc
}

// previewData is what the interview form's "questions" template needs.
type previewData struct {
	Q         *survey.Questionnaire
	Districts []sampler.District
	Answers   survey.Answers
	Errors    map[string]core.Text
}

var (
	editSections = []string{survey.SectionScreener, survey.SectionIndicator, survey.SectionDemographic, survey.SectionOther}
	editTypes    = []string{survey.TypeSingle, survey.TypeMultiple, survey.TypeNumber, survey.TypeDate, survey.TypeText, survey.TypeDistrict}
)

// editQuestions is a version's questions in the editor, with a blank
// question at the end to add one.
func editQuestions(q *survey.Questionnaire) []editQuestion {
	var out []editQuestion
	for i, qu := range q.Questions {
		e := editQuestion{Index: i, ID: qu.ID, Orig: qu.ID, Section: qu.Section, Type: qu.Type, ZH: qu.Text.ZH, EN: qu.Text.EN}
		for _, o := range qu.Options {
			e.Options = append(e.Options, editOption{Code: strconv.Itoa(o.Code), ZH: o.Label.ZH, EN: o.Label.EN})
		}
		e.Options = append(e.Options, editOption{})
		if c := qu.ShowIf; c != nil {
			if c.Question != "" && len(c.In) > 0 && c.Min == nil && c.Max == nil {
				e.IfQuestion = c.Question
				codes := make([]string, len(c.In))
				for j, v := range c.In {
					codes[j] = string(v)
				}
				e.IfCodes = strings.Join(codes, ",")
			} else {
				e.IfJSON = qu.ShowIfJSON()
			}
		}
		out = append(out, e)
	}
	return append(out, editQuestion{Index: len(out), Section: survey.SectionOther, Type: survey.TypeSingle, Options: []editOption{{}}})
}

// editQuestionsFromForm reads the editor's form back. Every question keeps
// a blank option row, and a question with content gets a blank question
// after the last, so that the page shown again can always add one.
func editQuestionsFromForm(f url.Values) []editQuestion {
	n, _ := strconv.Atoi(f.Get("n"))
	n = min(max(n, 0), 500)
	var out []editQuestion
	for i := 0; i < n; i++ {
		p := "q" + strconv.Itoa(i) + "_"
		e := editQuestion{ID: strings.TrimSpace(f.Get(p + "id")), Orig: f.Get(p + "orig"), Section: f.Get(p + "section"), Type: f.Get(p + "type"),
			ZH: strings.TrimSpace(f.Get(p + "zh")), EN: strings.TrimSpace(f.Get(p + "en")), Delete: f.Get(p+"delete") != "",
			IfQuestion: f.Get(p + "if_q"), IfCodes: strings.TrimSpace(f.Get(p + "if_in")), IfJSON: strings.TrimSpace(f.Get(p + "if_json"))}
		on, _ := strconv.Atoi(f.Get(p + "on"))
		for j := 0; j < min(max(on, 0), 200); j++ {
			op := p + "o" + strconv.Itoa(j) + "_"
			o := editOption{Code: strings.TrimSpace(f.Get(op + "code")), ZH: strings.TrimSpace(f.Get(op + "zh")), EN: strings.TrimSpace(f.Get(op + "en"))}
			if o != (editOption{}) {
				e.Options = append(e.Options, o)
			}
		}
		e.Options = append(e.Options, editOption{})
		if e.Orig == "" && e.ID == "" && e.ZH == "" && e.EN == "" && len(e.Options) == 1 {
			continue // the blank question left blank
		}
		e.Index = len(out)
		out = append(out, e)
	}
	return append(out, editQuestion{Index: len(out), Section: survey.SectionOther, Type: survey.TypeSingle, Options: []editOption{{}}})
}

var codeSep = regexp.MustCompile(`[\s,，、]+`)

// edited builds the definition the form describes on top of base. Input
// that cannot even be put into the definition (a code that is not a
// number, a condition that is not JSON) is reported with the question.
func edited(base *survey.Questionnaire, sc editScript, qs []editQuestion) (*survey.Questionnaire, []core.Text) {
	q := *base
	q.ID, q.Version, q.Questions = 0, 0, nil
	q.Introduction = core.Text{ZH: sc.IntroZH, EN: sc.IntroEN}
	q.Consent = core.Text{ZH: sc.ConsentZH, EN: sc.ConsentEN}
	var probs []core.Text
	for _, e := range qs {
		if e.Delete || (e.Orig == "" && e.ID == "" && e.ZH == "" && e.EN == "" && len(e.Options) <= 1) {
			continue
		}
		var qu survey.Question
		if old := base.Question(e.Orig); old != nil {
			qu = *old
		}
		qu.ID, qu.Section, qu.Type, qu.Text = e.ID, e.Section, e.Type, core.Text{ZH: e.ZH, EN: e.EN}
		name := questionName(len(q.Questions), e.ID)
		qu.Options = nil
		for _, o := range e.Options {
			if o == (editOption{}) {
				continue
			}
			code, err := strconv.Atoi(o.Code)
			if err != nil {
				probs = append(probs, core.Text{ZH: name.ZH + "：选项代码“" + o.Code + "”须为整数", EN: name.EN + ": the option code " + strconv.Quote(o.Code) + " must be a whole number"})
				continue
			}
			qu.Options = append(qu.Options, survey.Option{Code: code, Label: core.Text{ZH: o.ZH, EN: o.EN}})
		}
		qu.ShowIf = nil
		switch {
		case e.IfQuestion != "":
			c := &survey.Condition{Question: e.IfQuestion}
			for _, v := range codeSep.Split(e.IfCodes, -1) {
				if v != "" {
					c.In = append(c.In, survey.Value(v))
				}
			}
			qu.ShowIf = c
		case e.IfJSON != "":
			var c survey.Condition
			if err := json.Unmarshal([]byte(e.IfJSON), &c); err != nil {
				probs = append(probs, core.Text{ZH: name.ZH + "：跳题条件不是有效的定义（JSON）", EN: name.EN + ": the skip rule is not a valid definition (JSON)"})
			} else {
				qu.ShowIf = &c
			}
		}
		q.Questions = append(q.Questions, qu)
	}
	return &q, probs
}

// questionName names a question for a person: 第 3 题（s1）.
func questionName(i int, id string) core.Text {
	t := core.Text{ZH: fmt.Sprintf("第 %d 题", i+1), EN: fmt.Sprintf("question %d", i+1)}
	if id != "" {
		t.ZH += "（" + id + "）"
		t.EN += " (" + id + ")"
	}
	return t
}

var problemPath = regexp.MustCompile(`^questions\[(\d+)\]`)

// scriptFieldNames name the script's fields as the editor labels them, so
// a problem in one says which ("the text is empty" alone does not).
var scriptFieldNames = map[string]core.Text{
	"introduction.zh": {ZH: "开场白（中文）", EN: "Introduction (Chinese)"},
	"consent.zh":      {ZH: "知情同意（中文）", EN: "Consent question (Chinese)"},
}

// checkEdited checks the edited definition exactly as an upload is
// checked: the same JSON through survey.ParseQuestionnaire. Problems
// inside a question name it.
func checkEdited(q *survey.Questionnaire) (*survey.Questionnaire, []core.Text, error) {
	b, err := json.Marshal(q)
	if err != nil {
		return nil, nil, err
	}
	checked, err := survey.ParseQuestionnaire(b)
	de, ok := survey.AsDefinitionError(err)
	if !ok {
		return checked, nil, err
	}
	var out []core.Text
	for _, p := range de.Problems {
		t := p.Message
		if m := problemPath.FindStringSubmatch(p.Path); m != nil {
			i, _ := strconv.Atoi(m[1])
			id := ""
			if i < len(q.Questions) {
				id = q.Questions[i].ID
			}
			name := questionName(i, id)
			t = core.Text{ZH: name.ZH + "：" + t.ZH, EN: name.EN + ": " + t.EN}
		} else if name, ok := scriptFieldNames[p.Path]; ok {
			t = core.Text{ZH: name.ZH + "：" + t.ZH, EN: name.EN + ": " + t.EN}
		}
		out = append(out, t)
	}
	return nil, out, nil
}

func (s *Server) showEditor(c echo.Context, status int, info survey.QuestionnaireInfo, sc editScript, qs []editQuestion, probs []core.Text, preview *survey.Questionnaire) error {
	d := editorData{Info: info, Script: sc, Questions: qs, Sections: editSections, Types: editTypes, Problems: probs}
	for _, e := range qs {
		if e.ID != "" {
			d.IDs = append(d.IDs, e.ID)
		}
	}
	if preview != nil {
		ds, err := sampler.ListDistricts(c.Request().Context(), s.db)
		if err != nil {
			return err
		}
		d.Preview = &view{Lang: lang(c), Data: previewData{Q: preview, Districts: ds, Answers: survey.Answers{}, Errors: map[string]core.Text{}}}
	}
	var errText *core.Text
	if len(probs) > 0 {
		n := strconv.Itoa(len(probs))
		errText = &core.Text{ZH: "问卷有 " + n + " 处错误，未保存；请改正下列各处。", EN: "The questionnaire has " + n + " problems and was not stored; fix each one listed."}
	}
	return s.renderView(c, status, "questionnaire_edit", &view{
		Title: core.Text{ZH: fmt.Sprintf("编辑问卷：%s 第 %d 版", info.Name, info.Version), EN: fmt.Sprintf("Edit questionnaire: %s version %d", info.Name, info.Version)},
		Err:   errText, Data: d,
	})
}

// questionnaireEditor shows a version in the editor.
func (s *Server) questionnaireEditor(c echo.Context) error {
	q, info, err := s.storedQuestionnaire(c)
	if err != nil {
		return err
	}
	return s.showEditor(c, http.StatusOK, info, scriptOf(q), editQuestions(q), nil, nil)
}

// saveQuestionnaireEdit previews or stores the edited questionnaire. It is
// stored as the next version of the name whatever the form says, so no
// post can change a stored version.
func (s *Server) saveQuestionnaireEdit(c echo.Context) error {
	base, info, err := s.storedQuestionnaire(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	qs, sc := editQuestionsFromForm(form), scriptFromForm(form, base)
	q, probs := edited(base, sc, qs)
	checked, more, err := checkEdited(q)
	if err != nil {
		return err
	}
	if probs = append(probs, more...); len(probs) > 0 {
		return s.showEditor(c, http.StatusUnprocessableEntity, info, sc, qs, probs, nil)
	}
	if form.Get("action") != "save" {
		return s.showEditor(c, http.StatusOK, info, sc, qs, nil, checked)
	}
	u := currentUser(c)
	res, err := survey.UploadQuestionnaire(c.Request().Context(), s.db, checked, u.ID)
	if err != nil {
		return err
	}
	outcome := "unchanged"
	if res.Created {
		outcome = "stored"
		if err := core.AuditNow(c.Request().Context(), s.db, core.AuditEntry{ActorID: u.ID, Actor: u.Username, Action: "questionnaire-edit",
			Subject: fmt.Sprintf("%s v%d", res.Questionnaire.Name, res.Questionnaire.Version),
			Details: map[string]any{"from_version": base.Version, "from_id": base.ID, "id": res.Questionnaire.ID}}); err != nil {
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, "/questionnaires/"+strconv.FormatInt(res.Questionnaire.ID, 10)+"?upload="+outcome)
}
