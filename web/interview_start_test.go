package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"minyi/survey"
)

// TestInterviewStartIsTheServers performs the fabrication the start field
// allowed: an interview saved seconds after its questionnaire was opened,
// with the form's start left out, forged an hour back, or the
// questionnaire never opened at all. Each is stored with the start the
// server recorded and is on the supervisors' review list as too short.
func TestInterviewStartIsTheServers(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	sup := fx.signIn(t, "supervisor")

	type stored struct {
		Started   *time.Time `db:"started_at"`
		Completed time.Time  `db:"completed_at"`
		ID        int64      `db:"id"`
	}
	save := func(name string, open bool, started func(page string) string) stored {
		t.Helper()
		id := c.nextCase()
		form := completeAnswers("500103")
		var opened time.Time
		if open {
			page := c.get("/cases/" + id + "/interview")
			form.Set("key", formValue(page, "key"))
			form.Set("draft_version", formValue(page, "draft_version"))
			if err := fx.db.Get(&opened, `SELECT started_at FROM interview_drafts WHERE case_id = $1`, id); err != nil {
				t.Fatalf("%s: the opened questionnaire has no draft: %v", name, err)
			}
			if s := started(page); s != "" {
				form.Set("started", s)
			}
		}
		res := c.post("/cases/"+id+"/interview", form)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/calls?msg=saved" {
			t.Fatalf("%s: save: %d %s", name, res.StatusCode, res.Header.Get("Location"))
		}
		var iv stored
		if err := fx.db.Get(&iv, `SELECT id, started_at, completed_at FROM interviews WHERE case_id = $1`, id); err != nil {
			t.Fatal(err)
		}
		switch {
		case iv.Started == nil:
			t.Errorf("%s: stored with no start", name)
		case open && !iv.Started.Equal(opened):
			t.Errorf("%s: stored start %v, the server opened the questionnaire at %v", name, iv.Started, opened)
		case !open && iv.Completed.Sub(*iv.Started) > 5*time.Second:
			t.Errorf("%s: never opened, yet stored as taking %v", name, iv.Completed.Sub(*iv.Started))
		}
		if iv.Started != nil && iv.Completed.Sub(*iv.Started) >= MinInterviewLength {
			t.Errorf("%s: saved seconds after opening, stored as taking %v", name, iv.Completed.Sub(*iv.Started))
		}
		return iv
	}
	omitted := save("start omitted", true, func(string) string { return "" })
	forged := save("start forged an hour back", true, func(string) string {
		return time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	})
	unopened := save("questionnaire never opened", false, nil)

	page := sup.get("/waves/" + url.PathEscape(fx.wave) + "/reviews")
	for name, iv := range map[string]stored{"start omitted": omitted, "start forged": forged, "never opened": unopened} {
		row := regexp.MustCompile(`(?s)<tr><td><a href="/interviews/` + strconv.FormatInt(iv.ID, 10) + `">.*?</tr>`).FindString(page)
		if row == "" {
			t.Errorf("%s: interview #%d is not on the review list", name, iv.ID)
			continue
		}
		if !regexp.MustCompile(`过短`).MatchString(row) {
			t.Errorf("%s: interview #%d is listed but not as too short: %s", name, iv.ID, row)
		}
	}
}

// TestImportedInterviewsAreOnTheReviewList: interviews imported from a
// file, which no one saw being collected, wait on the supervisors' review
// list, marked as imported, until someone decides on them.
func TestImportedInterviewsAreOnTheReviewList(t *testing.T) {
	fx := newFixture(t, 0.0005)
	var b strings.Builder
	b.WriteString("interview_id,district_code,mode,weight,sex,age_group,q01,q02,q03,q04,q05,q06,q07,q08,q09,q10,q11,q12,q13\n")
	for i := range 3 {
		fmt.Fprintf(&b, "p%d,500103,phone,500,1,2,%d%s\n", i, 1+i, strings.Repeat(",3", 12))
	}
	if _, err := survey.ImportResponses(t.Context(), fx.db, fx.wave, strings.NewReader(b.String()), survey.ImportOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	fx.db.Select(&ids, `SELECT id FROM interviews WHERE source = 'import' ORDER BY id`)
	sup := fx.signIn(t, "supervisor")
	page := sup.get("/waves/" + url.PathEscape(fx.wave) + "/reviews")
	for _, id := range ids {
		row := regexp.MustCompile(`(?s)<tr><td><a href="/interviews/` + strconv.FormatInt(id, 10) + `">.*?</tr>`).FindString(page)
		if !strings.Contains(row, "文件导入") {
			t.Errorf("imported interview #%d is not on the review list as imported: %q", id, row)
		}
	}
	// Approved, it leaves the list.
	form := url.Values{"action": {"approve"}, "version": {"1"}}
	if res := sup.post("/interviews/"+strconv.FormatInt(ids[0], 10)+"/review", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", res.StatusCode, readAll(res))
	}
	page = sup.get("/waves/" + url.PathEscape(fx.wave) + "/reviews")
	toReview := regexp.MustCompile(`(?s)id="to-review".*?</table>`).FindString(page)
	if strings.Contains(toReview, `href="/interviews/`+strconv.FormatInt(ids[0], 10)+`"`) || !strings.Contains(toReview, `href="/interviews/`+strconv.FormatInt(ids[1], 10)+`"`) {
		t.Errorf("after approving #%d, to review:\n%s", ids[0], toReview)
	}
}
