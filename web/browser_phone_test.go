package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"minyi/dialer"
	"minyi/media"
	"minyi/telephony/peers"
)

// phoneBrowser is Chromium with a fake microphone speaking a 440 Hz tone,
// and media permission granted.
func phoneBrowser(t *testing.T) context.Context {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "440.wav")
	peers.WriteToneWAV(t, wav, 440, 30)
	ctx, _ := newBrowser(t,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", wav),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	)
	return ctx
}

func poll(t *testing.T, ctx context.Context, what, cond string, limit time.Duration) {
	t.Helper()
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := chromedp.Run(pctx, chromedp.Poll(cond, nil, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		var page string
		dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
		chromedp.Run(dctx, chromedp.Evaluate(`document.body.innerText`, &page))
		dcancel()
		t.Fatalf("%s: %v\n%s", what, err, page)
	}
	t.Logf("%s: %s", what, time.Since(start).Round(time.Millisecond))
}

// The interviewer's browser is their phone: the headset check hears the
// microphone and plays it back, the phone connects, a call placed from
// the case page is bridged to it and recorded with the interviewer (440 Hz
// from the browser) on the left and the respondent (1000 Hz from baresip)
// on the right; the page reconnecting mid-call does not end the call, and
// the phone window hangs up.
func TestBrowserPhoneCall(t *testing.T) {
	const number = "13900000300"
	resp := peers.StartRespondent(t, number, 1000)
	fx, _ := phoneFixture(t, resp.URI())
	iv := fx.signIn(t, "interviewer")
	caseID := takeCase(t, fx, iv, number)
	base := fx.srv.URL

	ctx := phoneBrowser(t)
	mustRun(t, ctx,
		signInBrowser(base, "interviewer"),
		chromedp.Navigate(base+"/phone/browser"),
		chromedp.WaitVisible("#check-start", chromedp.ByID),
		chromedp.Click("#check-start", chromedp.ByID),
	)
	poll(t, ctx, "the level meter moves with the microphone", `Number(document.getElementById("bphone").dataset.level) > 0.02`, 20*time.Second)
	poll(t, ctx, "the check plays back what was said", `document.getElementById("bphone").dataset.checked === "yes"`, 20*time.Second)
	mustRun(t, ctx, chromedp.KeyEvent("c"))
	poll(t, ctx, "the phone connects", `document.getElementById("bphone").dataset.connection === "connected"`, 30*time.Second)
	var status string
	mustRun(t, ctx, chromedp.Text("#phone-status", &status, chromedp.ByID))
	if !strings.HasPrefix(status, "已连接") {
		t.Errorf("the phone says %q", status)
	}

	// The phone window keeps the states it shows, in order.
	mustRun(t, ctx, chromedp.Evaluate(`window.states = []; new MutationObserver(function () {
		var s = document.getElementById("bcall-state").textContent;
		if (window.states[window.states.length - 1] !== s) window.states.push(s);
	}).observe(document.getElementById("bcall-state"), {childList: true, characterData: true, subtree: true}); true`, nil))

	// The case page places the call (its script, tested with a desk phone,
	// sends this).
	callJSON := func(path string, form url.Values) string {
		form.Set("csrf", iv.csrf)
		req, _ := http.NewRequest("POST", base+fmt.Sprintf("/cases/%d/%s", caseID, path), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		res, err := iv.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return readAll(res)
	}
	if got := callJSON("call", url.Values{}); !strings.Contains(got, `"state"`) {
		t.Fatalf("placing the call: %s", got)
	}
	talking := `document.getElementById("bcall-state").textContent === "通话中" && /^00:\d\d$/.test(document.getElementById("bcall-timer").textContent)`
	poll(t, ctx, "the phone window shows the call", talking, 60*time.Second)
	if got := callJSON("consent", url.Values{"consent": {"yes"}}); !strings.Contains(got, `"consent":"yes"`) {
		t.Errorf("consent: %s", got)
	}
	// A supervisor listens in, as on a desk phone's call.
	sup := fx.signIn(t, "supervisor")
	var callID int64
	fx.db.Get(&callID, `SELECT id FROM calls WHERE case_id = $1`, caseID)
	lreq, _ := http.NewRequest("GET", base+fmt.Sprintf("/calls/%d/listen", callID), nil)
	lctx, lcancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	lres, err := sup.http.Do(lreq.WithContext(lctx))
	if err != nil {
		t.Fatal(err)
	}
	heard, _ := io.ReadAll(lres.Body)
	lcancel()
	stream, err := media.ReadOggOpus(bytes.NewReader(heard))
	if err != nil {
		t.Fatalf("the listen-in stream (%d bytes): %v", len(heard), err)
	}
	lpcm, err := stream.DecodePCM()
	if err != nil {
		t.Fatal(err)
	}
	peers.CheckChannels(t, lpcm, 440, 1000)

	// M mutes: the respondent hears nothing of the interviewer until M
	// again.
	var muted string
	mustRun(t, ctx, chromedp.KeyEvent("m"), chromedp.Sleep(2500*time.Millisecond),
		chromedp.Evaluate(`document.getElementById("bphone").dataset.muted`, &muted), chromedp.KeyEvent("m"))
	if muted != "yes" {
		t.Errorf("M did not mute: %q", muted)
	}
	time.Sleep(time.Second)

	// A network blip: the page opens a new connection; the call goes on
	// over it.
	mustRun(t, ctx, chromedp.Evaluate(`document.getElementById("phone-connect").click(); document.getElementById("bphone").dataset.connection`, &status))
	if status == "connected" {
		t.Fatal("the page did not open a new connection")
	}
	poll(t, ctx, "the phone reconnects", `document.getElementById("bphone").dataset.connection === "connected"`, 30*time.Second)
	time.Sleep(3 * time.Second)
	poll(t, ctx, "the call goes on after reconnecting", talking, time.Second)

	mustRun(t, ctx, chromedp.Click("#phone-hangup", chromedp.ByID))
	poll(t, ctx, "the phone window shows 已挂断", `document.getElementById("bcall-state").textContent === "已挂断"`, 30*time.Second)
	var states []string
	mustRun(t, ctx, chromedp.Evaluate(`window.states`, &states))
	if got := strings.Join(states, " "); got != "振铃 通话中 已挂断" && got != "通话中 已挂断" {
		t.Errorf("the phone window showed %q, want 振铃, 通话中, 已挂断 in order", states)
	}
	if got := iv.get(fmt.Sprintf("/cases/%d/call", caseID)); !strings.Contains(got, `"state":"ended"`) {
		t.Errorf("the case page's status after hanging up: %s", got)
	}

	c, err := dialer.LatestCall(context.Background(), fx.db, caseID, fx.users["interviewer"])
	if err != nil {
		t.Fatal(err)
	}
	if c.SIPCode != 200 || c.HangupBy != dialer.ByInterviewer || c.Consent != "yes" || c.TalkMS < 5000 {
		t.Errorf("the call as stored: %+v", c)
	}
	var path, sum string
	var seconds float64
	peers.WaitFor(t, "the recording", 10*time.Second, func() bool {
		return fx.db.QueryRow(`SELECT path, sha256, seconds FROM recordings WHERE call_id = $1 AND sha256 IS NOT NULL`, c.ID).Scan(&path, &sum, &seconds) == nil
	})
	pcm := peers.ReadRecording(t, path)
	// Each channel carries its own party, in the first seconds (before
	// the mute) and in the last (after the reconnection); the mute and
	// the reconnection break the tone's phase, so the whole is not
	// checked at once.
	if len(pcm) < 2*8000*8 {
		t.Fatalf("%d samples recorded", len(pcm))
	}
	peers.CheckChannels(t, pcm[2*8000*1:2*8000*2], 440, 1000)
	// While muted the left channel fell silent, and only then.
	left := media.Channel(pcm, 0)
	var quiet, loud int
	for i := 8000; i+4000 <= len(left); i += 4000 {
		switch p := media.Goertzel(left[i:i+4000], 440); {
		case p < 1e3:
			quiet++
		case p > 1e5:
			loud++
		}
	}
	if quiet < 3 || quiet > 6 || loud < 6 {
		t.Errorf("half-seconds of the interviewer's channel: %d silent, %d with their voice; want 3 to 6 silent (2.5 s muted)", quiet, loud)
	}
	n := len(pcm)
	peers.CheckChannels(t, pcm[n-2*8000*3:n-2*8000], 440, 1000)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(file); hex.EncodeToString(h[:]) != sum {
		t.Errorf("the recording's hash %x is not the one stored, %s", h, sum)
	}
	if seconds < 5 {
		t.Errorf("%.1f s recorded", seconds)
	}
}

// Only the interviewer's own session can connect a browser phone: no
// CSRF token, no phone; other roles are refused; a bad offer is told
// in words.
func TestBrowserPhoneRoutesAreGuarded(t *testing.T) {
	c := peers.StartCarrier(t)
	fx, _ := phoneFixture(t, c.URI())
	iv := fx.signIn(t, "interviewer")
	for _, who := range []string{"office", "supervisor", "field_interviewer"} {
		if res := fx.signIn(t, who).do("GET", "/phone/browser", nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s opened the browser phone: %d", who, res.StatusCode)
		}
	}
	req, _ := http.NewRequest("POST", fx.srv.URL+"/phone/browser/offer", strings.NewReader(`{"sdp":"v=0\r\n"}`))
	req.Header.Set("Content-Type", "application/json")
	if res, err := iv.http.Do(req); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("an offer without the CSRF token: %v %v", res.StatusCode, err)
	}
	req, _ = http.NewRequest("POST", fx.srv.URL+"/phone/browser/offer", strings.NewReader(`{"sdp":"hello"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", iv.csrf)
	res, err := iv.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(res)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "刷新页面") {
		t.Errorf("a bad offer: %d %s", res.StatusCode, body)
	}
}

// The headset check says what is wrong, in words: a microphone the
// browser refuses, and no microphone at all.
func TestHeadsetCheckSaysWhatIsWrong(t *testing.T) {
	c := peers.StartCarrier(t)
	fx, _ := phoneFixture(t, c.URI())
	base := fx.srv.URL
	for _, tc := range []struct {
		name  string
		flags []chromedp.ExecAllocatorOption
		want  string
	}{
		{"denied", []chromedp.ExecAllocatorOption{chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("deny-permission-prompts", true)}, "浏览器拒绝了麦克风"},
		{"no device", []chromedp.ExecAllocatorOption{chromedp.Flag("use-fake-ui-for-media-stream", true)}, "没有找到麦克风"},
	} {
		ctx, _ := newBrowser(t, tc.flags...)
		mustRun(t, ctx,
			signInBrowser(base, "interviewer"),
			chromedp.Navigate(base+"/phone/browser"),
			chromedp.WaitVisible("#check-start", chromedp.ByID),
			chromedp.KeyEvent("t"),
		)
		poll(t, ctx, tc.name+": the problem is shown", `!document.getElementById("mic-problem").hidden`, 20*time.Second)
		var got string
		mustRun(t, ctx, chromedp.Text("#mic-problem", &got, chromedp.ByID))
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: the page says %q, want %q…", tc.name, got, tc.want)
		}
	}
}
