package media

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
)

// Channels of a call's stereo audio.
const (
	// Left is what the respondent hears: the interviewer, or a prompt
	// Minyi plays to them.
	Left = 0
	// Right is what the respondent says.
	Right = 1
)

// Frame is 20 ms of a call in stereo, interleaved: left, right, left, …
type Frame [2 * FrameSamples]int16

// Recording writes a call's stereo frames to an Ogg Opus file and hashes
// the bytes as they are written, so that the hash entered in the audit
// chain is that of the file as it lies on disk.
type Recording struct {
	f      *os.File
	h      hash.Hash
	ogg    *oggWriter
	enc    *DualMonoEncoder
	packet []byte
	frames int
	bytes  int64
	err    error
}

// RecordingInfo is what a finished recording is: its size, length and
// SHA-256 (hex).
type RecordingInfo struct {
	Bytes   int64
	Seconds float64
	SHA256  string
}

// KBPerMinute is the recording's size per minute of stereo audio.
func (i RecordingInfo) KBPerMinute() float64 {
	if i.Seconds == 0 {
		return 0
	}
	return float64(i.Bytes) / 1000 / (i.Seconds / 60)
}

// CreateRecording creates the file at path (which must not exist).
func CreateRecording(path string) (*Recording, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("media: create recording: %w", err)
	}
	r, err := newRecording(f)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return r, nil
}

func newRecording(f *os.File) (*Recording, error) {
	enc, err := NewDualMonoEncoder(RecordBitrate)
	if err != nil {
		return nil, err
	}
	r := &Recording{f: f, h: sha256.New(), enc: enc, packet: make([]byte, 1500)}
	var serial [4]byte
	rand.Read(serial[:])
	r.ogg, err = newOggWriter(countingWriter{r}, binary.LittleEndian.Uint32(serial[:]), 2, opusPreSkip, recordingMapping)
	if err != nil {
		enc.Close()
		return nil, err
	}
	return r, nil
}

// opusPreSkip is libopus's look-ahead at 48 kHz (RFC 7845 §4.2), the
// samples a player drops at the start.
const opusPreSkip = 312

type countingWriter struct{ r *Recording }

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.r.f.Write(p)
	w.r.h.Write(p[:n])
	w.r.bytes += int64(n)
	return n, err
}

// WriteFrame encodes and appends one frame. After an error (a full disk)
// it keeps failing with that error: the call goes on, unrecorded.
func (r *Recording) WriteFrame(f *Frame) error {
	if r.err != nil {
		return r.err
	}
	n, err := r.enc.Encode(f[:], r.packet)
	if err == nil {
		err = r.ogg.WritePacket(r.packet[:n])
	}
	r.frames++
	r.err = err
	return err
}

// Close ends the stream, syncs the file to disk and says what it holds.
func (r *Recording) Close() (RecordingInfo, error) {
	err := r.err
	if err == nil {
		err = r.ogg.Close()
	}
	if serr := r.f.Sync(); err == nil {
		err = serr
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	r.enc.Close()
	return RecordingInfo{Bytes: r.bytes, Seconds: float64(r.frames) * 0.02, SHA256: hex.EncodeToString(r.h.Sum(nil))}, err
}

// HashFile is the SHA-256 (hex) and size of a file: a recording left by a
// process that stopped mid-call is hashed as it was left.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
