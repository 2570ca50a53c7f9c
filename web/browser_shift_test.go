package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"minyi/telephony/peers"
)

// keySignIn signs in with the keyboard alone: the user name field has the
// focus, Tab to the password, Enter.
func keySignIn(base, user string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(base + "/login"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.KeyEvent(user), press(kb.Tab), chromedp.KeyEvent(testPassword), press(kb.Enter),
		chromedp.WaitVisible("header .who", chromedp.ByQuery),
	}
}

// keyInterview answers the whole questionnaire with the keyboard and saves
// it: screener yes, yes; the district typed as its code; the thirteen
// indicators; sex, age group, urban; Enter on the save button.
func keyInterview(t *testing.T, ctx context.Context) {
	t.Helper()
	keys := chromedp.Tasks{
		chromedp.WaitVisible("fieldset.current", chromedp.ByQuery),
		press("1"), press(kb.Enter), press("1"), press(kb.Enter),
		press("1"), press("0"), press("3"), press(kb.Enter),
	}
	for _, a := range []string{"1", "2", "2", "3", "1", "2", "4", "2", "8", "1", "2", "3", "5"} {
		keys = append(keys, press(a), press(kb.Enter))
	}
	keys = append(keys, press("2"), press(kb.Enter), press("3"), press(kb.Enter), press("1"), press(kb.Enter))
	var focused, notice string
	mustRun(t, ctx, keys, chromedp.Evaluate(`document.activeElement.id`, &focused))
	if focused != "submit-interview" {
		shot(t, ctx, "shift-interview")
		t.Fatalf("after the last answer the focus is on %q, want the save button", focused)
	}
	mustRun(t, ctx, press(kb.Enter), chromedp.WaitVisible(".notice", chromedp.ByQuery), chromedp.Text(".notice", &notice, chromedp.ByQuery))
	if !strings.Contains(notice, "访问已保存") {
		t.Fatalf("after saving: %q", notice)
	}
}

// TestBrowserEveningShift drives an interviewer's whole evening in
// Chromium with the keyboard alone: sign in, the headset check, ten cases
// with different outcomes (a note left on one), the consent script
// declined on one and agreed on others, an appointment made and kept, and
// a respondent calling back found by the last digits of their number; a
// second interviewer then gets the noted case and reads the note.
func TestBrowserEveningShift(t *testing.T) {
	carrier := peers.StartCarrier(t)
	fx, _ := phoneFixtureAt(t, carrier.URI(), 0.0005)
	base := fx.srv.URL
	ctx := phoneBrowser(t)

	// Sign in; the headset check on the phone page (T).
	mustRun(t, ctx,
		keySignIn(base, "interviewer"),
		chromedp.Navigate(base+"/phone/browser"),
		chromedp.WaitVisible("#check-start", chromedp.ByID),
		press("t"),
	)
	poll(t, ctx, "the level meter moves", `Number(document.getElementById("bphone").dataset.level) > 0.02`, 20*time.Second)
	poll(t, ctx, "the check plays back what was said", `document.getElementById("bphone").dataset.checked === "yes"`, 20*time.Second)

	var loc string
	here := func() string {
		t.Helper()
		mustRun(t, ctx, chromedp.WaitVisible("#dial", chromedp.ByID), chromedp.Location(&loc))
		return caseIDOf(t, loc)
	}
	// left waits until the page has moved on from case id to another.
	left := func(id string) {
		t.Helper()
		// Asked again after each try: a question put while the page
		// navigates fails.
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			var moved bool
			err := chromedp.Run(ctx, chromedp.Evaluate(`location.pathname !== "/cases/`+id+`" && document.readyState === "complete"`, &moved))
			if err == nil && moved {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page did not move on from case %s: %v", id, err)
			}
		}
	}
	mustRun(t, ctx, fromCalls(base, "n"))

	// Ten cases, each outcome by its key; the next case opens by itself.
	const note = "晚上8点后打，找王先生的女儿"
	cases := map[string]string{}
	for _, step := range []struct {
		name string
		keys chromedp.Tasks
	}{
		{"no_answer", chromedp.Tasks{press("1")}},
		// A note for the next interviewer (E), then busy.
		{"busy", chromedp.Tasks{press("e"), chromedp.KeyEvent(note), press(kb.Tab), press("2")}},
		// Someone answers and declines the consent script (9).
		{"declined", chromedp.Tasks{press("9")}},
		{"wrong_number", chromedp.Tasks{press("6")}},
		{"not_eligible", chromedp.Tasks{press("5")}},
		{"soft_refusal", chromedp.Tasks{press("7")}},
		{"refusal", chromedp.Tasks{press("3")}},
	} {
		id := here()
		cases[step.name] = id
		mustRun(t, ctx, step.keys)
		left(id)
	}

	// An appointment: the time typed into its field (A), then Enter.
	tomorrow := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, 1)
	appt := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 19, 30, 0, 0, tomorrow.Location())
	cases["appointment"] = here()
	var focused string
	mustRun(t, ctx, press("a"), chromedp.Evaluate(`document.activeElement.id`, &focused))
	if focused != "appointment" {
		t.Fatalf("A put the cursor in %q", focused)
	}
	// The field's parts take their digits in turn: the year (Tab on to
	// the month, as a year may be longer), month, day, hour, minute.
	// The field's parts take their digits in the browser's order for
	// dates: a Chinese one year first, 24-hour; the headless default,
	// en-US, month first with AM/PM. A year may be longer than four
	// digits, so Tab moves on from it.
	var locale string
	mustRun(t, ctx, chromedp.Evaluate(`Intl.DateTimeFormat().resolvedOptions().locale`, &locale))
	keys := []string{appt.Format("01"), appt.Format("02"), appt.Format("2006"), kb.Tab, appt.Format("03"), appt.Format("04"), appt.Format("pm")[:1]}
	if strings.HasPrefix(locale, "zh") {
		keys = []string{appt.Format("2006"), kb.Tab, appt.Format("01"), appt.Format("02"), appt.Format("15"), appt.Format("04")}
	}
	for _, k := range keys {
		mustRun(t, ctx, chromedp.KeyEvent(k))
	}
	var typed string
	mustRun(t, ctx, chromedp.Value("#appointment", &typed, chromedp.ByID))
	if typed != appt.Format("2006-01-02T15:04") {
		shot(t, ctx, "shift-appointment")
		t.Fatalf("the appointment field holds %q, want %q", typed, appt.Format("2006-01-02T15:04"))
	}
	mustRun(t, ctx, press(kb.Enter)) // books the appointment
	left(cases["appointment"])

	// Someone answers and agrees (0): the questionnaire, by keyboard.
	cases["complete"] = here()
	mustRun(t, ctx, press("0"))
	keyInterview(t, ctx)

	// A respondent calls back (B on the calls page): found by the last
	// digits of the number, taken with Enter, and interviewed.
	var target string
	fx.db.Get(&target, `SELECT id::text FROM cases WHERE wave_id = (SELECT id FROM waves WHERE name = $1) AND status = 'fresh' ORDER BY id DESC LIMIT 1`, fx.wave)
	end := uniqueEnd(t, fx, target)
	mustRun(t, ctx,
		chromedp.WaitVisible("#next-case", chromedp.ByID),
		press("b"),
		chromedp.WaitVisible("#digits", chromedp.ByID),
		chromedp.KeyEvent(end), press(kb.Enter),
		chromedp.WaitVisible("#callback-matches", chromedp.ByID),
		press(kb.Enter),
	)
	if got := here(); got != target {
		t.Fatalf("the call-back opened case %s, want %s", got, target)
	}
	cases["callback"] = target
	mustRun(t, ctx, press("0"))
	keyInterview(t, ctx)

	// The appointment comes due and is kept: N gives it to the one who
	// made it, and the respondent is interviewed.
	fx.db.MustExec(`UPDATE cases SET next_at = now() - interval '1 minute' WHERE id = $1`, cases["appointment"])
	mustRun(t, ctx, chromedp.WaitVisible("#next-case", chromedp.ByID), press("n"))
	if got := here(); got != cases["appointment"] {
		t.Fatalf("N opened %s, want the appointment due, %s", got, cases["appointment"])
	}
	mustRun(t, ctx, press("0"))
	keyInterview(t, ctx)

	// What the evening left in the database.
	for name, want := range map[string]string{"no_answer": "no_answer", "busy": "busy", "declined": "refusal", "wrong_number": "wrong_number",
		"not_eligible": "not_eligible", "soft_refusal": "soft_refusal", "refusal": "refusal", "appointment": "appointment"} {
		var got string
		fx.db.Get(&got, `SELECT outcome FROM attempts WHERE case_id = $1 ORDER BY id LIMIT 1`, cases[name])
		if got != want {
			var all []string
			fx.db.Select(&all, `SELECT outcome FROM attempts WHERE case_id = $1 ORDER BY id`, cases[name])
			t.Errorf("%s: case %s's first outcome is %q, want %q (all: %v)", name, cases[name], got, want, all)
		}
	}
	var consents, declined, interviews, callbackNotes int
	fx.db.Get(&consents, `SELECT count(*) FROM participation_consents WHERE answer = 'yes'`)
	fx.db.Get(&declined, `SELECT count(*) FROM participation_consents WHERE answer = 'no' AND case_id = $1`, cases["declined"])
	fx.db.Get(&interviews, `SELECT count(*) FROM interviews WHERE case_id IN ($1, $2, $3)`, cases["complete"], cases["callback"], cases["appointment"])
	fx.db.Get(&callbackNotes, `SELECT count(*) FROM case_notes WHERE case_id = $1 AND kind = 'callback'`, cases["callback"])
	if consents != 3 || declined != 1 || interviews != 3 || callbackNotes != 1 {
		t.Errorf("consents agreed %d (want 3), declined %d (want 1), interviews %d (want 3), call-backs logged %d (want 1)", consents, declined, interviews, callbackNotes)
	}

	// The second interviewer, in a browser of their own, gets the busy
	// case when it is due again and reads the note.
	fx.db.MustExec(`UPDATE cases SET next_at = now() - interval '1 second' WHERE id = $1`, cases["busy"])
	ctx2, _ := newBrowser(t)
	var notes string
	mustRun(t, ctx2,
		keySignIn(base, "interviewer2"),
		fromCalls(base, "n"),
		chromedp.WaitVisible("#notes", chromedp.ByID),
		chromedp.Location(&loc),
		chromedp.Text("#notes", &notes, chromedp.ByID),
	)
	if caseIDOf(t, loc) != cases["busy"] || !strings.Contains(notes, note) || !strings.Contains(notes, "interviewer") {
		t.Fatalf("interviewer2 got case %s (want %s) and reads %q", caseIDOf(t, loc), cases["busy"], notes)
	}
}
