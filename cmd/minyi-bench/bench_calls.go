package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/diago"
	dmedia "github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
	"github.com/zaf/g711"

	"minyi/media"
	"minyi/telephony"
)

// Names of the calls benchmark's results; --only takes the first.
const (
	benchCallsName     = "calls-bridged-recorded"
	benchCallsLateName = "calls-relay-late-p99"
	benchRecordingName = "recording-size"
)

//go:embed answer.xml
var answerScenario []byte

// speechPcap is SIPp's own sample of speech (Debian's sip-tester): seven
// seconds of a voice in A-law, pauses and all, as a call carries it.
const speechPcap = "/usr/share/sip-tester/g711a.pcap"

// benchCalls bridges and records n calls at once between two SIPp
// instances (the interviewers' phones and the carrier), each side sending
// speech over RTP, through the media plane a call of Minyi's runs on
// (media's legs, relay, tap and Ogg Opus recording, as telephony's bridge
// uses them; SIP by diago). It measures the CPU the process spends, so the
// calls one core carries, and how late each relayed packet leaves Minyi
// against the schedule its sender's RTP timestamps set. The baseline is
// the same calls and sockets with each packet copied from leg to leg and
// nothing else: no decoding, no tap, no recording.
func benchCalls(ctx context.Context, n int, d time.Duration, progress io.Writer) ([]BenchResult, error) {
	rig, err := startCallRig(ctx)
	if err != nil {
		return nil, err
	}
	defer rig.close()
	dg, peers, dir := rig.dg, rig.peers, rig.dir
	fmt.Fprintf(progress, "bench: %d calls bridged and recorded between two SIPp, speech both ways, for %s…\n", n, d)
	ours, err := runCalls(ctx, dg, peers, n, d, filepath.Join(dir, "recordings"), nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "bench: the same %d calls through a plain packet copy…\n", n)
	base, err := runCalls(ctx, dg, peers, n, d, "", nil)
	if err != nil {
		return nil, err
	}
	perCore := BenchResult{Name: benchCallsName, Unit: "calls/core", Ours: ours.perCore(), Baseline: base.perCore(), Target: ">= 100 calls/core"}
	perCore.Ratio = perCore.Ours / perCore.Baseline
	perCore.Pass = perCore.Ours >= 100
	perCore.Note = fmt.Sprintf("%d calls at once, each two SIPp legs sending speech (SIPp's g711a sample, looped) as 20 ms μ-law packets, relayed both ways through media's relay, tapped and recorded as stereo Ogg Opus, SIP by diago (a call's database rows are left out: a few per call, none per packet); %.2f cores busy for %s measured by getrusage of this process (SIPp's own work not counted), %d packets relayed. Baseline: the same calls and sockets, each packet copied leg to leg with no decoding, tap or recording (%.2f cores busy).",
		n, ours.cores(), ours.wall.Round(time.Millisecond), len(ours.held), base.cores())
	late := BenchResult{Name: benchCallsLateName, Unit: "ms", Ours: percentile(ours.held, 0.99), Baseline: percentile(base.held, 0.99), Target: "<= 20 ms"}
	late.Ratio = late.Ours / late.Baseline
	late.Pass = late.Ours <= 20
	late.Note = fmt.Sprintf("how late Minyi relays each packet: the time from reading it off one leg's socket to sending it on the other, 99th percentile over %d packets of %d streams (median %.2f ms, max %.1f); baseline: the plain copy's. Packets queued in the kernel while Minyi is busy would not show there, so also against each sender's schedule (its RTP timestamps; each stream's earliest packet on time), which includes SIPp's own unevenness in sending: p99 %.1f ms relayed, %.1f ms copied; a queue building up in Minyi shows as the first above the second.",
		len(ours.held), 2*n, percentile(ours.held, 0.5), slices.Max(ours.held), percentile(ours.behind, 0.99), percentile(base.behind, 0.99))
	size := BenchResult{Name: benchRecordingName, Unit: "KB/stereo min", Ours: ours.kbPerMinute(), Baseline: 960, Target: "<= 240 KB/stereo min"}
	size.Ratio = size.Ours / size.Baseline
	size.Pass = size.Ours <= 240
	size.Note = fmt.Sprintf("the recordings of those calls: Ogg Opus at 8 kHz, two mono streams (interviewer left, respondent right) at %d kbit/s together, on speech with its pauses; %.0f s recorded in %d files, %d bytes. Baseline: the same audio as a stereo G.711 WAV (8 kHz, 8 bits, two channels), 960 KB a minute.",
		media.RecordBitrate/1000, ours.recSeconds, n, ours.recBytes)
	return []BenchResult{perCore, late, size}, nil
}

// callRig is what the calls benchmarks run on: two SIPp answering with
// speech (the interviewers' phones and the carrier) and diago placing the
// calls' legs.
type callRig struct {
	dg    *diago.Diago
	peers [2]*sippPeer
	dir   string
	close func()
}

func startCallRig(ctx context.Context) (_ *callRig, err error) {
	var undo []func()
	rig := &callRig{close: func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}}
	defer func() {
		if err != nil {
			rig.close()
		}
	}()
	if _, err := exec.LookPath("sipp"); err != nil {
		return nil, errors.New("找不到 sipp,请安装 Debian 软件包 sip-tester / sipp not found: install Debian's sip-tester")
	}
	dir, err := os.MkdirTemp("", "minyi-bench-calls-")
	if err != nil {
		return nil, err
	}
	rig.dir = dir
	undo = append(undo, func() { os.RemoveAll(dir) })
	speech, err := readSpeech(speechPcap)
	if err != nil {
		return nil, err
	}
	for i := range rig.peers {
		// The two sides speak the same sample half its length apart, so
		// that the two directions of a call differ.
		rot := append(slices.Clone(speech[len(speech)/2*i:]), speech[:len(speech)/2*i]...)
		p, err := startSIPp(filepath.Join(dir, strconv.Itoa(i)), rot, 32000+4000*i)
		if err != nil {
			return nil, err
		}
		rig.peers[i] = p
		undo = append(undo, p.stop)
	}
	dmedia.RTPPortStart, dmedia.RTPPortEnd = 44000, 47999
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Minyi bench"))
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { ua.Close() })
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	rig.dg = diago.NewDiago(ua, diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: port}))
	sctx, stop := context.WithCancel(ctx)
	undo = append(undo, stop)
	if err := rig.dg.ServeBackground(sctx, func(d *diago.DialogServerSession) {}); err != nil {
		return nil, err
	}
	// As telephony's serve: calls go out once sipgo has the listening
	// socket in its pool, or it binds the same port again and fails.
	for deadline := time.Now().Add(5 * time.Second); ua.TransportLayer().Pool("udp").Size() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return nil, errors.New("bench: the SIP listener did not start")
		}
	}
	return rig, nil
}

// callsRun is what one run of n calls measured.
type callsRun struct {
	n         int
	wall, cpu time.Duration
	// Per packet relayed while measuring, in ms: how long Minyi held it,
	// and how far behind its sender's schedule it left.
	held, behind []float64
	recBytes     int64
	recSeconds   float64
}

func (r callsRun) cores() float64 { return r.cpu.Seconds() / r.wall.Seconds() }

func (r callsRun) perCore() float64 { return float64(r.n) / max(r.cores(), 1e-6) }

// percentile of xs (sorted in place), at least a hundredth of a
// millisecond, so that a ratio stays defined when nothing was late at all.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	return max(xs[int(p*float64(len(xs)-1))], 0.01)
}

func (r callsRun) kbPerMinute() float64 {
	return float64(r.recBytes) / 1000 / (r.recSeconds / 60)
}

// benchCall is one bridged call of the benchmark.
type benchCall struct {
	dialogs [2]*diago.DialogClientSession
	media   [2]*diago.DialogMedia
	legs    [2]*timedLeg
	relay   *media.Relay
	tap     *media.Tap
	copying sync.WaitGroup
	stops   []func() // browser legs' ends
}

// runCalls places n calls, each to both SIPp, and bridges them: through
// the relay into a recording in recDir, or by a plain copy when recDir is
// empty. With browsers, the interviewer's side of call i is browser phone
// i+1 instead of the first SIPp. It measures for d once all are talking,
// then hangs them up.
func runCalls(ctx context.Context, dg *diago.Diago, peers [2]*sippPeer, n int, d time.Duration, recDir string, browsers *telephony.BrowserEndpoint) (callsRun, error) {
	run := callsRun{n: n}
	if recDir != "" {
		if err := os.MkdirAll(recDir, 0o700); err != nil {
			return run, err
		}
	}
	var measuring atomic.Bool
	calls := make([]*benchCall, 0, n)
	defer func() {
		for _, c := range calls {
			c.hangup(ctx)
		}
	}()
	for i := range n {
		c := &benchCall{}
		calls = append(calls, c)
		for side, p := range peers {
			if side == 0 && browsers != nil {
				leg, stop := browsers.Leg(int64(i + 1))
				c.stops = append(c.stops, stop)
				c.legs[side] = newTimedLeg(leg, &measuring, d)
				continue
			}
			dlg, med, err := benchInvite(ctx, dg, p.uri(fmt.Sprintf("%d%06d", side, i)))
			if err != nil {
				return run, fmt.Errorf("bench: call %d, side %d: %w", i, side, err)
			}
			c.dialogs[side], c.media[side] = dlg, med
			leg, err := media.NewSessionLeg(med.MediaSession())
			if err != nil {
				return run, err
			}
			c.legs[side] = newTimedLeg(leg, &measuring, d)
		}
		c.legs[0].feed, c.legs[1].feed = c.legs[1], c.legs[0]
		if recDir == "" {
			c.copying.Add(2)
			go copyPackets(c.legs[0], c.legs[1], &c.copying)
			go copyPackets(c.legs[1], c.legs[0], &c.copying)
			continue
		}
		rec, err := media.CreateRecording(filepath.Join(recDir, fmt.Sprintf("call-%d.opus", i)))
		if err != nil {
			return run, err
		}
		c.tap = media.NewTap(rec)
		c.relay = media.StartRelay(c.legs[0], c.legs[1], c.tap)
	}
	time.Sleep(time.Second) // every stream under way
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	measuring.Store(true)
	time.Sleep(d)
	measuring.Store(false)
	run.wall = time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	run.cpu = time.Duration(syscall.TimevalToNsec(after.Utime)+syscall.TimevalToNsec(after.Stime)) -
		time.Duration(syscall.TimevalToNsec(before.Utime)+syscall.TimevalToNsec(before.Stime))
	for _, c := range calls {
		info, err := c.hangup(ctx)
		if err != nil {
			return run, err
		}
		run.recBytes += info.Bytes
		run.recSeconds += info.Seconds
		for _, l := range c.legs {
			run.held = append(run.held, l.held...)
			run.behind = append(run.behind, l.behind()...)
		}
	}
	calls = nil
	if len(run.held) == 0 {
		return run, errors.New("bench: no packet was relayed")
	}
	return run, nil
}

// hangup ends the call and its recording (once).
func (c *benchCall) hangup(ctx context.Context) (media.RecordingInfo, error) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for side, dlg := range c.dialogs {
		if dlg != nil {
			dlg.Hangup(hctx)
			c.media[side].Close()
			dlg.Close()
			c.dialogs[side] = nil
		}
	}
	for _, stop := range c.stops {
		stop()
	}
	c.stops = nil
	c.copying.Wait()
	if c.relay == nil {
		return media.RecordingInfo{}, nil
	}
	c.relay.Wait()
	c.relay = nil
	info, _, err := c.tap.Close()
	return info, err
}

// benchInvite places one leg and waits for its answer.
func benchInvite(ctx context.Context, dg *diago.Diago, to sip.Uri) (*diago.DialogClientSession, *diago.DialogMedia, error) {
	dlg, err := dg.NewDialog(to, diago.NewDialogOptions{Transport: "udp"})
	if err != nil {
		return nil, nil, err
	}
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	med, err := dlg.Invite(ictx, diago.InviteClientOptions{})
	if err == nil {
		err = dlg.Ack(ctx)
	}
	if err != nil {
		dlg.Close()
		return nil, nil, err
	}
	return dlg, med, nil
}

// copyPackets is the baseline's relay: what comes in on one leg goes out
// on the other as it came.
func copyPackets(from, to *timedLeg, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		if err := from.ReadRTP(buf, &p); err != nil {
			return
		}
		if err := to.WriteRTP(&p); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// timedLeg notes, for each packet sent to its peer while measuring, how
// long it was held in Minyi (from the read of it on the other leg, the
// timedLeg feeding this one, to its send), and when it left against when
// its RTP timestamp says it was due. One goroutine reads a leg and writes
// the other, so feed's read time is that of the packet written.
type timedLeg struct {
	media.Leg
	on       *atomic.Bool
	feed     *timedLeg
	lastRead time.Time
	started  bool
	lastTS   uint32
	ext      int64
	t0       time.Time
	held     []float64
	d        []float64
}

func (l *timedLeg) ReadRTP(buf []byte, p *rtp.Packet) error {
	err := l.Leg.ReadRTP(buf, p)
	l.lastRead = time.Now()
	return err
}

func (l *timedLeg) WriteRTP(p *rtp.Packet) error {
	err := l.Leg.WriteRTP(p)
	if !l.on.Load() {
		l.started = false
		return err
	}
	now := time.Now()
	l.held = append(l.held, float64(now.Sub(l.feed.lastRead).Microseconds())/1000)
	if !l.started {
		l.started, l.t0, l.ext = true, now, 0
	} else {
		l.ext += int64(int32(p.Timestamp - l.lastTS))
	}
	l.lastTS = p.Timestamp
	l.d = append(l.d, float64(now.Sub(l.t0).Microseconds())/1000-float64(l.ext)/8)
	return err
}

func newTimedLeg(leg media.Leg, on *atomic.Bool, d time.Duration) *timedLeg {
	n := int(d.Seconds()*60) + 100
	return &timedLeg{Leg: leg, on: on, d: make([]float64, 0, n), held: make([]float64, 0, n)}
}

// behind is each packet's delay against its sender's schedule, behind the
// stream's earliest.
func (l *timedLeg) behind() []float64 {
	if len(l.d) == 0 {
		return nil
	}
	m := slices.Min(l.d)
	out := make([]float64, len(l.d))
	for i, x := range l.d {
		out[i] = x - m
	}
	return out
}

// sippPeer is SIPp answering the benchmark's calls with speech.
type sippPeer struct {
	port int
	cmd  *exec.Cmd
	log  bytes.Buffer
}

func (p *sippPeer) uri(user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: p.port}
}

func (p *sippPeer) stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// startSIPp starts SIPp in dir with answer.xml and speech as speech.wav,
// its calls' RTP on ports from rtpBase.
func startSIPp(dir string, speech []int16, rtpBase int) (*sippPeer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "answer.xml"), answerScenario, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "speech.wav"), ulawWAV(speech), 0o600); err != nil {
		return nil, err
	}
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	p := &sippPeer{port: port}
	p.cmd = exec.Command("sipp", "-sf", "answer.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(p.port),
		"-mp", strconv.Itoa(rtpBase), "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	time.Sleep(300 * time.Millisecond)
	if p.cmd.ProcessState != nil {
		return nil, fmt.Errorf("sipp stopped: %s", p.log.String())
	}
	return p, nil
}

// freeUDPPort is a port free on loopback now.
func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// readSpeech reads the A-law RTP payloads of an Ethernet capture of one
// RTP stream, as 8 kHz samples.
func readSpeech(path string) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("SIPp 的语音样本 / SIPp's speech sample (Debian's sip-tester): %w", err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(b[20:]) != 1 {
		return nil, fmt.Errorf("%s: not a little-endian Ethernet pcap", path)
	}
	var pcm []int16
	for off := 24; off+16 <= len(b); {
		size := int(binary.LittleEndian.Uint32(b[off+8:]))
		frame := b[off+16 : min(off+16+size, len(b))]
		off += 16 + size
		if len(frame) < 14+20 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
			continue
		}
		ip := frame[14:]
		ihl := int(ip[0]&0x0f) * 4
		if ip[9] != 17 || len(ip) < ihl+8+12 {
			continue
		}
		var p rtp.Packet
		if p.Unmarshal(ip[ihl+8:]) != nil || p.PayloadType != 8 {
			continue
		}
		for _, a := range p.Payload {
			pcm = append(pcm, g711.DecodeAlawFrame(a))
		}
	}
	if len(pcm) < 8000 {
		return nil, fmt.Errorf("%s: less than a second of A-law RTP", path)
	}
	return pcm, nil
}

// ulawWAV is a μ-law WAV of pcm, the form SIPp's rtp_stream sends.
func ulawWAV(pcm []int16) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+26+8+8+len(pcm)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, []any{uint32(18), uint16(7), uint16(1), uint32(8000), uint32(8000), uint16(1), uint16(8), uint16(0)})
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(len(pcm)))
	for _, s := range pcm {
		b.WriteByte(g711.EncodeUlawFrame(s))
	}
	return b.Bytes()
}
