package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"minyi/users"
)

// seedEvening gives 渝中区 (500103) a target of 30 and 12 interviews, and
// two interviewers an evening of calls on 3 December 2026, Beijing time:
//
//	19:00 1.1  19:10 2.11  19:20 2.20  19:30 1.1   (interviewer)
//	20:00 2.20 20:10 2.20  20:20 3.10  20:30 1.1   (interviewer)
//	19:00 1.1  20:00 2.20                          (interviewer2)
//
// so 19 时 has 5 attempts, 4 contacts, 1 refusal (80.0%, 25.0%) and 20 时
// 5, 1, 0 (20.0%, 0.0%); interviewer completes 3 in 1.5 hours (2.0 an
// hour) with interviews of 8, 10 and 12 minutes, interviewer2 one in an
// hour (1.0) with 20-minute ones.
func seedEvening(t *testing.T, fx *fixture) {
	t.Helper()
	var caseID int64
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := fx.db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := fx.db.Get(&caseID, `SELECT min(c.id) FROM cases c JOIN waves w ON w.id = c.wave_id WHERE w.name = $1`, fx.wave); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE allocations SET target = 30 WHERE district_code = '500103'`)
	iv, iv2 := fx.users[users.RoleInterview], int64(0)
	if err := fx.db.Get(&iv2, `SELECT id FROM users WHERE username = 'interviewer2'`); err != nil {
		t.Fatal(err)
	}
	type attempt struct {
		who  int64
		at   string
		code string
	}
	for _, a := range []attempt{{iv, "19:00", "1.1"}, {iv, "19:10", "2.11"}, {iv, "19:20", "2.20"}, {iv, "19:30", "1.1"},
		{iv, "20:00", "2.20"}, {iv, "20:10", "2.20"}, {iv, "20:20", "3.10"}, {iv, "20:30", "1.1"}, {iv2, "19:00", "1.1"}, {iv2, "20:00", "2.20"}} {
		exec(`INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, created_at) VALUES ($1, $2, 'x', $3, false, $4::timestamptz)`,
			caseID, a.who, a.code, "2026-12-03 "+a.at+":00+08")
	}
	for k := 0; k < 12; k++ {
		who, mins := any(nil), 0
		switch {
		case k < 3:
			who, mins = iv, 8+2*k
		case k < 4:
			who, mins = iv2, 20
		}
		started := any(nil)
		if mins > 0 {
			started = fmt.Sprintf("2026-12-03 19:%02d:00+08", 40-mins)
		}
		exec(`INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, weight, answers, source, external_id, interviewer_id, started_at, completed_at)
			SELECT id, questionnaire_id, '500103', 'phone', 1, '{}', 'import', $1, $2, $3::timestamptz, '2026-12-03 19:40:00+08' FROM waves WHERE name = $4`,
			fmt.Sprint("e", k), who, started, fx.wave)
	}
}

// TestLiveCharts: the live view's three charts, drawn on the server as
// SVG, carry the database's numbers; in Chromium they have a size, fit a
// 375-px phone and are labelled in the page's language.
func TestLiveCharts(t *testing.T) {
	fx := newFixture(t, 0.0005)
	seedEvening(t, fx)
	ctx, _ := newBrowser(t)
	mustRun(t, ctx, signInBrowser(fx.srv.URL, "supervisor"))
	var r struct {
		BarW, TargetX, X0 float64
		Hours             map[string][]float64
		HourTitles        []string
		Pace              map[string][]float64
		PaceTitle         string
		Sizes             [][]float64
		Titles            []string
	}
	const look = `(() => {
		const row = document.querySelector('#chart-targets g[data-district="500103"]');
		const num = (el, a) => el ? parseFloat(el.getAttribute(a)) : NaN;
		const hours = {}, pace = {};
		for (const g of document.querySelectorAll("#chart-rates g.hour")) {
			hours[g.dataset.hour] = [num(g.querySelector(".dot-contact"), "cy"), num(g.querySelector(".dot-refusal"), "cy")];
		}
		for (const g of document.querySelectorAll("#chart-pace g.interviewer")) {
			pace[g.dataset.username] = [num(g.querySelector("rect.rate"), "width"), num(g.querySelector("rect.mins"), "width")];
		}
		return {
			BarW: num(row.querySelector("rect.bar"), "width"), TargetX: num(row.querySelector(".target-mark"), "x1"), X0: num(row.querySelector("rect.bar"), "x"),
			Hours: hours, HourTitles: [...document.querySelectorAll("#chart-rates g.hour > title")].map(t => t.textContent),
			Pace: pace, PaceTitle: document.querySelector('#chart-pace g[data-username="interviewer"] > title').textContent,
			Sizes: [...document.querySelectorAll("svg#progress, svg#chart-targets, svg#chart-rates, svg#chart-pace")].map(s => { const b = s.getBoundingClientRect(); return [b.width, b.height, b.right]; }),
			Titles: [...document.querySelectorAll("svg#chart-targets > title, svg#chart-rates > title, svg#chart-pace > title")].map(t => t.textContent),
		};
	})()`
	near := func(a, b float64) bool { return math.Abs(a-b) < 0.06 }
	for _, v := range []struct {
		lang   string
		width  int64
		titles []string
		hour   string
	}{
		{"zh", 375, []string{"各区县完成数与目标", "接触率", "每小时完成数"}, "19 时：拨打 5 次，接触率 80.0%，拒访率 25.0%"},
		{"en", 1366, []string{"Completes per district against target", "Contact rate", "completes per hour"}, "19:00: 5 attempts, contact rate 80.0%, refusal rate 25.0%"},
	} {
		mustRun(t, ctx, emulation.SetDeviceMetricsOverride(v.width, 700, 1, v.width < 600),
			chromedp.Navigate(fx.srv.URL+"/lang/"+v.lang), chromedp.Navigate(fx.srv.URL+"/waves/"+fx.wave+"/live"),
			chromedp.WaitVisible("#chart-targets", chromedp.ByID), chromedp.Evaluate(look, &r))
		shot(t, ctx, "live-charts-"+v.lang)
		// 12 of 30: the bar reaches 40% of the way to the target mark.
		if share := r.BarW / (r.TargetX - r.X0); !near(share, 0.4) {
			t.Errorf("%s: 渝中区's bar is %.1f of the %.1f to its target mark: %.3f, want 0.4", v.lang, r.BarW, r.TargetX-r.X0, share)
		}
		// The rates' axis runs from y=180 (0%) to y=10 (100%).
		y := func(rate float64) float64 { return 180 - rate*170 }
		want := map[string][]float64{"19": {y(.8), y(.25)}, "20": {y(.2), y(0)}}
		for h, w := range want {
			if g := r.Hours[h]; len(g) != 2 || !near(g[0], w[0]) || !near(g[1], w[1]) {
				t.Errorf("%s: %s 时 drawn at %v, want contact and refusal at %v", v.lang, h, g, w)
			}
		}
		if len(r.Hours) != 2 || len(r.HourTitles) == 0 || r.HourTitles[0] != v.hour {
			t.Errorf("%s: hours %v titled %q, want 19 and 20 and %q", v.lang, r.Hours, r.HourTitles, v.hour)
		}
		// 2.0 an hour is the most, 10 minutes half of interviewer2's 20.
		if p := r.Pace["interviewer"]; len(p) != 2 || !near(p[0], 180) || !near(p[1], 90) || !strings.Contains(r.PaceTitle, "2.0") || !strings.Contains(r.PaceTitle, "10.0") {
			t.Errorf("%s: interviewer's pace bars %v titled %q, want 180 and 90, 2.0 an hour and 10.0 minutes", v.lang, p, r.PaceTitle)
		}
		if p := r.Pace["interviewer2"]; len(p) != 2 || !near(p[0], 90) || !near(p[1], 180) {
			t.Errorf("%s: interviewer2's pace bars %v, want 90 and 180", v.lang, p)
		}
		if len(r.Sizes) != 4 || len(r.Titles) != 3 {
			t.Fatalf("%s: %d charts, %d of them titled, want the progress line and three titled charts", v.lang, len(r.Sizes), len(r.Titles))
		}
		for i, s := range r.Sizes {
			if s[0] < 200 || s[1] < 30 || s[2] > float64(v.width) {
				t.Errorf("%s at %d px: chart %d is %.0f×%.0f px ending at %.0f", v.lang, v.width, i, s[0], s[1], s[2])
			}
		}
		for i := range r.Titles {
			if !strings.Contains(r.Titles[i], v.titles[i]) {
				t.Errorf("%s: chart %d titled %q, want %q in it", v.lang, i, r.Titles[i], v.titles[i])
			}
		}
	}
	mustRun(t, ctx, emulation.ClearDeviceMetricsOverride())
}

// TestLiveViewIsForManagers: an interviewer, a field interviewer or the
// assessment office asking for the live view or its figures is refused.
func TestLiveViewIsForManagers(t *testing.T) {
	fx := newFixture(t, 0.0005)
	seedEvening(t, fx)
	for _, who := range []string{"interviewer", "field_interviewer", "office"} {
		c := fx.signIn(t, who)
		for _, p := range []string{"/waves/" + fx.wave + "/live", "/waves/" + fx.wave + "/live.json"} {
			res := c.do("GET", p, nil)
			body := readAll(res)
			if res.StatusCode != http.StatusForbidden || strings.Contains(body, "chart-targets") || strings.Contains(body, "渝中区") {
				t.Errorf("%s GET %s: %d, want 403 without the figures", who, p, res.StatusCode)
			}
		}
	}
	var l map[string]any
	if err := json.Unmarshal([]byte(fx.signIn(t, "supervisor").get("/waves/"+fx.wave+"/live.json")), &l); err != nil {
		t.Fatalf("the supervisor cannot read live.json: %v", err)
	}
}
