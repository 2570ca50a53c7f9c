package telephony

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"minyi/telephony/peers"
)

// sipClient sends SIP requests from loopback address host.
type sipClient struct {
	c      *sipgo.Client
	target sip.Uri
}

func newSIPClient(t *testing.T, s *Service) *sipClient {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(s.Registrar())
	var p int
	fmt.Sscan(port, &p)
	return &sipClient{c: c, target: sip.Uri{Host: host, Port: p}}
}

func (c *sipClient) send(t *testing.T, method sip.RequestMethod) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := sip.NewRequest(method, c.target)
	if method == sip.INVITE {
		req.SetBody([]byte("v=0\r\n"))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	res, err := c.c.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return res.StatusCode
}

// register registers user with password; it returns the final code.
func (c *sipClient) register(t *testing.T, user, password string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := sip.NewRequest(sip.REGISTER, c.target)
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{User: user, Host: "127.0.0.1", Port: 5999}})
	req.AppendHeader(sip.NewHeader("Expires", "60"))
	res, err := c.c.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 {
		t.Fatalf("an unauthenticated REGISTER got %d, want the 401 challenge", res.StatusCode)
	}
	res, err = c.c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode
}

// The SIP side refuses what it does not know: requests from anyone but
// the trunk, a registered phone or a call's leg; registrations with a
// wrong password or an unknown user. Only the right digest registers.
func TestUnknownPeersAndWrongPasswordsAreRefused(t *testing.T) {
	f := newField(t)
	// The trunk is elsewhere on loopback: this test's own requests, from
	// 127.0.0.1, come from an unknown peer.
	s := startService(t, f, fmt.Sprintf("sip:127.0.0.2:%d", peers.FreePort(t)))
	a, err := AccountOf(context.Background(), f.db, f.ann)
	if err != nil {
		t.Fatal(err)
	}
	c := newSIPClient(t, s)
	if code := c.send(t, sip.OPTIONS); code != 403 {
		t.Errorf("OPTIONS from an unknown peer: %d, want 403", code)
	}
	if code := c.send(t, sip.INVITE); code != 403 {
		t.Errorf("INVITE from an unknown peer: %d, want 403", code)
	}
	if code := c.register(t, a.SIPUser, a.Secret+"x"); code != 403 {
		t.Errorf("REGISTER with a wrong password: %d, want 403", code)
	}
	if code := c.register(t, "iv999", a.Secret); code != 403 {
		t.Errorf("REGISTER of an unknown user: %d, want 403", code)
	}
	if _, ok := s.PhoneRegistered(a); ok {
		t.Fatal("a refused registration registered the phone")
	}
	if code := c.register(t, a.SIPUser, a.Secret); code != 200 {
		t.Fatalf("REGISTER with the right password: %d, want 200", code)
	}
	if at, ok := s.PhoneRegistered(a); !ok || !strings.Contains(at, "127.0.0.1") {
		t.Errorf("the phone is not registered (%q)", at)
	}
	// A registered phone's address is known now; still no incoming calls.
	if code := c.send(t, sip.OPTIONS); code != 200 {
		t.Errorf("OPTIONS from the registered phone: %d, want 200", code)
	}
	if code := c.send(t, sip.INVITE); code != 403 {
		t.Errorf("INVITE from the registered phone: %d, want 403 (no incoming calls)", code)
	}
}

// A flood from one address gets no more answers than its share: a burst
// of two seconds' worth and then the rate.
func TestRequestsAreRateLimited(t *testing.T) {
	f := newField(t)
	s := startService(t, f, fmt.Sprintf("sip:127.0.0.2:%d", peers.FreePort(t)))
	conn, err := net.ListenPacket("udp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	to, err := net.ResolveUDPAddr("udp", s.Registrar())
	if err != nil {
		t.Fatal(err)
	}
	local := conn.LocalAddr().String()
	const sent = 200
	start := time.Now()
	for i := range sent {
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-flood-%d\r\nMax-Forwards: 70\r\n"+
			"From: <sip:flood@127.0.0.3>;tag=f%d\r\nTo: <sip:%s>\r\nCall-ID: flood-%d@127.0.0.3\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			s.Registrar(), local, i, i, s.Registrar(), i)
		if _, err := conn.WriteTo([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	answered := 0
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, _, err := conn.ReadFrom(buf); err != nil {
			break
		}
		answered++
	}
	limit := 2*DefaultRateLimit + int(elapsed.Seconds()*DefaultRateLimit) + 2
	t.Logf("%d requests in %s: %d answered (at most %d)", sent, elapsed, answered, limit)
	if answered == 0 || answered > limit {
		t.Errorf("%d of %d flooded requests were answered, want between 1 and %d", answered, sent, limit)
	}
}
