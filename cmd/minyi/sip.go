package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"minyi/cmd/internal/cli"
	"minyi/media"
	"minyi/sql/pg"
	"minyi/telephony"
)

// sipFlags adds the telephony's flags to a command, each defaulting to its
// MINYI_SIP_* variable, and returns the configuration they give.
func sipFlags(fs *flag.FlagSet) func() telephony.Config {
	env := telephony.ConfigFromEnv()
	trunk := fs.String("sip-trunk", env.Trunk, "SIP 线路、交换机或网关,如 sip:gw.example.com:5060;transport=udp(MINYI_SIP_TRUNK;不设则预览拨号)/ the SIP trunk, PBX or gateway (MINYI_SIP_TRUNK; none: preview dialing)")
	user := fs.String("sip-user", env.User, "线路的用户名(MINYI_SIP_USER)/ the trunk's user name")
	password := fs.String("sip-password", env.Password, "线路的密码,最好用 MINYI_SIP_PASSWORD 传入 / the trunk's password, better given as MINYI_SIP_PASSWORD")
	callerID := fs.String("sip-caller-id", env.CallerID, "受访者看到的主叫号码(MINYI_SIP_CALLER_ID)/ the number respondents see")
	listen := fs.String("sip-listen", env.Listen, "SIP 监听地址(MINYI_SIP_LISTEN)/ SIP listen address")
	rtp := fs.String("sip-rtp-ports", env.RTPPorts, "RTP 端口范围(MINYI_SIP_RTP_PORTS)/ RTP port range")
	external := fs.String("sip-external-ip", env.ExternalIP, "NAT 之后对外的地址(MINYI_SIP_EXTERNAL_IP)/ the external address behind NAT")
	channels := fs.Int("sip-channels", env.Channels, "同时通话数上限(MINYI_SIP_CHANNELS)/ calls at once")
	ring := fs.Duration("sip-ring-timeout", env.RingTimeout, "振铃超时,过后记为无人接听(MINYI_SIP_RING_TIMEOUT)/ ring timeout, then no answer")
	prompt := fs.String("sip-consent-prompt", env.ConsentPrompt, "接通时向受访者播放的录音告知 WAV(8000 Hz 16 位)/ WAV played to the respondent on answer of a recorded call")
	recordings := fs.String("recordings", filepath.Join(pg.ConfigFromEnv().DataDir, "recordings"), "录音目录 / recordings directory")
	retention := fs.Int("recording-retention-days", 180, "录音保存天数(轮次未设置时)/ days a recording is kept when its wave does not say")
	ice := fs.String("webrtc-ice-servers", env.ICEServers, "浏览器话机的 STUN/TURN 地址,逗号分隔(MINYI_WEBRTC_ICE_SERVERS;局域网内不需要)/ STUN and TURN URLs for browser phones, comma-separated (not needed on a LAN)")
	return func() telephony.Config {
		return telephony.Config{Trunk: *trunk, User: *user, Password: *password, CallerID: *callerID, Listen: *listen,
			RTPPorts: *rtp, ExternalIP: *external, Channels: *channels, RingTimeout: *ring, ConsentPrompt: *prompt,
			Recordings: *recordings, Retention: time.Duration(*retention) * 24 * time.Hour, RateLimit: env.RateLimit,
			ICEServers: *ice, TURNUser: env.TURNUser, TURNPassword: env.TURNPassword}
	}
}

func cmdSip(ctx context.Context, e *cli.Env, args []string) error {
	_, rest, err := subcommand(args, "test-call")
	if err != nil {
		return err
	}
	fs := cli.NewFlags(e, "sip test-call", "sip test-call --to NUMBER [--play FILE.wav] [--record FILE.wav] [--seconds 10] [--sip-trunk URI …]")
	to := fs.String("to", "", "拨打的号码 / the number to call")
	play := fs.String("play", "", "向对方播放的 WAV(8000 Hz 16 位),播完挂断 / WAV (8000 Hz, 16-bit) played to the callee, then hang up")
	record := fs.String("record", "", "把双方录成立体声 WAV(左:播放的,右:对方)/ record both directions as stereo WAV (left: played, right: callee)")
	seconds := fs.Duration("seconds", 10*time.Second, "没有 --play 时接通后保持多久 / how long to stay on an answered call without --play")
	config := sipFlags(fs)
	if _, err := cli.Parse(fs, rest); err != nil {
		return err
	}
	if err := cli.Need(fs, "to"); err != nil {
		return err
	}
	var pcm []int16
	if *play != "" {
		if pcm, err = media.ReadWAV(*play); err != nil {
			return cli.UsageError(err.Error())
		}
	}
	res, err := telephony.TestCall(ctx, config(), *to, pcm, *record, *seconds, nil)
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, string(b))
	return nil
}
