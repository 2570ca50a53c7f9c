package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// caseIDOf is the case id of a case page's address.
func caseIDOf(t *testing.T, loc string) string {
	t.Helper()
	i := strings.Index(loc, "/cases/")
	if i < 0 {
		t.Fatalf("not a case page: %s", loc)
	}
	id := loc[i+len("/cases/"):]
	if j := strings.IndexAny(id, "/?"); j >= 0 {
		id = id[:j]
	}
	return id
}

// TestBrowserSupervisorChoosesWave: with no wave chosen the interviewer is
// told so, even with waves drawn; once a supervisor chooses one on the
// groups page, the interviewer's next case comes from it and not from the
// newer drawn wave.
func TestBrowserSupervisorChoosesWave(t *testing.T) {
	fx := newFixture(t, 0.0005)
	fx.db.MustExec(`DELETE FROM team_waves`)
	drawWave(t, fx, "w-newer")
	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	var text, loc string
	mustRun(t, ctx,
		signInBrowser(base, "interviewer"),
		chromedp.Navigate(base+"/calls"),
		chromedp.Text("#no-wave", &text, chromedp.ByID),
		signOut,
	)
	if !strings.Contains(text, "督导还没有为您的组指定") {
		t.Fatalf("calls page without a chosen wave: %q", text)
	}
	mustRun(t, ctx,
		signInBrowser(base, "supervisor"),
		chromedp.Navigate(base+"/teams"),
		chromedp.SetValue(`tr[data-team=""] select[name=wave]`, fx.wave, chromedp.ByQuery),
		chromedp.Click(`tr[data-team=""] button`, chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.Text(`tr[data-team=""] .team-wave`, &text, chromedp.ByQuery),
		signOut,
	)
	if !strings.Contains(text, fx.wave) || !strings.Contains(text, "supervisor") {
		t.Fatalf("the group's wave after setting: %q", text)
	}
	mustRun(t, ctx,
		signInBrowser(base, "interviewer"),
		fromCalls(base, "n"),
		chromedp.WaitVisible("#dial", chromedp.ByID),
		chromedp.Location(&loc),
	)
	if got := waveOfCase(t, fx, caseIDOf(t, loc)); got != fx.wave {
		t.Fatalf("the next case is of %s, want the chosen %s", got, fx.wave)
	}
}

// fromCalls opens the calls page with nothing held and presses key there:
// N for the next case, B for a call-back.
func fromCalls(base, key string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(base + "/calls"),
		chromedp.WaitVisible("#next-case", chromedp.ByID),
		press(key),
	}
}

// TestBrowserNoteSeenByNextInterviewer: interviewer A leaves a note
// (typing digits in it presses no outcome key) and records busy; the next
// case opens for A, and interviewer B, given the case when it is due,
// reads the note with its author.
func TestBrowserNoteSeenByNextInterviewer(t *testing.T) {
	fx := newFixture(t, 0.0005)
	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	const note = "晚上8点后打，找王先生的女儿 room 12"
	var loc, loc2, text string
	mustRun(t, ctx,
		signInBrowser(base, "interviewer"),
		fromCalls(base, "n"),
		chromedp.WaitVisible("#dial", chromedp.ByID),
		chromedp.Location(&loc),
		chromedp.Click("#note-only", chromedp.ByID),
		chromedp.SendKeys("#note-only", note, chromedp.ByID),
		chromedp.Click("#add-note", chromedp.ByID),
		chromedp.WaitVisible("#notes", chromedp.ByID),
		chromedp.Text("#notes", &text, chromedp.ByID),
	)
	if !strings.Contains(text, note) {
		t.Fatalf("the note on the case page: %q", text)
	}
	id := caseIDOf(t, loc)
	var attempts int
	fx.db.Get(&attempts, `SELECT count(*) FROM attempts WHERE case_id = $1`, id)
	if attempts != 0 {
		t.Fatal("typing digits in the note recorded an outcome")
	}
	mustRun(t, ctx,
		press("2"), // busy
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.WaitVisible("#dial", chromedp.ByID),
		chromedp.Location(&loc2),
		signOut,
	)
	if caseIDOf(t, loc2) == id {
		t.Fatal("the busy case opened again")
	}
	fx.db.MustExec(`UPDATE cases SET next_at = now() - interval '1 second' WHERE id = $1`, id)
	mustRun(t, ctx,
		signInBrowser(base, "interviewer2"),
		fromCalls(base, "n"),
		chromedp.WaitVisible("#notes", chromedp.ByID),
		chromedp.Location(&loc),
		chromedp.Text("#notes", &text, chromedp.ByID),
	)
	if caseIDOf(t, loc) != id {
		t.Fatalf("interviewer2 got case %s, want %s", caseIDOf(t, loc), id)
	}
	if !strings.Contains(text, note) || !strings.Contains(text, "interviewer") {
		t.Fatalf("interviewer2 reads %q", text)
	}
}

// TestBrowserCallbackFoundByLastDigits: the interviewer presses B, types
// the last digits of a caller's number, sees the number masked but for
// them, and takes the case up; its page shows the whole number and the
// call-back logged.
func TestBrowserCallbackFoundByLastDigits(t *testing.T) {
	fx := newFixture(t, 0.0005)
	var target string
	fx.db.Get(&target, `SELECT id::text FROM cases WHERE wave_id = (SELECT id FROM waves WHERE name = $1) AND status = 'fresh' ORDER BY id DESC LIMIT 1`, fx.wave)
	end := uniqueEnd(t, fx, target)
	full := phoneOf(t, fx, target)
	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	var masked, loc, notes, dial string
	mustRun(t, ctx,
		signInBrowser(base, "interviewer"),
		fromCalls(base, "b"),
		chromedp.WaitVisible("#digits", chromedp.ByID),
		chromedp.SendKeys("#digits", end, chromedp.ByID),
		press(kb.Enter),
		chromedp.WaitVisible("#callback-matches", chromedp.ByID),
		chromedp.Text("#callback-matches .masked-phone", &masked, chromedp.ByQuery),
		chromedp.Click("#callback-matches .take-callback", chromedp.ByQuery),
		chromedp.WaitVisible("#notes", chromedp.ByID),
		chromedp.Location(&loc),
		chromedp.Text("#notes", &notes, chromedp.ByID),
		chromedp.Text("#dial", &dial, chromedp.ByID),
	)
	if masked != strings.Repeat("•", len(full)-len(end))+end {
		t.Fatalf("the search shows %q for %s", masked, full)
	}
	if caseIDOf(t, loc) != target || dial != full || !strings.Contains(notes, "来电回拨") {
		t.Fatalf("after taking the call-back: %s, number %q, notes %q", loc, dial, notes)
	}
}

// TestBrowserKeyboardFlow: N goes back to a held case; recording an outcome
// opens the next case (and, turned off, goes back to the calls page); the
// district is typed as its code; the question in hand is marked in a colour
// that is not the error's.
func TestBrowserKeyboardFlow(t *testing.T) {
	fx := newFixture(t, 0.0005)
	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	var loc, loc2, loc3, text, picked, district, focused, invalid string
	mustRun(t, ctx,
		signInBrowser(base, "interviewer"),
		fromCalls(base, "n"),
		chromedp.WaitVisible("#dial", chromedp.ByID),
		chromedp.Location(&loc),
		chromedp.Navigate(base+"/calls"),
		chromedp.WaitVisible("#resume", chromedp.ByID),
		press("n"),
		chromedp.WaitVisible("#dial", chromedp.ByID),
		chromedp.Location(&loc2),
	)
	if caseIDOf(t, loc2) != caseIDOf(t, loc) {
		t.Fatalf("N from the calls page opened %s, want the held %s", loc2, loc)
	}
	mustRun(t, ctx,
		press("1"), // no answer: the next case opens
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.Text(".notice", &text, chromedp.ByQuery),
		chromedp.Location(&loc3),
	)
	if !strings.Contains(loc3, "/cases/") || caseIDOf(t, loc3) == caseIDOf(t, loc) || !strings.Contains(text, "呼叫结果已记录") {
		t.Fatalf("after the outcome: %s %q", loc3, text)
	}
	mustRun(t, ctx,
		press("0"),
		chromedp.WaitVisible("fieldset.current", chromedp.ByQuery),
		press("1"), press(kb.Enter), press("1"), press(kb.Enter),
		chromedp.Evaluate(`document.activeElement.className`, &focused),
		press("1"), press("0"), press("3"),
		chromedp.Text("#q_district_code ~ .district-picked", &picked, chromedp.ByQuery),
		chromedp.Value("#q_district", &district, chromedp.ByID),
		press(kb.Enter),
		press(kb.Enter), // q01 unanswered: marked as an error
		chromedp.Evaluate(`getComputedStyle(document.querySelector("fieldset.invalid")).borderTopColor`, &invalid),
	)
	if focused != "district-code" || picked != "渝中区" || district != "500103" {
		t.Fatalf("district by code: focus on %q, shows %q, answer %q", focused, picked, district)
	}
	// Enter on the unanswered question after the district marked it in the
	// error colour; answered, the next question in hand is marked in
	// another.
	var plain string
	mustRun(t, ctx,
		press("2"), press(kb.Enter),
		chromedp.Evaluate(`getComputedStyle(document.querySelector("fieldset.current")).borderTopColor`, &plain),
	)
	if plain == invalid || plain == "rgb(179, 38, 30)" {
		t.Fatalf("the question in hand is marked %s, the error colour is %s", plain, invalid)
	}

	// Turned off, recording an outcome goes back to the calls page.
	mustRun(t, ctx,
		chromedp.Navigate(base+"/calls"),
		chromedp.Click("#auto-next-off", chromedp.ByID),
		chromedp.WaitVisible("#auto-next-on", chromedp.ByID),
		press("n"),
		chromedp.WaitVisible("#dial", chromedp.ByID),
		press("2"),
		chromedp.WaitVisible("#next-case", chromedp.ByID),
		chromedp.Text(".notice", &text, chromedp.ByQuery),
		chromedp.Location(&loc),
	)
	if !strings.HasSuffix(loc, "/calls?msg=recorded") || !strings.Contains(text, "呼叫结果已记录") {
		t.Fatalf("with the next case turned off: %s %q", loc, text)
	}
}
