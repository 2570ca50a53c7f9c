package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/zaf/g711"

	"minyi/media"
	"minyi/telephony"
)

// startCarrier runs SIPp with the telephony tests' carrier scenario on
// loopback and returns its SIP URI.
func startCarrier(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pcm := media.Tone(1000, 60, 0.3)
	data := make([]byte, len(pcm))
	for i, s := range pcm {
		data[i] = g711.EncodeUlawFrame(s)
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+26+8+8+len(data)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, []any{uint32(18), uint16(7), uint16(1), uint32(8000), uint32(8000), uint16(1), uint16(8), uint16(0)})
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	if err := os.WriteFile(filepath.Join(dir, "tone1000.wav"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	scenario, _ := filepath.Abs("../../telephony/testdata/carrier.xml")
	port, err := telephony.FreePort("udp", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	rtp, _ := telephony.FreePort("udp", "127.0.0.1")
	cmd := exec.Command("sipp", "-sf", scenario, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(rtp), "-nostdin")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatalf("sipp (Debian's sip-tester) must be installed: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(300 * time.Millisecond)
	return fmt.Sprintf("sip:127.0.0.1:%d", port)
}

// The trunk check an admin runs: one JSON line per call, with the
// network's answer, and the recording's hash that of the file written.
func TestSipTestCall(t *testing.T) {
	trunk := startCarrier(t)
	listen, _ := telephony.FreePort("udp", "127.0.0.1")
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
