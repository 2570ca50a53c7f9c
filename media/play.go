package media

import (
	"context"
	"time"

	"github.com/pion/rtp"
)

// Play sends samples to a leg as 20 ms G.711 packets at the pace of
// speech, and writes them into the tap on channel ch (what the respondent
// heard is recorded with the rest). It returns when all is sent or ctx
// ends.
func Play(ctx context.Context, s *Sender, pcm []int16, tap *Tap, ch int) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	payload := make([]byte, FrameSamples)
	var p rtp.Packet
	var ts uint32
	for off := 0; off < len(pcm); off += FrameSamples {
		frame := pcm[off:min(off+FrameSamples, len(pcm))]
		n := encodeG711(PCMU, frame, payload)
		p.Payload = payload[:n]
		p.Timestamp = ts
		ts += uint32(n)
		if tap != nil {
			tap.Write(ch, frame)
		}
		if err := s.Send(&p, PCMU); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
