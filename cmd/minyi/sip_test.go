package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"minyi/media"
	"minyi/telephony/peers"
)

// The trunk check an admin runs: one JSON line per call, with the
// network's answer, and the recording's hash that of the file written.
func TestSipTestCall(t *testing.T) {
	trunk := peers.StartCarrier(t).URI()
	listen := peers.FreePort(t)
	t.Setenv("MINYI_SIP_TRUNK", trunk)
	t.Setenv("MINYI_SIP_LISTEN", "127.0.0.1:"+strconv.Itoa(listen))
	t.Setenv("MINYI_SIP_RTP_PORTS", "31000-31100")
	dir := t.TempDir()
	play := filepath.Join(dir, "tone440.wav")
	var b bytes.Buffer
	media.WriteWAV(&b, 1, media.Tone(440, 2, 0.3))
	os.WriteFile(play, b.Bytes(), 0o644)
	record := filepath.Join(dir, "call.wav")

	type line struct {
		SIPCode         int    `json:"sip_code"`
		Disposition     string `json:"disposition"`
		RingMS          int64  `json:"ring_ms"`
		TalkMS          int64  `json:"talk_ms"`
		HangupBy        string `json:"hangup_by"`
		RecordingSHA256 string `json:"recording_sha256"`
	}
	parse := func(out string) line {
		t.Helper()
		var l line
		if err := json.Unmarshal([]byte(out), &l); err != nil || bytes.Count([]byte(out), []byte("\n")) != 1 {
			t.Fatalf("not one JSON line: %q (%v)", out, err)
		}
		return l
	}
	l := parse(mustRun(t, "", "sip", "test-call", "--to", "13900000200", "--play", play, "--record", record))
	sum, _, err := media.HashFile(record)
	if err != nil || l.SIPCode != 200 || l.Disposition != "answered" || l.HangupBy != "minyi" || l.TalkMS < 1500 || l.RecordingSHA256 != sum {
		t.Errorf("answered call: %+v, file hash %s (%v)", l, sum, err)
	}
	l = parse(mustRun(t, "", "sip", "test-call", "--to", "13900000486"))
	if l.SIPCode != 486 || l.Disposition != "3.12" || l.HangupBy != "network" || l.RecordingSHA256 != "" {
		t.Errorf("busy number: %+v", l)
	}
	if _, err := minyi(t, "", "sip", "test-call"); err == nil {
		t.Error("test-call without --to did not fail")
	}
}
