package telephony

import (
	"context"

	"minyi/media"
)

// BrowserEndpoint is the browser phones' WebRTC side alone: no trunk, no
// database, no calls. The browser-phone benchmark drives it, so that it
// measures the code a call's browser leg runs on (ConnectBrowser, the
// browser leg's reads and writes) and nothing standing in for it.
type BrowserEndpoint struct{ s *Service }

// NewBrowserEndpoint makes the WebRTC side with cfg's RTP port range and
// external address.
func NewBrowserEndpoint(cfg Config) (*BrowserEndpoint, error) {
	s := &Service{cfg: cfg, browsers: map[int64]*browserPhone{}}
	rtc, err := s.browserAPI()
	if err != nil {
		return nil, err
	}
	s.rtc = rtc
	return &BrowserEndpoint{s: s}, nil
}

// Connect answers a browser's offer as user's phone.
func (e *BrowserEndpoint) Connect(ctx context.Context, user int64, offer string) (string, error) {
	return e.s.ConnectBrowser(ctx, user, offer)
}

// Connected tells whether user's phone has its connection up.
func (e *BrowserEndpoint) Connected(user int64) bool { return e.s.BrowserState(user).Connected }

// Leg is user's browser phone as a call's interviewer leg, as a call
// bridges it; stop ends it.
func (e *BrowserEndpoint) Leg(user int64) (leg media.Leg, stop func()) {
	l := e.s.browserLeg(user)
	return l, l.close
}

// Close ends every connection.
func (e *BrowserEndpoint) Close() {
	e.s.bmu.Lock()
	phones := e.s.browsers
	e.s.browsers = map[int64]*browserPhone{}
	e.s.bmu.Unlock()
	for _, ph := range phones {
		ph.pc.Close()
	}
}
