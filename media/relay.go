package media

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
)

// Leg is one side of a call as the media plane sees it: a SIP phone or
// trunk today, a browser tomorrow.
type Leg interface {
	// ReadRTP reads the next packet the leg's peer sent, into p using
	// buf. Packets from any address but the negotiated one are dropped
	// before they come out of it.
	ReadRTP(buf []byte, p *rtp.Packet) error
	// WriteRTP sends a packet to the peer.
	WriteRTP(p *rtp.Packet) error
	// PayloadType is the G.711 law negotiated with the peer (PCMU, PCMA).
	PayloadType() uint8
}

// Relay carries a call's audio between the interviewer's leg and the
// respondent's, one goroutine per direction, and writes both directions
// into the tap. It runs until a leg stops reading (is closed).
type Relay struct {
	wg    sync.WaitGroup
	muted [2]atomic.Bool
	// To is the sender of each direction (ToRespondent, ToInterviewer),
	// for prompts played into the call.
	To [2]*Sender
}

// Relay directions, by the channel they carry.
const (
	ToRespondent  = Left  // the interviewer's voice
	ToInterviewer = Right // the respondent's voice
)

// StartRelay starts relaying between the two legs into tap (nil: no tap).
func StartRelay(interviewer, respondent Leg, tap *Tap) *Relay {
	r := &Relay{To: [2]*Sender{NewSender(respondent), NewSender(interviewer)}}
	r.wg.Add(2)
	go r.pump(interviewer, r.To[ToRespondent], ToRespondent, tap)
	go r.pump(respondent, r.To[ToInterviewer], ToInterviewer, tap)
	return r
}

// Mute stops one direction from being relayed (and tapped): while Minyi
// plays a prompt to the respondent, the prompt is what they hear.
func (r *Relay) Mute(dir int, on bool) { r.muted[dir].Store(on) }

// Wait waits until both directions have stopped.
func (r *Relay) Wait() { r.wg.Wait() }

// pump relays one direction. Its buffers are made once; per packet it only
// decodes, rewrites the header to this side's stream, sends, and then
// hands the decoded samples to the tap. DTMF and other non-audio payloads are not relayed.
func (r *Relay) pump(from Leg, to *Sender, dir int, tap *Tap) {
	defer r.wg.Done()
	buf := make([]byte, 1500)
	pcm := make([]int16, 1500)
	var p rtp.Packet
	for {
		if err := from.ReadRTP(buf, &p); err != nil {
			return
		}
		pt := from.PayloadType()
		if p.PayloadType != pt || r.muted[dir].Load() {
			continue
		}
		// The packet goes on before it is recorded: the tap may encode a
		// frame of the recording, which must not make the audio late.
		// Send transcodes the payload in place, so it is decoded first.
		n := 0
		if tap != nil {
			n = decodeG711(pt, p.Payload, pcm)
		}
		if err := to.Send(&p, pt); err != nil && isClosed(err) {
			return
		}
		if tap != nil {
			tap.Write(dir, pcm[:n])
		}
	}
}

// Sender sends one leg its RTP stream, from whichever source: the other
// leg, or a prompt.
type Sender struct {
	mu  sync.Mutex
	leg Leg
	out outStream
}

// NewSender makes the sender of a leg.
func NewSender(l Leg) *Sender {
	s := &Sender{leg: l}
	s.out.init()
	return s
}

// Send sends a G.711 packet of payload type pt to the leg, transcoded to
// the leg's law in place and restamped.
func (s *Sender) Send(p *rtp.Packet, pt uint8) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	to := s.leg.PayloadType()
	transcodeG711(pt, to, p.Payload)
	s.out.stamp(p, to)
	return s.leg.WriteRTP(p)
}

// outStream is the RTP stream Minyi sends on one leg: its own SSRC,
// sequence and timestamps, whatever the source (the other leg or a
// prompt), so that the receiver sees one continuous stream.
type outStream struct {
	ssrc    uint32
	seq     uint16
	ts      uint32
	lastSrc uint32
	started bool
}

func (o *outStream) init() {
	var b [10]byte
	rand.Read(b[:])
	o.ssrc = binary.LittleEndian.Uint32(b[0:])
	o.seq = binary.LittleEndian.Uint16(b[4:])
	o.ts = binary.LittleEndian.Uint32(b[6:])
}

// stamp rewrites p's header for this stream; the timestamp advances by
// the source's own steps (its gaps stay gaps), or by the payload's length
// when the source changes.
func (o *outStream) stamp(p *rtp.Packet, pt uint8) {
	if o.started {
		step := p.Timestamp - o.lastSrc
		if step == 0 || step > 8*SampleRate {
			step = uint32(len(p.Payload))
		}
		o.ts += step
	}
	o.started = true
	o.lastSrc = p.Timestamp
	o.seq++
	p.Version = 2
	p.Padding = false
	p.Extension = false
	p.Extensions = nil
	p.CSRC = nil
	p.PayloadType = pt
	p.SSRC = o.ssrc
	p.SequenceNumber = o.seq
	p.Timestamp = o.ts
}

// Receive taps what a leg's peer sends, without relaying it anywhere: the
// callee's side of a trunk check. It runs until the leg stops reading.
func Receive(from Leg, tap *Tap, ch int) {
	buf := make([]byte, 1500)
	pcm := make([]int16, 1500)
	var p rtp.Packet
	for {
		if err := from.ReadRTP(buf, &p); err != nil {
			return
		}
		pt := from.PayloadType()
		if p.PayloadType != pt {
			continue
		}
		n := decodeG711(pt, p.Payload, pcm)
		tap.Write(ch, pcm[:n])
	}
}
