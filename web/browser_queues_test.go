package web

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"minyi/users"
)

// TestBrowserFilterAndBulkApprove: in Chromium a supervisor picks 渝中区 by
// name from the review list's district filter, sees the count, presses
// bulk approve, reads on the confirmation how many it approves, confirms,
// and is back on the filtered list with nothing left to review there;
// 万州区's interviews still wait.
func TestBrowserFilterAndBulkApprove(t *testing.T) {
	fx := newFixture(t, 0.0001)
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	yuzhong := seedInterviews(t, fx, 8, "500103", fx.users[users.RoleInterview], true, at)
	wanzhou := seedInterviews(t, fx, 3, "500101", fx.users[users.RoleInterview], true, at)
	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	var count, confirm, notice, after string
	mustRun(t, ctx, signInBrowser(base, "supervisor"),
		chromedp.Navigate(base+"/waves/"+fx.wave+"/reviews"),
		chromedp.WaitVisible("#filter-district", chromedp.ByID),
		chromedp.SetValue("#filter-district", "500103", chromedp.ByID),
		chromedp.Click("#filter-apply", chromedp.ByID),
		chromedp.WaitVisible("#filter-clear", chromedp.ByID),
		chromedp.Text("#list-count", &count, chromedp.ByID),
	)
	if count != "共 8 条，第 1/1 页" {
		t.Fatalf("filtered to 渝中区 the list says %q", count)
	}
	var selected string
	mustRun(t, ctx, chromedp.Evaluate(`document.querySelector('#filter-district').selectedOptions[0].textContent`, &selected))
	if selected != "渝中区" {
		t.Errorf("the district filter shows %q, want the name 渝中区", selected)
	}
	shot(t, ctx, "reviews-filtered")
	mustRun(t, ctx,
		chromedp.Click("#bulk-approve", chromedp.ByID),
		chromedp.WaitVisible("#approve-yes", chromedp.ByID),
		chromedp.Text("#approve-confirm", &confirm, chromedp.ByID),
	)
	if !strings.Contains(confirm, "将通过 8 份待复核的访问") || !strings.Contains(confirm, "渝中区") {
		t.Fatalf("the confirmation says %q", confirm)
	}
	shot(t, ctx, "bulk-approve-confirm")
	mustRun(t, ctx,
		chromedp.Click("#approve-yes", chromedp.ByID),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
		chromedp.Text(`p.notice`, &notice, chromedp.ByQuery),
		chromedp.Text("#list-count", &after, chromedp.ByID),
	)
	if !strings.Contains(notice, "已批量通过") || after != "共 0 条，第 1/1 页" {
		t.Errorf("after confirming: notice %q, list %q", notice, after)
	}
	var approved, waiting int
	fx.db.Get(&approved, `SELECT count(*) FROM interviews WHERE review_status = 'approved' AND id = ANY($1)`, idArray(yuzhong))
	fx.db.Get(&waiting, `SELECT count(*) FROM interviews WHERE review_status = 'none' AND id = ANY($1)`, idArray(wanzhou))
	if approved != 8 || waiting != 3 {
		t.Errorf("approved %d of 渝中区's 8, %d of 万州区's 3 still wait", approved, waiting)
	}
}

func idArray(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return "{" + strings.Join(s, ",") + "}"
}
