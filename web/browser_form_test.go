package web

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"minyi/survey"
)

// formQuestions follow q13 in the test questionnaire: a required text
// asked only of the dissatisfied, one asked only of the satisfied, a number
// with a range, and a multiple choice asked only when the number is 2 or
// more.
const formQuestions = `[
 {"id": "why", "section": "other", "type": "text", "max_length": 200,
  "text": {"zh": "您不满意的主要原因是什么?", "en": "What is the main reason you are dissatisfied?"},
  "show_if": {"question": "q13", "in": [4, 5]}},
 {"id": "praise", "section": "other", "type": "text",
  "text": {"zh": "您最满意的是什么?", "en": "What are you most satisfied with?"},
  "show_if": {"question": "q13", "in": [1, 2]}},
 {"id": "people", "section": "other", "type": "number", "min": 1, "max": 20,
  "text": {"zh": "您家里有几口人?", "en": "How many people live in your household?"}},
 {"id": "media", "section": "other", "type": "multiple", "exclusive": [8],
  "text": {"zh": "您家里人主要从哪里了解区里的消息?", "en": "Where does your household get district news?"},
  "options": [{"code": 1, "label": {"zh": "电视", "en": "television"}}, {"code": 2, "label": {"zh": "报纸", "en": "newspapers"}},
              {"code": 3, "label": {"zh": "网络", "en": "the internet"}}, {"code": 8, "label": {"zh": "不清楚", "en": "don't know"}}],
  "show_if": {"question": "people", "min": 2}}
]`

// useFormQuestionnaire stores the default questionnaire with formQuestions
// after q13 as "formtest" v1 and points the fixture's wave at it.
func useFormQuestionnaire(t *testing.T, fx *fixture) *survey.Questionnaire {
	t.Helper()
	b, err := json.Marshal(survey.Default())
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]any
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	var extra []any
	if err := json.Unmarshal([]byte(formQuestions), &extra); err != nil {
		t.Fatal(err)
	}
	var qs []any
	for _, q := range def["questions"].([]any) {
		qs = append(qs, q)
		if q.(map[string]any)["id"] == "q13" {
			qs = append(qs, extra...)
		}
	}
	def["questions"], def["name"], def["version"] = qs, "formtest", 1
	b, _ = json.Marshal(def)
	q, err := survey.ParseQuestionnaire(b)
	if err != nil {
		t.Fatalf("test questionnaire: %v", err)
	}
	id, err := survey.SaveQuestionnaire(context.Background(), fx.db, q)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.db.Exec(`UPDATE waves SET questionnaire_id = $1 WHERE name = $2`, id, fx.wave); err != nil {
		t.Fatal(err)
	}
	return q
}

// startInterview takes the next case from the calls page and opens its
// questionnaire with the keyboard; it returns the case id.
func startInterview(t *testing.T, ctx context.Context, base string) string {
	t.Helper()
	var loc string
	mustRun(t, ctx,
		chromedp.Navigate(base+"/calls"),
		chromedp.WaitVisible("#next-case", chromedp.ByID),
		press("n"),
		chromedp.WaitVisible("#dial", chromedp.ByID),
		chromedp.Location(&loc),
		press("0"),
		chromedp.WaitVisible("fieldset.current", chromedp.ByQuery),
	)
	return loc[strings.LastIndex(loc, "/")+1:]
}

// keys presses each key in turn.
func keys(ks ...string) chromedp.Tasks {
	var ts chromedp.Tasks
	for _, k := range ks {
		ts = append(ts, press(k))
	}
	return ts
}

// answer chooses a code with its number key and moves on.
func answer(codes ...string) chromedp.Tasks {
	var ts chromedp.Tasks
	for _, c := range codes {
		ts = append(ts, press(c), press(kb.Enter))
	}
	return ts
}

// currentQuestion is the question the keyboard is in, "submit" on the
// save button.
const currentQuestion = `(function(){var a=document.activeElement; if (a.id==="submit-interview") return "submit"; var f=a.closest("fieldset.question"); return f ? f.dataset.qid : a.tagName})()`

func TestBrowserKeyboardInterviewWithSkipLogic(t *testing.T) {
	fx := newFixture(t, 0.0005)
	useFormQuestionnaire(t, fx)
	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	mustRun(t, ctx, signInBrowser(base, "interviewer"))
	caseID := startInterview(t, ctx, base)

	var at, text, progress string
	var whyHidden, praiseHidden, mediaHidden bool
	hidden := func(id string, v *bool) chromedp.Action {
		return chromedp.Evaluate(`document.getElementById("f_`+id+`").hidden`, v)
	}
	// Screener by number keys; the district list with the arrow keys.
	mustRun(t, ctx,
		answer("1", "1"),
		chromedp.Evaluate(currentQuestion, &at),
	)
	if at != "district" {
		t.Fatalf("after the screener the keyboard is in %q", at)
	}
	mustRun(t, ctx, keys(kb.ArrowDown, kb.ArrowDown, kb.Enter), chromedp.Evaluate(currentQuestion, &at))
	if at != "q01" {
		t.Fatalf("after the district the keyboard is in %q", at)
	}
	// Indicators; "/" is don't know (code 8) on q09. The follow-ups of q13
	// are hidden until it is answered.
	mustRun(t, ctx,
		answer("1", "2", "2", "3", "1", "2", "4", "2", "/", "1", "2", "3"),
		hidden("why", &whyHidden), hidden("media", &mediaHidden),
		chromedp.Text("#progress-text", &progress, chromedp.ByID),
	)
	if !whyHidden || !mediaHidden {
		t.Fatalf("follow-up questions shown before their conditions hold: why hidden %v, media hidden %v", whyHidden, mediaHidden)
	}
	if !strings.Contains(progress, "已答 15 /") {
		t.Fatalf("progress after 15 answers: %q", progress)
	}
	// Dissatisfied with q13: "why" is asked, "praise" skipped.
	mustRun(t, ctx, answer("4"), hidden("why", &whyHidden), hidden("praise", &praiseHidden), chromedp.Evaluate(currentQuestion, &at))
	if whyHidden || !praiseHidden || at != "why" {
		t.Fatalf("after q13=4: why hidden %v, praise hidden %v, keyboard in %q", whyHidden, praiseHidden, at)
	}
	// Free text, then a number out of range: a message next to the field
	// and the keyboard stays until it is corrected.
	mustRun(t, ctx,
		chromedp.SendKeys("#q_why", "路上太堵", chromedp.ByID), press(kb.Enter),
		chromedp.Evaluate(currentQuestion, &at),
	)
	if at != "people" {
		t.Fatalf("after the text the keyboard is in %q (praise must be skipped)", at)
	}
	mustRun(t, ctx,
		keys("5", "0", kb.Enter),
		chromedp.Text("#f_people .field-error", &text, chromedp.ByQuery),
		chromedp.Evaluate(currentQuestion, &at),
	)
	if !strings.Contains(text, "1–20") || at != "people" {
		t.Fatalf("out of range: message %q, keyboard in %q", text, at)
	}
	mustRun(t, ctx, keys(kb.Backspace, kb.Backspace, "3", kb.Enter), hidden("media", &mediaHidden), chromedp.Evaluate(currentQuestion, &at))
	if mediaHidden || at != "media" {
		t.Fatalf("people=3 should ask media: hidden %v, keyboard in %q", mediaHidden, at)
	}
	var errs int
	// Number keys tick boxes of a multiple question; 8 stands alone.
	mustRun(t, ctx,
		keys("1", "8", kb.Enter),
		chromedp.Text("#f_media .field-error", &text, chromedp.ByQuery),
		keys("8", "3", kb.Enter),
		chromedp.Evaluate(`document.querySelectorAll("#f_media .field-error").length`, &errs),
		chromedp.Evaluate(currentQuestion, &at),
	)
	if !strings.Contains(text, "不清楚") || errs != 0 || at != "sex" {
		t.Fatalf("multiple choice: message %q, errors left %d, keyboard in %q", text, errs, at)
	}
	mustRun(t, ctx,
		answer("2", "3", "1"),
		chromedp.Evaluate(currentQuestion, &at),
		chromedp.Text("#progress-text", &progress, chromedp.ByID),
	)
	if at != "submit" || !strings.Contains(progress, "已答 22 / 22") {
		t.Fatalf("at the end: keyboard in %q, progress %q", at, progress)
	}
	// Back from the save button, and forward again.
	mustRun(t, ctx, keys(kb.Backspace), chromedp.Evaluate(currentQuestion, &at))
	if at != "urban" {
		t.Fatalf("Backspace on the save button went to %q", at)
	}
	// Change urban to 2 and back to 1: two answer changes in the paradata.
	mustRun(t, ctx,
		keys("2", kb.Enter, kb.Backspace, "1", kb.Enter, kb.Enter),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.Text(".notice", &text, chromedp.ByQuery),
	)
	if !strings.Contains(text, "访问已保存") {
		t.Fatalf("after saving: %q", text)
	}
	var stored map[string]string
	var raw string
	if err := fx.db.Get(&raw, `SELECT answers::text FROM interviews WHERE case_id = $1`, caseID); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(raw), &stored)
	want := map[string]string{"q09": "8", "q13": "4", "why": "路上太堵", "people": "3", "media": "1,3", "sex": "2", "age_group": "3", "urban": "1"}
	for k, v := range want {
		if stored[k] != v {
			t.Errorf("stored %s = %q, want %q", k, stored[k], v)
		}
	}
	if _, ok := stored["praise"]; ok || stored["district"] == "" {
		t.Errorf("stored answers %v", stored)
	}
	var drafts int
	fx.db.Get(&drafts, `SELECT count(*) FROM interview_drafts`)
	if drafts != 0 {
		t.Errorf("%d drafts left after saving", drafts)
	}
	// Paradata: the device, time on every question answered, and the two
	// changes of urban in the order made.
	var pd struct {
		Device  string `db:"device"`
		Timed   int    `db:"timed"`
		Changes string `db:"changes"`
	}
	if err := fx.db.Get(&pd, `SELECT p.device, (SELECT count(*) FROM jsonb_object_keys(p.question_ms)) AS timed, p.changes::text
		FROM interview_paradata p JOIN interviews i ON i.id = p.interview_id WHERE i.case_id = $1`, caseID); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pd.Device, "computer ") || pd.Timed < 20 {
		t.Errorf("paradata: device %q, %d questions timed", pd.Device, pd.Timed)
	}
	var changes []survey.AnswerChange
	json.Unmarshal([]byte(pd.Changes), &changes)
	if len(changes) != 2 || changes[0].Question != "urban" || changes[0].From != "1" || changes[0].To != "2" || changes[1].To != "1" || changes[1].AtMS < changes[0].AtMS {
		t.Errorf("paradata changes: %s", pd.Changes)
	}
}

// waitDraft waits until the server's draft of a case stopped at a question.
func waitDraft(t *testing.T, fx *fixture, caseID, current string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		fx.db.Get(&got, `SELECT current_question FROM interview_drafts WHERE case_id = $1`, caseID)
		if got == current {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the draft stopped at %q, want %q", got, current)
}

// newTab opens a tab in the browser; cancel closes it.
func newTab(t *testing.T, bctx context.Context) (context.Context, context.CancelFunc) {
	t.Helper()
	tab, cancel := chromedp.NewContext(bctx)
	// The first run creates the tab; it must not be on a context with a
	// deadline of its own, or the tab would close with that deadline.
	if err := chromedp.Run(tab); err != nil {
		t.Fatal(err)
	}
	return tab, cancel
}

func TestBrowserResumeAfterTabClosed(t *testing.T) {
	fx := newFixture(t, 0.0005)
	useFormQuestionnaire(t, fx)
	bctx, _ := newBrowser(t)
	base := fx.srv.URL
	mustRun(t, bctx, signInBrowser(base, "interviewer"))

	// A tab of its own, to close mid-interview.
	tab, closeTab := newTab(t, bctx)
	caseID := startInterview(t, tab, base)
	var key, started, status string
	mustRun(t, tab,
		chromedp.Value(`input[name="key"]`, &key, chromedp.ByQuery),
		chromedp.Value(`input[name="started"]`, &started, chromedp.ByQuery),
		answer("1", "1"),
		chromedp.SetValue("#q_district", "500103", chromedp.ByID), chromedp.Focus("#q_district", chromedp.ByID), press(kb.Enter),
		answer("1", "2", "3", "4", "5"),
	)
	waitDraft(t, fx, caseID, "q06")
	mustRun(t, tab, chromedp.Text("#draft-status", &status, chromedp.ByID))
	if !strings.Contains(status, "答案已自动保存") {
		t.Errorf("draft status %q", status)
	}
	closeTab()

	// A new tab: the case page offers to resume, and the form comes back
	// with the answers and the keyboard at the next question.
	tab2, closeTab2 := newTab(t, bctx)
	defer closeTab2()
	var label, at, key2, started2 string
	var checked []string
	mustRun(t, tab2,
		chromedp.Navigate(base+"/cases/"+caseID),
		chromedp.Text("#start-interview", &label, chromedp.ByID),
	)
	if !strings.Contains(label, "继续访问") {
		t.Fatalf("case page offers %q", label)
	}
	mustRun(t, tab2,
		press("0"),
		chromedp.WaitVisible("fieldset.current", chromedp.ByQuery),
		chromedp.Evaluate(currentQuestion, &at),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("input:checked")).map(i => i.id).concat([document.getElementById("q_district").value])`, &checked),
		chromedp.Value(`input[name="key"]`, &key2, chromedp.ByQuery),
		chromedp.Value(`input[name="started"]`, &started2, chromedp.ByQuery),
	)
	if at != "q06" {
		t.Fatalf("resumed at %q, want q06", at)
	}
	if strings.Join(checked, " ") != "q_s1_1 q_s2_1 q_q01_1 q_q02_2 q_q03_3 q_q04_4 q_q05_5 500103" {
		t.Fatalf("resumed answers %v", checked)
	}
	if key2 != key || started2 != started {
		t.Fatalf("resumed with key %q started %q, had %q %q", key2, started2, key, started)
	}
	var text string
	mustRun(t, tab2,
		answer("1", "1", "1", "1", "1", "1", "1", "2"), // q06–q13: no follow-up for q13=2 but praise
		chromedp.SendKeys("#q_praise", "公交方便", chromedp.ByID), press(kb.Enter),
		keys("1", kb.Enter), // one person: media is not asked
		answer("1", "5", "2"),
		chromedp.Evaluate(currentQuestion, &at),
	)
	if at != "submit" {
		t.Fatalf("after the last answer the keyboard is in %q", at)
	}
	mustRun(t, tab2,
		press(kb.Enter),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.Text(".notice", &text, chromedp.ByQuery),
	)
	if !strings.Contains(text, "访问已保存") {
		t.Fatalf("after saving: %q", text)
	}
	var row struct {
		Key     string    `db:"idempotency_key"`
		Started time.Time `db:"started_at"`
		Answers string    `db:"answers"`
	}
	if err := fx.db.Get(&row, `SELECT idempotency_key, started_at, answers::text FROM interviews WHERE case_id = $1`, caseID); err != nil {
		t.Fatal(err)
	}
	if row.Key != key || row.Started.UTC().Format(time.RFC3339) != started {
		t.Errorf("stored key %q started %v, the form had %q %q", row.Key, row.Started, key, started)
	}
	for _, s := range []string{`"q01": "1"`, `"q05": "5"`, `"q13": "2"`, `"praise": "公交方便"`, `"people": "1"`} {
		if !strings.Contains(row.Answers, s) {
			t.Errorf("stored answers lack %s: %s", s, row.Answers)
		}
	}
	var drafts int
	fx.db.Get(&drafts, `SELECT count(*) FROM interview_drafts`)
	if drafts != 0 {
		t.Errorf("%d drafts left after saving", drafts)
	}
}

func TestBrowserScreenedOut(t *testing.T) {
	fx := newFixture(t, 0.0005)
	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	mustRun(t, ctx, signInBrowser(base, "interviewer"))
	caseID := startInterview(t, ctx, base)
	var at, note, text string
	var asked int
	// On a phone (390 px wide) the page fits the width and every option is
	// a large target.
	var fits bool
	var smallest float64
	mustRun(t, ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		chromedp.Sleep(200*time.Millisecond),
		chromedp.Evaluate(`document.documentElement.scrollWidth <= 390`, &fits),
		chromedp.Evaluate(`Math.min.apply(null, Array.from(document.querySelectorAll(".option, #submit-interview")).map(e => e.getBoundingClientRect().height))`, &smallest),
	)
	if dir := os.Getenv("MINYI_SCREENSHOTS"); dir != "" {
		var buf []byte
		if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&buf)); err == nil {
			os.WriteFile(filepath.Join(dir, "interview-390.png"), buf, 0o644)
		}
	}
	if !fits || smallest < 44 {
		t.Fatalf("at 390 px: fits %v, smallest target %.0f px high", fits, smallest)
	}
	mustRun(t, ctx,
		answer("1", "2"), // resident, but under 18
		chromedp.Evaluate(currentQuestion, &at),
		chromedp.Text("#screened-out", &note, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("fieldset.question:not([hidden])").length`, &asked),
	)
	if at != "submit" || asked != 2 || !strings.Contains(note, "不符合条件") {
		t.Fatalf("screened out: keyboard in %q, %d questions shown, note %q", at, asked, note)
	}
	mustRun(t, ctx,
		press(kb.Enter),
		chromedp.WaitVisible("#next-case", chromedp.ByID),
		chromedp.Text(".notice", &text, chromedp.ByQuery),
	)
	if !strings.Contains(text, "受访者不符合条件") {
		t.Fatalf("after saving: %q", text)
	}
	var code string
	var interviews, drafts int
	fx.db.Get(&code, `SELECT final_code FROM cases WHERE id = $1`, caseID)
	fx.db.Get(&interviews, `SELECT count(*) FROM interviews`)
	fx.db.Get(&drafts, `SELECT count(*) FROM interview_drafts`)
	if code != "4.70" || interviews != 0 || drafts != 0 {
		t.Fatalf("case final code %q, %d interviews, %d drafts; want 4.70 and nothing stored", code, interviews, drafts)
	}
}
