package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserUploadAndAccounts: in a real Chromium, without relying on
// script, an admin uploads a districts file through the page's form (the
// CSRF token first, the file streamed), adds an interviewer and reads the
// temporary password; the interviewer signs in with it, is taken to the
// password page and can work once the password is changed.
func TestBrowserUploadAndAccounts(t *testing.T) {
	fx := newFixture(t, 0.0001)
	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	csv := filepath.Join(t.TempDir(), "districts.csv")
	if err := os.WriteFile(csv, []byte("code,name,resident_population\n500101,万州区,1560000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var notice, temp, page string
	mustRun(t, ctx, signInBrowser(base, "admin"),
		chromedp.Navigate(base+"/districts"),
		chromedp.WaitVisible(`input[type=file]`, chromedp.ByQuery),
		chromedp.SetUploadFiles(`input[type=file]`, []string{csv}, chromedp.ByQuery),
		chromedp.Click(`form[action="/districts"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
		chromedp.Text(`p.notice`, &notice, chromedp.ByQuery),
	)
	if !strings.Contains(notice, "已读取 1 个区县") {
		t.Fatalf("the districts upload said %q", notice)
	}
	mustRun(t, ctx,
		chromedp.Navigate(base+"/users"),
		chromedp.WaitVisible("#add-user", chromedp.ByID),
		chromedp.SendKeys("#username", "zhao.lei", chromedp.ByID),
		chromedp.SendKeys("#display_name", "赵磊", chromedp.ByID),
		chromedp.SetValue("#role", "interviewer", chromedp.ByID),
		chromedp.Click("#create-user", chromedp.ByID),
		chromedp.WaitVisible("#issued-password", chromedp.ByID),
		chromedp.Text("#issued-password", &temp, chromedp.ByID),
	)
	shot(t, ctx, "users")
	mustRun(t, ctx, signOut,
		chromedp.SendKeys("#username", "zhao.lei", chromedp.ByID),
		chromedp.SendKeys("#password", temp, chromedp.ByID),
		chromedp.Click("#login", chromedp.ByID),
		chromedp.WaitVisible("#must-change", chromedp.ByID),
	)
	shot(t, ctx, "password")
	const own = "the yangtze at chaotianmen"
	mustRun(t, ctx,
		chromedp.SendKeys("#current", temp, chromedp.ByID),
		chromedp.SendKeys("#new", own, chromedp.ByID),
		chromedp.SendKeys("#repeat", own, chromedp.ByID),
		chromedp.Click("#save-password", chromedp.ByID),
		chromedp.WaitNotPresent("#must-change", chromedp.ByID),
		chromedp.WaitVisible("p.notice", chromedp.ByQuery),
		chromedp.Navigate(base+"/calls"),
		chromedp.WaitVisible("main", chromedp.ByQuery),
		chromedp.Text("main", &page, chromedp.ByQuery),
	)
	if !strings.Contains(page, "下一个样本") {
		t.Fatalf("after changing the password the calls page shows:\n%.400s", page)
	}
}
