package web

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"testing"

	"minyi/core"
	"minyi/dialer"
	"minyi/survey"
	"minyi/users"
)

func TestQuestionnaireUploadPreviewDownload(t *testing.T) {
	fx := newFixture(t, 0)
	admin := fx.signIn(t, "admin")
	count := func() int {
		var n int
		if err := fx.db.Get(&n, `SELECT count(*) FROM questionnaires`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()

	page := admin.get("/questionnaires")
	if !strings.Contains(page, `id="upload-questionnaire"`) || !strings.Contains(page, "default") {
		t.Fatal("list lacks the upload form or the default version")
	}

	// A bad definition: every problem on the page, status 422, nothing stored.
	bad := strings.Replace(string(survey.Default().Canonical()), `"type": "district"`, `"type": "map"`, 1)
	bad = strings.Replace(bad, `"code": 9,`, `"code": 8,`, 1)
	res, page := admin.upload("/questionnaires", bad)
	// The format's keys are marked as code.
	page = strings.NewReplacer("<code>", "", "</code>", "").Replace(html.UnescapeString(page))
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad upload: %d", res.StatusCode)
	}
	for _, want := range []string{`questions[2].type`, `未知的题型 "map"`, `questions[3].options[6].code`, "重复的代码 8", `id="problems"`, "未保存任何内容"} {
		if !strings.Contains(page, want) {
			t.Errorf("bad upload page lacks %q", want)
		}
	}
	if res, page := admin.upload("/questionnaires", "{not json"); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "第 1 行") {
		t.Errorf("not JSON: %d", res.StatusCode)
	}
	if count() != before {
		t.Fatal("a bad upload stored something")
	}

	// A new version: the definition without a version number gets the next.
	q := survey.Default()
	q.Version = 0
	q.Questions = append(q.Questions, survey.Question{ID: "comment", Section: survey.SectionOther, Type: survey.TypeText,
		Text: core.Text{ZH: "您还有什么意见?", EN: "Anything else to tell us?"}, Optional: true, MaxLength: 200,
		ShowIf: &survey.Condition{Any: []survey.Condition{{Question: "q13", In: []survey.Value{"4", "5"}}, {Question: "q12", In: []survey.Value{"5"}}}}})
	def := string(q.Canonical())
	res, _ = admin.upload("/questionnaires", def)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "?upload=stored") {
		t.Fatalf("upload: %d %s", res.StatusCode, loc)
	}
	preview := html.UnescapeString(admin.get(loc))
	for _, want := range []string{"第 3 版", "您还有什么意见?", "Anything else to tell us?", "您对本区县近一年来家庭收入的情况满意吗？", "household income",
		"仅当以下条件成立时提问", "q13 的回答为 4、5 或 q12 的回答为 5", "结束访问：不符合条件（4.70）", `id="download-definition"`, "已保存为 default 第 3 版"} {
		if !strings.Contains(preview, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if count() != before+1 {
		t.Fatal("the new version was not stored")
	}
	// The same again stores nothing and says so.
	res, _ = admin.upload("/questionnaires", def)
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "?upload=unchanged") || count() != before+1 {
		t.Fatalf("identical upload: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// Version 3 with other content: refused.
	q.Version, q.Title.ZH = 3, "改过的标题"
	res, page = admin.upload("/questionnaires", string(q.Canonical()))
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "作为新版本上传") || count() != before+1 {
		t.Fatalf("changed version 3: %d", res.StatusCode)
	}

	// Download: the stored form, as an attachment, that reads back the same.
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/questionnaires/"), "?upload=stored")
	res = admin.do("GET", "/questionnaires/"+id+"/definition.json", nil)
	body := readAll(res)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Disposition") != `attachment; filename="default-v3.json"` || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("download: %d %v", res.StatusCode, res.Header)
	}
	got, err := survey.ParseQuestionnaire([]byte(body))
	if err != nil || got.Version != 3 || got.Question("comment") == nil {
		t.Fatalf("downloaded definition: %v", err)
	}

	// A supervisor previews but neither uploads nor downloads.
	sup := fx.signIn(t, "supervisor")
	if page := sup.get("/questionnaires/" + id); !strings.Contains(page, "comment") || strings.Contains(page, "download-definition") {
		t.Error("supervisor preview")
	}
	if res := sup.do("GET", "/questionnaires/"+id+"/definition.json", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("supervisor download: %d", res.StatusCode)
	}
	if res, _ := sup.upload("/questionnaires", def); res.StatusCode != http.StatusForbidden {
		t.Errorf("supervisor upload: %d", res.StatusCode)
	}
	if res := admin.do("GET", "/questionnaires/999999", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("missing version: %d", res.StatusCode)
	}
}

// TestInterviewFormRendersEveryType renders the interview page of a
// questionnaire with every question type and a condition.
func TestInterviewFormRendersEveryType(t *testing.T) {
	p, err := loadPages()
	if err != nil {
		t.Fatal(err)
	}
	min, max := survey.Limit{Num: 1}, survey.Limit{Num: 20}
	q := survey.Default()
	q.Questions = append(q.Questions,
		survey.Question{ID: "media", Section: survey.SectionOther, Type: survey.TypeMultiple, Text: core.Text{ZH: "您从哪里了解政务信息?"},
			Options: []survey.Option{{Code: 1, Label: core.Text{ZH: "电视"}}, {Code: 2, Label: core.Text{ZH: "网络"}}}},
		survey.Question{ID: "people", Section: survey.SectionOther, Type: survey.TypeNumber, Text: core.Text{ZH: "家里几口人?"}, Min: &min, Max: &max},
		survey.Question{ID: "moved", Section: survey.SectionOther, Type: survey.TypeDate, Text: core.Text{ZH: "哪天搬来的?"},
			ShowIf: &survey.Condition{Question: "people", Min: &min}},
		survey.Question{ID: "comment", Section: survey.SectionOther, Type: survey.TypeText, Text: core.Text{ZH: "意见"}, Optional: true, MaxLength: 50})
	b, _ := json.Marshal(q)
	if _, err := survey.ParseQuestionnaire(b); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	v := &view{Lang: "zh", User: &users.User{}, Title: core.Text{ZH: "访问问卷"}, Data: interviewData{
		Case: &dialer.Case{ID: 7}, Q: q, Answers: survey.Answers{"media_2": "2", "people": "3", "comment": "<好>"},
		Errors: map[string]core.Text{"people": {ZH: "请填写 1–20 之间的数", EN: "enter a number within 1–20"}},
	}}
	if err := p.set["interview"].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`type="checkbox" name="q_media_1" value="1" id="q_media_1">`, `name="q_media_2" value="2" id="q_media_2" checked>`,
		`type="number" name="q_people" id="q_people" value="3" step="1" min="1" max="20"`, `请填写 1–20 之间的数`,
		`type="date" name="q_moved" id="q_moved"`, `data-show-if="{&#34;question&#34;:&#34;people&#34;,&#34;min&#34;:1}"`, "people ≥ 1",
		`<textarea name="q_comment" id="q_comment" rows="3" maxlength="50">&lt;好&gt;</textarea>`,
		`id="q_urban_1"`, `id="q_s1_1"`, `id="q_district"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("interview form lacks %s", want)
		}
	}
}
