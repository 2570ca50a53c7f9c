package telephony

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"minyi/core"
	"minyi/media"
)

// The browser phone: an interviewer's browser is their phone. Its page
// (浏览器话机) opens one WebRTC connection to Minyi for the whole shift and
// keeps it, across the case and interview pages the interviewer moves
// between; a call then bridges that connection's audio to the respondent's
// SIP leg as it would a desk phone's. Only G.711 (PCMU) is negotiated, as
// on the SIP side, so audio is relayed without transcoding; the browser's
// media is DTLS-SRTP, which WebRTC requires.

// BrowserState is what the phone page shows of its connection.
type BrowserState struct {
	Connected bool    `json:"connected"`
	Call      string  `json:"call"` // dialer.CallRinging, CallTalking, CallEnded or ""
	Seconds   float64 `json:"seconds"`
	CaseID    int64   `json:"case,omitempty"`
}

// browserPhone is one interviewer's browser connection, replaced by a new
// one when the page reconnects after a network blip; the call goes on
// over the new one.
type browserPhone struct {
	pc        *webrtc.PeerConnection
	out       *webrtc.TrackLocalStaticRTP
	connected atomic.Bool
	// in carries the browser's packets to the call's relay; the reader
	// drops them when no call reads (between calls, or when the relay
	// falls behind), so a stale second of audio never reaches a new call.
	in chan packet
}

type packet struct {
	n int
	b [512]byte
}

// browserAPI makes the WebRTC engine: PCMU only, its ports in the RTP
// range, and the external address for NAT.
func (s *Service) browserAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        media.PCMU,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	lo, hi, _ := s.cfg.rtpRange()
	if err := se.SetEphemeralUDPPortRange(uint16(lo), uint16(hi)); err != nil {
		return nil, err
	}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if s.cfg.ExternalIP != "" {
		// Behind NAT the host candidates carry the external address.
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: []string{s.cfg.ExternalIP},
			AsCandidateType: webrtc.ICECandidateTypeHost}); err != nil {
			return nil, err
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)), nil
}

// ICEServers are the STUN and TURN servers the phone page is given, for
// seats outside the centre's network.
func (s *Service) ICEServers() []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, u := range strings.Fields(strings.ReplaceAll(s.cfg.ICEServers, ",", " ")) {
		srv := webrtc.ICEServer{URLs: []string{u}}
		if strings.HasPrefix(u, "turn") {
			srv.Username, srv.Credential = s.cfg.TURNUser, s.cfg.TURNPassword
		}
		out = append(out, srv)
	}
	return out
}

var errBadOffer = core.Errorf(core.EInvalid, "浏览器发来的连接请求无效，请刷新页面再试。", "the browser's connection request is not valid; reload the page and try again")

// ConnectBrowser answers the phone page's WebRTC offer: it becomes the
// interviewer's phone, replacing the connection they had (the page
// reconnecting). The answer carries Minyi's candidates (no trickling: on a
// LAN they are known at once).
func (s *Service) ConnectBrowser(ctx context.Context, userID int64, offer string) (string, error) {
	if len(offer) > 64<<10 || !strings.HasPrefix(offer, "v=0") {
		return "", errBadOffer
	}
	pc, err := s.rtc.NewPeerConnection(webrtc.Configuration{ICEServers: s.ICEServers()})
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			pc.Close()
		}
	}()
	out, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, "audio", "minyi")
	if err != nil {
		return "", err
	}
	if _, err := pc.AddTransceiverFromTrack(out, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		return "", err
	}
	ph := &browserPhone{pc: pc, out: out, in: make(chan packet, 8)}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeAudio {
			return
		}
		var p packet
		for {
			n, _, err := tr.Read(p.b[:])
			if err != nil {
				return
			}
			p.n = n
			select {
			case ph.in <- p:
			default:
			}
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		ph.connected.Store(st == webrtc.PeerConnectionStateConnected)
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			s.dropBrowser(userID, ph)
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", errBadOffer
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		// The offer has no G.711 audio to answer.
		return "", core.Errorf(core.EInvalid, "浏览器不支持 G.711 音频，无法作为话机。", "the browser offers no G.711 audio and cannot be the phone")
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	case <-time.After(10 * time.Second):
		return "", errors.New("telephony: gathering ICE candidates took too long")
	}
	s.bmu.Lock()
	old := s.browsers[userID]
	s.browsers[userID] = ph
	s.bmu.Unlock()
	if old != nil {
		old.pc.Close()
	}
	ok = true
	return pc.LocalDescription().SDP, nil
}

// dropBrowser forgets a connection that failed or closed, unless the page
// has already replaced it.
func (s *Service) dropBrowser(userID int64, ph *browserPhone) {
	s.bmu.Lock()
	if s.browsers[userID] == ph {
		delete(s.browsers, userID)
	}
	s.bmu.Unlock()
	ph.pc.Close()
}

// DisconnectBrowser ends an interviewer's browser phone (the page closed,
// or they signed out).
func (s *Service) DisconnectBrowser(userID int64) {
	s.bmu.RLock()
	ph := s.browsers[userID]
	s.bmu.RUnlock()
	if ph != nil {
		s.dropBrowser(userID, ph)
	}
}

// browser is the interviewer's browser phone, if one is connected.
func (s *Service) browser(userID int64) (*browserPhone, bool) {
	s.bmu.RLock()
	defer s.bmu.RUnlock()
	ph, ok := s.browsers[userID]
	return ph, ok && ph.connected.Load()
}

// BrowserState is the interviewer's browser phone and call, for its page.
func (s *Service) BrowserState(userID int64) BrowserState {
	var st BrowserState
	_, st.Connected = s.browser(userID)
	s.mu.Lock()
	lc := s.byUser[userID]
	s.mu.Unlock()
	if lc != nil {
		lc.mu.Lock()
		st.Call, st.CaseID, st.Seconds = lc.state, lc.caseID, lc.seconds(lc.state)
		lc.mu.Unlock()
	}
	return st
}

// HangupUser ends the interviewer's call, whatever its case (the phone
// page's hang-up).
func (s *Service) HangupUser(userID int64) error {
	s.mu.Lock()
	lc := s.byUser[userID]
	s.mu.Unlock()
	if lc == nil {
		return core.Errorf(core.ENotFound, "没有进行中的通话", "no call under way")
	}
	return s.Hangup(context.Background(), lc.caseID, userID)
}

// browserLeg is a call's view of the interviewer's browser phone: the
// relay reads from whichever connection the page has at the moment, so a
// reconnect does not end the call. Its reads end when the call does.
type browserLeg struct {
	s      *Service
	userID int64
	done   chan struct{}
	// recheck wakes a read now and then to look for a replaced
	// connection; one ticker for the call, not a timer per packet.
	recheck *time.Ticker
}

func (s *Service) browserLeg(userID int64) *browserLeg {
	// Audio the page sent before the call is not the call's.
	if ph, ok := s.browser(userID); ok {
		for len(ph.in) > 0 {
			<-ph.in
		}
	}
	return &browserLeg{s: s, userID: userID, done: make(chan struct{}), recheck: time.NewTicker(100 * time.Millisecond)}
}

func (l *browserLeg) current() *browserPhone {
	l.s.bmu.RLock()
	defer l.s.bmu.RUnlock()
	return l.s.browsers[l.userID]
}

// ReadRTP reads the browser's next packet. Between connections (a blip)
// it waits for the page to reconnect. Only packets that came over the
// DTLS-SRTP connection reach it: nothing else can be decrypted.
func (l *browserLeg) ReadRTP(buf []byte, p *rtp.Packet) error {
	for {
		var in chan packet // nil while the page reconnects: only the other cases
		if ph := l.current(); ph != nil {
			in = ph.in
		}
		select {
		case <-l.done:
			return net.ErrClosed
		case <-l.recheck.C:
			continue // the connection may have been replaced
		case pk := <-in:
			n := copy(buf, pk.b[:pk.n])
			if err := p.Unmarshal(buf[:n]); err != nil || len(p.Payload) == 0 {
				continue
			}
			return nil
		}
	}
}

// WriteRTP sends a packet to the browser; while it reconnects the packet
// is lost, as it would be on the network.
func (l *browserLeg) WriteRTP(p *rtp.Packet) error {
	select {
	case <-l.done:
		return net.ErrClosed
	default:
	}
	if ph := l.current(); ph != nil {
		if err := ph.out.WriteRTP(p); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
	}
	return nil
}

// PayloadType is PCMU, the only law the browser phone negotiates.
func (l *browserLeg) PayloadType() uint8 { return media.PCMU }

func (l *browserLeg) close() {
	l.recheck.Stop()
	close(l.done)
}
