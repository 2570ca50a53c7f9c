package web

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"minyi/dialer"
)

// TestRatesPageFitsTheScreen: on a 1366-px laptop screen the rates table
// of a 40-district wave shows the counts and the main rates without
// scrolling sideways, each district's name on one line; all 16 rates open
// behind a toggle, and the CSV linked from the page has every column.
func TestRatesPageFitsTheScreen(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	c.post("/cases/"+c.nextCase()+"/outcome", map[string][]string{"outcome": {"refusal"}})
	ctx, _ := newBrowser(t)
	var r struct {
		Rows     int      `json:"rows"`
		Right    float64  `json:"right"`
		Width    float64  `json:"width"`
		Scroll   float64  `json:"scroll"`
		Heads    []string `json:"heads"`
		AllShown bool     `json:"allShown"`
		AllHeads []string `json:"allHeads"`
		CSV      string   `json:"csv"`
	}
	const look = `(() => {
		const shown = el => el.checkVisibility() && el.getBoundingClientRect().height > 0;
		const t = document.querySelector("#rates");
		return {rows: t.querySelectorAll("tbody tr").length, right: t.getBoundingClientRect().right,
			width: document.documentElement.clientWidth, scroll: document.documentElement.scrollWidth,
			heads: [...t.querySelectorAll("thead th")].map(th => th.textContent.trim()),
			allShown: shown(document.querySelector("#rates-all")),
			allHeads: [...document.querySelectorAll("#rates-all thead th")].map(th => th.textContent.trim()),
			csv: document.querySelector("#rates-csv").getAttribute("href")};
	})()`
	mustRun(t, ctx, emulation.SetDeviceMetricsOverride(1366, 768, 1, false), signInBrowser(fx.srv.URL, "office"))
	for _, lang := range []string{"zh", "en"} {
		mustRun(t, ctx,
			chromedp.Navigate(fx.srv.URL+"/lang/"+lang),
			chromedp.Navigate(fx.srv.URL+"/waves/"+fx.wave+"/rates"),
			chromedp.WaitVisible("#rates", chromedp.ByID),
			chromedp.Evaluate(look, &r),
		)
		if r.Rows != 41 {
			t.Fatalf("%s: %d rows, want 40 districts and the total", lang, r.Rows)
		}
		if r.Right > r.Width || r.Scroll > r.Width {
			t.Errorf("%s: the rates table ends at %.0f px, the page is %.0f px wide (of %.0f)", lang, r.Right, r.Scroll, r.Width)
		}
		want := []string{"I", "P", "R", "NC", "O", "UH", "UO", "NE", "e", "RR1", "RR3", "COOP1", "REF1", "CON1"}
		if strings.Join(r.Heads[1:], " ") != strings.Join(want, " ") {
			t.Errorf("%s: the table's columns are %v, want the district and %v", lang, r.Heads, want)
		}
		if r.AllShown {
			t.Errorf("%s: all the rates show before the toggle is opened", lang)
		}
		checkNamesOneLine(t, ctx, lang+" rates")
		mustRun(t, ctx, chromedp.Click("#all-rates summary", chromedp.ByQuery), chromedp.WaitVisible("#rates-all", chromedp.ByID),
			chromedp.Evaluate(look, &r))
		if !r.AllShown || strings.Join(r.AllHeads[1:], " ") != strings.Join(dialer.RateNames, " ") {
			t.Errorf("%s: opened, the toggle shows %v (shown %v), want all of %v", lang, r.AllHeads, r.AllShown, dialer.RateNames)
		}
		checkNamesOneLine(t, ctx, lang+" all rates")
	}
	// Codes as column names, as a statistician's script reads them (the
	// Chinese page's default is its labels).
	csv := fx.signIn(t, "office").get(r.CSV + "?header=codes")
	if !strings.Contains(csv, strings.Join(dialer.RatesHeader, ",")) || strings.Count(csv, "\n") < 42 {
		t.Errorf("the rates CSV at %s lacks the header %v or rows:\n%.300s", r.CSV, dialer.RatesHeader, csv)
	}
}
