package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"minyi/telephony"
)

// Names of the browser-phone benchmark's results; --only takes the first.
const (
	benchBrowserCallsName = "calls-browser-bridged"
	benchBrowserLateName  = "calls-browser-relay-late-p99"
)

// Port ranges of the browser-phone benchmark: Minyi's WebRTC side and the
// browsers standing in, apart from SIPp's and diago's.
const (
	browserServerPorts = "48000-51999"
	browserClientPorts = "52000-55999"
)

// benchBrowserCalls bridges and records n calls at once whose interviewer
// legs are browser phones: n WebRTC peers (pion, in a child process of
// this one, so their work is not counted as Minyi's) connected to
// telephony's browser side as the phone page connects, each sending
// speech as 20 ms PCMU packets over DTLS-SRTP; the respondents are SIPp
// with speech, as in the calls benchmark. The baseline is the SIP-phone
// figure: the same n calls, recorded, with SIPp as the interviewers'
// phones, measured in the same run.
func benchBrowserCalls(ctx context.Context, n int, d time.Duration, progress io.Writer) ([]BenchResult, error) {
	rig, err := startCallRig(ctx)
	if err != nil {
		return nil, err
	}
	defer rig.close()
	ep, err := telephony.NewBrowserEndpoint(telephony.Config{RTPPorts: browserServerPorts})
	if err != nil {
		return nil, err
	}
	defer ep.Close()
	// The SIP phones first, before any browser is connected: the
	// browsers send all the time, and their packets would be counted
	// against the SIP phones' calls.
	fmt.Fprintf(progress, "bench: %d calls bridged and recorded with SIP phones (SIPp), speech both ways, for %s…\n", n, d)
	base, err := runCalls(ctx, rig.dg, rig.peers, n, d, filepath.Join(rig.dir, "sip-recordings"), nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "bench: connecting %d browser phones (WebRTC peers in a child process)…\n", n)
	clients, err := startBrowserClients(ctx, ep, n)
	if err != nil {
		return nil, err
	}
	defer clients.stop()
	fmt.Fprintf(progress, "bench: the same %d calls with browser phones instead…\n", n)
	ours, err := runCalls(ctx, rig.dg, rig.peers, n, d, filepath.Join(rig.dir, "browser-recordings"), ep)
	if err != nil {
		return nil, err
	}
	perCore := BenchResult{Name: benchBrowserCallsName, Unit: "calls/core", Ours: ours.perCore(), Baseline: base.perCore(), Target: ">= 100 calls/core"}
	perCore.Ratio = perCore.Ours / perCore.Baseline
	perCore.Pass = perCore.Ours >= 100
	perCore.Note = fmt.Sprintf("%d calls at once, the interviewer's leg a browser phone (a WebRTC peer sending SIPp's speech sample as 20 ms PCMU packets over DTLS-SRTP, %d peers in a child process whose work is not counted), the respondent's a SIPp leg with speech; relayed both ways through the relay, tapped and recorded as stereo Ogg Opus, as a call bridges them; %.2f cores busy for %s by getrusage of this process, %d packets relayed. Baseline: the SIP-phone figure, the same %d calls recorded with SIPp as the interviewers' phones, in the same run (%.2f cores busy).",
		n, n, ours.cores(), ours.wall.Round(time.Millisecond), len(ours.held), n, base.cores())
	late := BenchResult{Name: benchBrowserLateName, Unit: "ms", Ours: percentile(ours.held, 0.99), Baseline: percentile(base.held, 0.99), Target: "<= 20 ms"}
	late.Ratio = late.Ours / late.Baseline
	late.Pass = late.Ours <= 20
	late.Note = fmt.Sprintf("how late Minyi relays each packet of the browser-bridged calls, from reading it off one leg to sending it on the other, 99th percentile over %d packets (median %.2f ms, max %.1f); baseline: the SIP-phone calls'. Against each sender's schedule: p99 %.1f ms browser-bridged, %.1f ms SIP phones.",
		len(ours.held), percentile(ours.held, 0.5), slices.Max(ours.held), percentile(ours.behind, 0.99), percentile(base.behind, 0.99))
	return []BenchResult{perCore, late}, nil
}

// browserClients is the child process of WebRTC peers.
type browserClients struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func (b *browserClients) stop() {
	b.stdin.Close()
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		b.cmd.Process.Kill()
		<-done
	}
}

// startBrowserClients runs n peers in a child process and connects each to
// ep as the phone of user i+1, as the phone page does: its offer in, the
// answer out.
func startBrowserClients(ctx context.Context, ep *telephony.BrowserEndpoint, n int) (*browserClients, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, browserClientsCmd, "--n", strconv.Itoa(n), "--ports", browserClientPorts)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &browserClients{cmd: cmd, stdin: stdin}
	ok := false
	defer func() {
		if !ok {
			b.stop()
		}
	}()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for range n {
		if !lines.Scan() {
			return nil, errors.New("bench: the browser peers stopped before offering")
		}
		var o sdpLine
		if err := json.Unmarshal(lines.Bytes(), &o); err != nil {
			return nil, fmt.Errorf("bench: browser peer offer: %w", err)
		}
		answer, err := ep.Connect(ctx, int64(o.I+1), o.SDP)
		if err != nil {
			return nil, fmt.Errorf("bench: browser peer %d: %w", o.I, err)
		}
		line, _ := json.Marshal(sdpLine{I: o.I, SDP: answer})
		if _, err := fmt.Fprintf(stdin, "%s\n", line); err != nil {
			return nil, err
		}
	}
	if !lines.Scan() || lines.Text() != "ready" {
		return nil, errors.New("bench: the browser peers did not all connect")
	}
	for i := range n {
		for deadline := time.Now().Add(10 * time.Second); !ep.Connected(int64(i + 1)); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("bench: browser phone %d did not connect", i+1)
			}
		}
	}
	go io.Copy(io.Discard, stdout)
	ok = true
	return b, nil
}
