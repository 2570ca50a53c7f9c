package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	dmedia "github.com/emiago/diago/media"

	"minyi/media"
	"minyi/telephony"
)

// Names of the browser-calls benchmark's results; --only takes the first.
const (
	benchBrowserCallsName = "browser-calls"
	benchBrowserLateName  = "browser-calls-relay-late-p99"
)

// browserCallsResults compares the calls with the interviewer on a browser
// phone (run br) with the same calls on a SIP phone (sip), measured in the
// same run.
func browserCallsResults(br, sip callsRun) []BenchResult {
	perCore := BenchResult{Name: benchBrowserCallsName, Unit: "calls/core", Ours: br.perCore(), Baseline: sip.perCore(), Target: ">= 0.50"}
	perCore.Ratio = perCore.Ours / perCore.Baseline
	perCore.Pass = perCore.Ratio >= 0.5
	perCore.Note = fmt.Sprintf("%d calls at once, the interviewer on a browser phone: a WebRTC peer (pion, in a child process of this program, its work not counted) connected through the telephony's ConnectBrowser as the phone page is, PCMU over DTLS-SRTP, sending speech in 20 ms packets; the respondent SIPp, as in %s. Relayed, tapped and recorded as there; %.2f cores busy for %s (getrusage of this process, which holds Minyi's telephony and the benchmark's SIP side), %d packets relayed of about %d sent. Baseline: the same calls with the interviewer on a SIP phone (%s in this run, %.2f cores busy, %d packets relayed of about %d). Target: a browser call costs at most twice a SIP phone's.",
		br.n, benchCallsName, br.cores(), br.wall.Round(time.Millisecond), len(br.held), br.sent(), benchCallsName, sip.cores(), len(sip.held), sip.sent())
	late := BenchResult{Name: benchBrowserLateName, Unit: "ms", Ours: percentile(br.held, 0.99), Baseline: percentile(sip.held, 0.99), Target: "<= 20 ms"}
	late.Ratio = late.Ours / late.Baseline
	late.Pass = late.Ours <= 20
	late.Note = fmt.Sprintf("how long Minyi holds each packet of those browser calls, from reading it off one leg to sending it on the other (on the browser's side: from the phone's queue its connection's reader fills, to the SRTP-encrypted write), 99th percentile over %d packets of %d streams (median %.2f ms, max %.1f); baseline: the SIP phone calls'. Against each sender's schedule (its RTP timestamps; each stream's earliest packet on time), which also counts the wait in the browser connection's reader: p99 %.1f ms with the browser phone, %.1f ms with the SIP phone.",
		len(br.held), 2*br.n, percentile(br.held, 0.5), slices.Max(br.held), percentile(br.behind, 0.99), percentile(sip.behind, 0.99))
	return []BenchResult{perCore, late}
}

// sent is about how many packets the calls' two sides sent while
// measuring, 50 a second each: more than were relayed means packets were
// lost (dropped by a queue that was full, say).
func (r callsRun) sent() int { return int(math.Round(2 * float64(r.n) * r.wall.Seconds() * 50)) }

// browserPhones are the interviewers' browser phones of the browser-calls
// benchmark: Minyi's telephony, which answers their offers, and the
// browsers, a child process of this program.
type browserPhones struct {
	svc    *telephony.Service
	stop   context.CancelFunc
	child  *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	exited chan struct{} // closed when the child has exited
	n      int
}

// browserUser is the interviewer whose phone is browser i.
func browserUser(i int) int64 { return int64(i) + 1 }

// connectBrowserPhones starts Minyi's telephony (its trunk the carrier's
// SIPp, though the benchmark places its calls itself) and n browsers in a
// child process, and connects each through ConnectBrowser as the phone
// page's offer is.
func connectBrowserPhones(ctx context.Context, b *benchDB, trunk *sippPeer, n int, dir string, progress io.Writer) (*browserPhones, error) {
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	cfg := telephony.Config{Trunk: fmt.Sprintf("sip:127.0.0.1:%d", trunk.port), Listen: fmt.Sprintf("127.0.0.1:%d", port),
		RTPPorts: "48000-51999", Channels: n, RingTimeout: telephony.DefaultRingTimeout, RateLimit: telephony.DefaultRateLimit,
		Recordings: filepath.Join(dir, "telephony")}
	tctx, stop := context.WithCancel(ctx)
	svc, err := telephony.Start(tctx, b.db, cfg, slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		stop()
		return nil, err
	}
	// The SIP library's RTP ports are one range per process: Start gave
	// it the browser phones' range; the benchmark's own SIP legs keep
	// theirs, apart.
	dmedia.RTPPortStart, dmedia.RTPPortEnd = 44000, 47999
	p := &browserPhones{svc: svc, stop: stop, n: n}
	ok := false
	defer func() {
		if !ok {
			p.close()
		}
	}()
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p.child = exec.Command(exe, browserPeersCmd, "--peers", strconv.Itoa(n))
	p.child.Stderr = &p.stderr
	if p.stdin, err = p.child.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := p.child.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.child.Start(); err != nil {
		return nil, err
	}
	p.exited = make(chan struct{})
	go func() {
		p.child.Wait()
		close(p.exited)
	}()
	dec, enc := json.NewDecoder(stdout), json.NewEncoder(p.stdin)
	for i := range n {
		var offer sdpMessage
		if err := dec.Decode(&offer); err != nil {
			return nil, fmt.Errorf("bench: browser %d made no offer: %w", i, p.childError(err))
		}
		answer, err := svc.ConnectBrowser(ctx, browserUser(i), offer.SDP)
		if err != nil {
			return nil, fmt.Errorf("bench: browser %d: %w", i, err)
		}
		if err := enc.Encode(sdpMessage{SDP: answer}); err != nil {
			return nil, p.childError(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		up := 0
		for i := range n {
			if svc.BrowserState(browserUser(i)).Connected {
				up++
			}
		}
		if up == n {
			break
		}
		if time.Now().After(deadline) {
			return nil, p.childError(fmt.Errorf("bench: %d of %d browser phones connected in 30 s", up, n))
		}
	}
	ok = true
	return p, nil
}

// legs are the calls' interviewer legs: each call has its own browser
// phone, bridged as a call bridges it.
func (p *browserPhones) legs() legMaker {
	return func(_ context.Context, i int) (media.Leg, func(context.Context), error) {
		leg, stop, err := p.svc.BrowserLeg(browserUser(i))
		if err != nil {
			return nil, nil, err
		}
		return leg, func(context.Context) { stop() }, nil
	}
}

// childError is err with what the browsers' process said, once it has
// stopped.
func (p *browserPhones) childError(err error) error {
	p.stopChild()
	if s := bytes.TrimSpace(p.stderr.Bytes()); len(s) > 0 {
		return fmt.Errorf("%w\n%s", err, s)
	}
	return err
}

// stopChild closes the browsers' input, which ends them, and waits for
// them; it kills them if they take too long.
func (p *browserPhones) stopChild() {
	if p.exited == nil {
		return
	}
	p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.child.Process.Kill()
		<-p.exited
	}
}

// childRunning says whether the browsers are still there.
func (p *browserPhones) childRunning() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// close ends the browsers and their connections, then the telephony.
func (p *browserPhones) close() {
	p.stopChild()
	for i := range p.n {
		p.svc.DisconnectBrowser(browserUser(i))
	}
	p.stop()
	p.svc.Wait()
}

// runBrowserCalls runs n calls with the interviewer on a browser phone
// and the respondent the carrier's SIPp, as runCalls runs the SIP phone's.
func runBrowserCalls(ctx context.Context, b *benchDB, carrier legMaker, trunk *sippPeer, n int, d time.Duration, dir string, progress io.Writer) (callsRun, error) {
	fmt.Fprintf(progress, "bench: connecting %d browser phones (WebRTC peers in a child process)…\n", n)
	phones, err := connectBrowserPhones(ctx, b, trunk, n, dir, progress)
	if err != nil {
		return callsRun{}, err
	}
	defer phones.close()
	fmt.Fprintf(progress, "bench: %d calls bridged and recorded between browser phones and SIPp, speech both ways, for %s…\n", n, d)
	run, err := runCalls(ctx, [2]legMaker{phones.legs(), carrier}, n, d, filepath.Join(dir, "browser-recordings"))
	if err != nil {
		return run, err
	}
	if !phones.childRunning() {
		return run, phones.childError(errors.New("bench: the browsers' process stopped during the calls"))
	}
	return run, nil
}
