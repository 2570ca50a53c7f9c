package web

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"minyi/dialer"
	"minyi/sampler"
)

// chromiumPath is Debian's chromium; CI installs it.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Fatal("headless Chromium not found: install Debian's chromium package (apt-get install chromium fonts-noto-cjk)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile, for a test
// of at most eight minutes in it (minutes on a machine shared with other
// test packages that take seconds alone).
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) (context.Context, string) {
	t.Helper()
	return newBrowserFor(t, 8*time.Minute, extra...)
}

// newBrowserFor is newBrowser for a test that may take longer in the
// browser, such as one that walks every page.
func newBrowserFor(t *testing.T, limit time.Duration, extra ...chromedp.ExecAllocatorOption) (context.Context, string) {
	t.Helper()
	// Chromium may still write to its profile while it shuts down, so the
	// profile is removed after the browser is gone, not by t.TempDir.
	profile, err := os.MkdirTemp("", "minyi-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1200, 900),
	)
	opts = append(opts, extra...)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(func() { chromedp.Cancel(ctx); cancel2() })
	ctx, cancel3 := context.WithTimeout(ctx, limit)
	t.Cleanup(cancel3)
	downloads := t.TempDir()
	if err := chromedp.Run(ctx, browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads).WithEventsEnabled(true)); err != nil {
		t.Fatal(err)
	}
	return ctx, downloads
}

func signInBrowser(base, user string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(base + "/login"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", user, chromedp.ByID),
		chromedp.SendKeys("#password", testPassword, chromedp.ByID),
		chromedp.Click("#login", chromedp.ByID),
		chromedp.WaitVisible("header .who", chromedp.ByQuery),
	}
}

// signOut waits for the sign-in button, not a user name field: the users
// page has one too, and typing into it while the sign-in page loads loses
// the keys.
var signOut = chromedp.Tasks{
	chromedp.Click(`header .who button`, chromedp.ByQuery),
	chromedp.WaitVisible("#login", chromedp.ByID),
}

// press types one key, as a person at the keyboard would.
func press(key string) chromedp.Action {
	return chromedp.KeyEvent(key)
}

// TestBrowserPoll walks a whole poll in a real Chromium: the admin draws a
// 2‰ wave, an interviewer takes cases, records an outcome and fills the
// questionnaire with the keyboard, and the assessment office downloads the
// scores CSV.
func TestBrowserPoll(t *testing.T) {
	fx := newFixture(t, 0)
	// A frame large enough for a 2‰ draw of all 40 districts.
	addDemoFrame(t, fx)
	ctx, downloads := newBrowser(t)
	base := fx.srv.URL
	var text string

	// The admin sees the districts and draws a wave.
	mustRun(t, ctx,
		signInBrowser(base, "admin"),
		chromedp.Navigate(base+"/districts"),
		chromedp.Text("#districts", &text, chromedp.ByID),
	)
	if !strings.Contains(text, "万州区") || strings.Count(text, "\n") < 40 {
		t.Fatalf("districts page: %.200s", text)
	}
	var total string
	mustRun(t, ctx,
		chromedp.Navigate(base+"/waves"),
		chromedp.SendKeys("#name", "2026-12", chromedp.ByID),
		chromedp.Click(`form[action="/waves"] button`, chromedp.ByQuery),
		chromedp.WaitVisible("#draw", chromedp.ByID),
		chromedp.Text("#target", &total, chromedp.ByID),
	)
	if total != "57,692" {
		t.Fatalf("2‰ of 28,846,157 should allocate 57,692 completes, page says %q", total)
	}
	var seed string
	mustRun(t, ctx,
		chromedp.Click("#draw", chromedp.ByID),
		// The draw runs as a job with a progress page; it links to the wave
		// when done.
		chromedp.WaitVisible("#job-done", chromedp.ByID),
		chromedp.Click("#job-done", chromedp.ByID),
		chromedp.WaitVisible("#draw-info", chromedp.ByID),
		chromedp.Text("#seed", &seed, chromedp.ByID),
		chromedp.Text(".notice", &text, chromedp.ByQuery),
		signOut,
	)
	if seed == "" {
		t.Fatalf("draw: seed %q, notice %q", seed, text)
	}
	// Tests run at any hour: this wave calls around the clock.
	w, err := sampler.GetWave(context.Background(), fx.db, "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	if err := dialer.SetRules(context.Background(), fx.db, w.ID, dialer.AllDay()); err != nil {
		t.Fatal(err)
	}
	// A supervisor sets the wave the interviewers call.
	mustRun(t, ctx,
		signInBrowser(base, "supervisor"),
		chromedp.Navigate(base+"/teams"),
		chromedp.SetValue(`tr[data-team=""] select[name=wave]`, "2026-12", chromedp.ByQuery),
		chromedp.Click(`tr[data-team=""] button`, chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		signOut,
	)

	// The interviewer: next case, no answer, and the next case opens;
	// interview.
	var phone, href string
	var ok bool
	mustRun(t, ctx,
		signInBrowser(base, "interviewer"),
		chromedp.WaitVisible("#next-case", chromedp.ByID),
		chromedp.Click("#next-case", chromedp.ByID),
		chromedp.WaitVisible("#dial", chromedp.ByID),
		chromedp.Text("#dial", &phone, chromedp.ByID),
		chromedp.AttributeValue("#dial", "href", &href, &ok, chromedp.ByID),
		chromedp.Click("#outcome-no_answer", chromedp.ByID),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.Text(".notice", &text, chromedp.ByQuery),
	)
	if len(phone) != 11 || href != "tel:"+phone {
		t.Fatalf("case page shows %q with link %q", phone, href)
	}
	if !strings.Contains(text, "呼叫结果已记录") {
		t.Fatalf("after outcome: %q", text)
	}
	var phone2 string
	mustRun(t, ctx,
		chromedp.WaitVisible("#dial", chromedp.ByID),
		chromedp.Text("#dial", &phone2, chromedp.ByID),
		press("0"), // answered: start the interview
		chromedp.WaitVisible("#questionnaire", chromedp.ByID),
		// The keyboard script marks the question in hand once it runs.
		chromedp.WaitVisible("fieldset.current", chromedp.ByQuery),
	)
	if phone2 == phone {
		t.Fatal("the case with no answer was handed out again at once")
	}
	// Screener: yes, yes; the district is a select.
	keys := chromedp.Tasks{press("1"), press(kb.Enter), press("1"), press(kb.Enter)}
	keys = append(keys, chromedp.SetValue("#q_district", "500103", chromedp.ByID), chromedp.Focus("#q_district", chromedp.ByID), press(kb.Enter))
	answers := []string{"1", "2", "2", "3", "1", "2", "4", "2", "8", "1", "2", "3", "5"}
	for _, a := range answers {
		keys = append(keys, press(a), press(kb.Enter))
	}
	keys = append(keys, press("2"), press(kb.Enter), press("3"), press(kb.Enter), press("1"), press(kb.Enter)) // sex, age group, urban
	var focused string
	mustRun(t, ctx, keys, chromedp.Evaluate(`document.activeElement.id`, &focused))
	if focused != "submit-interview" {
		shot(t, ctx, "focus")
		var state string
		chromedp.Run(ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll("fieldset")).map(f => f.id + ":" + (f.querySelector("input:checked") ? f.querySelector("input:checked").value : (f.querySelector("select") ? f.querySelector("select").value : "-")) + (f.classList.contains("current") ? "*" : "")).join(" ") + " active=" + document.activeElement.tagName`, &state))
		t.Log(state)
		t.Fatalf("after the last answer focus is on %q, want the save button", focused)
	}
	mustRun(t, ctx,
		press(kb.Enter), // on the save button
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.Text(".notice", &text, chromedp.ByQuery),
		signOut,
	)
	if !strings.Contains(text, "访问已保存") {
		t.Fatalf("after saving: %q", text)
	}
	var stored struct {
		District string `db:"district_code"`
		Answers  string `db:"answers"`
	}
	if err := fx.db.Get(&stored, `SELECT district_code, answers::text FROM interviews`); err != nil {
		t.Fatal(err)
	}
	if stored.District != "500103" || !strings.Contains(stored.Answers, `"q09": "8"`) || !strings.Contains(stored.Answers, `"q13": "5"`) {
		t.Fatalf("stored interview %+v", stored)
	}

	// The assessment office sees the score and downloads the CSV.
	mustRun(t, ctx,
		signInBrowser(base, "office"),
		chromedp.Click(`a[href="/scores/2026-12"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#scores", chromedp.ByID),
		chromedp.Text("#scores", &text, chromedp.ByID),
	)
	if !strings.Contains(text, "渝中区") || !strings.Contains(text, "样本不足") {
		t.Fatalf("scores page: %.300s", text)
	}
	shot(t, ctx, "scores")
	mustRun(t, ctx, chromedp.Click("#export-scores", chromedp.ByID))
	csv := waitDownload(t, downloads, "scores-2026-12-utf8.csv")
	// In Chinese the columns are named in Chinese.
	if !bytes.HasPrefix(csv, []byte("\xef\xbb\xbf区县代码,区县,样本量,得分")) {
		t.Fatalf("CSV starts %q", csv[:min(60, len(csv))])
	}
	if !bytes.Contains(csv, []byte("500103,渝中区,1,")) {
		t.Fatalf("CSV lacks the district with the interview:\n%s", csv)
	}
	if bytes.Contains(csv, []byte(phone2)) {
		t.Fatal("the scores CSV carries a telephone number")
	}
	var exports int
	fx.db.Get(&exports, `SELECT count(*) FROM audit_log WHERE actor = 'office' AND action = 'export' AND subject = 'scores:2026-12'`)
	if exports != 1 {
		t.Fatalf("%d audit entries for the download, want 1", exports)
	}
}

func waitDownload(t *testing.T, dir, name string) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && len(b) > 0 {
			return b
		}
		time.Sleep(100 * time.Millisecond)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Fatalf("download %s not found; have %v", name, names)
	return nil
}

// shot saves a screenshot when MINYI_SCREENSHOTS names a directory.
func shot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("MINYI_SCREENSHOTS")
	if dir == "" {
		return
	}
	var buf []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 100)); err == nil {
		os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	}
}

// mustRun runs browser actions; on failure it says where the browser was
// and what it showed.
func mustRun(t *testing.T, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, actions...); err != nil {
		var url, body string
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		chromedp.Run(dctx, chromedp.Location(&url), chromedp.Text("main", &body, chromedp.ByQuery))
		shot(t, dctx, "failure")
		t.Fatalf("browser: %v\nat %s showing:\n%.600s", err, url, body)
	}
}
