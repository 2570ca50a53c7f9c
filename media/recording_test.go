package media

import (
	"os"
	"path/filepath"
	"testing"
)

// A minute of a call, 440 Hz from the interviewer and 1000 Hz from the
// respondent, recorded and read back: each channel carries its own tone,
// the file is within 240 KB a stereo minute, and its hash is the file's.
func TestRecordingKeepsTheChannelsApartWithinTheSizeTarget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "call.opus")
	rec, err := CreateRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	tap := NewTap(rec)
	left, right := Tone(440, 60, 0.3), Tone(1000, 60, 0.3)
	for off := 0; off < len(left); off += FrameSamples {
		tap.Write(Left, left[off:off+FrameSamples])
		tap.Write(Right, right[off:off+FrameSamples])
	}
	info, _, err := tap.Close()
	if err != nil {
		t.Fatal(err)
	}
	if info.Seconds < 59.9 || info.Seconds > 60.1 {
		t.Errorf("recorded %.2f s, want 60", info.Seconds)
	}
	kb := info.KBPerMinute()
	t.Logf("Opus %d kbit/s stereo: %.1f KB per stereo minute", RecordBitrate/1000, kb)
	if kb > 240 {
		t.Errorf("%.1f KB per stereo minute, over the 240 KB target", kb)
	}
	sum, n, err := HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum != info.SHA256 || n != info.Bytes {
		t.Errorf("file hash %s (%d bytes), recorded %s (%d bytes)", sum, n, info.SHA256, info.Bytes)
	}
	checkTones(t, path, 440, 1000)
}

// checkTones reads a recording back and checks which tone dominates each
// channel.
func checkTones(t *testing.T, path string, left, right float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadOggOpus(f)
	if err != nil {
		t.Fatal(err)
	}
	if s.Channels != 2 || s.Truncated {
		t.Fatalf("channels %d, truncated %v", s.Channels, s.Truncated)
	}
	pcm, err := s.DecodePCM()
	if err != nil {
		t.Fatal(err)
	}
	for ch, want := range []float64{left, right} {
		other := right + left - want
		c := Channel(pcm, ch)
		pw, po := Goertzel(c, want), Goertzel(c, other)
		if pw < 100*po || pw < 1e5 {
			t.Errorf("channel %d: %.0f Hz power %.3g, %.0f Hz power %.3g", ch, want, pw, other, po)
		}
	}
}

// A recording cut off by a crash keeps every page written before it.
func TestRecordingCutShortIsReadableUpToTheCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.opus")
	rec, err := CreateRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	tap := NewTap(rec)
	left, right := Tone(440, 5, 0.3), Tone(1000, 5, 0.3)
	for off := 0; off < len(left); off += FrameSamples {
		tap.Write(Left, left[off:off+FrameSamples])
		tap.Write(Right, right[off:off+FrameSamples])
	}
	// The process dies: no last page, the file as it was left.
	f, _ := os.Open(path)
	s, err := ReadOggOpus(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !s.Truncated || len(s.Packets) < 4*50 {
		t.Errorf("truncated %v, %d packets, want at least 4 s", s.Truncated, len(s.Packets))
	}
	rec.f.Close()
}

// One channel silent (a muted phone): the other is still recorded in time.
func TestTapPadsASilentChannel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.opus")
	rec, err := CreateRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	tap := NewTap(rec)
	right := Tone(1000, 3, 0.3)
	for off := 0; off < len(right); off += FrameSamples {
		tap.Write(Right, right[off:off+FrameSamples])
	}
	info, _, err := tap.Close()
	if err != nil {
		t.Fatal(err)
	}
	if info.Seconds < 2.8 {
		t.Errorf("recorded %.2f s of 3", info.Seconds)
	}
}
