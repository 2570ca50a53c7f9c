package media

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"

	dmedia "github.com/emiago/diago/media"
	"github.com/pion/rtp"
)

// SessionLeg is the leg of a SIP dialog's negotiated media session.
type SessionLeg struct {
	s       *dmedia.MediaSession
	pt      uint8
	raddr   net.UDPAddr
	dropped atomic.Int64
}

// NewSessionLeg wraps a negotiated media session; its peer's address and
// codec are those of the SDP exchanged.
func NewSessionLeg(s *dmedia.MediaSession) (*SessionLeg, error) {
	c, ok := dmedia.CodecAudioFromList(s.CommonCodecs())
	if !ok || c.PayloadType != PCMU && c.PayloadType != PCMA {
		return nil, errors.New("media: the peer offers no G.711 audio")
	}
	return &SessionLeg{s: s, pt: c.PayloadType, raddr: s.Raddr}, nil
}

// ReadRTP reads the next packet from the negotiated address; packets from
// anywhere else (someone guessing the port to inject audio into a call)
// are counted and dropped.
func (l *SessionLeg) ReadRTP(buf []byte, p *rtp.Packet) error {
	for {
		n, err := l.s.ReadRTP(buf, p)
		if err != nil {
			var ne net.Error
			if isClosed(err) || errors.As(err, &ne) {
				return err
			}
			continue // a malformed packet
		}
		from, ok := l.s.ReadRTPFromAddr.(*net.UDPAddr)
		if !ok || !from.IP.Equal(l.raddr.IP) || from.Port != l.raddr.Port {
			l.dropped.Add(1)
			continue
		}
		if n == 0 || len(p.Payload) == 0 {
			continue
		}
		return nil
	}
}

// WriteRTP sends a packet to the peer's negotiated address.
func (l *SessionLeg) WriteRTP(p *rtp.Packet) error { return l.s.WriteRTP(p) }

// PayloadType is the negotiated G.711 law.
func (l *SessionLeg) PayloadType() uint8 { return l.pt }

// Dropped counts the packets refused for coming from elsewhere.
func (l *SessionLeg) Dropped() int64 { return l.dropped.Load() }

// Local is the address Minyi receives the leg's media at.
func (l *SessionLeg) Local() net.UDPAddr { return l.s.Laddr }

// Remote is the negotiated address of the peer's media.
func (l *SessionLeg) Remote() net.UDPAddr { return l.raddr }

func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "use of closed")
}
