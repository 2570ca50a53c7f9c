package web

import (
	"fmt"
	"net/url"
	"regexp"
	"testing"
)

// recountInterviewerFigures counts the supervision page's interviewer
// figures from every attempt of the wave, as an auditor would.
const recountInterviewerFigures = `
SELECT u.username, count(*) AS calls, count(*) FILTER (WHERE a.aapor_code = '1.1') AS completes,
       count(*) FILTER (WHERE a.aapor_code LIKE '2.1%') AS refusals,
       greatest(extract(epoch FROM max(a.created_at) - min(a.created_at)) / 3600, 0.25) AS hours,
       coalesce((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM i.completed_at - i.started_at))
                 FROM interviews i WHERE i.wave_id = w.id AND i.interviewer_id = u.id AND i.started_at IS NOT NULL), 0) AS median_seconds
FROM attempts a JOIN cases c ON c.id = a.case_id JOIN waves w ON w.id = c.wave_id JOIN users u ON u.id = a.interviewer_id
WHERE w.name = $1
GROUP BY w.id, u.id, u.username
ORDER BY u.username`

// TestSupervisionFiguresAreARecount makes calls of known outcomes through
// the pages, and a call earlier in the day, and checks that the supervision
// page shows for the interviewer exactly the figures a recount of the
// wave's attempts gives.
func TestSupervisionFiguresAreARecount(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	var first string
	for _, outcome := range []string{"no_answer", "busy", "refusal", "wrong_number"} {
		id := c.nextCase()
		if first == "" {
			first = id
		}
		if res := c.post("/cases/"+id+"/outcome", url.Values{"outcome": {outcome}}); res.StatusCode >= 400 {
			t.Fatalf("%s on case %s: %d", outcome, id, res.StatusCode)
		}
	}
	id := c.nextCase()
	page := c.get("/cases/" + id + "/interview")
	form := completeAnswers("500103")
	form.Set("key", formValue(page, "key"))
	form.Set("started", formValue(page, "started"))
	if res := c.post("/cases/"+id+"/interview", form); res.Header.Get("Location") != "/calls?msg=saved" {
		t.Fatalf("save: %d", res.StatusCode)
	}
	// A call three hours ago, so that the rates are over three hours.
	if _, err := fx.db.Exec(`INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, created_at)
		SELECT $1, id, 'no_answer', '3.13', false, now() - interval '3 hours' FROM users WHERE username = 'interviewer'`, first); err != nil {
		t.Fatal(err)
	}

	var want []struct {
		Username   string
		Calls      int
		Completes  int
		Refusals   int
		Hours      float64
		MedianSecs float64 `db:"median_seconds"`
	}
	if err := fx.db.Select(&want, recountInterviewerFigures, fx.wave); err != nil {
		t.Fatal(err)
	}
	if len(want) != 1 || want[0].Calls != 6 || want[0].Completes != 1 || want[0].Refusals != 1 || want[0].Hours < 2.99 {
		t.Fatalf("the recount is not of the calls made: %+v", want)
	}
	w := want[0]
	row := fmt.Sprintf(`<tr><td>%s</td><td class="n">%d</td><td class="n">%d</td><td class="n">%.1f</td><td class="n">%.1f</td><td class="n">%.1f%%</td><td class="n">%.0f</td></tr>`,
		w.Username, w.Calls, w.Completes, float64(w.Calls)/w.Hours, float64(w.Completes)/w.Hours, 100*float64(w.Refusals)/float64(w.Calls), w.MedianSecs)
	sup := fx.signIn(t, "supervisor")
	body := sup.get("/waves/" + fx.wave + "/supervision")
	if !regexp.MustCompile(regexp.QuoteMeta(row)).MatchString(body) {
		got := regexp.MustCompile(`<tr><td>interviewer</td>.*?</tr>`).FindString(body)
		t.Errorf("the supervision page shows\n%s\nfor the interviewer; a recount gives\n%s", got, row)
	}
}
