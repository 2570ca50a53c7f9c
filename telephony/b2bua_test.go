package telephony

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/zaf/g711"

	"minyi/dialer"
	"minyi/media"
	"minyi/telephony/peers"
)

// startService starts Minyi's telephony for the test with the trunk at
// trunk, stopped when the test ends.
func startService(t *testing.T, f *field, trunk string) *Service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, f.db, testConfig(t, trunk), nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Wait() })
	return s
}

// registerPhone starts ann's phone (baresip sending 440 Hz) and waits
// until it has registered.
func registerPhone(t *testing.T, f *field, s *Service) *Account {
	t.Helper()
	a, err := AccountOf(context.Background(), f.db, f.ann)
	if err != nil {
		t.Fatal(err)
	}
	peers.StartInterviewerPhone(t, s.Registrar(), a.SIPUser, a.Secret, 440)
	peers.WaitFor(t, "the phone to register", 20*time.Second, func() bool { _, ok := s.PhoneRegistered(a); return ok })
	return a
}

// waitState waits until ann's call on the case is in a state.
func waitState(t *testing.T, s *Service, caseID, userID int64, state string, limit time.Duration) dialer.CallStatus {
	t.Helper()
	var st dialer.CallStatus
	peers.WaitFor(t, "the call to be "+state, limit, func() bool {
		var err error
		st, err = s.Status(context.Background(), caseID, userID)
		return err == nil && st.State == state
	})
	return st
}

// Calling a case: Minyi rings the interviewer's phone (baresip, 440 Hz),
// then the respondent (baresip, 1000 Hz), bridges them and records the
// call. The call stores its code, ring and talk time and who hung up; it
// is left for the interviewer to code; the recording carries the
// interviewer on the left and the respondent on the right, and its hash is
// the one in the audit chain.
func TestCallBridgesAndRecords(t *testing.T) {
	f := newField(t)
	const number = "13900000200"
	resp := peers.StartRespondent(t, number, 1000)
	s := startService(t, f, resp.URI())
	registerPhone(t, f, s)
	c := f.caseFor(number)
	ctx := context.Background()

	id, err := s.Call(ctx, c, f.ann)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Call(ctx, c, f.ann); err == nil {
		t.Error("a second call while one is under way was placed")
	}
	waitState(t, s, c.ID, f.ann, dialer.CallTalking, 30*time.Second)
	time.Sleep(4 * time.Second)
	if err := s.Hangup(ctx, c.ID, f.ann); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, s, c.ID, f.ann, dialer.CallEnded, 20*time.Second)
	if st.ID != id || st.SIPCode != 200 || st.HangupBy != dialer.ByInterviewer || st.TalkMS < 3500 || st.TalkMS > 30000 || st.Outcome != "" {
		t.Errorf("the call as stored: %+v", st.Call)
	}
	as, err := dialer.Attempts(ctx, f.db, c.ID)
	if err != nil || len(as) != 0 {
		t.Fatalf("attempts before the interviewer codes the answered call: %+v (%v)", as, err)
	}
	// The interviewer codes it: the attempt is the call's.
	if err := dialer.RecordOutcome(ctx, f.db, c.ID, f.ann, "refusal", time.Time{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	as, _ = dialer.Attempts(ctx, f.db, c.ID)
	if len(as) != 1 || as[0].SIPCode != 200 || as[0].TalkMS != st.TalkMS || as[0].HangupBy != dialer.ByInterviewer {
		t.Errorf("the coded attempt: %+v", as)
	}

	var rec dialer.Recording
	if err := f.db.Get(&rec, `SELECT id FROM recordings WHERE call_id = $1`, id); err != nil {
		t.Fatalf("no recording: %v", err)
	}
	r, err := dialer.GetRecording(ctx, f.db, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	sum, n, err := media.HashFile(r.Path)
	if err != nil || sum != r.SHA256 || n != r.Bytes {
		t.Fatalf("the file's hash %s (%d bytes, %v), stored %s (%d)", sum, n, err, r.SHA256, r.Bytes)
	}
	var details []byte
	if err := f.db.Get(&details, `SELECT details FROM audit_log WHERE action = 'recording' AND subject = $1`, "recording:"+itoa(int(r.ID))); err != nil {
		t.Fatalf("the recording is not in the audit chain: %v", err)
	}
	var d struct{ SHA256 string }
	json.Unmarshal(details, &d)
	if d.SHA256 != sum {
		t.Errorf("the audit chain has %s, the file %s", d.SHA256, sum)
	}
	file, err := os.Open(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	stream, err := media.ReadOggOpus(file)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := stream.DecodePCM()
	if err != nil {
		t.Fatal(err)
	}
	peers.CheckChannels(t, pcm, 440, 1000)
	t.Logf("recording: %d bytes for %.1f s, %.0f KB per stereo minute (Opus)", r.Bytes, r.Seconds, float64(r.Bytes)/1000/(r.Seconds/60))
}

// RTP is taken only from the address the respondent's SDP gave: audio
// sent to the call's port from anywhere else (someone injecting words
// into the interview) is dropped, never relayed or recorded.
func TestRTPOnlyFromTheNegotiatedAddress(t *testing.T) {
	f := newField(t)
	const number = "13900000200"
	resp := peers.StartRespondent(t, number, 1000)
	s := startService(t, f, resp.URI())
	registerPhone(t, f, s)
	c := f.caseFor(number)
	ctx := context.Background()
	id, err := s.Call(ctx, c, f.ann)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, s, c.ID, f.ann, dialer.CallTalking, 30*time.Second)
	var legB *media.SessionLeg
	peers.WaitFor(t, "the bridge", 10*time.Second, func() bool {
		s.mu.Lock()
		lc := s.byID[id]
		s.mu.Unlock()
		lc.mu.Lock()
		defer lc.mu.Unlock()
		legB, _ = lc.legs[1].(*media.SessionLeg)
		return legB != nil
	})
	// 2 s of a 2500 Hz tone from another port, as RTP to the leg's port.
	attacker, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer attacker.Close()
	to := legB.Local()
	to.IP = net.IPv4(127, 0, 0, 1)
	tone := media.Tone(2500, 2, 0.5)
	var p rtp.Packet
	p.Version, p.PayloadType, p.SSRC = 2, 0, 0x5eed
	payload := make([]byte, media.FrameSamples)
	for i := 0; i+media.FrameSamples <= len(tone); i += media.FrameSamples {
		for k := range payload {
			payload[k] = g711.EncodeUlawFrame(tone[i+k])
		}
		p.SequenceNumber, p.Timestamp, p.Payload = uint16(i/media.FrameSamples), uint32(i), payload
		b, _ := p.Marshal()
		attacker.WriteTo(b, &to)
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Hangup(ctx, c.ID, f.ann); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, c.ID, f.ann, dialer.CallEnded, 20*time.Second)
	if legB.Dropped() < 50 {
		t.Errorf("%d injected packets dropped, want about 100", legB.Dropped())
	}
	var path string
	f.db.Get(&path, `SELECT path FROM recordings WHERE call_id = $1`, id)
	right := media.Channel(peers.ReadRecording(t, path), media.Right)
	if inj, real := media.Goertzel(right, 2500), media.Goertzel(right, 1000); inj*1000 > real {
		t.Errorf("the injected tone is in the recording: 2500 Hz %.3g against the respondent's 1000 Hz %.3g", inj, real)
	}
}

// A recorded call plays the consent prompt to the respondent when they
// answer (the interviewer's voice held back meanwhile, and the prompt
// recorded on the left); a refusal stops the recording there, the answer
// stored and audited, while the call goes on.
func TestConsentPromptAndRefusal(t *testing.T) {
	f := newField(t)
	const number = "13900000200"
	resp := peers.StartRespondent(t, number, 1000)
	cfg := testConfig(t, resp.URI())
	cfg.ConsentPrompt = t.TempDir() + "/prompt.wav"
	peers.WriteToneWAV(t, cfg.ConsentPrompt, 2000, 1.5)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, f.db, cfg, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Wait() })
	registerPhone(t, f, s)
	c := f.caseFor(number)
	id, err := s.Call(ctx, c, f.ann)
	if err != nil {
		t.Fatal(err)
	}
	st := waitState(t, s, c.ID, f.ann, dialer.CallTalking, 30*time.Second)
	if !st.Recording {
		t.Fatal("the call is not being recorded")
	}
	time.Sleep(3 * time.Second)
	if err := s.Consent(ctx, c.ID, f.ann, "ann", false); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Status(ctx, c.ID, f.ann); st.Recording {
		t.Error("still recording after the refusal")
	}
	time.Sleep(2 * time.Second)
	s.Hangup(ctx, c.ID, f.ann)
	st = waitState(t, s, c.ID, f.ann, dialer.CallEnded, 20*time.Second)
	var r dialer.Recording
	if err := f.db.Get(&r, `SELECT id, path, seconds, coalesce(sha256, '') AS sha256 FROM recordings WHERE call_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if st.Consent != "no" || r.SHA256 == "" || r.Seconds > float64(st.TalkMS)/1000-1.5 || r.Seconds < 2 {
		t.Errorf("consent %q; recorded %.1f s of a %.1f s call (sha %q)", st.Consent, r.Seconds, float64(st.TalkMS)/1000, r.SHA256)
	}
	var audited int
	f.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'recording-consent' AND details ->> 'consent' = 'no'`)
	if audited != 1 {
		t.Errorf("%d consent entries audited, want 1", audited)
	}
	left := media.Channel(peers.ReadRecording(t, r.Path), media.Left)
	prompt, after := left[:media.SampleRate], left[2*media.SampleRate:]
	if p, i := media.Goertzel(prompt, 2000), media.Goertzel(prompt, 440); p < 100*i {
		t.Errorf("the first second of the left channel: prompt %.3g, interviewer %.3g, want the prompt alone", p, i)
	}
	if p, i := media.Goertzel(after, 2000), media.Goertzel(after, 440); i < 100*p {
		t.Errorf("after the prompt: prompt %.3g, interviewer %.3g, want the interviewer", p, i)
	}
}
