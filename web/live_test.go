package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestLiveViewUpdatesWithoutReload opens the live view in Chromium, saves
// an interview meanwhile, and sees the numbers change on the same page.
func TestLiveViewUpdatesWithoutReload(t *testing.T) {
	fx := newFixture(t, 0.0005)
	sup := fx.signIn(t, "supervisor")
	var l struct {
		Summary   map[string]float64 `json:"summary"`
		Districts []map[string]any   `json:"districts"`
	}
	if err := json.Unmarshal([]byte(sup.get("/waves/"+fx.wave+"/live.json")), &l); err != nil || len(l.Districts) != 40 {
		t.Fatalf("live.json: %v, %d districts", err, len(l.Districts))
	}
	ctx, _ := newBrowser(t)
	var before string
	mustRun(t, ctx,
		signInBrowser(fx.srv.URL, "supervisor"),
		chromedp.Navigate(fx.srv.URL+"/waves/"+fx.wave+"/live?every=1"),
		chromedp.WaitVisible("#live-districts", chromedp.ByID),
		chromedp.Evaluate(`window.__samePage = true`, nil),
		chromedp.Text(`[data-k="summary.completes"]`, &before, chromedp.ByQuery),
	)
	if before != "0" {
		t.Fatalf("completes before: %q", before)
	}
	c := fx.signIn(t, "interviewer")
	id := c.nextCase()
	page := c.get("/cases/" + id + "/interview")
	form := completeAnswers("500103")
	form.Set("key", formValue(page, "key"))
	if res := c.post("/cases/"+id+"/interview", url.Values(form)); res.Header.Get("Location") != "/calls?msg=saved" {
		t.Fatalf("save: %d", res.StatusCode)
	}
	var after string
	var same bool
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mustRun(t, ctx, chromedp.Text(`[data-k="summary.completes"]`, &after, chromedp.ByQuery))
		if after == "1" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	mustRun(t, ctx, chromedp.Evaluate(`window.__samePage === true`, &same))
	var yuzhong string
	mustRun(t, ctx, chromedp.Text(`tr[data-district="500103"] [data-f="completes"]`, &yuzhong, chromedp.ByQuery))
	if after != "1" || !same || strings.TrimSpace(yuzhong) != "1" {
		t.Fatalf("after the save: completes %q (渝中区 %q), same page %v", after, yuzhong, same)
	}
}

func TestSupervisionPage(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	// An appointment that is now 20 minutes late.
	id := c.nextCase()
	c.post("/cases/"+id+"/outcome", url.Values{"outcome": {"appointment"}, "appointment": {"2099-01-01T10:00"}})
	// A straight-lined interview, done in seconds.
	id2 := c.nextCase()
	page := c.get("/cases/" + id2 + "/interview")
	form := completeAnswers("500103")
	for i := 1; i <= 13; i++ {
		form.Set(fmt.Sprintf("q_q%02d", i), "2")
	}
	form.Set("key", formValue(page, "key"))
	form.Set("started", formValue(page, "started"))
	if res := c.post("/cases/"+id2+"/interview", form); res.Header.Get("Location") != "/calls?msg=saved" {
		t.Fatalf("save: %d", res.StatusCode)
	}
	fx.db.Exec(`UPDATE cases SET next_at = now() - interval '20 minutes' WHERE id = $1`, id)
	sup := fx.signIn(t, "supervisor")
	body := sup.get("/waves/" + fx.wave + "/supervision")
	if live := sup.get("/waves/" + fx.wave + "/live"); !strings.Contains(live, `id="progress"`) || !strings.Contains(live, "累计完成") {
		t.Error("the live view has no progress chart after a complete")
	}
	for _, want := range []string{`id="calendar"`, "已错过", "过短", "直线作答", "interviewer"} {
		if !strings.Contains(body, want) {
			t.Errorf("supervision page lacks %q", want)
		}
	}
	// The straight-lined interview is counted as such, and as too short.
	for reason, want := range map[string]string{"straight_lined": "1", "too_short": "1", "not_confirmed": "0"} {
		if !regexp.MustCompile(`flag=` + reason + `">[^<]+</a>[^<]*</td><td class="n">` + want + `</td>`).MatchString(body) {
			t.Errorf("the supervision page does not count %s interviews to review as %s", want, reason)
		}
	}
	// The appointments themselves are listed on a page of their own.
	appts := sup.get("/waves/" + fx.wave + "/appointments")
	for _, want := range []string{"#" + id, "已错过", "共 1 条，第 1/1 页"} {
		if !strings.Contains(appts, want) {
			t.Errorf("appointments page lacks %q", want)
		}
	}
}
