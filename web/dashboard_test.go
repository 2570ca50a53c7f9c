package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"minyi/core"
	"minyi/survey"
)

// seedScores stores interviews with the same answer code on every
// indicator, codes[district] listing one interview per code, in the
// fixture's wave. The scores worked by hand:
//   - 500101 万州区 1,1,2,2: 90, SE √(4/3·25) = 5.77, CI 78.7–101.3
//   - 500102 涪陵区 1,2,2,3: 80, SE √(4/3·50) = 8.16, CI 64.0–96.0
//   - 500103 渝中区 5,5,5,5: 20, SE 0: CI 20–20
//   - 500104 大渡口区 one interview: a score but no interval, not ranked
//
// so 万州区 and 涪陵区 are statistically tied, 渝中区 with nobody.
func seedScores(t *testing.T, fx *fixture) {
	t.Helper()
	codes := map[string][]int{"500101": {1, 1, 2, 2}, "500102": {1, 2, 2, 3}, "500103": {5, 5, 5, 5}, "500104": {3}}
	k := 0
	for _, district := range []string{"500101", "500102", "500103", "500104"} {
		for _, c := range codes[district] {
			k++
			a := map[string]string{"sex": "1", "age_group": "2", "urban": "1"}
			for i := 1; i <= 13; i++ {
				a[fmt.Sprintf("q%02d", i)] = fmt.Sprint(c)
			}
			if k%2 == 0 {
				a["q13"] = "8" // half the interviews do not know about q13
			}
			b, _ := json.Marshal(a)
			if _, err := fx.db.Exec(`INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, weight, answers, source, external_id)
				SELECT id, questionnaire_id, $1, 'phone', 1, $2, 'import', $3 FROM waves WHERE name = $4`, district, string(b), fmt.Sprint(k), fx.wave); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestScoresPageTiesAndRates(t *testing.T) {
	fx := newFixture(t, 0.0005)
	seedScores(t, fx)
	office := fx.signIn(t, "office")
	index := office.get("/scores")
	if !strings.Contains(index, `<td class="n">13</td>`) || !strings.Contains(index, "尚未发布") {
		t.Errorf("the scores index does not show the wave's 13 interviews, not yet published:\n%s", index)
	}
	pub, err := survey.PublishScores(context.Background(), fx.db, fx.wave, "office")
	if err != nil {
		t.Fatal(err)
	}
	if index = office.get("/scores"); strings.Contains(index, "尚未发布") || !strings.Contains(index, pub.PublishedAt.In(core.Shanghai).Format("2006-01-02 15:04")) {
		t.Errorf("the scores index does not show when the scores were published:\n%s", index)
	}
	page := fx.signIn(t, "office").get("/scores/" + fx.wave)
	row := func(name string) string {
		i := strings.Index(page, `<td class="name">`+name+"</td>")
		if i < 0 {
			t.Fatalf("no row for %s:\n%s", name, page)
		}
		j := strings.Index(page[i:], "</tr>")
		k := strings.LastIndex(page[:i], "<tr>")
		return page[k : i+j]
	}
	// Ties are bands, not lists of names: 万州区 and 涪陵区 share band a,
	// 渝中区 is alone in band b.
	wz, fl, yz, ddk := row("万州区"), row("涪陵区"), row("渝中区"), row("大渡口区")
	if !strings.Contains(wz, "≈") || !strings.Contains(wz, `<td class="bands">a</td>`) || strings.Contains(wz, "涪陵区") {
		t.Errorf("万州区 should be tied with 涪陵区 in band a:\n%s", wz)
	}
	if !strings.Contains(fl, "≈") || !strings.Contains(fl, `<td class="bands">a</td>`) || !strings.Contains(fl, ">1–2</td>") {
		t.Errorf("涪陵区 should be tied with 万州区 in band a, ranks 1–2:\n%s", fl)
	}
	if strings.Contains(yz, "≈") || !strings.Contains(yz, `<td class="bands">b</td>`) || !strings.Contains(yz, ">3</td>") {
		t.Errorf("渝中区 is tied with nobody, rank 3:\n%s", yz)
	}
	if !strings.Contains(ddk, "样本不足") || strings.Contains(ddk, "≈") || !strings.Contains(ddk, `<td class="bands"></td>`) {
		t.Errorf("大渡口区 has one interview: flagged, not ranked:\n%s", ddk)
	}
	if !strings.Contains(page, "<strong>a</strong> 名次 1–2，2 个区县") || !strings.Contains(page, "<strong>b</strong> 名次 3，1 个区县") {
		t.Errorf("the bands legend does not give band a ranks 1–2 and band b rank 3")
	}
	// The rates table: 满意率 of q01 in 涪陵区 is 3 of 4 valid answers; q13
	// there has two don't-knows of four interviews.
	i := strings.Index(page, `id="indicator-rates"`)
	if i < 0 {
		t.Fatalf("no rates table:\n%s", page)
	}
	rates := page[i:]
	fl = rates[strings.Index(rates, `<td class="name">涪陵区</td>`):]
	fl = fl[:strings.Index(fl, "</tr>")]
	if !strings.Contains(fl, `<td class="n sat">75.0%<span class="den">3/4</span></td>`) {
		t.Errorf("涪陵区 satisfaction rate of q01 should be 75.0%% (3/4):\n%s", fl)
	}
	if !strings.Contains(fl, `<td class="n dk">50.0%<span class="den">2/4</span></td>`) {
		t.Errorf("涪陵区 don't-know rate of q13 should be 50.0%% (2/4):\n%s", fl)
	}
	city := rates[strings.Index(rates, `<td class="name">全市</td>`):]
	if !strings.Contains(city, `53.8%<span class="den">7/13</span>`) { // 1,1,2,2 and 1,2,2 of 4+4+4+1 valid answers
		t.Errorf("city satisfaction rate of q01 should be 7/13:\n%.600s", city)
	}
	if !strings.Contains(page, `href="/waves/`+fx.wave+`/rates"`) {
		t.Error("the scores page does not link to the response rates")
	}
}

// TestBrowserDashboards opens every dashboard page in Chromium: no request
// leaves the server's origin (the agency may have no internet), and in
// print the navigation and buttons are gone and every table fits the
// landscape A4 page, which prints to PDF with its Chinese text.
func TestBrowserDashboards(t *testing.T) {
	fx := newFixture(t, 0.0005)
	seedScores(t, fx)
	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	var mu sync.Mutex
	var requests []string
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	})
	mustRun(t, ctx, network.Enable(), signInBrowser(base, "admin"))
	pages := []string{"/scores", "/scores/" + fx.wave, "/waves/" + fx.wave + "/rates", "/waves/" + fx.wave + "/live", "/waves/" + fx.wave}
	for _, p := range pages {
		var h1 string
		mustRun(t, ctx, chromedp.Navigate(base+p), chromedp.WaitReady("main", chromedp.ByQuery), chromedp.Text("h1", &h1, chromedp.ByQuery))
		if h1 == "" {
			t.Errorf("%s: no title", p)
		}
	}
	mu.Lock()
	seen := map[string]bool{}
	for _, r := range requests {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "data" && u.Scheme+"://"+u.Host != base) {
			t.Errorf("request outside the server: %s", r)
		}
		seen[u.Path] = true
	}
	mu.Unlock()
	for _, p := range append(pages, "/static/app.css") {
		if !seen[p] {
			t.Errorf("no request seen for %s: the recording missed it (%v)", p, requests)
		}
	}

	// The scores page as paper: A4 landscape less the margins is 273 mm,
	// about 1031 CSS pixels.
	var printed struct {
		Hidden   []string `json:"hidden"`
		Visible  []string `json:"visible"`
		Overflow []string `json:"overflow"`
	}
	mustRun(t, ctx,
		chromedp.Navigate(base+"/scores/"+fx.wave),
		chromedp.WaitVisible("#scores", chromedp.ByID),
		emulation.SetEmulatedMedia().WithMedia("print"),
		emulation.SetDeviceMetricsOverride(1031, 800, 1, false),
		chromedp.Evaluate(`(() => {
			const shown = el => getComputedStyle(el).display !== "none" && el.getClientRects().length > 0;
			const r = {hidden: [], visible: [], overflow: []};
			for (const sel of ["header.top", "nav", "#export-scores", "#rates-link", ".downloads", "button"]) {
				for (const el of document.querySelectorAll(sel)) { if (shown(el)) r.visible.push(sel); }
			}
			for (const t of document.querySelectorAll("table")) {
				if (!shown(t)) r.hidden.push(t.id);
				if (t.getBoundingClientRect().right > document.documentElement.clientWidth + 1) r.overflow.push(t.id + ":" + Math.round(t.getBoundingClientRect().right));
			}
			return r;
		})()`, &printed),
	)
	if len(printed.Visible) > 0 {
		t.Errorf("in print these still show: %v", printed.Visible)
	}
	if len(printed.Hidden) > 0 || len(printed.Overflow) > 0 {
		t.Errorf("in print tables are hidden %v or cut off at the right edge %v", printed.Hidden, printed.Overflow)
	}
	var pdf []byte
	mustRun(t, ctx,
		emulation.ClearDeviceMetricsOverride(),
		chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			pdf, _, err = page.PrintToPDF().WithPreferCSSPageSize(true).Do(ctx)
			return err
		}),
	)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 5000 {
		t.Fatalf("PrintToPDF gave %d bytes starting %q", len(pdf), pdf[:min(8, len(pdf))])
	}
	// The Chinese text is drawn with a CJK font embedded in the file, not
	// as empty boxes.
	if !bytes.Contains(pdf, []byte("CJK")) {
		t.Errorf("the PDF embeds no CJK font; Chinese labels did not render")
	}
}
