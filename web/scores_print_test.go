package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// seedCity stores 30 interviews in each of the 40 districts, their answers
// drawn so that the districts' scores spread from about 45 to 90 with
// intervals of about ±8: many districts overlap, as on a real wave.
func seedCity(t *testing.T, fx *fixture) {
	t.Helper()
	var codes []string
	if err := fx.db.Select(&codes, `SELECT code FROM districts ORDER BY code`); err != nil || len(codes) < 38 {
		t.Fatalf("%d districts: %v", len(codes), err)
	}
	rng := rand.New(rand.NewPCG(2026, 12))
	tx := fx.db.MustBegin()
	k := 0
	for i, d := range codes {
		for n := 0; n < 30; n++ {
			k++
			a := map[string]string{"sex": fmt.Sprint(1 + n%2), "age_group": fmt.Sprint(1 + n%5), "urban": fmt.Sprint(1 + n%2)}
			for q := 1; q <= 13; q++ {
				// Codes 1 (very satisfied, 100) to 5 (20); better districts
				// draw lower codes. One answer in twenty is don't know.
				c := 1 + min(4, int(rng.Float64()*(1.5+float64(i)/10)+rng.Float64()))
				if rng.IntN(20) == 0 {
					c = 8
				}
				a[fmt.Sprintf("q%02d", q)] = fmt.Sprint(c)
			}
			b, _ := json.Marshal(a)
			if _, err := tx.Exec(`INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, weight, answers, source, external_id)
				SELECT id, questionnaire_id, $1, 'phone', 1, $2, 'import', $3 FROM waves WHERE name = $4`, d, string(b), fmt.Sprint(k), fx.wave); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// pdfPages counts the pages of a PDF Chromium printed: one page object each.
func pdfPages(pdf []byte) int {
	return len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1))
}

// printA4Landscape prints the page shown as a person would on A4 landscape
// paper with 12 mm margins.
func printA4Landscape(t *testing.T, ctx context.Context) []byte {
	t.Helper()
	var pdf []byte
	const mm = 1 / 25.4
	mustRun(t, ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		pdf, _, err = page.PrintToPDF().WithLandscape(true).WithPaperWidth(210 * mm).WithPaperHeight(297 * mm).
			WithMarginTop(12 * mm).WithMarginBottom(12 * mm).WithMarginLeft(12 * mm).WithMarginRight(12 * mm).Do(ctx)
		return err
	}))
	return pdf
}

// TestScoresPagePrintsOnTwoPages: the scores page of a 40-district wave,
// printed on A4 landscape, takes at most two sheets, in both languages.
func TestScoresPagePrintsOnTwoPages(t *testing.T) {
	fx := newFixture(t, 0.0005)
	seedCity(t, fx)
	ctx, _ := newBrowser(t)
	mustRun(t, ctx, signInBrowser(fx.srv.URL, "office"))
	for _, lang := range []string{"zh", "en"} {
		mustRun(t, ctx, chromedp.Navigate(fx.srv.URL+"/lang/"+lang), chromedp.Navigate(fx.srv.URL+"/scores/"+fx.wave), chromedp.WaitVisible("#scores", chromedp.ByID))
		var rows int
		mustRun(t, ctx, chromedp.Evaluate(`document.querySelectorAll("#scores tbody tr").length`, &rows))
		if rows != 40 {
			t.Fatalf("%s: %d rows in the scores table, want 40", lang, rows)
		}
		checkTiesCompact(t, ctx, lang)
		checkNamesOneLine(t, ctx, lang+" screen")
		mustRun(t, ctx, emulation.SetEmulatedMedia().WithMedia("print"))
		checkNamesOneLine(t, ctx, lang+" print")
		mustRun(t, ctx, emulation.SetEmulatedMedia().WithMedia(""))
		pdf := printA4Landscape(t, ctx)
		if n := pdfPages(pdf); n < 1 || n > 2 {
			t.Errorf("%s: the scores page prints on %d A4 landscape pages, want at most 2", lang, n)
		}
		mustRun(t, ctx, emulation.SetEmulatedMedia().WithMedia(""))
	}
}

// checkTiesCompact: on the scores page, ties are rank ranges and band
// letters, and no cell but a district's own name cell holds a district's
// name.
func checkTiesCompact(t *testing.T, ctx context.Context, lang string) {
	t.Helper()
	var r struct {
		Names    []string `json:"names"`
		Leaks    []string `json:"leaks"`
		Ranges   []string `json:"ranges"`
		Bands    []string `json:"bands"`
		Legend   string   `json:"legend"`
		Height   float64  `json:"height"`
		TiedRows int      `json:"tiedRows"`
	}
	mustRun(t, ctx, chromedp.Evaluate(`(() => {
		const names = [...document.querySelectorAll("#scores td.name")].map(td => td.textContent.trim());
		const leaks = [];
		for (const td of document.querySelectorAll("main td:not(.name), main th")) {
			for (const n of names) { if (td.textContent.includes(n)) leaks.push(n + " in " + td.outerHTML.slice(0, 80)); }
		}
		const ranges = [...document.querySelectorAll("#scores td.range")].map(td => td.textContent.trim());
		const bands = [...document.querySelectorAll("#scores td.bands")].map(td => td.textContent.trim());
		const tiedRows = [...document.querySelectorAll("#scores tbody tr")].filter(tr => tr.textContent.includes("≈")).length;
		return {names, leaks, ranges, bands, tiedRows, legend: (document.querySelector("#bands") || {}).textContent || "",
			height: Math.max(...[...document.querySelectorAll("#scores tbody tr")].map(tr => tr.getBoundingClientRect().height))};
	})()`, &r))
	if len(r.Names) != 40 || len(r.Leaks) > 0 {
		t.Errorf("%s: %d names; district names outside their name cells: %v", lang, len(r.Names), r.Leaks)
	}
	rangeRe := regexp.MustCompile(`^\d+(–\d+)?$`)
	wide := 0
	for i, s := range r.Ranges {
		if !rangeRe.MatchString(s) || r.Bands[i] == "" {
			t.Errorf("%s: row %d has rank range %q and bands %q", lang, i+1, s, r.Bands[i])
		}
		if len(s) > 2 && s != "" && regexp.MustCompile(`–`).MatchString(s) {
			wide++
		}
	}
	if r.TiedRows < 20 || wide != r.TiedRows || r.Legend == "" {
		t.Errorf("%s: %d tied rows, %d rank ranges wider than one place, bands legend %q: the seeded city has many ties", lang, r.TiedRows, wide, r.Legend)
	}
	// Each district is one line of the table (listing tied districts by
	// name made rows of several lines and a page 22,892 px tall).
	if r.Height > 40 {
		t.Errorf("%s: the tallest row of the scores table is %.0f px", lang, r.Height)
	}
}

// checkNamesOneLine: every district name cell on the page is one line of
// text, never wrapped a character per line.
func checkNamesOneLine(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	var wrapped []string
	var cells int
	mustRun(t, ctx, chromedp.Evaluate(`(() => {
		const out = [];
		const cells = document.querySelectorAll("td.name");
		for (const td of cells) {
			const r = document.createRange();
			r.selectNodeContents(td);
			const tops = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
			if (tops.size > 1) out.push(td.textContent.trim() + ": " + tops.size + " lines");
		}
		return [cells.length, out];
	})()`, &[]any{&cells, &wrapped}))
	if cells < 40 || len(wrapped) > 0 {
		t.Errorf("%s: %d name cells, wrapped: %v", where, cells, wrapped)
	}
}
