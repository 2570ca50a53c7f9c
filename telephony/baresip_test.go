package telephony

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"minyi/media"
)

// phone is baresip answering calls by itself and sending a tone from a WAV
// file: an interviewer's SIP phone registered to Minyi, or a respondent's
// phone standing in for the network.
type phone struct {
	port int
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// startPhone starts baresip on loopback with one account (its AOR and
// parameters, as baresip's accounts file has them) sending freq Hz.
func startPhone(t *testing.T, account string, freq float64) *phone {
	t.Helper()
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.wav")
	var b bytes.Buffer
	if err := media.WriteWAV(&b, 1, media.Tone(freq, 300, 0.3)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tone, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	port, err := FreePort("udp", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	rtp := 40000 + int(time.Now().UnixNano()%100)*200
	// No sound card: received audio goes to an audio bridge device
	// nothing reads; the microphone is the WAV file.
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
`, port, tone, rtp, rtp+100)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &phone{port: port, log: &bytes.Buffer{}}
	p.cmd = exec.Command("baresip", "-f", dir)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("baresip must be installed: %v", err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if t.Failed() {
			t.Logf("baresip %s:\n%s", account, bytes.ReplaceAll(p.log.Bytes(), []byte("\r"), []byte("\n")))
		}
	})
	time.Sleep(300 * time.Millisecond)
	return p
}

// startRespondent is a respondent's phone that answers calls to number
// at once, sending freq Hz; its address stands in for the trunk.
func startRespondent(t *testing.T, number string, freq float64) *phone {
	return startPhone(t, fmt.Sprintf("<sip:%s@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA", number), freq)
}

// startInterviewerPhone is an interviewer's phone registering to Minyi at
// registrar with their account, answering at once, sending freq Hz.
func startInterviewerPhone(t *testing.T, registrar string, a *Account, freq float64) *phone {
	return startPhone(t, fmt.Sprintf("<sip:%s@%s;transport=udp>;auth_pass=%s;answermode=auto;regint=60;audio_codecs=PCMU", a.SIPUser, registrar, a.Secret), freq)
}

func (p *phone) uri() string { return fmt.Sprintf("sip:127.0.0.1:%d", p.port) }
