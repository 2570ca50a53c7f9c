package telephony

import (
	"net"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// guard stands before every SIP request: an address sending more than its
// share a second is not answered (a flood costs it, not Minyi), only known
// peers — the trunk, registered phones and the legs of calls under way —
// may send anything but a REGISTER, which digest authentication guards
// itself, and no one may open a call to Minyi.
type guard struct {
	rate  float64
	known func(host string) bool

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newGuard(rate int, known func(string) bool) *guard {
	return &guard{rate: float64(rate), known: known, buckets: map[string]*bucket{}}
}

// allow takes a token of the host's bucket (a burst of two seconds' worth).
func (g *guard) allow(host string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.swept) > time.Minute {
		for h, b := range g.buckets {
			if now.Sub(b.at) > time.Minute {
				delete(g.buckets, h)
			}
		}
		g.swept = now
	}
	b := g.buckets[host]
	if b == nil {
		b = &bucket{tokens: 2 * g.rate, at: now}
		g.buckets[host] = b
	}
	b.tokens = min(2*g.rate, b.tokens+now.Sub(b.at).Seconds()*g.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (g *guard) wrap(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		host, _, err := net.SplitHostPort(req.Source())
		if err != nil {
			return
		}
		if !g.allow(host, time.Now()) {
			return
		}
		if req.Method != sip.REGISTER && !g.known(host) || newCall(req) {
			if req.Method != sip.ACK {
				tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
			}
			return
		}
		next(req, tx)
	}
}

// newCall says whether a request is an INVITE opening a new call (no To
// tag): Minyi places calls and takes none (yet), from anyone.
func newCall(req *sip.Request) bool {
	if req.Method != sip.INVITE {
		return false
	}
	to := req.To()
	if to == nil {
		return true
	}
	_, tagged := to.Params.Get("tag")
	return !tagged
}
