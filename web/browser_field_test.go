package web

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"minyi/users"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// fitsPhone checks the page on a 375 px wide phone: nothing scrolls
// sideways, and every target matched by sel is at least 44 px high.
func fitsPhone(t *testing.T, ctx context.Context, page, sel string) {
	t.Helper()
	var scroll, width int
	var smallest float64
	mustRun(t, ctx,
		chromedp.Evaluate(`document.documentElement.scrollWidth`, &scroll),
		chromedp.Evaluate(`window.innerWidth`, &width),
		chromedp.Evaluate(`Math.min.apply(null, Array.from(document.querySelectorAll(`+strconv.Quote(sel)+`)).map(e => e.getBoundingClientRect().height))`, &smallest),
	)
	shot(t, ctx, "field-"+page)
	if width != 375 || scroll > width {
		t.Errorf("%s at %d px: the document is %d px wide", page, width, scroll)
	}
	if smallest < 44 {
		t.Errorf("%s: the smallest target (%s) is %.0f px high", page, sel, smallest)
	}
}

// TestBrowserFieldVisits: a supervisor assigns two communities; the field
// interviewer, on a phone-sized screen, sees their households, records a
// visit with no one home, is refused a second one the same morning, and
// interviews another household at the door with the questionnaire form.
func TestBrowserFieldVisits(t *testing.T) {
	d := newDoorFixture(t)
	ctx, _ := newBrowser(t)
	base := d.srv.URL
	var text string
	me := strconv.FormatInt(d.users[users.RoleField], 10)
	mustRun(t, ctx,
		signInBrowser(base, "supervisor"),
		chromedp.Navigate(base+"/waves/door-w"),
		chromedp.Click("#field-link", chromedp.ByID),
		chromedp.WaitVisible("#communities", chromedp.ByID),
		chromedp.Click("#pick-0", chromedp.ByID),
		chromedp.Click("#pick-1", chromedp.ByID),
		chromedp.SetValue("#interviewer", me, chromedp.ByID),
		chromedp.Click("#assign", chromedp.ByID),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.Text("#communities", &text, chromedp.ByID),
		signOut,
	)
	if strings.Count(text, "field_interviewer") != 2 {
		t.Fatalf("after assigning two communities the table shows:\n%s", text)
	}

	var first, second, card string
	mustRun(t, ctx,
		chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		signInBrowser(base, "field_interviewer"),
		chromedp.WaitVisible("a.household", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("a.household")[0].id`, &first),
		chromedp.Evaluate(`document.querySelectorAll("a.household")[1].id`, &second),
	)
	fitsPhone(t, ctx, "list", "a.household, header button, header a")
	mustRun(t, ctx,
		chromedp.Click("#"+first, chromedp.ByID),
		chromedp.WaitVisible("#outcome-no_one_home", chromedp.ByID),
	)
	fitsPhone(t, ctx, "household", ".visit-outcomes button, label.check, #back")
	mustRun(t, ctx,
		chromedp.Click("#outcome-no_one_home", chromedp.ByID),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.Text(".notice", &text, chromedp.ByQuery),
		chromedp.Text("#"+first, &card, chromedp.ByID),
	)
	if !strings.Contains(text, "来访结果已记录") || !strings.Contains(card, "已访 1/4") || !strings.Contains(card, "建议来访") || !strings.Contains(card, "11月24日") {
		t.Fatalf("after no one home: notice %q, household %q", text, card)
	}
	// The same morning again: refused, with when to come back.
	mustRun(t, ctx,
		chromedp.Click("#"+first, chromedp.ByID),
		chromedp.WaitVisible("#outcome-no_one_home", chromedp.ByID),
		chromedp.Click("#outcome-no_one_home", chromedp.ByID),
		chromedp.WaitVisible("#error-summary", chromedp.ByID),
		chromedp.Text("#error-summary", &text, chromedp.ByID),
	)
	if !strings.Contains(text, "同一时段") || !strings.Contains(text, "11月24日") {
		t.Fatalf("second visit the same morning: %q", text)
	}
	fitsPhone(t, ctx, "refused-visit", ".visit-outcomes button")

	// Someone is home at the second household: the questionnaire.
	mustRun(t, ctx,
		chromedp.Navigate(base+"/field"),
		chromedp.WaitVisible("#"+second, chromedp.ByID),
		chromedp.Click("#"+second, chromedp.ByID),
		chromedp.WaitVisible("#start-interview", chromedp.ByID),
		chromedp.Click("#start-interview", chromedp.ByID),
		chromedp.WaitVisible("fieldset.current", chromedp.ByQuery),
	)
	fitsPhone(t, ctx, "interview", ".option, #submit-interview")
	keys := chromedp.Tasks{press("1"), press(kb.Enter), press("1"), press(kb.Enter)}
	keys = append(keys, chromedp.SetValue("#q_district", "500103", chromedp.ByID), chromedp.Focus("#q_district", chromedp.ByID), press(kb.Enter))
	for _, a := range []string{"1", "2", "2", "3", "1", "2", "4", "2", "8", "1", "2", "3", "5", "2", "3", "1"} {
		keys = append(keys, press(a), press(kb.Enter))
	}
	var focused string
	mustRun(t, ctx, keys, chromedp.Evaluate(`document.activeElement.id`, &focused))
	if focused != "submit-interview" {
		t.Fatalf("after the last answer focus is on %q", focused)
	}
	mustRun(t, ctx,
		press(kb.Enter),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.Text(".notice", &text, chromedp.ByQuery),
		chromedp.Text("#"+second, &card, chromedp.ByID),
	)
	if !strings.Contains(text, "访问已保存") || !strings.Contains(card, "已完成访问") {
		t.Fatalf("after the interview: notice %q, household %q", text, card)
	}
	var stored struct {
		Mode   string `db:"mode"`
		Source string `db:"source"`
	}
	caseID, _ := strconv.ParseInt(strings.TrimPrefix(second, "h"), 10, 64)
	if err := d.db.Get(&stored, `SELECT mode, source FROM interviews WHERE case_id = $1`, caseID); err != nil || stored.Mode != "door" || stored.Source != "capi" {
		t.Fatalf("stored interview %+v: %v", stored, err)
	}
}
