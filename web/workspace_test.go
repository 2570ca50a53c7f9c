package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"minyi/dialer"
	"minyi/export"
	"minyi/sampler"
	"minyi/sql/pg"
)

// drawWave creates and draws another wave on the fixture's frame, calling
// around the clock.
func drawWave(t *testing.T, fx *fixture, name string, modes ...string) *sampler.Wave {
	t.Helper()
	ctx := context.Background()
	var qid int64
	if err := fx.db.Get(&qid, `SELECT max(id) FROM questionnaires`); err != nil {
		t.Fatal(err)
	}
	w, err := sampler.CreateWave(ctx, fx.db, sampler.WaveSpec{Name: name, Rate: 0.0005, MinPerDistrict: 2, ExpectedRate: 0.5, Modes: modes, QuestionnaireID: qid})
	if err != nil {
		t.Fatal(err)
	}
	if err := dialer.SetRules(ctx, fx.db, w.ID, dialer.AllDay()); err != nil {
		t.Fatal(err)
	}
	if len(modes) == 0 || modes[0] == "phone" {
		if _, err := sampler.Draw(ctx, fx.db, name, 77); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// waveOfCase names the wave of a case.
func waveOfCase(t *testing.T, fx *fixture, id string) string {
	t.Helper()
	var name string
	if err := fx.db.Get(&name, `SELECT w.name FROM cases c JOIN waves w ON w.id = c.wave_id WHERE c.id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestGroupWaveIsChosenNotGuessed: interviewers call the wave a supervisor
// chose for their group; a newer drawn wave moves no one, a group with no
// wave calls nothing, a door-to-door wave cannot be chosen, and only
// supervisors and admins choose, with the CSRF token; every choice is
// audited.
func TestGroupWaveIsChosenNotGuessed(t *testing.T) {
	fx := newFixture(t, 0.0005)
	drawWave(t, fx, "w-newer")
	drawWave(t, fx, "w-door", "door")
	iv := fx.signIn(t, "interviewer")
	if got := waveOfCase(t, fx, iv.nextCase()); got != fx.wave {
		t.Fatalf("the default group calls %s, want the chosen %s and not the newer drawn wave", got, fx.wave)
	}

	// Interviewers may not choose, nor move themselves.
	if res := iv.post("/teams/wave", url.Values{"team": {""}, "wave": {"w-newer"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("an interviewer set the group's wave: %d", res.StatusCode)
	}
	if res := iv.post("/teams/members/"+itoa(fx.users["interviewer"]), url.Values{"team": {"夜班"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("an interviewer moved themselves: %d", res.StatusCode)
	}
	sup := fx.signIn(t, "supervisor")
	if res := sup.post("/teams/wave", url.Values{"csrf": {"forged"}, "team": {""}, "wave": {"w-newer"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a forged request set the group's wave: %d", res.StatusCode)
	}
	// A door-to-door wave cannot be called.
	res := sup.post("/teams/wave", url.Values{"team": {""}, "wave": {"w-door"}})
	if body := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "没有电话访问方式") {
		t.Fatalf("a door-to-door wave chosen for calling: %d", res.StatusCode)
	}

	// interviewer2 goes to a group of their own, which calls nothing yet.
	var iv2ID int64
	fx.db.Get(&iv2ID, `SELECT id FROM users WHERE username = 'interviewer2'`)
	if res := sup.post("/teams/members/"+itoa(iv2ID), url.Values{"team": {"夜班"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("set interviewer2's group: %d", res.StatusCode)
	}
	iv2 := fx.signIn(t, "interviewer2")
	if loc := iv2.post("/calls/next", url.Values{}).Header.Get("Location"); loc != "/calls?msg=nocase" {
		t.Fatalf("a group with no wave was handed a case: %s", loc)
	}
	if page := iv2.get("/calls"); !strings.Contains(page, `id="no-wave"`) {
		t.Fatal("the calls page does not say the group has no wave")
	}
	page := sup.get("/teams")
	if !strings.Contains(page, "夜班") || !strings.Contains(page, "未指定") || strings.Contains(page, `<option value="w-door"`) {
		t.Fatalf("the groups page:\n%s", page)
	}
	if res := sup.post("/teams/wave", url.Values{"team": {"夜班"}, "wave": {"w-newer"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("set 夜班's wave: %d", res.StatusCode)
	}
	if got := waveOfCase(t, fx, iv2.nextCase()); got != "w-newer" {
		t.Fatalf("夜班 calls %s, want w-newer", got)
	}
	// The default group is where it was.
	if got := waveOfCase(t, fx, iv.nextCase()); got != fx.wave {
		t.Fatalf("the default group moved to %s", got)
	}
	var audited int
	fx.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE (action = 'team-wave' AND actor = 'supervisor' AND details->>'to' = 'w-newer' AND subject = '夜班')
		OR (action = 'user-team' AND subject = 'interviewer2' AND details->>'to' = '夜班')`)
	if audited != 2 {
		t.Fatalf("%d audit entries of the choices, want 2", audited)
	}
}

// TestCaseNotes: a note is kept with its author and time, seen by the next
// interviewer of the case, refused on a case the writer does not hold,
// cannot be changed or deleted by the server's role, and reaches no export.
func TestCaseNotes(t *testing.T) {
	fx := newFixture(t, 0.0005)
	a := fx.signIn(t, "interviewer")
	b := fx.signIn(t, "interviewer2")
	id := a.nextCase()
	const secret = "晚上8点后打，找王先生的女儿 NOTE-7Q"
	if res := a.post("/cases/"+id+"/notes", url.Values{"note": {secret}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add a note: %d", res.StatusCode)
	}
	if res := a.post("/cases/"+id+"/notes", url.Values{"note": {"  "}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an empty note: %d", res.StatusCode)
	}
	if res := a.post("/cases/"+id+"/notes", url.Values{"note": {strings.Repeat("长", 501)}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a note too long: %d", res.StatusCode)
	}
	// Another interviewer cannot write on a case they do not hold, nor
	// without the CSRF token.
	if res := b.post("/cases/"+id+"/notes", url.Values{"note": {"b was here"}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a note on another interviewer's case: %d", res.StatusCode)
	}
	if res := a.post("/cases/"+id+"/notes", url.Values{"csrf": {"forged"}, "note": {"forged"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a forged note: %d", res.StatusCode)
	}
	// A note given with an appointment.
	a.csrf = formValue(a.get("/cases/"+id), "csrf")
	if res := a.post("/cases/"+id+"/outcome", url.Values{"outcome": {"appointment"}, "appointment": {"2099-01-02T19:30"}, "note": {"约在周六上午 APPT-3K"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("appointment with a note: %d", res.StatusCode)
	}
	var notes []struct {
		Kind   string `db:"kind"`
		Author string `db:"username"`
		Body   string `db:"body"`
	}
	fx.db.Select(&notes, `SELECT n.kind, u.username, n.body FROM case_notes n JOIN users u ON u.id = n.author_id WHERE n.case_id = $1 ORDER BY n.id`, id)
	if len(notes) != 2 || notes[0].Body != secret || notes[0].Author != "interviewer" || notes[1].Kind != "appointment" {
		t.Fatalf("notes stored: %+v", notes)
	}
	var audited int
	fx.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'case-note' AND actor = 'interviewer' AND details->>'case' = $1`, id)
	if audited != 2 {
		t.Fatalf("%d notes audited, want 2", audited)
	}

	// The appointment is missed; the next interviewer gets the case and
	// reads the notes.
	fx.db.MustExec(`UPDATE cases SET next_at = now() - interval '2 hours' WHERE id = $1`, id)
	if got := b.nextCase(); got != id {
		t.Fatalf("interviewer2 got %s, want the missed appointment %s", got, id)
	}
	if page := b.get("/cases/" + id); !strings.Contains(page, "晚上8点后打，找王先生的女儿") || !strings.Contains(page, "APPT-3K") {
		t.Fatal("the next interviewer does not see the notes")
	}

	// The server's role may only append.
	for _, q := range []string{`UPDATE case_notes SET body = 'x'`, `DELETE FROM case_notes`} {
		tx := fx.db.MustBegin()
		tx.MustExec(`SET LOCAL ROLE ` + pg.AppRole)
		if _, err := tx.Exec(q); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as the server's role: %v", q, err)
		}
		tx.Rollback()
	}

	// An interview on the case, so that every export has a row of it;
	// then no export of any kind carries a note.
	page := b.get("/cases/" + id + "/interview")
	form := completeAnswers("500103")
	form.Set("key", formValue(page, "key"))
	if res := b.post("/cases/"+id+"/interview", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the interview: %d", res.StatusCode)
	}
	admin := fx.signIn(t, "admin")
	for _, kind := range export.Kinds {
		for _, q := range []string{"?min_cell=1", "?min_cell=1&encoding=gb18030"} {
			res := admin.do("GET", "/waves/"+fx.wave+"/export/"+kind+q, nil)
			body := readAll(res)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("export %s: %d", kind, res.StatusCode)
			}
			for _, s := range []string{"NOTE-7Q", "APPT-3K", "王先生", "8点后"} {
				if strings.Contains(body, s) {
					t.Errorf("the %s export carries a note (%q)", kind, s)
				}
			}
		}
	}
}

// phoneOf is a case's number.
func phoneOf(t *testing.T, fx *fixture, id string) string {
	t.Helper()
	var p string
	if err := fx.db.Get(&p, `SELECT phone FROM cases WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return p
}

// uniqueEnd is the shortest end (at least 4 digits) of the case's number
// that no other case of its wave shares.
func uniqueEnd(t *testing.T, fx *fixture, id string) string {
	t.Helper()
	p := phoneOf(t, fx, id)
	for n := 4; n <= len(p); n++ {
		var k int
		fx.db.Get(&k, `SELECT count(*) FROM cases WHERE wave_id = (SELECT wave_id FROM cases WHERE id = $1) AND right(phone, $2) = $3`, id, n, p[len(p)-n:])
		if k == 1 {
			return p[len(p)-n:]
		}
	}
	t.Fatalf("case %s has no number of its own", id)
	return ""
}

// TestCallbackSearchResistsBrowsing: a called-back case is found by the end
// of its number and taken up, with the call logged on the case; but the
// search needs at least 4 digits, shows numbers masked, looks only in the
// wave being called, is capped and audited, and a case held by someone else
// or named with digits that are not its number's cannot be taken.
func TestCallbackSearchResistsBrowsing(t *testing.T) {
	fx := newFixture(t, 0.0005)
	other := drawWave(t, fx, "w-other")
	a := fx.signIn(t, "interviewer")
	b := fx.signIn(t, "interviewer2")

	// The respondent of a fresh case of the wave calls back (a case the
	// queue hands out last, so that no one is given it meanwhile).
	held := b.nextCase()
	var target string
	fx.db.Get(&target, `SELECT id::text FROM cases WHERE wave_id = (SELECT id FROM waves WHERE name = $1) AND status = 'fresh' AND held_by IS NULL ORDER BY id DESC LIMIT 1`, fx.wave)
	fx.db.MustExec(`UPDATE cases SET priority = -100 WHERE id = $1`, target)
	end := uniqueEnd(t, fx, target)
	full := phoneOf(t, fx, target)

	if res := a.post("/callbacks", url.Values{"digits": {end[len(end)-3:]}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a search by 3 digits: %d", res.StatusCode)
	}
	if res := a.post("/callbacks", url.Values{"digits": {"12ab"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a search by letters: %d", res.StatusCode)
	}
	if res := a.post("/callbacks", url.Values{"csrf": {"forged"}, "digits": {end}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a forged search: %d", res.StatusCode)
	}
	res := a.post("/callbacks", url.Values{"digits": {end}})
	page := readAll(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, strings.Repeat("•", len(full)-len(end))+end) || strings.Contains(page, full) {
		t.Fatalf("search: %d; the number is not shown masked:\n%s", res.StatusCode, page)
	}
	if !strings.Contains(page, `action="/callbacks/`+target+`/take"`) {
		t.Fatal("the called-back case cannot be taken from the search")
	}

	// A case of a wave the group does not call is not found.
	var elsewhere string
	fx.db.Get(&elsewhere, `SELECT id::text FROM cases WHERE wave_id = $1 ORDER BY id LIMIT 1`, other.ID)
	if page := readAll(a.post("/callbacks", url.Values{"digits": {phoneOf(t, fx, elsewhere)}})); strings.Contains(page, `/callbacks/`+elsewhere+`/take`) {
		t.Fatal("a case of a wave the group does not call was found")
	}
	if res := a.post("/callbacks/"+elsewhere+"/take", url.Values{"digits": {phoneOf(t, fx, elsewhere)}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a case of another wave taken: %d", res.StatusCode)
	}

	// Digits that are not the number's end take nothing.
	wrong := strconv.Itoa((mustAtoi(t, end) + 1) % 10000)
	for len(wrong) < 4 {
		wrong = "0" + wrong
	}
	if res := a.post("/callbacks/"+target+"/take", url.Values{"digits": {wrong}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("taken with digits not its number's: %d", res.StatusCode)
	}
	// A case held by another interviewer cannot be pulled away.
	if res := a.post("/callbacks/"+held+"/take", url.Values{"digits": {uniqueEnd(t, fx, held)}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a case held by another interviewer was taken: %d", res.StatusCode)
	}
	var holder string
	fx.db.Get(&holder, `SELECT u.username FROM cases c JOIN users u ON u.id = c.held_by WHERE c.id = $1`, held)
	if holder != "interviewer2" {
		t.Fatalf("the held case is now %s's", holder)
	}
	// Supervisors find it too; a case another interviewer holds they
	// cannot pull away either.
	sup := fx.signIn(t, "supervisor")
	if page := readAll(sup.post("/callbacks", url.Values{"digits": {end}})); !strings.Contains(page, "可接续") {
		t.Fatal("the supervisor does not find the case")
	}
	if res := sup.post("/callbacks/"+held+"/take", url.Values{"digits": {uniqueEnd(t, fx, held)}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a supervisor took a case another interviewer holds: %d", res.StatusCode)
	}

	// Holding another case, the interviewer records it first.
	mine := a.nextCase()
	if res := a.post("/callbacks/"+target+"/take", url.Values{"digits": {end}}); res.StatusCode != http.StatusConflict {
		t.Fatalf("took a call-back while holding a case: %d", res.StatusCode)
	}
	fx.db.MustExec(`UPDATE users SET auto_next = false WHERE username = 'interviewer'`)
	a.post("/cases/"+mine+"/outcome", url.Values{"outcome": {"busy"}})
	res = a.post("/callbacks/"+target+"/take", url.Values{"digits": {end}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/cases/"+target+"?msg=callback-taken" {
		t.Fatalf("take the call-back: %d %s", res.StatusCode, loc)
	}
	if page := a.get("/cases/" + target); !strings.Contains(page, full) || !strings.Contains(page, "来电回拨") {
		t.Fatal("the taken case does not show its number and the call-back")
	}
	var logged int
	fx.db.Get(&logged, `SELECT count(*) FROM case_notes WHERE case_id = $1 AND kind = 'callback'`, target)
	if logged != 1 {
		t.Fatalf("%d call-backs logged on the case", logged)
	}

	// Searches are audited with the digits, and capped.
	var audited int
	fx.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'callback-search' AND actor = 'interviewer' AND details->>'digits' = $1`, end)
	if audited != 1 {
		t.Fatalf("%d searches audited with the digits", audited)
	}
	for i := 0; i <= dialer.CallbackSearchesPerHour; i++ {
		res = b.post("/callbacks", url.Values{"digits": {"0000"}})
	}
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("search %d within the hour: %d, want the cap (409)", dialer.CallbackSearchesPerHour+1, res.StatusCode)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSupervisorContinuesACallBack: a supervisor who answers a
// respondent's call back finds the case by the last digits, takes it up,
// reads the consent script, interviews and goes back to the call-backs;
// the call-back is logged and the interview is theirs. They reach no other
// case and take none from the queue.
func TestSupervisorContinuesACallBack(t *testing.T) {
	fx := newFixture(t, 0.0005)
	a := fx.signIn(t, "interviewer")
	other := a.nextCase()
	var target string
	fx.db.Get(&target, `SELECT id::text FROM cases WHERE wave_id = (SELECT id FROM waves WHERE name = $1) AND status = 'fresh' AND held_by IS NULL ORDER BY id DESC LIMIT 1`, fx.wave)
	end := uniqueEnd(t, fx, target)
	sup := fx.signIn(t, "supervisor")
	if res := sup.do("GET", "/cases/"+other, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a supervisor opened an interviewer's case: %d", res.StatusCode)
	}
	if res := sup.post("/calls/next", url.Values{}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a supervisor took a case from the queue: %d", res.StatusCode)
	}
	if page := readAll(sup.post("/callbacks", url.Values{"digits": {end}})); !strings.Contains(page, `action="/callbacks/`+target+`/take"`) {
		t.Fatal("the supervisor cannot take the called-back case")
	}
	res := sup.post("/callbacks/"+target+"/take", url.Values{"digits": {end}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/cases/"+target+"?msg=callback-taken" {
		t.Fatalf("the supervisor takes the call-back: %d %s", res.StatusCode, loc)
	}
	sup.csrf = formValue(sup.get("/cases/"+target), "csrf")
	if res := sup.post("/cases/"+target+"/participation", url.Values{"answer": {"yes"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent: %d", res.StatusCode)
	}
	page := sup.get("/cases/" + target + "/interview")
	form := completeAnswers("500103")
	form.Set("key", formValue(page, "key"))
	form.Set("started", formValue(page, "started"))
	form.Set("draft_version", formValue(page, "draft_version"))
	res = sup.post("/cases/"+target+"/interview", form)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/callbacks") {
		t.Fatalf("the supervisor's interview: %d to %q %s", res.StatusCode, loc, readAll(res))
	}
	var by string
	fx.db.Get(&by, `SELECT u.username FROM interviews i JOIN users u ON u.id = i.interviewer_id WHERE i.case_id = $1`, target)
	var logged int
	fx.db.Get(&logged, `SELECT count(*) FROM case_notes n JOIN users u ON u.id = n.author_id WHERE n.case_id = $1 AND n.kind = 'callback' AND u.username = 'supervisor'`, target)
	if by != "supervisor" || logged != 1 {
		t.Fatalf("the interview is %q's; %d call-backs logged by the supervisor", by, logged)
	}
}
