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

	"github.com/lib/pq"

	"minyi/users"
)

// seedInterviews stores n telephone interviews of the fixture's wave in a
// district by an interviewer, completed at the given time, too short (and
// so flagged for review) or not; it returns their ids, in order.
func seedInterviews(t *testing.T, fx *fixture, n int, district string, interviewer int64, short bool, at time.Time) []int64 {
	t.Helper()
	length := "600 seconds"
	if short {
		length = "30 seconds"
	}
	var ids []int64
	err := fx.db.Select(&ids, `
		INSERT INTO interviews (wave_id, questionnaire_id, interviewer_id, district_code, mode, answers, source, started_at, completed_at)
		SELECT w.id, w.questionnaire_id, $2, $3, 'phone',
		       jsonb_build_object('district', $3::text, 'q01', '1', 'q02', '2', 'q03', '3', 'q04', '4', 'q05', '5', 'q06', '1', 'q07', '2',
		                          'q08', '3', 'q09', '4', 'q10', '5', 'q11', '1', 'q12', '2', 'q13', '3'),
		       'cati', $4::timestamptz - $5::interval, $4::timestamptz + g * interval '1 second'
		FROM waves w, generate_series(1, $1) g WHERE w.name = $6
		RETURNING id`, n, interviewer, district, at, length, fx.wave)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

var countRe = regexp.MustCompile(`共 ([0-9,]+) 条，第 (\d+)/(\d+) 页`)

// listed is the interview ids linked from the table with the given id.
func listed(page, table string) []string {
	body := regexp.MustCompile(`(?s)id="` + table + `".*?</table>`).FindString(page)
	var out []string
	for _, m := range regexp.MustCompile(`href="/interviews/(\d+)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func unescapeHref(s string) string { return strings.ReplaceAll(s, "&amp;", "&") }

// TestReviewListPagedAndFiltered: 130 interviews to review over two
// districts and two interviewers and 20 that are fine; the list shows 50 at
// a time with its count, pages keep the filters, and each filter narrows
// the list and its count to exactly the interviews it names. Filters offer
// district and interviewer names, and a value not offered gets a message,
// not a server error.
func TestReviewListPagedAndFiltered(t *testing.T) {
	fx := newFixture(t, 0.0001)
	iv2 := int64(0)
	fx.db.Get(&iv2, `SELECT id FROM users WHERE username = 'interviewer2'`)
	day1 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	day2 := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	yuzhong := seedInterviews(t, fx, 70, "500103", fx.users[users.RoleInterview], true, day1)
	wanzhou := seedInterviews(t, fx, 60, "500101", iv2, true, day2)
	seedInterviews(t, fx, 20, "500103", fx.users[users.RoleInterview], false, day2)
	sup := fx.signIn(t, "supervisor")
	base := "/waves/" + fx.wave + "/reviews"

	page := sup.get(base)
	if m := countRe.FindStringSubmatch(page); m == nil || m[1] != "130" || m[2] != "1" || m[3] != "3" {
		t.Fatalf("first page count: %v", m)
	}
	first := listed(page, "to-review")
	// Newest first: the last of 万州区's.
	if len(first) != 50 || first[0] != strconv.FormatInt(wanzhou[59], 10) {
		t.Fatalf("first page lists %d, first %v", len(first), first[:min(1, len(first))])
	}
	for _, want := range []string{`<option value="500103">渝中区</option>`, `<option value="500101">万州区</option>`, ">interviewer2</option>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the filters do not offer %s", want)
		}
	}

	// 渝中区 only: 70, two pages; the next page's link keeps the filter.
	page = sup.get(base + "?district=500103")
	if m := countRe.FindStringSubmatch(page); m == nil || m[1] != "70" || m[3] != "2" {
		t.Fatalf("渝中区 count: %v", m)
	}
	next := regexp.MustCompile(`id="page-next" href="([^"]+)"|href="([^"]+)" rel="next"`).FindStringSubmatch(page)
	if next == nil {
		t.Fatal("no next page link")
	}
	link := unescapeHref(next[1] + next[2])
	if !strings.Contains(link, "district=500103") || !strings.Contains(link, "page=2") {
		t.Fatalf("next link %q loses the filter", link)
	}
	page2 := sup.get(link)
	second := listed(page2, "to-review")
	if len(second) != 20 {
		t.Fatalf("second page of 渝中区 lists %d, want 20", len(second))
	}
	seen := map[string]bool{}
	for _, id := range append(listed(page, "to-review"), second...) {
		seen[id] = true
	}
	for _, id := range yuzhong {
		if !seen[strconv.FormatInt(id, 10)] {
			t.Errorf("渝中区 interview #%d is on neither page", id)
		}
	}
	if len(seen) != 70 {
		t.Errorf("the two pages list %d distinct interviews, want 70", len(seen))
	}
	if !strings.Contains(page2, "共 70 条，第 2/2 页") || !strings.Contains(page2, `rel="prev"`) {
		t.Error("the second page does not say where it is or link back")
	}

	// Interviewer, reason and dates.
	for q, want := range map[string]int{
		"interviewer=" + strconv.FormatInt(iv2, 10): 60,
		"flag=too_short":                                        130,
		"flag=straight_lined":                                   0,
		"from=2026-11-05&to=2026-11-05":                         60,
		"from=2026-11-01&to=2026-11-03&district=500101":         0,
		"from=2026-11-01&to=2026-11-03&district=500103":         70,
		"list=reviewed":                                         0,
		"interviewer=" + strconv.FormatInt(iv2, 10) + "&page=9": 60,
	} {
		page := sup.get(base + "?" + q)
		m := countRe.FindStringSubmatch(page)
		if m == nil || m[1] != strconv.Itoa(want) {
			t.Errorf("%s: count %v, want %d", q, m, want)
		}
	}

	// Values not offered are refused with a message saying which.
	for q, want := range map[string]string{
		"district=999999":    "没有这个区县",
		"district=500103'--": "没有这个区县",
		"interviewer=abc":    "没有这个访员",
		"interviewer=" + strconv.FormatInt(fx.users[users.RoleAdmin], 10): "没有这个访员",
		"flag=everything":               "没有这个筛选项",
		"from=2026-13-01":               "起始日期须为",
		"from=2026-11-05&to=2026-11-01": "早于起始日期",
		"page=0":                        "页码须为正整数",
		"page=x":                        "页码须为正整数",
		"list=all":                      "没有这个列表",
	} {
		res := sup.do("GET", base+"?"+q, nil)
		body := readAll(res)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want 422 saying %q", q, res.StatusCode, want)
		}
	}
}

// bulkApprove opens the confirmation for the review list's filters q and
// returns its form's fields.
func bulkConfirm(t *testing.T, c *client, fx *fixture, q string) (string, url.Values) {
	t.Helper()
	page := c.get("/waves/" + fx.wave + "/reviews/approve?" + q)
	action := regexp.MustCompile(`<form method="post" action="(/waves/[^"]+/reviews/approve[^"]*)"`).FindStringSubmatch(page)
	if action == nil {
		t.Fatalf("no confirmation form for %s:\n%s", q, page)
	}
	return page, url.Values{"count": {formValue(page, "count")}, "upto": {formValue(page, "upto")}, "digest": {formValue(page, "digest")}, "action": {unescapeHref(action[1])}}
}

// TestBulkApproveFilteredSet: a supervisor filters the review list to one
// district and approves it with one confirmation: exactly that district's
// interviews are approved, each with its own audit entry and evidence, one
// more entry saying how many, and the other district's stay to review.
// An interview arriving after the confirmation is not swept in; a
// confirmation made stale by someone else's decision approves nothing; an
// interviewer cannot approve, nor a form without its CSRF token.
func TestBulkApproveFilteredSet(t *testing.T) {
	fx := newFixture(t, 0.0001)
	iv := fx.users[users.RoleInterview]
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	yuzhong := seedInterviews(t, fx, 12, "500103", iv, true, at)
	wanzhou := seedInterviews(t, fx, 5, "500101", iv, true, at)
	sup := fx.signIn(t, "supervisor")

	page, form := bulkConfirm(t, sup, fx, "district=500103")
	if !strings.Contains(page, `将通过 <strong id="approve-count">12</strong> 份待复核的访问`) || !strings.Contains(page, "渝中区") {
		t.Fatalf("the confirmation does not say 12 of 渝中区:\n%s", page)
	}
	action := form.Get("action")
	form.Del("action")

	// Refused: an interviewer, and a form without its CSRF token.
	ivc := fx.signIn(t, "interviewer")
	if res := ivc.post(action, cloneValues(form)); res.StatusCode != http.StatusForbidden {
		t.Errorf("an interviewer's bulk approval: %d, want 403", res.StatusCode)
	}
	if res := ivc.do("GET", "/waves/"+fx.wave+"/reviews/approve?district=500103", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("an interviewer opening the confirmation: %d, want 403", res.StatusCode)
	}
	noToken := cloneValues(form)
	noToken.Set("csrf", "forged")
	if res := sup.do("POST", action, noToken); res.StatusCode != http.StatusForbidden {
		t.Errorf("a bulk approval without the CSRF token: %d, want 403", res.StatusCode)
	}
	// A tampered count is refused as stale.
	wrong := cloneValues(form)
	wrong.Set("count", "17")
	if res := sup.post(action, wrong); res.StatusCode != http.StatusConflict {
		t.Errorf("a bulk approval with a changed count: %d, want 409", res.StatusCode)
	}
	var approved int
	fx.db.Get(&approved, `SELECT count(*) FROM interviews WHERE review_status = 'approved'`)
	if approved != 0 {
		t.Fatalf("refused approvals approved %d interviews", approved)
	}

	// A new 渝中区 interview arrives after the confirmation was shown.
	late := seedInterviews(t, fx, 1, "500103", iv, true, at.Add(time.Hour))
	res := sup.post(action, cloneValues(form))
	done := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "msg=approved") || !strings.Contains(res.Header.Get("Location"), "district=500103") {
		t.Fatalf("bulk approval: %d %s %s", res.StatusCode, res.Header.Get("Location"), readAll(res))
	}
	status := func(id int64) string {
		var s string
		fx.db.Get(&s, `SELECT review_status FROM interviews WHERE id = $1`, id)
		return s
	}
	for _, id := range yuzhong {
		if s := status(id); s != "approved" {
			t.Errorf("渝中区 #%d is %s after the bulk approval", id, s)
		}
		var entries, evidence int
		fx.db.Get(&entries, `SELECT count(*) FROM audit_log WHERE action = 'interview-change' AND subject = $1
			AND details->'changes' @> '[{"field": "review_status", "new": "approved"}]' AND actor = 'supervisor'`, "interview:"+strconv.FormatInt(id, 10))
		fx.db.Get(&evidence, `SELECT count(*) FROM interview_evidence WHERE interview_id = $1`, id)
		if entries != 1 || evidence != 1 {
			t.Errorf("渝中区 #%d: %d audit entries, %d evidence rows, want 1 and 1", id, entries, evidence)
		}
	}
	for _, id := range append(wanzhou, late...) {
		if s := status(id); s != "none" {
			t.Errorf("#%d, outside the confirmed set, is %s", id, s)
		}
	}
	var bulk string
	fx.db.Get(&bulk, `SELECT details->>'approved' FROM audit_log WHERE action = 'interviews-bulk-approve'`)
	if bulk != "12" {
		t.Errorf("the bulk entry says %q approved, want 12", bulk)
	}
	if after := sup.get(done); !strings.Contains(after, "共 1 条") || !strings.Contains(after, "已批量通过") {
		t.Errorf("after the approval the list does not show the one left and the notice: %v", countRe.FindStringSubmatch(after))
	}

	// Stale: 万州区's five are confirmed, then one of them is decided on by
	// someone else before the confirmation is sent.
	_, form = bulkConfirm(t, sup, fx, "district=500101")
	action = form.Get("action")
	form.Del("action")
	other := fx.signIn(t, "admin")
	if res := other.post("/interviews/"+strconv.FormatInt(wanzhou[0], 10)+"/review", url.Values{"action": {"approve"}, "version": {"1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("single approval: %d", res.StatusCode)
	}
	res = sup.post(action, form)
	body := readAll(res)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "没有通过任何访问") || !strings.Contains(body, `id="approve-count">4<`) {
		t.Errorf("a stale confirmation: %d, want 409 with the list as it is now (4)", res.StatusCode)
	}
	for _, id := range wanzhou[1:] {
		if s := status(id); s != "none" {
			t.Errorf("万州区 #%d is %s after a stale confirmation", id, s)
		}
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = append([]string(nil), x...)
	}
	return out
}

// TestOtherQueuesPagedAndFiltered: the sent-back list, the appointments,
// the jobs and the audit log each page with their count and narrow by
// their filters.
func TestOtherQueuesPagedAndFiltered(t *testing.T) {
	fx := newFixture(t, 0.0005)
	iv := fx.users[users.RoleInterview]
	sup := fx.users[users.RoleSupervisor]
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	ids := append(seedInterviews(t, fx, 55, "500103", iv, true, at), seedInterviews(t, fx, 3, "500101", iv, true, at)...)
	fx.db.MustExec(`UPDATE interviews SET review_status = 'returned', review_note = '请核对', reviewed_by = $2, reviewed_at = completed_at WHERE id = ANY($1)`,
		pq.Int64Array(ids), sup)
	c := fx.signIn(t, "interviewer")
	page := c.get("/returned")
	if m := countRe.FindStringSubmatch(page); m == nil || m[1] != "58" || m[3] != "2" || len(listed(page, "returned")) != 50 {
		t.Errorf("sent back: %v, %d listed", m, len(listed(page, "returned")))
	}
	if page := c.get("/returned?district=500101"); !strings.Contains(page, "共 3 条，第 1/1 页") || len(listed(page, "returned")) != 3 {
		t.Error("sent back, 万州区: not the 3")
	}
	if res := c.do("GET", "/returned?district=nowhere", nil); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("sent back, a bad district: %d", res.StatusCode)
	}
	// Another interviewer sees none of them.
	if page := fx.signIn(t, "interviewer2").get("/returned"); !strings.Contains(page, "共 0 条") {
		t.Error("interviewer2 sees interviews sent back to someone else")
	}

	// Appointments: 60 by interviewer, 5 of them missed.
	fx.db.MustExec(`UPDATE cases SET status = 'appointment', appointment_by = $2,
		next_at = CASE WHEN c.rn <= 5 THEN now() - interval '2 hours' ELSE now() + c.rn * interval '1 minute' END
		FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM cases WHERE wave_id = (SELECT id FROM waves WHERE name = $1) ORDER BY id LIMIT 60) c
		WHERE cases.id = c.id`, fx.wave, iv)
	s := fx.signIn(t, "supervisor")
	page = s.get("/waves/" + fx.wave + "/appointments")
	if m := countRe.FindStringSubmatch(page); m == nil || m[1] != "60" || m[3] != "2" {
		t.Errorf("appointments: %v", m)
	}
	if page := s.get("/waves/" + fx.wave + "/appointments?flag=missed&interviewer=" + strconv.FormatInt(iv, 10)); !strings.Contains(page, "共 5 条，第 1/1 页") {
		t.Errorf("missed appointments: %v", countRe.FindStringSubmatch(page))
	}
	if page := s.get("/waves/" + fx.wave + "/supervision"); !strings.Contains(page, "已错过 5") || !strings.Contains(page, `id="calendar"`) {
		t.Error("the supervision page does not count the 5 missed appointments")
	}

	// Jobs: 70 of which 10 failed.
	fx.db.MustExec(`INSERT INTO jobs (kind, subject, status, error, created_by, started_at)
		SELECT 'draw', 'w' || g, CASE WHEN g <= 10 THEN 'failed' ELSE 'ok' END, CASE WHEN g <= 10 THEN '失败原因' END, $1, now() - g * interval '1 hour'
		FROM generate_series(1, 70) g`, fx.users[users.RoleAdmin])
	page = s.get("/jobs")
	if m := countRe.FindStringSubmatch(page); m == nil || m[1] != "70" || m[3] != "2" {
		t.Errorf("jobs: %v", m)
	}
	if page := s.get("/jobs?flag=failed"); !strings.Contains(page, "共 10 条，第 1/1 页") || !strings.Contains(page, "失败原因") {
		t.Error("failed jobs: not the 10")
	}

	// The audit log: the sign-ins so far, narrowed by who and action.
	admin := fx.signIn(t, "admin")
	var all, bySup int
	fx.db.Get(&all, `SELECT count(*) FROM audit_log`)
	fx.db.Get(&bySup, `SELECT count(*) FROM audit_log WHERE actor_id = $1`, sup)
	page = admin.get("/audit")
	if m := countRe.FindStringSubmatch(page); m == nil || m[1] != strconv.Itoa(all) {
		t.Errorf("audit log: %v, want %d", m, all)
	}
	if page := admin.get("/audit?interviewer=" + strconv.FormatInt(sup, 10)); bySup == 0 || !strings.Contains(page, fmt.Sprintf("共 %d 条", bySup)) {
		t.Errorf("audit log by the supervisor: %v, want %d", countRe.FindStringSubmatch(page), bySup)
	}
	if res := admin.do("GET", "/audit?flag=no-such-action", nil); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("audit log, an unknown action: %d", res.StatusCode)
	}
}

// TestStraightLiningFollowsTheAnswers: whether an interview is
// straight-lined is kept on its row; changing its answers changes it, and
// the review list's reason filter follows.
func TestStraightLiningFollowsTheAnswers(t *testing.T) {
	fx := newFixture(t, 0.0001)
	ids := seedInterviews(t, fx, 2, "500103", fx.users[users.RoleInterview], false, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	fx.db.MustExec(`UPDATE interviews SET answers = answers || '{"q01": "3", "q02": "3", "q03": "3", "q04": "3", "q05": "3", "q06": "3", "q07": "3",
		"q08": "3", "q09": "3", "q10": "3", "q11": "3", "q12": "3", "q13": "3"}' WHERE id = $1`, ids[0])
	sup := fx.signIn(t, "supervisor")
	page := sup.get("/waves/" + fx.wave + "/reviews?flag=straight_lined")
	if got := listed(page, "to-review"); len(got) != 1 || got[0] != strconv.FormatInt(ids[0], 10) {
		t.Fatalf("straight-lined: %v, want only #%d", got, ids[0])
	}
	fx.db.MustExec(`UPDATE interviews SET answers = answers || '{"q13": "4"}' WHERE id = $1`, ids[0])
	if got := listed(sup.get("/waves/"+fx.wave+"/reviews"), "to-review"); len(got) != 0 {
		t.Errorf("after its answers changed, still to review: %v", got)
	}
}
