package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"minyi/dialer"
	"minyi/media"
	"minyi/survey"
	"minyi/telephony"
	"minyi/telephony/peers"
)

// phoneFixture is the fixture served with Minyi's telephony, its trunk at
// trunk.
func phoneFixture(t *testing.T, trunk string) (*fixture, *telephony.Service) {
	t.Helper()
	return phoneFixtureAt(t, trunk, 0.0001)
}

// phoneFixtureAt is phoneFixture on a frame of the given scale.
func phoneFixtureAt(t *testing.T, trunk string, scale float64) (*fixture, *telephony.Service) {
	t.Helper()
	fx := newFixture(t, scale)
	lo, hi := peers.RTPPorts()
	cfg := telephony.Config{Trunk: trunk, User: "minyi", Password: "trunk-secret-xyz", CallerID: "02312345678", Listen: fmt.Sprintf("127.0.0.1:%d", peers.FreePort(t)),
		RTPPorts: fmt.Sprintf("%d-%d", lo, hi), Channels: 4, RingTimeout: 10 * time.Second, Recordings: t.TempDir(), RateLimit: telephony.DefaultRateLimit}
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := telephony.Start(ctx, fx.db, cfg, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); svc.Wait() })
	fx.s, err = New(fx.db, Options{Dialer: svc, Telephony: svc})
	if err != nil {
		t.Fatal(err)
	}
	fx.srv.Config.Handler = fx.s.Handler()
	return fx, svc
}

var phoneField = regexp.MustCompile(`id="phone-(registrar|user|secret)">(?:<code>)?([^<]*)`)

// registerFromPhonePage sets up the interviewer's phone (baresip, 440 Hz)
// from what their phone page shows, as they would, and waits until the
// page says it is registered.
func registerFromPhonePage(t *testing.T, c *client) {
	t.Helper()
	got := map[string]string{}
	for _, m := range phoneField.FindAllStringSubmatch(c.get("/phone"), -1) {
		got[m[1]] = m[2]
	}
	if got["user"] == "" || len(got["secret"]) < 16 || got["registrar"] == "" {
		t.Fatalf("the phone page shows %v", got)
	}
	peers.StartInterviewerPhone(t, got["registrar"], got["user"], got["secret"], 440)
	peers.WaitFor(t, "the phone page to say registered", 30*time.Second, func() bool {
		return strings.Contains(c.get("/phone"), "已注册")
	})
}

// takeCase hands the interviewer a case and gives it the number.
func takeCase(t *testing.T, fx *fixture, c *client, number string) int64 {
	t.Helper()
	res := c.post("/calls/next", url.Values{})
	var id int64
	if _, err := fmt.Sscanf(res.Header.Get("Location"), "/cases/%d", &id); err != nil {
		t.Fatalf("next case: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if _, err := fx.db.Exec(`UPDATE cases SET phone = $2 WHERE id = $1`, id, number); err != nil {
		t.Fatal(err)
	}
	return id
}

// Without a trunk nothing changes: the case page's number is a tel: link
// and there is no 拨打; the phone and telephony pages say so.
func TestPreviewDialingWithoutTrunk(t *testing.T) {
	fx := newFixture(t, 0.0001)
	iv := fx.signIn(t, "interviewer")
	id := takeCase(t, fx, iv, "13900000200")
	page := iv.get(fmt.Sprintf("/cases/%d", id))
	if !strings.Contains(page, `href="tel:13900000200"`) || strings.Contains(page, "call-button") {
		t.Errorf("the case page without a trunk:\n%.400s", page)
	}
	if !strings.Contains(iv.get("/phone"), "没有配置电话线路") {
		t.Error("the phone page does not say there is no trunk")
	}
	if !strings.Contains(fx.signIn(t, "admin").get("/telephony"), "telephony-off") {
		t.Error("the telephony page does not say there is no trunk")
	}
}

// The admin's page shows the trunk's settings but never its password, and
// sets whether each wave records its calls and for how long (audited).
func TestTelephonyPageHidesThePassword(t *testing.T) {
	c := peers.StartCarrier(t)
	fx, _ := phoneFixture(t, c.URI())
	admin := fx.signIn(t, "admin")
	page := admin.get("/telephony")
	if !strings.Contains(page, c.URI()) || !strings.Contains(page, "telephony-phones") || !strings.Contains(page, "interviewer") {
		t.Errorf("the telephony page:\n%.600s", page)
	}
	if strings.Contains(page, "trunk-secret-xyz") || !strings.Contains(page, "<td>已设置</td>") {
		t.Error("the telephony page shows the trunk's password, or not that it is set")
	}
	var waveID int64
	fx.db.Get(&waveID, `SELECT id FROM waves WHERE name = $1`, fx.wave)
	res := admin.post(fmt.Sprintf("/telephony/waves/%d", waveID), url.Values{"days": {"30"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("setting the wave's recording: %d", res.StatusCode)
	}
	var setting struct {
		Record bool `db:"record_calls"`
		Days   int  `db:"recording_retention_days"`
	}
	fx.db.Get(&setting, `SELECT record_calls, recording_retention_days FROM waves WHERE id = $1`, waveID)
	var audited int
	fx.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'wave-recording' AND subject = $1 AND actor = 'admin'`, fx.wave)
	if setting.Record || setting.Days != 30 || audited != 1 {
		t.Errorf("the wave records %v for %d days, %d audit entries", setting.Record, setting.Days, audited)
	}
	if res := fx.signIn(t, "supervisor").post(fmt.Sprintf("/telephony/waves/%d", waveID), url.Values{"record": {"1"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a supervisor changed the recording setting: %d", res.StatusCode)
	}
}

// A whole call from the case page in Chromium: 拨打 rings the
// interviewer's phone (set up from their phone page), then the respondent;
// the page shows 振铃, then 通话中 with a running timer, takes the consent
// and hangs up (已挂断). Meanwhile a supervisor sees the call on the live
// view and listens in: both voices, audited. Afterwards the interview's
// review page plays the recording to supervisors, every playback audited,
// and to no one else.
func TestCallFromTheCasePage(t *testing.T) {
	const number = "13900000200"
	resp := peers.StartRespondent(t, number, 1000)
	fx, _ := phoneFixture(t, resp.URI())
	iv := fx.signIn(t, "interviewer")
	registerFromPhonePage(t, iv)
	caseID := takeCase(t, fx, iv, number)

	ctx, _ := newBrowser(t)
	base := fx.srv.URL
	var timer1, timer2 string
	mustRun(t, ctx,
		signInBrowser(base, "interviewer"),
		chromedp.Navigate(fmt.Sprintf("%s/cases/%d", base, caseID)),
		chromedp.WaitVisible("#call-button", chromedp.ByID),
		// The states the page shows, in order.
		chromedp.Evaluate(`window.states = []; new MutationObserver(function () {
			var s = document.getElementById("call-state").textContent;
			if (s !== "…" && window.states[window.states.length - 1] !== s) window.states.push(s);
		}).observe(document.getElementById("call-state"), {childList: true, characterData: true, subtree: true}); true`, nil),
		chromedp.Click("#call-button", chromedp.ByID),
	)
	pollCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Run(pollCtx, chromedp.Poll(`document.getElementById("call-state").textContent === "通话中"`, nil, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("the page never showed 通话中: %v", err)
	}
	mustRun(t, ctx,
		chromedp.WaitVisible("#consent-form", chromedp.ByID),
		chromedp.Text("#call-timer", &timer1, chromedp.ByID),
		chromedp.Sleep(2500*time.Millisecond),
		chromedp.Text("#call-timer", &timer2, chromedp.ByID),
		chromedp.Click("#consent-yes", chromedp.ByID),
	)
	if timer1 == timer2 || !strings.HasPrefix(timer2, "00:") {
		t.Errorf("the timer did not run: %q then %q", timer1, timer2)
	}

	// The supervisor listens in from the live view, in a browser of their
	// own: the list shows the call, and Listen plays it.
	sctx, _ := newBrowser(t)
	mustRun(t, sctx,
		signInBrowser(base, "supervisor"),
		chromedp.Navigate(base+"/waves/"+fx.wave+"/live"),
		chromedp.WaitVisible(`#live-calls-rows tr[data-call] button.listen`, chromedp.ByQuery),
		chromedp.Click(`#live-calls-rows tr[data-call] button.listen`, chromedp.ByQuery),
	)
	// The browser has decoded the live stream (the machine may be
	// loaded: the wait is long).
	lpctx, lpcancel := context.WithTimeout(sctx, 60*time.Second)
	if err := chromedp.Run(lpctx, chromedp.Poll(`(function(){var a=document.getElementById("listen-audio"); return a.readyState >= 2 && !a.error})()`, nil,
		chromedp.WithPollingInterval(200*time.Millisecond))); err != nil {
		t.Fatalf("the live view did not play the call: %v", err)
	}
	lpcancel()
	mustRun(t, sctx, chromedp.Click("#listen-stop", chromedp.ByID))
	sup := fx.signIn(t, "supervisor")
	var callID int64
	peers.WaitFor(t, "the call on the live view", 20*time.Second, func() bool {
		body := sup.get("/waves/" + fx.wave + "/calls.json")
		_, err := fmt.Sscanf(body, `[{"id":%d`, &callID)
		return err == nil && strings.Contains(body, `"state":"talking"`)
	})
	req, _ := http.NewRequest("GET", base+fmt.Sprintf("/calls/%d/listen", callID), nil)
	lctx, lcancel := context.WithTimeout(context.Background(), 3*time.Second)
	res, err := sup.http.Do(req.WithContext(lctx))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "audio/ogg" {
		t.Fatalf("listen: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	heard, _ := io.ReadAll(res.Body) // until the 3 s are up
	lcancel()
	stream, err := media.ReadOggOpus(bytes.NewReader(heard))
	if err != nil {
		t.Fatalf("the listen-in stream (%d bytes): %v", len(heard), err)
	}
	pcm, err := stream.DecodePCM()
	if err != nil {
		t.Fatal(err)
	}
	peers.CheckChannels(t, pcm, 440, 1000)
	var listened int
	fx.db.Get(&listened, `SELECT count(*) FROM audit_log WHERE action = 'listen-in' AND actor = 'supervisor'`)
	if listened != 2 {
		t.Errorf("%d listen-in entries in the audit log, want 2", listened)
	}

	mustRun(t, ctx, chromedp.Click("#hangup-button", chromedp.ByID))
	if err := chromedp.Run(pollCtx, chromedp.Poll(`document.getElementById("call-state").textContent === "已挂断"`, nil, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("the page never showed 已挂断: %v", err)
	}
	var states []string
	mustRun(t, ctx, chromedp.Evaluate(`window.states`, &states))
	if strings.Join(states, " ") != "振铃 通话中 已挂断" {
		t.Errorf("the page showed %q, want 振铃, 通话中, 已挂断", states)
	}

	c, err := dialer.LatestCall(context.Background(), fx.db, caseID, fx.users["interviewer"])
	if err != nil {
		t.Fatal(err)
	}
	if c.SIPCode != 200 || c.HangupBy != dialer.ByInterviewer || c.Consent != "yes" || c.TalkMS < 4000 {
		t.Errorf("the call as stored: %+v", c)
	}

	// The interview is saved; its review page plays the recording.
	if _, err := dialer.CompleteInterview(context.Background(), fx.db, caseID, fx.users["interviewer"], "k1", 0, func(lc dialer.LockedCase) (survey.Interview, error) {
		return survey.Interview{WaveID: lc.WaveID, CaseID: caseID, QuestionnaireID: *lc.QuestionnaireID, InterviewerID: fx.users["interviewer"], District: "500101",
			Mode: "phone", Sex: 1, AgeGroup: 2, Answers: survey.Answers{"district": "500101"}, IdempotencyKey: "k1", Source: "cati"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	var ivID, recID int64
	fx.db.Get(&ivID, `SELECT id FROM interviews WHERE case_id = $1`, caseID)
	fx.db.Get(&recID, `SELECT id FROM recordings WHERE call_id = $1`, c.ID)
	page := sup.get(fmt.Sprintf("/interviews/%d", ivID))
	if !strings.Contains(page, fmt.Sprintf(`src="/recordings/%d"`, recID)) {
		t.Fatalf("the review page has no player for recording %d", recID)
	}
	r, err := dialer.GetRecording(context.Background(), fx.db, recID)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(r.Path)
	res = sup.do("GET", fmt.Sprintf("/recordings/%d", recID), nil)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(body, file) || res.Header.Get("X-Content-SHA256") != r.SHA256 {
		t.Errorf("playback: %d, %d bytes of %d, sha %s", res.StatusCode, len(body), len(file), res.Header.Get("X-Content-SHA256"))
	}
	// The player's later requests for parts of the same playback are not
	// counted again.
	req, _ = http.NewRequest("GET", base+fmt.Sprintf("/recordings/%d", recID), nil)
	req.Header.Set("Range", "bytes=100-")
	if res, err := sup.http.Do(req); err != nil || res.StatusCode != http.StatusPartialContent {
		t.Errorf("a range of the recording: %v %v", res.StatusCode, err)
	}
	var played int
	fx.db.Get(&played, `SELECT count(*) FROM audit_log WHERE action = 'recording-play' AND subject = $1`, fmt.Sprintf("recording:%d", recID))
	if played != 1 {
		t.Errorf("%d playbacks audited, want 1", played)
	}
	for _, who := range []string{"office", "interviewer"} {
		if res := fx.signIn(t, who).do("GET", fmt.Sprintf("/recordings/%d", recID), nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s fetched the recording: %d", who, res.StatusCode)
		}
	}
}

// Chromium plays a recording as it is stored (Ogg Opus, one mono stream
// per party) with its own decoder.
func TestBrowserPlaysARecording(t *testing.T) {
	fx := newFixture(t, 0.0001)
	dir := t.TempDir()
	rec, err := media.CreateRecording(dir + "/r.opus")
	if err != nil {
		t.Fatal(err)
	}
	tap := media.NewTap(rec)
	l, r := media.Tone(440, 3, 0.3), media.Tone(1000, 3, 0.3)
	for off := 0; off < len(l); off += media.FrameSamples {
		tap.Write(media.Left, l[off:off+media.FrameSamples])
		tap.Write(media.Right, r[off:off+media.FrameSamples])
	}
	if _, _, err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	id := storeRecording(t, fx, dir+"/r.opus")
	ctx, _ := newBrowser(t)
	var duration float64
	mustRun(t, ctx,
		signInBrowser(fx.srv.URL, "supervisor"),
		chromedp.Navigate(fmt.Sprintf("%s/recordings/%d", fx.srv.URL, id)),
		chromedp.Poll(`(function(){var a=document.querySelector("video,audio"); return a && a.readyState >= 1 && !a.error ? a.duration : 0})()`, &duration, chromedp.WithPollingTimeout(20*time.Second)),
	)
	if duration < 2.5 || duration > 3.5 {
		t.Errorf("Chromium reads the recording as %.2f s long, want 3", duration)
	}
}

// storeRecording stores a recording file as that of a call on a case.
func storeRecording(t *testing.T, fx *fixture, path string) int64 {
	t.Helper()
	var caseID, callID, id int64
	if err := fx.db.Get(&caseID, `SELECT id FROM cases LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if err := fx.db.Get(&callID, `INSERT INTO calls (case_id, interviewer_id, state, sip_code) VALUES ($1, $2, 'ended', 200) RETURNING id`, caseID, fx.users["interviewer"]); err != nil {
		t.Fatal(err)
	}
	if err := dialer.StartRecording(context.Background(), fx.db, callID, path, "opus", 0, 0); err != nil {
		t.Fatal(err)
	}
	sum, n, err := media.HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := dialer.FinishRecording(context.Background(), fx.db, callID, n, 3, sum); err != nil {
		t.Fatal(err)
	}
	if err := fx.db.Get(&id, `SELECT id FROM recordings WHERE call_id = $1`, callID); err != nil {
		t.Fatal(err)
	}
	return id
}

// Progressive dialing: the interviewer says they are ready (P), and the
// next case is called at once; the network's answer codes it, and the
// next ready takes the next case.
func TestProgressiveDialing(t *testing.T) {
	carrier := peers.StartCarrier(t)
	fx, _ := phoneFixture(t, carrier.URI())
	if _, err := fx.db.Exec(`UPDATE cases SET phone = '13900000486'`); err != nil {
		t.Fatal(err)
	}
	iv := fx.signIn(t, "interviewer")
	registerFromPhonePage(t, iv)
	if !strings.Contains(iv.get("/calls"), "next-and-call") {
		t.Fatal("the calls page offers no progressive dialing")
	}
	var seen []int64
	for range 2 {
		res := iv.post("/calls/next", url.Values{"dial": {"1"}})
		var id int64
		if _, err := fmt.Sscanf(res.Header.Get("Location"), "/cases/%d", &id); err != nil {
			t.Fatalf("ready: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		peers.WaitFor(t, "the call to end", 30*time.Second, func() bool {
			return strings.Contains(iv.get(fmt.Sprintf("/cases/%d/call", id)), `"state":"ended"`)
		})
		as, err := dialer.Attempts(context.Background(), fx.db, id)
		if err != nil || len(as) != 1 || as[0].SIPCode != 486 || as[0].AAPOR != "3.12" {
			t.Fatalf("case %d's attempts: %+v (%v)", id, as, err)
		}
		seen = append(seen, id)
	}
	if seen[0] == seen[1] {
		t.Errorf("the same case was dialled twice: %v", seen)
	}
	// In the browser: P on the calls page, and the case page says what
	// the network answered and leads on to the next case.
	ctx, _ := newBrowser(t)
	var coded string
	mustRun(t, ctx,
		signInBrowser(fx.srv.URL, "interviewer"),
		chromedp.Navigate(fx.srv.URL+"/calls"),
		chromedp.WaitVisible("#next-and-call", chromedp.ByID),
		press("p"),
		chromedp.WaitVisible("#call-next", chromedp.ByID),
		chromedp.Text("#call-coded", &coded, chromedp.ByID),
	)
	if !strings.Contains(coded, "占线") || !strings.Contains(coded, "486") {
		t.Errorf("the case page says %q, want busy (486)", coded)
	}
}
