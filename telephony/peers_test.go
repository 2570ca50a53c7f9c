package telephony

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/zaf/g711"

	"minyi/media"
)

// The tests' SIP peers are real programs on loopback: SIPp (Debian's
// sip-tester) as the carrier, baresip as phones. These helpers start them
// and stop them when the test ends.

// writeULawWAV writes a μ-law WAV of a tone, the form SIPp streams.
func writeULawWAV(t *testing.T, path string, freq float64, seconds float64) {
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

// carrier is SIPp playing the trunk.
type carrier struct {
	port int
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// startCarrier starts SIPp with testdata/carrier.xml on a free port; the
// answered calls send a 1000 Hz tone.
func startCarrier(t *testing.T) *carrier {
	t.Helper()
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone1000.wav")
	writeULawWAV(t, tone, 1000, 120)
	scenario, err := filepath.Abs("testdata/carrier.xml")
	if err != nil {
		t.Fatal(err)
	}
	port, err := FreePort("udp", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	rtp, err := FreePort("udp", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c := &carrier{port: port, log: &bytes.Buffer{}}
	c.cmd = exec.Command("sipp", "-sf", scenario, "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-mp", strconv.Itoa(rtp), "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
	c.cmd.Dir = dir
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("sipp (Debian's sip-tester) must be installed: %v", err)
	}
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		c.cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
			t.Logf("sipp errors:\n%s", b)
		}
	})
	time.Sleep(300 * time.Millisecond) // SIPp binds its socket at once
	return c
}

func (c *carrier) uri() string { return fmt.Sprintf("sip:127.0.0.1:%d", c.port) }

// testConfig is a configuration for a Minyi on loopback with the trunk at
// uri.
func testConfig(t *testing.T, trunk string) Config {
	t.Helper()
	port, err := FreePort("udp", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	lo := 20000 + int(time.Now().UnixNano()%200)*100
	return Config{Trunk: trunk, User: "minyi", Password: "trunk-secret", CallerID: "02312345678",
		Listen: fmt.Sprintf("127.0.0.1:%d", port), RTPPorts: fmt.Sprintf("%d-%d", lo, lo+98), Channels: 4,
		RingTimeout: 5 * time.Second, Recordings: t.TempDir(), RateLimit: DefaultRateLimit}
}
