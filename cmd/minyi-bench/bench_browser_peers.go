package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/zaf/g711"

	"minyi/cmd/internal/cli"
	"minyi/media"
)

// browserPeersCmd is the hidden command the browser-calls benchmark runs
// this program again with: the interviewers' browsers, as WebRTC peers
// (pion's, not Chromium), in a process of their own so that their work is
// not counted as Minyi's. Each offers PCMU audio both ways, as the phone
// page does; once all are connected, each sends speech in 20 ms packets
// and reads what Minyi sends it, until standard input closes. Offers go
// out on standard output and answers come back on standard input, one
// JSON object a line.
const browserPeersCmd = "browser-peers"

// sdpMessage is one offer or answer between the benchmark and its
// browsers.
type sdpMessage struct {
	SDP string `json:"sdp"`
}

func cmdBrowserPeers(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, browserPeersCmd, "--peers N")
	n := fs.Int("peers", 1, "浏览器数 / browsers")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	speech, err := readSpeech(speechPcap)
	if err != nil {
		return err
	}
	ulaw := make([]byte, len(speech))
	for i, s := range speech {
		ulaw[i] = g711.EncodeUlawFrame(s)
	}
	api, err := browserPeerAPI()
	if err != nil {
		return err
	}
	dec, enc := json.NewDecoder(e.Stdin), json.NewEncoder(e.Stdout)
	peers := make([]*browserPeer, 0, *n)
	defer func() {
		for _, p := range peers {
			p.pc.Close()
		}
	}()
	for i := range *n {
		p, offer, err := newBrowserPeer(ctx, api)
		if p != nil {
			peers = append(peers, p)
		}
		if err != nil {
			return err
		}
		// Each speaks from its own place in the sample.
		p.off = i * 8 * 137 % (len(ulaw) - media.FrameSamples)
		if err := enc.Encode(sdpMessage{SDP: offer}); err != nil {
			return err
		}
		var answer sdpMessage
		if err := dec.Decode(&answer); err != nil {
			return fmt.Errorf("browser %d: no answer: %w", i, err)
		}
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}); err != nil {
			return fmt.Errorf("browser %d: %w", i, err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		up := 0
		for i, p := range peers {
			switch p.pc.ConnectionState() {
			case webrtc.PeerConnectionStateConnected:
				up++
			case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
				return fmt.Errorf("browser %d: the connection failed", i)
			}
		}
		if up == len(peers) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d browsers connected in 30 s", up, len(peers))
		}
	}
	done := make(chan struct{})
	go func() {
		var m sdpMessage
		dec.Decode(&m) // returns when standard input closes
		close(done)
	}()
	// Like SIPp, one sender for all, on a fixed schedule: a tick missed
	// is caught up at once, so the stream keeps its timestamps' pace.
	tick := time.NewTimer(0)
	for next := time.Now(); ; {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for _, p := range peers {
			p.send(ulaw)
		}
		next = next.Add(20 * time.Millisecond)
		tick.Reset(time.Until(next))
	}
}

// browserPeerAPI is a browser's WebRTC engine as far as the phone page
// uses it: PCMU audio over UDP, no interceptors (no RTCP feedback).
func browserPeerAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        media.PCMU,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	// Minyi's candidates are addresses; no name needs resolving.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)), nil
}

// browserPeer is one interviewer's browser.
type browserPeer struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	pkt   rtp.Packet
	off   int
}

// newBrowserPeer makes a browser's connection and its offer, with its
// candidates (no trickling, as the phone page).
func newBrowserPeer(ctx context.Context, api *webrtc.API) (*browserPeer, string, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	p := &browserPeer{pc: pc, pkt: rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: media.PCMU}}}
	if p.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, "audio", "headset"); err != nil {
		return p, "", err
	}
	if _, err := pc.AddTransceiverFromTrack(p.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		return p, "", err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return p, "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return p, "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return p, "", ctx.Err()
	case <-time.After(10 * time.Second):
		return p, "", errors.New("gathering ICE candidates took too long")
	}
	return p, pc.LocalDescription().SDP, nil
}

// send sends the browser's next 20 ms of speech.
func (p *browserPeer) send(ulaw []byte) {
	if p.off+media.FrameSamples > len(ulaw) {
		p.off = 0
	}
	p.pkt.SequenceNumber++
	p.pkt.Timestamp += media.FrameSamples
	p.pkt.Payload = ulaw[p.off : p.off+media.FrameSamples]
	p.off += media.FrameSamples
	// A write fails only on a closed connection; the benchmark sees the
	// packets missing.
	p.track.WriteRTP(&p.pkt)
}
