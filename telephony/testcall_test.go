package telephony

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"minyi/media"
	"minyi/telephony/peers"
)

// minyi sip test-call against SIPp as the carrier: each number's answer
// comes back as its code, disposition, ring and talk time and who hung up;
// an answered call carries the callee's tone on the right and what was
// played on the left, in the WAV whose hash is printed.
func TestTestCallAgainstTheCarrier(t *testing.T) {
	c := peers.StartCarrier(t)
	cfg := testConfig(t, c.URI())
	ctx := context.Background()
	for _, tc := range []struct {
		number      string
		code        int
		disposition string
		hangupBy    string
	}{
		{"13900000486", 486, "3.12", "network"},
		{"13900000404", 404, "4.31", "network"},
		{"13900000480", 480, "3.16", "network"},
		{"13900000603", 603, "3.90", "network"},
		{"13900000999", 487, "3.13", "minyi"},
	} {
		t.Run(tc.number, func(t *testing.T) {
			res, err := TestCall(ctx, cfg, tc.number, nil, "", time.Second, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.SIPCode != tc.code || res.Disposition != tc.disposition || res.HangupBy != tc.hangupBy || res.TalkMS != 0 {
				t.Errorf("got %+v, want code %d, disposition %s, hung up by %s", res, tc.code, tc.disposition, tc.hangupBy)
			}
			if tc.code == 487 && (res.RingMS < 4500 || res.RingMS > 15000) {
				t.Errorf("rang %d ms, want the ring timeout of 5 s", res.RingMS)
			}
		})
	}
	t.Run("answered", func(t *testing.T) {
		dir := t.TempDir()
		wav := filepath.Join(dir, "out.wav")
		play := media.Tone(440, 3, 0.3)
		res, err := TestCall(ctx, cfg, "13900000200", play, wav, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.SIPCode != 200 || res.Disposition != "answered" || res.HangupBy != "minyi" || res.TalkMS < 2500 || res.RecordingSHA256 == "" {
			t.Fatalf("got %+v", res)
		}
		sum, _, err := media.HashFile(wav)
		if err != nil || sum != res.RecordingSHA256 {
			t.Errorf("the file's hash %s (%v), printed %s", sum, err, res.RecordingSHA256)
		}
		pcm, err := readStereoWAV(wav)
		if err != nil {
			t.Fatal(err)
		}
		peers.CheckChannels(t, pcm, 440, 1000)
	})
	t.Run("the callee hangs up", func(t *testing.T) {
		res, err := TestCall(ctx, cfg, "13900000201", nil, "", 20*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.SIPCode != 200 || res.HangupBy != "respondent" || res.TalkMS < 2000 || res.TalkMS > 15000 {
			t.Errorf("got %+v, want the callee to hang up after 3 s", res)
		}
	})
}

// A trunk that does not answer at all fails within seconds, saying so.
func TestTestCallTrunkUnreachable(t *testing.T) {
	port := peers.FreePort(t)
	cfg := testConfig(t, "sip:127.0.0.1:"+itoa(port))
	start := time.Now()
	res, err := TestCall(context.Background(), cfg, "13900000200", nil, "", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("took %s to give up", took)
	}
	if res.SIPCode != 0 || res.Error == "" || res.HangupBy != "network" {
		t.Errorf("got %+v, want no code and an error", res)
	}
}
