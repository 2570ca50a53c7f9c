package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/zaf/g711"

	"minyi/cmd/internal/cli"
)

// browserClientsCmd is the hidden command the browser-phone benchmark runs
// as a child process: n WebRTC peers standing in for the interviewers'
// browsers, so that their work is not counted as Minyi's. Each sends
// speech as 20 ms PCMU packets and reads what comes back. It speaks on
// stdin and stdout: an offer line per peer out, an answer line per peer
// in, then "ready" once all are connected; it stops when stdin closes.
const browserClientsCmd = "browser-clients"

// sdpLine is one peer's offer or answer.
type sdpLine struct {
	I   int    `json:"i"`
	SDP string `json:"sdp"`
}

func cmdBrowserClients(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, browserClientsCmd, "--n N --ports LO-HI")
	n := fs.Int("n", 1, "peers")
	ports := fs.String("ports", "52000-55999", "UDP ports of the peers")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	lo, hi, ok := strings.Cut(*ports, "-")
	plo, err1 := strconv.Atoi(lo)
	phi, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("bad --ports %q", *ports)
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	var se webrtc.SettingEngine
	if err := se.SetEphemeralUDPPortRange(uint16(plo), uint16(phi)); err != nil {
		return err
	}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	speech, err := readSpeech(speechPcap)
	if err != nil {
		return err
	}
	ulaw := make([]byte, len(speech))
	for i, s := range speech {
		ulaw[i] = g711.EncodeUlawFrame(s)
	}

	out := bufio.NewWriter(os.Stdout)
	pcs := make([]*webrtc.PeerConnection, *n)
	tracks := make([]*webrtc.TrackLocalStaticSample, *n)
	connected := make(chan struct{}, *n)
	defer func() {
		for _, pc := range pcs {
			if pc != nil {
				pc.Close()
			}
		}
	}()
	for i := range *n {
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			return err
		}
		pcs[i] = pc
		tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, "audio", "browser")
		if err != nil {
			return err
		}
		tracks[i] = tr
		if _, err := pc.AddTrack(tr); err != nil {
			return err
		}
		pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			buf := make([]byte, 1500)
			for {
				if _, _, err := t.Read(buf); err != nil {
					return
				}
			}
		})
		pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
			if st == webrtc.PeerConnectionStateConnected {
				connected <- struct{}{}
			}
		})
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			return err
		}
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(offer); err != nil {
			return err
		}
		<-gathered
		b, _ := json.Marshal(sdpLine{I: i, SDP: pc.LocalDescription().SDP})
		fmt.Fprintf(out, "%s\n", b)
		out.Flush()
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for range *n {
		if !in.Scan() {
			return errors.New("browser clients: no answer")
		}
		var a sdpLine
		if err := json.Unmarshal(in.Bytes(), &a); err != nil || a.I < 0 || a.I >= *n {
			return fmt.Errorf("browser clients: bad answer line: %v", err)
		}
		if err := pcs[a.I].SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.SDP}); err != nil {
			return err
		}
	}
	for range *n {
		select {
		case <-connected:
		case <-time.After(30 * time.Second):
			return errors.New("browser clients: a peer did not connect")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Fprintln(out, "ready")
	out.Flush()

	// Speech on every peer, each from its own place in the sample, on one
	// clock as a browser's audio device paces it.
	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pos := make([]int, *n)
	for i := range pos {
		pos[i] = (i * 1601) % (len(ulaw) - 160)
	}
	for {
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for i, tr := range tracks {
			if pos[i]+160 > len(ulaw) {
				pos[i] = 0
			}
			tr.WriteSample(pmedia.Sample{Data: ulaw[pos[i] : pos[i]+160], Duration: 20 * time.Millisecond})
			pos[i] += 160
		}
	}
}
