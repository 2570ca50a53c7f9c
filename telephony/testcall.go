package telephony

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/emiago/diago"
	dmedia "github.com/emiago/diago/media"
	"github.com/emiago/sipgo"

	"minyi/dialer"
	"minyi/media"
)

// TestCallResult is what a trunk check prints.
type TestCallResult struct {
	SIPCode int `json:"sip_code"`
	// Disposition is the AAPOR code the network's answer gives the call
	// (3.12 busy, 4.31 non-working…), or "answered".
	Disposition     string `json:"disposition"`
	RingMS          int64  `json:"ring_ms"`
	TalkMS          int64  `json:"talk_ms"`
	HangupBy        string `json:"hangup_by"`
	RecordingSHA256 string `json:"recording_sha256"`
	// Error says what went wrong when the trunk could not be reached.
	Error string `json:"error,omitempty"`
}

// TestCall places one call through the configured trunk without an
// interviewer: the check an admin runs when setting up. It plays play to
// the callee (then hangs up), or listens for talk; it records both
// directions into recordPath as a stereo WAV (left what was played, right
// the callee) when given.
func TestCall(ctx context.Context, cfg Config, to string, play []int16, recordPath string, talk time.Duration, log *slog.Logger) (TestCallResult, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if !cfg.Enabled() {
		return TestCallResult{}, errors.New("没有配置线路(MINYI_SIP_TRUNK 或 --sip-trunk)/ no trunk is configured (MINYI_SIP_TRUNK or --sip-trunk)")
	}
	if err := cfg.Check(); err != nil {
		return TestCallResult{}, err
	}
	s := &Service{cfg: cfg, log: log, ctx: ctx}
	var err error
	if s.trunk, err = cfg.trunkURI(); err != nil {
		return TestCallResult{}, err
	}
	lo, hi, _ := cfg.rtpRange()
	dmedia.RTPPortStart, dmedia.RTPPortEnd = lo, hi
	host, _, _ := cfg.listenHostPort()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Minyi"))
	if err != nil {
		return TestCallResult{}, err
	}
	defer ua.Close()
	// A port of its own, so that a check runs beside a serving Minyi.
	tran := diago.Transport{Transport: cfg.Transport(), BindHost: host, BindPort: 0}
	if cfg.ExternalIP != "" {
		tran.ExternalHost, tran.MediaExternalIP = cfg.ExternalIP, net.ParseIP(cfg.ExternalIP)
	}
	quietLibraries(log)
	s.dg = diago.NewDiago(ua, diago.WithTransport(tran), diago.WithLogger(quiet(log)))
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	if err := serve(sctx, ua, s.dg, tran.Transport, func(d *diago.DialogServerSession) {}); err != nil {
		return TestCallResult{}, err
	}
	number := digits(to)
	if number == "" {
		return TestCallResult{}, errors.New("--to 须为电话号码 / --to must be a telephone number")
	}
	start := time.Now()
	d, med, code, err := s.invite(ctx, s.trunkTarget(number), legOptions{ring: cfg.RingTimeout, user: cfg.User, password: cfg.Password,
		callerID: cfg.CallerID, unreachable: UnreachableAfter})
	res := TestCallResult{SIPCode: code, RingMS: time.Since(start).Milliseconds()}
	if err != nil {
		switch {
		case code == 0:
			res.HangupBy, res.Error = dialer.ByNetwork, "无法连接线路 / the trunk cannot be reached: "+err.Error()
		case errors.Is(err, errRingTime):
			res.HangupBy = dialer.ByMinyi
		default:
			res.HangupBy = dialer.ByNetwork
		}
		if o, ok := dialer.NetworkOutcome(code); ok && code != 0 {
			res.Disposition = o.AAPOR
		}
		return res, nil
	}
	defer d.Close()
	res.Disposition = "answered"
	answered := time.Now()
	leg, err := media.NewSessionLeg(med.MediaSession())
	if err != nil {
		d.Hangup(context.WithoutCancel(ctx))
		return res, err
	}
	tap := media.NewTap(nil)
	frames, unlisten := tap.Listen()
	var pcm []int16
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for f := range frames {
			pcm = append(pcm, f[:]...)
		}
	}()
	go func() {
		defer wg.Done()
		media.Receive(leg, tap, media.Right)
	}()
	res.HangupBy = dialer.ByMinyi
	talkCtx, cancel := context.WithCancel(d.Context())
	if play != nil {
		media.Play(talkCtx, media.NewSender(leg), play, tap, media.Left)
	} else {
		select {
		case <-talkCtx.Done():
		case <-time.After(talk):
		}
	}
	cancel()
	if d.Context().Err() != nil {
		res.HangupBy = dialer.ByRespondent
	}
	res.TalkMS = time.Since(answered).Milliseconds()
	hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	d.Hangup(hctx)
	hcancel()
	med.Close()
	unlisten()
	tap.Close()
	wg.Wait()
	if recordPath != "" {
		var b bytes.Buffer
		if err := media.WriteWAV(&b, 2, pcm); err != nil {
			return res, err
		}
		if err := os.WriteFile(recordPath, b.Bytes(), 0o600); err != nil {
			return res, err
		}
		sum := sha256.Sum256(b.Bytes())
		res.RecordingSHA256 = hex.EncodeToString(sum[:])
	}
	return res, nil
}
