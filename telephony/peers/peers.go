// Package peers starts the real SIP peers of Minyi's telephony tests on
// loopback: SIPp (Debian's sip-tester) as the carrier, answering, ringing
// for ever or failing by the number dialled (carrier.xml), and baresip as
// interviewers' and respondents' phones, answering by themselves and
// sending a tone from a WAV file. Each is stopped when its test ends.
package peers

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zaf/g711"

	"minyi/media"
)

//go:embed carrier.xml
var carrierScenario []byte

// Ports for SIP and RTP in tests come from below the kernel's ephemeral
// range (32768 and up on Linux), so no outgoing socket of another test can
// take one between its choice and its use. Each test process starts at an
// offset of its own and walks on from there, so processes running at once
// seldom reach for the same port, and a port found taken is passed over.
var nextSIP, portBlock atomic.Int64

// FreePort is a SIP port free on loopback now: UDP and TCP on the port and
// TCP on the next one, which baresip takes for SIP over TLS. Ports are
// even, so the next one is never handed out itself.
func FreePort(t testing.TB) int {
	t.Helper()
	start := int64(os.Getpid()) * 37
	for range 5000 {
		port := 10000 + int((start+nextSIP.Add(1))%5000)*2
		if bindable(port) {
			return port
		}
	}
	t.Fatal("no free SIP port on loopback between 10000 and 20000")
	return 0
}

// bindable says whether UDP and TCP on port and TCP on port+1 can be
// bound on loopback now.
func bindable(port int) bool {
	u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	defer u.Close()
	for _, p := range []int{port, port + 1} {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		defer l.Close()
	}
	return true
}

// RTPPorts is a range of 100 ports for one peer's or one server's RTP,
// between 20000 and 32700.
func RTPPorts() (int, int) {
	n := portBlock.Add(1)
	lo := 20000 + int((int64(os.Getpid())*7+n)%127)*100
	return lo, lo + 98
}

// Carrier is SIPp playing the trunk.
type Carrier struct {
	Port int
}

// URI is the carrier's SIP URI, the trunk to configure.
func (c *Carrier) URI() string { return fmt.Sprintf("sip:127.0.0.1:%d", c.Port) }

// StartCarrier starts SIPp with carrier.xml: numbers ending in 200 answer
// and send 1000 Hz until hung up, 201 answer and hang up after three
// seconds, 999 ring for ever, 486, 404 and 480 fail with that code, any
// other with 603.
func StartCarrier(t testing.TB) *Carrier {
	t.Helper()
	dir := t.TempDir()
	writeULawWAV(t, filepath.Join(dir, "tone1000.wav"), 1000, 120)
	scenario := filepath.Join(dir, "carrier.xml")
	if err := os.WriteFile(scenario, carrierScenario, 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Carrier{Port: FreePort(t)}
	rtp, _ := RTPPorts()
	var log bytes.Buffer
	cmd := exec.Command("sipp", "-sf", scenario, "-i", "127.0.0.1", "-p", strconv.Itoa(c.Port),
		"-mp", strconv.Itoa(rtp), "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("sipp (Debian's sip-tester) must be installed: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
			t.Logf("sipp errors:\n%s", b)
		}
	})
	time.Sleep(300 * time.Millisecond) // SIPp binds its socket at once
	return c
}

// writeULawWAV writes a μ-law WAV of a tone, the form SIPp streams.
func writeULawWAV(t testing.TB, path string, freq, seconds float64) {
	t.Helper()
	pcm := media.Tone(freq, seconds, 0.3)
	data := make([]byte, len(pcm))
	for i, s := range pcm {
		data[i] = g711.EncodeUlawFrame(s)
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+26+8+8+len(data)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, []any{uint32(18), uint16(7), uint16(1), uint32(8000), uint32(8000), uint16(1), uint16(8), uint16(0)})
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// WriteToneWAV writes a 16-bit PCM WAV of a tone at 8 kHz.
func WriteToneWAV(t testing.TB, path string, freq, seconds float64) {
	t.Helper()
	var b bytes.Buffer
	if err := media.WriteWAV(&b, 1, media.Tone(freq, seconds, 0.3)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Phone is baresip answering calls by itself, its microphone a WAV file
// of a tone.
type Phone struct {
	Port int
	cmd  *exec.Cmd
}

// URI is the phone's own SIP address (a respondent's phone stands in for
// the trunk there).
func (p *Phone) URI() string { return fmt.Sprintf("sip:127.0.0.1:%d", p.Port) }

// Stop stops the phone (as if unplugged).
func (p *Phone) Stop() { p.cmd.Process.Kill(); p.cmd.Wait() }

// startPhone starts baresip on loopback with one account (its AOR and
// parameters, as baresip's accounts file has them) sending freq Hz.
func startPhone(t testing.TB, account string, freq float64) *Phone {
	t.Helper()
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.wav")
	WriteToneWAV(t, tone, freq, 600)
	p := &Phone{Port: FreePort(t)}
	lo, hi := RTPPorts()
	// No sound card: what the phone hears goes to an audio bridge device
	// nothing reads; its microphone is the WAV file.
	config := fmt.Sprintf(`poll_method		poll
sip_listen		127.0.0.1:%d
net_interface		127.0.0.1
audio_player		aubridge,nowhere
audio_alert		aubridge,nowhere
audio_source		aufile,%s
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			aubridge.so
module_app		account.so
module_app		menu.so
rtp_ports		%d-%d
`, p.Port, tone, lo, hi)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	p.cmd = exec.Command("baresip", "-f", dir)
	p.cmd.Stdout, p.cmd.Stderr = &log, &log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("baresip must be installed: %v", err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			out := bytes.ReplaceAll(log.Bytes(), []byte("\r"), []byte("\n"))
			var keep [][]byte
			for _, l := range bytes.Split(out, []byte("\n")) {
				if len(bytes.TrimSpace(l)) > 0 && !bytes.Contains(l, []byte("audio=")) {
					keep = append(keep, l)
				}
			}
			t.Logf("baresip %s:\n%s", account, bytes.Join(keep, []byte("\n")))
		}
	})
	time.Sleep(300 * time.Millisecond)
	return p
}

// StartRespondent is a respondent's phone answering calls to number at
// once, sending freq Hz; its address stands in for the trunk.
func StartRespondent(t testing.TB, number string, freq float64) *Phone {
	return startPhone(t, fmt.Sprintf("<sip:%s@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA", number), freq)
}

// StartInterviewerPhone is an interviewer's phone registering to Minyi at
// registrar (host:port) with its SIP account, answering at once, sending
// freq Hz.
func StartInterviewerPhone(t testing.TB, registrar, user, secret string, freq float64) *Phone {
	return startPhone(t, fmt.Sprintf("<sip:%s@%s;transport=udp>;auth_pass=%s;answermode=auto;regint=60;audio_codecs=PCMU", user, registrar, secret), freq)
}

// WaitFor polls until cond holds or the time is up; the limits are
// generous, for a loaded machine.
func WaitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// CheckChannels checks by Goertzel that each channel of interleaved stereo
// samples carries its own tone, far above the other's.
func CheckChannels(t testing.TB, pcm []int16, left, right float64) {
	t.Helper()
	for ch, want := range []float64{left, right} {
		other := left + right - want
		c := media.Channel(pcm, ch)
		pw, po := media.Goertzel(c, want), media.Goertzel(c, other)
		t.Logf("channel %d: %.0f Hz %.3g, %.0f Hz %.3g (%d samples)", ch, want, pw, other, po, len(c))
		if pw < 1e5 || pw < 100*po {
			t.Errorf("channel %d does not carry %.0f Hz: its power %.3g, %.0f Hz %.3g", ch, want, pw, other, po)
		}
	}
}

// ReadRecording decodes an Ogg Opus recording to interleaved samples.
func ReadRecording(t testing.TB, path string) []int16 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := media.ReadOggOpus(f)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := s.DecodePCM()
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}
