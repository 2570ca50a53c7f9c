package telephony

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/jmoiron/sqlx"
)

// realm is the digest realm interviewers' phones authenticate in.
const realm = "minyi"

// registrar keeps where each interviewer's phone can be reached: the
// bindings of REGISTER requests that passed digest authentication, in
// memory (a phone registers again within its expiry, and after a restart).
type registrar struct {
	db  *sqlx.DB
	log *slog.Logger
	key []byte // signs nonces, so that they need no table

	mu       sync.Mutex
	bindings map[string]binding // by SIP user
}

type binding struct {
	contact sip.Uri
	source  string // host:port the REGISTER came from
	expires time.Time
}

func newRegistrar(db *sqlx.DB, log *slog.Logger) *registrar {
	key := make([]byte, 32)
	rand.Read(key)
	return &registrar{db: db, log: log, key: key, bindings: map[string]binding{}}
}

// nonce is a time stamp and its signature: valid for five minutes, checked
// without state.
func (r *registrar) nonce(now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(ts))
	return ts + "." + hex.EncodeToString(m.Sum(nil)[:12])
}

func (r *registrar) nonceValid(n string, now time.Time) bool {
	ts, _, ok := strings.Cut(n, ".")
	t, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || now.Sub(time.Unix(t, 0)) > 5*time.Minute || time.Unix(t, 0).After(now.Add(time.Minute)) {
		return false
	}
	return hmac.Equal([]byte(r.nonce(time.Unix(t, 0))), []byte(n))
}

func (r *registrar) challenge(req *sip.Request, tx sip.ServerTransaction, stale bool) {
	chal := digest.Challenge{Realm: realm, Nonce: r.nonce(time.Now()), Algorithm: "MD5", Stale: stale}
	res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
	res.AppendHeader(sip.NewHeader("WWW-Authenticate", chal.String()))
	tx.Respond(res)
}

// handle answers a REGISTER: a challenge, a refusal, or the binding.
func (r *registrar) handle(req *sip.Request, tx sip.ServerTransaction) {
	h := req.GetHeader("Authorization")
	if h == nil {
		r.challenge(req, tx, false)
		return
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Authorization", nil))
		return
	}
	now := time.Now()
	if !r.nonceValid(cred.Nonce, now) {
		r.challenge(req, tx, true)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	acct, err := accountBySIPUser(ctx, r.db, cred.Username)
	if err != nil {
		// An unknown user is told the same as a wrong password.
		r.log.Warn("sip: register refused", "user", cred.Username, "source", req.Source())
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		return
	}
	chal := digest.Challenge{Realm: realm, Nonce: cred.Nonce, Algorithm: "MD5", QOP: []string{}}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(&chal, digest.Options{Method: "REGISTER", URI: cred.URI, Username: acct.SIPUser, Password: acct.Secret,
		Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil || !hmac.Equal([]byte(want.Response), []byte(cred.Response)) || cred.Realm != realm {
		r.log.Warn("sip: register refused", "user", cred.Username, "source", req.Source())
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		return
	}
	contact := req.Contact()
	expires := 3600
	if e := req.GetHeader("Expires"); e != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(e.Value())); err == nil {
			expires = n
		}
	}
	if contact != nil {
		if v, ok := contact.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				expires = n
			}
		}
	}
	expires = min(expires, 3600)
	r.mu.Lock()
	if expires <= 0 || contact == nil {
		delete(r.bindings, acct.SIPUser)
	} else {
		r.bindings[acct.SIPUser] = binding{contact: *contact.Address.Clone(), source: req.Source(), expires: now.Add(time.Duration(expires) * time.Second)}
	}
	r.mu.Unlock()
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	if contact != nil && expires > 0 {
		c := contact.Clone()
		c.Params.Add("expires", strconv.Itoa(expires))
		res.AppendHeader(c)
	}
	tx.Respond(res)
}

// phone is where an interviewer's registered phone is reached: its
// contact, sent to the address the registration came from (a phone behind
// NAT gives a contact it cannot be reached at).
func (r *registrar) phone(sipUser string) (sip.Uri, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.bindings[sipUser]
	if !ok || time.Now().After(b.expires) {
		return sip.Uri{}, false
	}
	u := *b.contact.Clone()
	if host, port, err := net.SplitHostPort(b.source); err == nil {
		if p, err := strconv.Atoi(port); err == nil {
			u.Host, u.Port = host, p
		}
	}
	return u, true
}

// registered says whether a phone registered from the host (IP).
func (r *registrar) registered(host string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for _, b := range r.bindings {
		if h, _, err := net.SplitHostPort(b.source); err == nil && h == host && now.Before(b.expires) {
			return true
		}
	}
	return false
}
