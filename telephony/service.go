package telephony

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/diago"
	dmedia "github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/jmoiron/sqlx"
	"github.com/pion/webrtc/v4"

	"minyi/core"
	"minyi/dialer"
	"minyi/media"
)

// Service is the running telephony: the SIP user agent, the registrar of
// interviewers' phones and the calls under way. It is the dialer.Switch
// the case page calls through.
type Service struct {
	cfg     Config
	db      *sqlx.DB
	log     *slog.Logger
	ctx     context.Context
	dg      *diago.Diago
	trunk   sip.Uri
	trunkIP []net.IP
	reg     *registrar
	guard   *guard
	prompt  []int16
	rtc     *webrtc.API
	slots   chan struct{}
	wg      sync.WaitGroup

	mu     sync.Mutex
	byUser map[int64]*liveCall // each interviewer's latest call
	byID   map[int64]*liveCall // calls under way
	peers  map[string]int      // hosts of the legs of calls under way

	// browsers are the interviewers' browser phones, under a lock of
	// their own: each packet of a browser call looks its phone up, and
	// must not wait behind the rest of the service, nor make it wait.
	bmu      sync.RWMutex
	browsers map[int64]*browserPhone
}

var _ dialer.Switch = (*Service)(nil)

// Start starts the telephony: it closes the calls a stopped server left
// open, then listens for SIP. Everything stops when ctx ends (calls under
// way are hung up); Wait waits for that.
func Start(ctx context.Context, db *sqlx.DB, cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Service{cfg: cfg, db: db, log: log, ctx: ctx, slots: make(chan struct{}, cfg.Channels),
		byUser: map[int64]*liveCall{}, byID: map[int64]*liveCall{}, peers: map[string]int{}, browsers: map[int64]*browserPhone{}}
	var err error
	if s.trunk, err = cfg.trunkURI(); err != nil {
		return nil, err
	}
	if ip := net.ParseIP(s.trunk.Host); ip != nil {
		s.trunkIP = []net.IP{ip}
	} else if s.trunkIP, err = net.DefaultResolver.LookupIP(ctx, "ip", s.trunk.Host); err != nil {
		return nil, core.Errorf(core.EInvalid, "无法解析线路主机 %s:%v", "cannot resolve the trunk's host %s: %v", s.trunk.Host, err)
	}
	if cfg.ConsentPrompt != "" {
		if s.prompt, err = media.ReadWAV(cfg.ConsentPrompt); err != nil {
			return nil, err
		}
	}
	if cfg.Recordings == "" {
		return nil, core.Errorf(core.EInvalid, "没有设置录音目录", "no recordings directory is set")
	}
	if err := os.MkdirAll(cfg.Recordings, 0o700); err != nil {
		return nil, fmt.Errorf("telephony: recordings directory: %w", err)
	}
	n, err := dialer.CloseInterruptedCalls(ctx, db, media.HashFile)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		log.Warn("calls left open by a stopped server closed as interrupted", "calls", n)
	}
	lo, hi, _ := cfg.rtpRange()
	// The media library keeps its port range in package variables: one
	// telephony per process.
	dmedia.RTPPortStart, dmedia.RTPPortEnd = lo, hi
	host, port, _ := cfg.listenHostPort()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Minyi"))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet(log)))
	if err != nil {
		return nil, err
	}
	if s.rtc, err = s.browserAPI(); err != nil {
		return nil, err
	}
	s.reg = newRegistrar(db, log)
	s.guard = newGuard(cfg.RateLimit, s.known)
	tran := diago.Transport{Transport: cfg.Transport(), BindHost: host, BindPort: port}
	if cfg.ExternalIP != "" {
		tran.ExternalHost = cfg.ExternalIP
		tran.MediaExternalIP = net.ParseIP(cfg.ExternalIP)
	}
	quietLibraries(log)
	s.dg = diago.NewDiago(ua, diago.WithServer(srv), diago.WithTransport(tran), diago.WithLogger(quiet(log)),
		diago.WithServerRequestMiddleware(s.guard.wrap))
	srv.OnRegister(s.guard.wrap(s.reg.handle))
	// Minyi takes no incoming calls (yet): the guard refuses them before
	// they reach this.
	err = serve(ctx, ua, s.dg, tran.Transport, func(d *diago.DialogServerSession) {
		d.Respond(sip.StatusForbidden, "Forbidden", nil)
	})
	if err != nil {
		return nil, fmt.Errorf("无法监听 SIP %s / cannot listen for SIP on %s: %w", cfg.Listen, cfg.Listen, err)
	}
	context.AfterFunc(ctx, func() { ua.Close() })
	return s, nil
}

// Config is the configuration the telephony runs with.
func (s *Service) Config() Config { return s.cfg }

// Wait waits until the calls under way have ended.
func (s *Service) Wait() { s.wg.Wait() }

// known says whether a host may send SIP requests: the trunk, a
// registered phone, or a leg of a call under way.
func (s *Service) known(host string) bool {
	ip := net.ParseIP(host)
	for _, t := range s.trunkIP {
		if t.Equal(ip) {
			return true
		}
	}
	s.mu.Lock()
	n := s.peers[host]
	s.mu.Unlock()
	return n > 0 || s.reg.registered(host)
}

func (s *Service) addPeer(u sip.Uri, delta int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers[u.Host] += delta
	if s.peers[u.Host] <= 0 {
		delete(s.peers, u.Host)
	}
}

// Dial gives the case page the number, with its tel: link kept for
// preview dialing when the trunk fails.
func (s *Service) Dial(_ context.Context, c *dialer.Case) (dialer.DialResult, error) {
	return dialer.DialResult{Href: dialer.TelURI(c.Phone), Display: c.Phone}, nil
}

// PhoneRegistered says whether an interviewer's phone is registered now,
// and where.
func (s *Service) PhoneRegistered(a *Account) (string, bool) {
	u, ok := s.reg.phone(a.SIPUser)
	if !ok {
		return "", false
	}
	return u.String(), true
}

// Registrar is the address phones register at, for their set-up.
func (s *Service) Registrar() string {
	host, port, _ := s.cfg.listenHostPort()
	if s.cfg.ExternalIP != "" {
		host = s.cfg.ExternalIP
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Realm is the digest realm of phone registrations.
func (s *Service) Realm() string { return realm }

// trunkTarget is the respondent's number at the trunk.
func (s *Service) trunkTarget(number string) sip.Uri {
	u := *s.trunk.Clone()
	u.User = number
	u.UriParams = nil
	return u
}

// digits is a number as dialled: digits and a leading +.
func digits(phone string) string {
	return strings.TrimPrefix(dialer.TelURI(phone), "tel:")
}
