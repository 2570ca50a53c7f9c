package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"minyi/core"
)

// TestBrowserWeeklySchedule: in a real Chromium an admin names a schedule
// in Chinese and builds it weekly on Monday and Wednesday at 06:30 without
// cron syntax; the next five run times appear beside the form as it
// changes, in Chinese dates; a bad advanced spec shows its reason in
// Chinese, not the cron library's English; the saved schedule is listed
// by its Chinese name and when it runs in words.
func TestBrowserWeeklySchedule(t *testing.T) {
	fx := newFixture(t, 0)
	// Friday 4 December 2026, 13:00 in Beijing.
	now := time.Date(2026, 12, 4, 13, 0, 0, 0, core.Shanghai)
	fx = fx.withServer(t, Options{Now: func() time.Time { return now }})
	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	var times []string
	mustRun(t, ctx, signInBrowser(base, "admin"),
		chromedp.Navigate(base+"/schedules"),
		chromedp.WaitVisible("#builder", chromedp.ByID),
		chromedp.SendKeys("#title", "每周满意度抽样", chromedp.ByID),
		chromedp.SendKeys("#name", "weekly", chromedp.ByID),
		chromedp.Click(`input[name=repeat][value=weekly]`, chromedp.ByQuery),
		chromedp.Click(`#weekdays input[value="3"]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("at").value = ""`, nil),
		chromedp.SendKeys("#at", "06:30", chromedp.ByID),
		chromedp.WaitVisible(`//ol[@id="next-times"]/li[5][contains(., "06:30")]`, chromedp.BySearch),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("#next-times li")).map(li => li.textContent.trim())`, &times),
	)
	want := []string{"2026年12月7日 周一 06:30", "2026年12月9日 周三 06:30", "2026年12月14日 周一 06:30", "2026年12月16日 周三 06:30", "2026年12月21日 周一 06:30"}
	if strings.Join(times, "|") != strings.Join(want, "|") {
		t.Fatalf("the next five runs shown are %q, want %q", times, want)
	}
	shot(t, ctx, "schedule-builder")

	var reason string
	mustRun(t, ctx,
		chromedp.Click(`input[name=repeat][value=cron]`, chromedp.ByQuery),
		chromedp.WaitVisible("#cron", chromedp.ByID),
		chromedp.SendKeys("#cron", "0 2 * *", chromedp.ByID),
		chromedp.WaitVisible("#next-error", chromedp.ByID),
		chromedp.Text("#next-error", &reason, chromedp.ByID),
	)
	if !strings.Contains(reason, "应有 5 项，实际有 4 项") || strings.Contains(reason, "expected") || strings.Contains(reason, "fields") {
		t.Fatalf("a bad spec is explained as %q", reason)
	}

	var notice, row string
	mustRun(t, ctx,
		chromedp.Click(`input[name=repeat][value=weekly]`, chromedp.ByQuery),
		chromedp.Click(`#schedule-form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible("p.notice", chromedp.ByQuery),
		chromedp.Text("p.notice", &notice, chromedp.ByQuery),
		chromedp.Text("#schedules tbody tr", &row, chromedp.ByQuery),
	)
	if !strings.Contains(notice, "每周满意度抽样") || !strings.Contains(row, "每周满意度抽样") || !strings.Contains(row, "每周一、周三 06:30") ||
		!strings.Contains(row, "2026年12月7日 周一 06:30") {
		t.Fatalf("after saving: notice %q, row %q", notice, row)
	}
	var spec string
	fx.db.Get(&spec, `SELECT spec FROM wave_schedules WHERE name = 'weekly'`)
	if spec != "30 6 * * 1,3" {
		t.Fatalf("stored spec %q", spec)
	}
}
