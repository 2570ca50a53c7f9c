package media

import (
	"context"
	"io"
)

// ListenBitrate is the bit rate of a supervisor's live stream, coded as
// the recordings are: the two parties on two channels that never mix.
const ListenBitrate = 24000

// StreamOgg writes a call's frames to w as a live Ogg Opus stream, which a
// browser's audio element plays as it arrives, calling flush after each
// page. It returns when the frames end, ctx ends or w fails.
func StreamOgg(ctx context.Context, w io.Writer, flush func(), frames <-chan Frame) error {
	enc, err := NewDualMonoEncoder(ListenBitrate)
	if err != nil {
		return err
	}
	defer enc.Close()
	fw := flushWriter{w: w, flush: flush}
	o, err := newOggWriter(fw, 1, 2, opusPreSkip, recordingMapping)
	if err != nil {
		return err
	}
	packet := make([]byte, 1500)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f, ok := <-frames:
			if !ok {
				return o.Close()
			}
			n, err := enc.Encode(f[:], packet)
			if err != nil {
				return err
			}
			// A page every 100 ms keeps the delay a listener hears short.
			if err := o.WritePacket(packet[:n]); err != nil {
				return err
			}
			if o.count >= 5 {
				if err := o.flush(0, o.granule); err != nil {
					return err
				}
			}
		}
	}
}

type flushWriter struct {
	w     io.Writer
	flush func()
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if f.flush != nil {
		f.flush()
	}
	return n, err
}
