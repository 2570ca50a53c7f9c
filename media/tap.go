package media

import (
	"sync"
)

// Tap gathers the two directions of a call into stereo frames, for the
// call's recording and for supervisors listening in. Each direction
// writes the samples it relays; a frame goes out once both channels have
// 20 ms, or once one channel is maxLag ahead of a silent other (a muted
// phone sends nothing), which is then padded with silence. So the two
// channels stay in step without a clock of their own.
type Tap struct {
	mu        sync.Mutex
	buf       [2][tapSamples]int16
	n         [2]int
	frame     Frame
	rec       *Recording
	listeners map[int]chan Frame
	nextID    int
	recErr    error
}

const (
	maxLag     = 5 * FrameSamples // 100 ms
	tapSamples = 8 * FrameSamples
)

// NewTap makes a tap recording into rec (nil: not recorded).
func NewTap(rec *Recording) *Tap {
	return &Tap{rec: rec, listeners: map[int]chan Frame{}}
}

// Write adds samples heard on a channel (Left or Right).
func (t *Tap) Write(ch int, pcm []int16) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(pcm) > 0 {
		room := tapSamples - t.n[ch]
		if room == 0 {
			// The other channel is far behind: the oldest samples go.
			copy(t.buf[ch][:], t.buf[ch][FrameSamples:t.n[ch]])
			t.n[ch] -= FrameSamples
			room = FrameSamples
		}
		k := min(room, len(pcm))
		copy(t.buf[ch][t.n[ch]:], pcm[:k])
		t.n[ch] += k
		pcm = pcm[k:]
		t.drain(ch)
	}
}

func (t *Tap) drain(ch int) {
	for t.n[0] >= FrameSamples && t.n[1] >= FrameSamples || t.n[ch] >= maxLag {
		for i := range FrameSamples {
			t.frame[2*i] = t.take(0, i)
			t.frame[2*i+1] = t.take(1, i)
		}
		for c := range 2 {
			k := min(t.n[c], FrameSamples)
			copy(t.buf[c][:], t.buf[c][k:t.n[c]])
			t.n[c] -= k
		}
		t.emit()
	}
}

// take is sample i of channel c's next frame, silence past what came.
func (t *Tap) take(c, i int) int16 {
	if i < t.n[c] {
		return t.buf[c][i]
	}
	return 0
}

func (t *Tap) emit() {
	if t.rec != nil && t.recErr == nil {
		t.recErr = t.rec.WriteFrame(&t.frame)
	}
	for _, l := range t.listeners {
		select {
		case l <- t.frame:
		default:
			// A listener that does not keep up misses frames; the call
			// never waits for it.
		}
	}
}

// Listen gives a receive-only copy of the call's frames from now on,
// until stop is called or the tap is closed (the channel is closed then).
func (t *Tap) Listen() (frames <-chan Frame, stop func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := make(chan Frame, 50)
	if t.listeners == nil {
		close(c)
		return c, func() {}
	}
	id := t.nextID
	t.nextID++
	t.listeners[id] = c
	return c, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if _, ok := t.listeners[id]; ok {
			delete(t.listeners, id)
			close(c)
		}
	}
}

// StopRecording ends the recording (the respondent did not consent, or
// the call ended) and says what it holds; listeners go on.
func (t *Tap) StopRecording() (RecordingInfo, bool, error) {
	t.mu.Lock()
	rec := t.rec
	t.rec = nil
	t.mu.Unlock()
	if rec == nil {
		return RecordingInfo{}, false, nil
	}
	info, err := rec.Close()
	if err == nil {
		err = t.recErr
	}
	return info, true, err
}

// Close ends the recording and every listener's stream.
func (t *Tap) Close() (RecordingInfo, bool, error) {
	t.mu.Lock()
	for id, l := range t.listeners {
		close(l)
		delete(t.listeners, id)
	}
	t.listeners = nil
	t.mu.Unlock()
	return t.StopRecording()
}
