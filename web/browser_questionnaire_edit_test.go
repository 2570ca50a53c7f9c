package web

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserQuestionnaireEditor: in a real Chromium an admin adds a
// question to the wave's questionnaire, gives it a second answer option
// and a skip rule, and previews it as an interviewer sees it (asked only
// after a satisfied answer to q01); stores it as a new version; then,
// editing that version, a skip rule on a later question is refused with
// the question named.
func TestBrowserQuestionnaireEditor(t *testing.T) {
	fx := newFixture(t, 0.0001)
	var baseID int64
	var baseVersion, versionsBefore int
	if err := fx.db.Get(&baseID, `SELECT questionnaire_id FROM waves WHERE name = $1`, fx.wave); err != nil {
		t.Fatal(err)
	}
	fx.db.Get(&baseVersion, `SELECT version FROM questionnaires WHERE id = $1`, baseID)
	fx.db.Get(&versionsBefore, `SELECT count(*) FROM questionnaires`)
	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	var hiddenBefore, hiddenAfter bool
	mustRun(t, ctx, signInBrowser(base, "admin"),
		chromedp.Navigate(base+"/questionnaires/"+strconv.FormatInt(baseID, 10)+"/edit"),
		chromedp.WaitVisible("#editor", chromedp.ByID),
		chromedp.SendKeys("#q19_id", "heard", chromedp.ByID),
		chromedp.SendKeys("#q19_zh", "您听说过本区县今年的民生实事吗？", chromedp.ByID),
		chromedp.SendKeys("#q19_en", "Have you heard of the district's projects this year?", chromedp.ByID),
		chromedp.SendKeys(`input[name=q19_o0_code]`, "1", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=q19_o0_zh]`, "听说过", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=q19_o0_en]`, "yes", chromedp.ByQuery),
		chromedp.Click("#editor-preview", chromedp.ByID),
		chromedp.WaitVisible("#preview-heading", chromedp.ByID),
		// The page shown again has a blank row for another option.
		chromedp.SendKeys(`input[name=q19_o1_code]`, "2", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=q19_o1_zh]`, "没听说过", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=q19_o1_en]`, "no", chromedp.ByQuery),
		chromedp.SetValue("#q19_if_q", "q01", chromedp.ByID),
		chromedp.SendKeys("#q19_if_in", "1,2", chromedp.ByID),
		chromedp.Click("#editor-preview", chromedp.ByID),
		chromedp.WaitReady("#q_heard_2", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("f_heard").hidden`, &hiddenBefore),
		chromedp.Click(`label[for="q_q01_1"], #q_q01_1`, chromedp.ByQuery),
		chromedp.WaitVisible("#f_heard", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("f_heard").hidden`, &hiddenAfter),
	)
	if !hiddenBefore || hiddenAfter {
		t.Fatalf("the preview's skip rule: hidden before q01 is answered %v, after %v", hiddenBefore, hiddenAfter)
	}
	var preview string
	mustRun(t, ctx, chromedp.Text("#f_heard", &preview, chromedp.ByID))
	if !strings.Contains(preview, "听说过") || !strings.Contains(preview, "没听说过") || !strings.Contains(preview, "仅当") {
		t.Fatalf("the preview shows %q", preview)
	}
	shot(t, ctx, "questionnaire-editor")

	var notice, problems string
	mustRun(t, ctx,
		chromedp.Click("#editor-save", chromedp.ByID),
		chromedp.WaitVisible("p.notice", chromedp.ByQuery),
		chromedp.Text("p.notice", &notice, chromedp.ByQuery),
		chromedp.Click("#edit-questionnaire", chromedp.ByID),
		chromedp.WaitVisible("#editor", chromedp.ByID),
		chromedp.SetValue("#q16_if_q", "heard", chromedp.ByID),
		chromedp.SendKeys("#q16_if_in", "1", chromedp.ByID),
		chromedp.Click("#editor-save", chromedp.ByID),
		chromedp.WaitVisible("#editor-problems", chromedp.ByID),
		chromedp.Text("#editor-problems", &problems, chromedp.ByID),
	)
	if want := "第 " + strconv.Itoa(baseVersion+1) + " 版"; !strings.Contains(notice, want) {
		var vs []string
		fx.db.Select(&vs, `SELECT name || ' v' || version || ' ' || coalesce(created_by::text, '-') FROM questionnaires ORDER BY id`)
		t.Fatalf("after saving: %q; base v%d; stored %v", notice, baseVersion, vs)
	}
	if !strings.Contains(problems, "第 17 题（sex）：条件只能引用前面的题目") {
		t.Fatalf("a skip rule on a later question shows %q", problems)
	}
	var versions int
	fx.db.Get(&versions, `SELECT count(*) FROM questionnaires`)
	if versions != versionsBefore+1 {
		t.Fatalf("%d versions stored, want %d", versions, versionsBefore+1)
	}
}
