// Package telephony is Minyi's SIP side: a back-to-back user agent that
// rings the interviewer's phone, then the respondent through a SIP trunk,
// and bridges the two through the media plane (package media), which
// records the call and lets supervisors listen in. Interviewers' phones
// register to it with digest credentials. The domain sees calls, attempts
// and outcomes (package dialer), never a SIP message.
package telephony

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"minyi/core"
)

// Config is the telephony's setup, from flags and the environment
// (MINYI_SIP_*). With no trunk, Minyi places no calls and interviewers
// dial from the case page's tel: link, as before.
type Config struct {
	Trunk       string        // SIP URI of the trunk, PBX or gateway: sip:host[:port][;transport=udp|tcp]
	User        string        // digest user name at the trunk
	Password    string        // digest password at the trunk; never shown
	CallerID    string        // the number respondents see
	Listen      string        // host:port Minyi's SIP listens on
	RTPPorts    string        // the RTP port range, e.g. 10000-20000
	ExternalIP  string        // the address the trunk and phones reach Minyi at, behind NAT
	Channels    int           // calls at once
	RingTimeout time.Duration // unanswered after this long: no answer
	// Recordings is the directory recordings are written to.
	Recordings string
	// Retention is how long a recording is kept when its wave does not
	// say.
	Retention time.Duration
	// ConsentPrompt is a WAV file (8 kHz, 16-bit) played to the
	// respondent when they answer a recorded call.
	ConsentPrompt string
	// RateLimit is the SIP requests per second accepted from one address.
	RateLimit int
	// ICEServers are STUN and TURN URLs (comma-separated) for browser
	// phones outside the centre's network; on a LAN none are needed.
	ICEServers   string
	TURNUser     string
	TURNPassword string // never shown
}

// Defaults of the settings.
const (
	DefaultListen      = "0.0.0.0:5060"
	DefaultRTPPorts    = "10000-20000"
	DefaultChannels    = 30
	DefaultRingTimeout = 30 * time.Second
	DefaultRateLimit   = 20
)

// ConfigFromEnv is the configuration the environment gives: MINYI_SIP_TRUNK,
// MINYI_SIP_USER, MINYI_SIP_PASSWORD, MINYI_SIP_CALLER_ID, MINYI_SIP_LISTEN,
// MINYI_SIP_RTP_PORTS, MINYI_SIP_EXTERNAL_IP, MINYI_SIP_CHANNELS,
// MINYI_SIP_RING_TIMEOUT, MINYI_SIP_CONSENT_PROMPT; each is also a flag of
// minyi serve, which wins.
func ConfigFromEnv() Config {
	c := Config{
		Trunk: os.Getenv("MINYI_SIP_TRUNK"), User: os.Getenv("MINYI_SIP_USER"), Password: os.Getenv("MINYI_SIP_PASSWORD"),
		CallerID: os.Getenv("MINYI_SIP_CALLER_ID"), Listen: envOr("MINYI_SIP_LISTEN", DefaultListen),
		RTPPorts: envOr("MINYI_SIP_RTP_PORTS", DefaultRTPPorts), ExternalIP: os.Getenv("MINYI_SIP_EXTERNAL_IP"),
		Channels: DefaultChannels, RingTimeout: DefaultRingTimeout, ConsentPrompt: os.Getenv("MINYI_SIP_CONSENT_PROMPT"),
		RateLimit: DefaultRateLimit, ICEServers: os.Getenv("MINYI_WEBRTC_ICE_SERVERS"),
		TURNUser: os.Getenv("MINYI_WEBRTC_TURN_USER"), TURNPassword: os.Getenv("MINYI_WEBRTC_TURN_PASSWORD"),
	}
	if n, err := strconv.Atoi(os.Getenv("MINYI_SIP_CHANNELS")); err == nil {
		c.Channels = n
	}
	if d, err := time.ParseDuration(os.Getenv("MINYI_SIP_RING_TIMEOUT")); err == nil {
		c.RingTimeout = d
	}
	return c
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Enabled says whether a trunk is configured.
func (c Config) Enabled() bool { return c.Trunk != "" }

// Check validates the configuration.
func (c Config) Check() error {
	if !c.Enabled() {
		return nil
	}
	if _, err := c.trunkURI(); err != nil {
		return err
	}
	if _, _, err := c.listenHostPort(); err != nil {
		return err
	}
	if _, _, err := c.rtpRange(); err != nil {
		return err
	}
	switch {
	case c.Channels < 1:
		return core.Errorf(core.EInvalid, "线路数须至少为 1", "the channel limit must be at least 1")
	case c.RingTimeout < 5*time.Second || c.RingTimeout > 5*time.Minute:
		return core.Errorf(core.EInvalid, "振铃超时须在 5 秒到 5 分钟之间", "the ring timeout must be between 5 seconds and 5 minutes")
	case c.ExternalIP != "" && net.ParseIP(c.ExternalIP) == nil:
		return core.Errorf(core.EInvalid, "外部地址 %q 不是 IP 地址", "the external address %q is not an IP address", c.ExternalIP)
	case c.CallerID != "" && strings.ContainsAny(c.CallerID, " <>@;:\"\r\n"):
		return core.Errorf(core.EInvalid, "主叫号码 %q 无效", "the caller ID %q is not valid", c.CallerID)
	case c.RateLimit < 1:
		return core.Errorf(core.EInvalid, "SIP 请求限速须至少为每秒 1 个", "the SIP rate limit must be at least 1 request a second")
	}
	return nil
}

// trunkURI parses the trunk's SIP URI.
func (c Config) trunkURI() (sip.Uri, error) {
	var u sip.Uri
	s := c.Trunk
	if !strings.HasPrefix(s, "sip:") && !strings.HasPrefix(s, "sips:") {
		s = "sip:" + s
	}
	if err := sip.ParseUri(s, &u); err != nil || u.Host == "" {
		return u, core.Errorf(core.EInvalid, "线路地址 %q 不是 SIP URI（如 sip:gw.example.com:5060）", "the trunk %q is not a SIP URI (such as sip:gw.example.com:5060)", c.Trunk)
	}
	if u.Port == 0 {
		u.Port = 5060
	}
	if t := c.Transport(); t != "udp" && t != "tcp" {
		return u, core.Errorf(core.EInvalid, "线路传输方式须为 udp 或 tcp", "the trunk's transport must be udp or tcp")
	}
	return u, nil
}

// Transport is the trunk's transport (udp unless its URI says tcp).
func (c Config) Transport() string {
	if i := strings.Index(strings.ToLower(c.Trunk), ";transport="); i >= 0 {
		t := strings.ToLower(c.Trunk[i+len(";transport="):])
		if j := strings.IndexAny(t, ";?"); j >= 0 {
			t = t[:j]
		}
		return t
	}
	return "udp"
}

func (c Config) listenHostPort() (string, int, error) {
	host, p, err := net.SplitHostPort(c.Listen)
	port, perr := strconv.Atoi(p)
	if err != nil || perr != nil || port < 0 || port > 65535 {
		return "", 0, core.Errorf(core.EInvalid, "SIP 监听地址 %q 须为“主机:端口”", "the SIP listen address %q must be host:port", c.Listen)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

func (c Config) rtpRange() (int, int, error) {
	a, b, ok := strings.Cut(c.RTPPorts, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || lo < 1024 || hi > 65535 || hi-lo < 4 {
		return 0, 0, core.Errorf(core.EInvalid, "RTP 端口范围 %q 须为 起-止（1024 到 65535）", "the RTP port range %q must be from-to (1024 to 65535)", c.RTPPorts)
	}
	return lo, hi, nil
}

// Setting is one line of the configuration as the admin page shows it.
type Setting struct {
	Name  core.Text
	Env   string    // the environment variable that sets it, if any
	Value core.Text // the same in both languages unless a word
}

// Settings are the configuration for the admin page: everything but the
// password, of which only whether it is set.
func (c Config) Settings() []Setting {
	pw := core.Text{ZH: "未设置", EN: "not set"}
	if c.Password != "" {
		pw = core.Text{ZH: "已设置", EN: "set"}
	}
	same := func(s string) core.Text { return core.Text{ZH: s, EN: s} }
	or := func(s string, def core.Text) core.Text {
		if s == "" {
			return def
		}
		return same(s)
	}
	return []Setting{
		{core.Text{ZH: "线路", EN: "Trunk"}, "MINYI_SIP_TRUNK", or(c.Trunk, core.Text{ZH: "未配置：预览拨号", EN: "none: preview dialing"})},
		{core.Text{ZH: "传输方式", EN: "Transport"}, "", same(c.Transport())},
		{core.Text{ZH: "用户名", EN: "User"}, "MINYI_SIP_USER", or(c.User, same("—"))},
		{core.Text{ZH: "密码", EN: "Password"}, "MINYI_SIP_PASSWORD", pw},
		{core.Text{ZH: "主叫号码", EN: "Caller ID"}, "MINYI_SIP_CALLER_ID", or(c.CallerID, same("—"))},
		{core.Text{ZH: "SIP 监听地址", EN: "SIP listen address"}, "MINYI_SIP_LISTEN", same(c.Listen)},
		{core.Text{ZH: "RTP 端口范围", EN: "RTP port range"}, "", same(c.RTPPorts)},
		{core.Text{ZH: "公网地址", EN: "External address (NAT)"}, "", or(c.ExternalIP, same("—"))},
		{core.Text{ZH: "线路数上限", EN: "Channel limit"}, "", same(strconv.Itoa(c.Channels))},
		{core.Text{ZH: "振铃超时", EN: "Ring timeout"}, "", core.Text{ZH: fmt.Sprintf("%g 秒", c.RingTimeout.Seconds()), EN: fmt.Sprintf("%g s", c.RingTimeout.Seconds())}},
		{core.Text{ZH: "录音目录", EN: "Recordings directory"}, "", same(c.Recordings)},
		{core.Text{ZH: "录音保存期（默认）", EN: "Recording retention (default)"}, "", core.Text{ZH: fmt.Sprintf("%d 天", int(c.retention()/(24*time.Hour))), EN: fmt.Sprintf("%d days", int(c.retention()/(24*time.Hour)))}},
		{core.Text{ZH: "录音告知提示音", EN: "Recording consent prompt"}, "", or(c.ConsentPrompt, same("—"))},
		{core.Text{ZH: "每地址 SIP 请求限速（每秒）", EN: "SIP requests per address (per second)"}, "", same(strconv.Itoa(c.RateLimit))},
		{core.Text{ZH: "浏览器话机 STUN/TURN", EN: "Browser phones' STUN/TURN"}, "MINYI_WEBRTC_ICE_SERVERS", or(c.ICEServers, same("—"))},
	}
}

func (c Config) retention() time.Duration {
	if c.Retention <= 0 {
		return 180 * 24 * time.Hour
	}
	return c.Retention
}
