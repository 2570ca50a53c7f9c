// Package web is the Echo server: the route table, handlers, templates,
// static assets, sign-in and CSV responses. It calls the domain packages and
// writes no SQL of its own.
package web

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/dialer"
	"minyi/sampler"
	"minyi/schedule"
	"minyi/signing"
	"minyi/telephony"
	"minyi/users"
)

// Options configure a server.
type Options struct {
	// SecureCookies sets the Secure flag on every cookie. Without it a
	// cookie is Secure when its request came over TLS, to this server or to
	// a trusted proxy that says so in X-Forwarded-Proto.
	SecureCookies bool
	// TrustedProxies are the reverse proxies in front of the server: only
	// from them are X-Forwarded-For (the client's address, which sign-in
	// throttling counts by) and X-Forwarded-Proto believed.
	TrustedProxies []*net.IPNet
	// MaxUpload bounds an uploaded file's request; DefaultMaxUpload when 0.
	MaxUpload int64
	// Timeouts of slow clients; DefaultTimeouts for each one left 0.
	Timeouts Timeouts
	Logger   *slog.Logger
	Now      func() time.Time // for tests; time.Now by default
	// PartialRule decides what a break-off after the indicators began
	// counts as; dialer.PartialRule when zero.
	PartialRule dialer.BreakOffRule
	// Dialer places calls; preview dialing (a tel: link) by default.
	Dialer dialer.Dialer
	// Telephony is Minyi's own SIP telephony when a trunk is configured
	// (then also the Dialer): phones, listen-in, recording consent.
	Telephony *telephony.Service
	// Jobs runs the long work started from pages (draws, frame imports);
	// the server's own runner (schedule.Start) in production, one that
	// lives as long as the process when nil.
	Jobs *schedule.Jobs
	// Signer signs downloads (docs/evidence.md §5); none when nil.
	Signer *signing.Key
}

// Server serves the web interface.
type Server struct {
	db    *sqlx.DB
	opt   Options
	echo  *echo.Echo
	pages *pages
	// questionnaires caches parsed questionnaire versions by id; versions
	// are immutable once stored.
	questionnaires sync.Map

	callingMu      sync.Mutex
	callingByTeam  map[string]callingEntry // group → the wave it calls
	callingWaveAt  time.Time
	callingGen     int  // counts forgets: a read begun before one is not kept
	callingReading bool // one request is reading them afresh

	districtsMu   sync.Mutex
	districtCodes map[string]bool
	districtRows  []sampler.District
	districtsAt   time.Time
}

// New builds a server and checks its templates; a broken template stops it
// here rather than on the first request.
func New(db *sqlx.DB, opt Options) (*Server, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Dialer == nil {
		opt.Dialer = dialer.Preview{}
	}
	if opt.Jobs == nil {
		opt.Jobs = schedule.NewJobs(context.Background(), db, "", opt.Logger)
	}
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = DefaultMaxUpload
	}
	for _, t := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&opt.Timeouts.Header, DefaultTimeouts.Header}, {&opt.Timeouts.Form, DefaultTimeouts.Form},
		{&opt.Timeouts.Upload, DefaultTimeouts.Upload}, {&opt.Timeouts.Idle, DefaultTimeouts.Idle},
	} {
		if *t.v <= 0 {
			*t.v = t.def
		}
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{db: db, opt: opt, echo: echo.New(), pages: p}
	p.districts = &districtNames{load: func(ctx context.Context) ([]sampler.District, error) { return sampler.ListDistricts(ctx, db) }}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	// The peer's address, not a header a client can forge: sign-in
	// throttling counts by it. Behind proxies, X-Forwarded-For is read
	// back to the first address that is not a trusted proxy's.
	e.IPExtractor = echo.ExtractIPDirect()
	if len(opt.TrustedProxies) > 0 {
		trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range opt.TrustedProxies {
			trust = append(trust, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
	}
	e.Pre(s.guardBodies, decodedPaths)
	e.Use(middleware.Recover())
	e.Use(securityHeaders)
	e.Use(s.loadUser)
	for _, r := range s.Routes() {
		// The gate decides who may send a body before any of it is read.
		e.Add(r.Method, r.Path, r.Handler, s.gate(r))
	}
	return s, nil
}

// Handler returns the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve answers on the listener until ctx ends, then drains open requests.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// No server-wide read timeout: a body's deadline is the route's (see
	// guardBodies and gate), and a handler that has read its body may take
	// as long as its work does without its context being cancelled.
	t := s.opt.Timeouts
	srv := &http.Server{Handler: s.echo, ReadHeaderTimeout: t.Header, IdleTimeout: t.Idle, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

// securityHeaders forbid framing, inline script and content sniffing.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		return next(c)
	}
}

// handleError is the one place that turns errors into statuses and messages:
// domain errors by their code, anything else as "internal error" for the
// user and a log line for us.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if me, ok := tooLarge(err); ok {
		s.errorPage(c, http.StatusRequestEntityTooLarge, core.Text{ZH: "提交的内容太大（上限 " + sizeText(me.Limit) + "）", EN: "the request is too large (the limit is " + sizeText(me.Limit) + ")"})
		return
	}
	if tooSlow(err) {
		s.errorPage(c, http.StatusRequestTimeout, core.Text{ZH: "提交的内容没有及时送达，请重试", EN: "the request did not arrive in time; please try again"})
		return
	}
	if errors.Is(err, errBadUTF8) {
		s.errorPage(c, http.StatusBadRequest, core.Text{ZH: "提交的内容含有无效的字符编码（不是 UTF-8），请检查后重新输入", EN: "the request contains text that is not valid UTF-8; please check and enter it again"})
		return
	}
	var th *users.Throttled
	if errors.As(err, &th) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(th.Seconds()))
		s.errorPage(c, http.StatusTooManyRequests, th.Text())
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := core.Text{ZH: http.StatusText(he.Code), EN: http.StatusText(he.Code)}
		switch he.Code {
		case http.StatusNotFound:
			msg = core.Text{ZH: "页面不存在", EN: "page not found"}
		case http.StatusRequestEntityTooLarge:
			msg = core.Text{ZH: "提交的内容太大", EN: "the request is too large"}
		}
		s.errorPage(c, he.Code, msg)
		return
	}
	if unavailable(err) {
		// The database is away (restarting, failing over): say when to try
		// again instead of failing the user's work.
		c.Response().Header().Set("Retry-After", "5")
		s.opt.Logger.Warn("database unavailable", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		s.errorPage(c, http.StatusServiceUnavailable, core.Text{ZH: "数据库暂时不可用，您的内容没有丢失：请稍候几秒再提交一次", EN: "the database is briefly unavailable and nothing you entered is lost: please submit again in a few seconds"})
		return
	}
	var de *core.Error
	if errors.As(err, &de) {
		status := map[string]int{core.EInvalid: http.StatusUnprocessableEntity, core.ENotFound: http.StatusNotFound, core.EConflict: http.StatusConflict}[de.Code]
		if status != 0 {
			s.errorPage(c, status, core.Text{ZH: de.ZH, EN: de.EN})
			return
		}
	}
	s.opt.Logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	s.errorPage(c, http.StatusInternalServerError, core.Text{ZH: "服务器内部错误，请稍后再试", EN: "internal error; please try again"})
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// unavailable reports whether err means the database cannot be reached or
// is shutting down, as opposed to a fault in the request.
func unavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ENOENT) {
		return true
	}
	var ne *net.OpError
	if errors.As(err, &ne) {
		return true
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01–57P03: the server is
		// shutting down or starting up.
		return pe.Code.Class() == "08" || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return false
}

// decodedPaths routes on the decoded path, so that a parameter such as a
// wave's name arrives as the name and not as its escaped form (Echo
// matches on the raw path whenever it differs from the default escaping,
// as it does for names with quotes or brackets). An escaped slash keeps
// the raw path, so that it cannot split one parameter into two segments.
func decodedPaths(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		if u.RawPath != "" && !strings.Contains(strings.ToLower(u.RawPath), "%2f") {
			u.RawPath = ""
		}
		return next(c)
	}
}
