package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"minyi/survey"
)

// editorForm is the editor's form as a browser would post it.
func editorForm(qs []editQuestion, action string) url.Values {
	f := url.Values{"n": {strconv.Itoa(len(qs))}, "action": {action}}
	for _, e := range qs {
		p := "q" + strconv.Itoa(e.Index) + "_"
		f.Set(p+"orig", e.Orig)
		f.Set(p+"id", e.ID)
		f.Set(p+"section", e.Section)
		f.Set(p+"type", e.Type)
		f.Set(p+"zh", e.ZH)
		f.Set(p+"en", e.EN)
		f.Set(p+"if_q", e.IfQuestion)
		f.Set(p+"if_in", e.IfCodes)
		f.Set(p+"if_json", e.IfJSON)
		f.Set(p+"on", strconv.Itoa(len(e.Options)))
		for j, o := range e.Options {
			op := p + "o" + strconv.Itoa(j) + "_"
			f.Set(op+"code", o.Code)
			f.Set(op+"zh", o.ZH)
			f.Set(op+"en", o.EN)
		}
	}
	return f
}

func findEdit(t *testing.T, qs []editQuestion, id string) *editQuestion {
	for i := range qs {
		if qs[i].ID == id {
			return &qs[i]
		}
	}
	t.Fatalf("no question %s in the editor", id)
	return nil
}

// TestQuestionnaireEditor: an admin adds an answer option and a skip rule
// in the editor, previews and stores them; the result is a new version and
// the version the wave uses is unchanged, even when the post claims to be
// that version. A skip rule on a later question is refused with the
// question named, as an upload would be. Only admins edit, and only with
// the form's CSRF token.
func TestQuestionnaireEditor(t *testing.T) {
	fx := newFixture(t, 0.0001)
	var baseID int64
	var before string
	if err := fx.db.Get(&baseID, `SELECT questionnaire_id FROM waves WHERE name = $1`, fx.wave); err != nil {
		t.Fatal(err)
	}
	fx.db.Get(&before, `SELECT definition FROM questionnaires WHERE id = $1`, baseID)
	path := "/questionnaires/" + strconv.FormatInt(baseID, 10) + "/edit"
	base, err := survey.ParseQuestionnaire([]byte(before))
	if err != nil {
		t.Fatal(err)
	}
	var versionsBefore int
	fx.db.Get(&versionsBefore, `SELECT count(*) FROM questionnaires WHERE name = $1`, base.Name)
	admin := fx.signIn(t, "admin")
	if page := admin.get(path); !strings.Contains(page, `id="editor"`) || !strings.Contains(page, "已被轮次使用") {
		t.Fatalf("the editor:\n%.2000s", page)
	}

	qs := editQuestions(base)
	heard := &qs[len(qs)-1] // the blank question at the end adds one
	heard.ID, heard.ZH, heard.EN = "heard", "您听说过本区县今年的民生实事吗？", "Have you heard of the district's projects this year?"
	heard.Options = []editOption{{Code: "1", ZH: "听说过", EN: "yes"}, {Code: "2", ZH: "没听说过", EN: "no"}, {Code: "8", ZH: "记不清", EN: "can't remember"}, {}}
	heard.IfQuestion, heard.IfCodes = "q01", "1，2"
	res := admin.post(path, editorForm(qs, "preview"))
	page := readAll(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `id="preview-heading"`) || !strings.Contains(page, `id="q_heard_8"`) ||
		!strings.Contains(page, "记不清") || !strings.Contains(page, `data-show-if=`) {
		t.Fatalf("preview: %d\n%.3000s", res.StatusCode, page)
	}
	var versions int
	fx.db.Get(&versions, `SELECT count(*) FROM questionnaires WHERE name = $1`, base.Name)
	if versions != versionsBefore {
		t.Fatalf("a preview stored a version (%d versions)", versions)
	}

	// A bad skip rule: sex asked only after urban, which comes later.
	bad := editQuestions(base)
	findEdit(t, bad, "sex").IfQuestion, findEdit(t, bad, "sex").IfCodes = "urban", "1"
	res = admin.post(path, editorForm(bad, "save"))
	if page := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "第 17 题（sex）：条件只能引用前面的题目") {
		t.Fatalf("a skip rule on a later question: %d\n%.3000s", res.StatusCode, page)
	}

	// Stored: a new version, even when the post names the version it edits.
	form := editorForm(qs, "save")
	form.Set("version", strconv.Itoa(base.Version))
	res = admin.post(path, form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "?upload=stored") || loc == "/questionnaires/"+strconv.FormatInt(baseID, 10)+"?upload=stored" {
		t.Fatalf("save: %d %s", res.StatusCode, loc)
	}
	var after string
	fx.db.Get(&after, `SELECT definition FROM questionnaires WHERE id = $1`, baseID)
	if after != before {
		t.Fatal("the version the wave uses changed")
	}
	var newDef string
	fx.db.Get(&newDef, `SELECT definition FROM questionnaires WHERE name = $1 AND version = $2`, base.Name, base.Version+1)
	nq, err := survey.ParseQuestionnaire([]byte(newDef))
	if err != nil {
		t.Fatal(err)
	}
	h := nq.Question("heard")
	if h == nil || len(h.Options) != 3 || h.Options[2].Label.ZH != "记不清" || h.ShowIf == nil || h.ShowIf.Question != "q01" || len(h.ShowIf.In) != 2 {
		t.Fatalf("the new version's added question: %+v", h)
	}
	if nq.Question("q01").Indicator == nil || len(nq.Points) != len(base.Points) {
		t.Fatal("what the editor does not show did not come over")
	}
	var audited int
	fx.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'questionnaire-edit' AND actor = 'admin'`)
	if audited != 1 {
		t.Fatalf("the edit was audited %d times", audited)
	}

	// The used version cannot be overwritten through the upload either.
	nq.Version = base.Version
	if _, err := survey.UploadQuestionnaire(t.Context(), fx.db, nq, 0); err == nil {
		t.Fatal("a used version was overwritten")
	}

	// Attackers.
	for _, who := range []string{"supervisor", "interviewer"} {
		c := fx.signIn(t, who)
		if res := c.do("GET", path, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s opens the editor: %d", who, res.StatusCode)
		}
		if res := c.post(path, editorForm(qs, "save")); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s stores an edit: %d", who, res.StatusCode)
		}
	}
	noToken := editorForm(qs, "save")
	noToken.Set("csrf", "forged")
	if res := admin.post(path, noToken); res.StatusCode != http.StatusForbidden {
		t.Errorf("an edit without the CSRF token: %d", res.StatusCode)
	}
	fx.db.Get(&versions, `SELECT count(*) FROM questionnaires WHERE name = $1`, base.Name)
	if versions != versionsBefore+1 {
		t.Fatalf("%d versions after the attacks, want %d", versions, versionsBefore+1)
	}
}

// TestEditorSetsTheConsentScript: the introduction and the consent script
// are edited with the questions, checked like an upload (the Chinese may
// not be empty), and the new version's script is what its case pages read.
func TestEditorSetsTheConsentScript(t *testing.T) {
	fx := newFixture(t, 0.0001)
	var baseID int64
	if err := fx.db.Get(&baseID, `SELECT questionnaire_id FROM waves WHERE name = $1`, fx.wave); err != nil {
		t.Fatal(err)
	}
	var def string
	fx.db.Get(&def, `SELECT definition FROM questionnaires WHERE id = $1`, baseID)
	base, err := survey.ParseQuestionnaire([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	path := "/questionnaires/" + strconv.FormatInt(baseID, 10) + "/edit"
	admin := fx.signIn(t, "admin")
	if page := admin.get(path); !strings.Contains(page, `id="consent_zh"`) || !strings.Contains(page, base.Introduction.ZH) {
		t.Fatalf("the editor does not offer the script:\n%.2000s", page)
	}
	form := editorForm(editQuestions(base), "save")
	form.Set("intro_zh", "您好，我是区民意调查中心的访员小李。")
	form.Set("intro_en", "Hello, this is Li from the district's opinion poll centre.")
	form.Set("consent_zh", "")
	form.Set("consent_en", "May I ask you a few questions?")
	if res := admin.post(path, form); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an English consent without the Chinese: %d", res.StatusCode)
	} else if body := readAll(res); !strings.Contains(body, "知情同意（中文）：文字为空") {
		t.Errorf("the problem does not name the field:\n%s", body)
	}
	form.Set("consent_zh", "可以耽误您五分钟，问几个问题吗？")
	res := admin.post(path, form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", res.StatusCode, readAll(res))
	}
	var newDef string
	fx.db.Get(&newDef, `SELECT definition FROM questionnaires WHERE name = $1 AND version = $2`, base.Name, base.Version+1)
	nq, err := survey.ParseQuestionnaire([]byte(newDef))
	if err != nil {
		t.Fatal(err)
	}
	if nq.Introduction.ZH != "您好，我是区民意调查中心的访员小李。" || nq.ConsentScript().ZH != "可以耽误您五分钟，问几个问题吗？" || nq.Consent.EN != "May I ask you a few questions?" {
		t.Fatalf("the new version's script: %+v %+v", nq.Introduction, nq.Consent)
	}
	// The wave collects with the new version: its case pages read it.
	fx.db.MustExec(`UPDATE waves SET questionnaire_id = (SELECT id FROM questionnaires WHERE name = $1 AND version = $2) WHERE name = $3`, base.Name, base.Version+1, fx.wave)
	iv := fx.signIn(t, "interviewer")
	id := iv.nextCase()
	if page := iv.get("/cases/" + id); !strings.Contains(page, "可以耽误您五分钟，问几个问题吗？") || !strings.Contains(page, "访员小李") {
		t.Fatal("the case page does not read the wave's questionnaire's script")
	}
}
