package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"minyi/users"
)

// countingListener counts the bytes the server reads from its connections,
// and lets a test wait until the server has closed each one.
type countingListener struct {
	net.Listener
	read   atomic.Int64
	closed chan closedConn // each connection the server closes
}

// closedConn is a connection the server closed: the client's address and
// the bytes read from it.
type closedConn struct {
	client string
	read   int64
}

type countingConn struct {
	net.Conn
	l    *countingListener
	n    atomic.Int64
	once sync.Once
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	c.l.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Close() error {
	c.once.Do(func() {
		select {
		case c.l.closed <- closedConn{c.RemoteAddr().String(), c.n.Load()}:
		default:
		}
	})
	return c.Conn.Close()
}

// serveCounting runs the server as minyi serve does, on a listener that
// counts what it reads.
func serveCounting(t *testing.T, s *Server) (string, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln, closed: make(chan closedConn, 4096)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, cl) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String(), cl
}

// bigPost sends a request whose body claims size bytes and keeps sending
// until the server stops reading or closes, and returns the response's
// status and how many bytes the server read from the connection.
func bigPost(t *testing.T, addr string, cl *countingListener, path, contentType string, size int64, header http.Header) (int, int64) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var h strings.Builder
	fmt.Fprintf(&h, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", path, addr, contentType, size)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&h, "%s: %s\r\n", k, v)
		}
	}
	h.WriteString("\r\n")
	if _, err := io.WriteString(conn, h.String()); err != nil {
		t.Fatal(err)
	}
	// The body streams from another goroutine, as fast as the server
	// takes it, until the server stops taking it.
	stop := make(chan struct{})
	var sent atomic.Int64
	go func() {
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
		for sent.Load() < size {
			select {
			case <-stop:
				return
			default:
			}
			conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
			n, err := conn.Write(chunk[:min(int64(len(chunk)), size-sent.Load())])
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	defer close(stop)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s: no response (%v) after sending %d bytes", path, err, sent.Load())
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	// The server closes a connection whose body it did not read; what it
	// read from it is then final.
	timeout := time.After(10 * time.Second)
	for {
		select {
		case cc := <-cl.closed:
			if cc.client == conn.LocalAddr().String() {
				return res.StatusCode, cc.read
			}
		case <-timeout:
			t.Fatalf("POST %s: the server kept the connection of an unread body open", path)
		}
	}
}

// TestLargeBodiesAreRefusedBeforeTheyAreRead: a 200 MB upload to every
// upload route and to a form route, anonymous, from a signed-in user of the
// wrong role, and from an admin without the CSRF token, is refused with
// less than 1 MB of it read; the sign-in form takes 16 KB at most.
func TestLargeBodiesAreRefusedBeforeTheyAreRead(t *testing.T) {
	fx := newFixture(t, 0)
	addr, cl := serveCounting(t, fx.s)
	const size = 200 << 20
	token := func(role users.Role) (string, string) {
		tok, err := users.StartSession(context.Background(), fx.db, fx.users[role])
		if err != nil {
			t.Fatal(err)
		}
		u, err := users.SessionUser(context.Background(), fx.db, tok)
		if err != nil {
			t.Fatal(err)
		}
		return tok, u.CSRF
	}
	interviewer, _ := token(users.RoleInterview)
	admin, adminCSRF := token(users.RoleAdmin)
	var uploads []string
	for _, r := range fx.s.Routes() {
		if r.Upload {
			uploads = append(uploads, r.Path)
		}
	}
	if len(uploads) < 4 {
		t.Fatalf("upload routes: %v", uploads)
	}
	multi := "multipart/form-data; boundary=xxxxxxxx"
	cases := []bigCase{}
	for _, p := range append(uploads, "/waves", "/users") {
		ctype := multi
		if p == "/waves" || p == "/users" {
			ctype = "application/x-www-form-urlencoded"
		}
		cases = append(cases,
			bigCase{"anonymous", p, ctype, nil, http.StatusUnauthorized},
			bigCase{"interviewer", p, ctype, http.Header{"Cookie": {sessionCookie + "=" + interviewer}}, http.StatusForbidden})
	}
	// An admin's upload without its token: the first field is read, no
	// more; an admin's form larger than a form may be.
	cases = append(cases,
		bigCase{"admin without CSRF", "/frames", multi, http.Header{"Cookie": {sessionCookie + "=" + admin}}, http.StatusForbidden},
		bigCase{"admin", "/waves", "application/x-www-form-urlencoded", http.Header{"Cookie": {sessionCookie + "=" + admin}, "X-Csrf-Token": {adminCSRF}}, http.StatusRequestEntityTooLarge},
		bigCase{"anonymous", "/login", "application/x-www-form-urlencoded", nil, http.StatusRequestEntityTooLarge},
	)
	for _, c := range cases {
		status, read := bigPost(t, addr, cl, c.path, c.ctype, size, c.header)
		if status != c.want {
			t.Errorf("POST %s (%s, 200 MB): status %d, want %d", c.path, c.who, status, c.want)
		}
		if read >= 1<<20 {
			t.Errorf("POST %s (%s, 200 MB): the server read %d bytes, want under 1 MB", c.path, c.who, read)
		}
	}
}

type bigCase struct {
	who, path, ctype string
	header           http.Header
	want             int
}

// TestUploadsStream: an admin's upload is read as a stream within its
// limit, with no copy of it in memory or in temporary files, and one over
// the limit is cut off where the limit is, whether or not it says its
// length.
func TestUploadsStream(t *testing.T) {
	fx := newFixture(t, 0)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	const limit = 512 << 10
	s, err := New(fx.db, Options{MaxUpload: limit})
	if err != nil {
		t.Fatal(err)
	}
	addr, cl := serveCounting(t, s)
	c := fx.signIn(t, "admin")
	base := "http://" + addr

	// A frame of 20,000 numbers (about 240 KB) goes through.
	var frame strings.Builder
	frame.WriteString("phone\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&frame, "139%08d\n", 10000000+i)
	}
	form := func(file io.Reader) (io.Reader, string) {
		pr, pw := io.Pipe()
		w := multipart.NewWriter(pw)
		go func() {
			w.WriteField("csrf", c.csrf)
			w.WriteField("kind", "phone")
			w.WriteField("encoding", "auto")
			fw, _ := w.CreateFormFile("file", "numbers.csv")
			_, err := io.Copy(fw, file)
			if err == nil {
				err = w.Close()
			}
			pw.CloseWithError(err)
		}()
		return pr, w.FormDataContentType()
	}
	body, ctype := form(strings.NewReader(frame.String()))
	req, _ := http.NewRequest("POST", base+"/frames", body) // chunked: no length given
	req.Header.Set("Content-Type", ctype)
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/jobs/") {
		t.Fatalf("frame upload: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	leftovers, _ := filepath.Glob(filepath.Join(tmp, "multipart-*"))
	if len(leftovers) > 0 {
		t.Errorf("the upload was spooled to temporary files: %v", leftovers)
	}

	// 5 MB without a length: cut off at the limit, 413, nothing imported.
	before := cl.read.Load()
	body, ctype = form(io.LimitReader(neverEnding('7'), 5<<20))
	req, _ = http.NewRequest("POST", base+"/frames", body)
	req.Header.Set("Content-Type", ctype)
	res, err = c.http.Do(req)
	if err == nil {
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(page), "512 KB") {
			t.Errorf("an upload over the limit: %d, want 413 naming the limit", res.StatusCode)
		}
	}
	if read := cl.read.Load() - before; read > limit+1<<20 {
		t.Errorf("the server read %d bytes of an upload limited to %d", read, limit)
	}
	var jobs int
	fx.db.Get(&jobs, `SELECT count(*) FROM jobs WHERE status = 'ok'`)
	if jobs > 1 {
		t.Errorf("%d jobs succeeded; the cut-off upload was imported", jobs)
	}
	// One that says its length is refused before a byte is read.
	status, read := bigPost(t, addr, cl, "/frames", "multipart/form-data; boundary=x", 5<<20, http.Header{
		"Cookie": {sessionCookie + "=" + cookieOf(t, c)}, "X-Csrf-Token": {c.csrf}})
	if status != http.StatusRequestEntityTooLarge || read >= 1<<20 {
		t.Errorf("an upload saying it is over the limit: %d after reading %d bytes", status, read)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func cookieOf(t *testing.T, c *client) string {
	for _, ck := range c.http.Jar.Cookies(mustURL(c.fx.srv.URL)) {
		if ck.Name == sessionCookie {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// TestSlowClientsDoNotStopWork: 1,000 connections dribbling their headers
// are held open while an interviewer signs in and gets a case; the server
// then drops them at the header timeout, and drops a form whose body
// dribbles at the form timeout.
func TestSlowClientsDoNotStopWork(t *testing.T) {
	fx := newFixture(t, 0.0001)
	s, err := New(fx.db, Options{Timeouts: Timeouts{Header: 3 * time.Second, Form: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveCounting(t, s)
	base := "http://" + addr

	const slow = 1000
	conns := make([]net.Conn, 0, slow)
	for i := 0; i < slow; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		conns = append(conns, c)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	stop := make(chan struct{})
	var dribble sync.WaitGroup
	dribble.Add(1)
	go func() {
		defer dribble.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			for _, c := range conns {
				c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
				io.WriteString(c, "X")
			}
		}
	}()

	start := time.Now()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) string {
		res, err := hc.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s while 1,000 clients dribble: %v", path, err)
		}
		return readAll(res)
	}
	post := func(path string, form url.Values) *http.Response {
		res, err := hc.PostForm(base+path, form)
		if err != nil {
			t.Fatalf("POST %s while 1,000 clients dribble: %v", path, err)
		}
		res.Body.Close()
		return res
	}
	token := formValue(get("/login"), "csrf")
	if res := post("/login", url.Values{"csrf": {token}, "username": {"interviewer"}, "password": {testPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	csrf := formValue(get("/calls"), "csrf")
	res := post("/calls/next", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/cases/") {
		t.Fatalf("next case: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("signing in and getting a case took %v with 1,000 slow clients", took)
	}
	close(stop)
	dribble.Wait()

	// The dribblers are dropped at the header timeout.
	deadline := time.Now().Add(8 * time.Second)
	open := 0
	for _, c := range conns {
		c.SetReadDeadline(deadline)
		if _, err := c.Read(make([]byte, 1024)); err != nil && isTimeout(err) {
			open++
		}
	}
	if open > 0 {
		t.Errorf("%d of %d slow connections still open past the header timeout", open, slow)
	}

	// A form whose body dribbles is cut off at the form timeout.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=")
	began := time.Now()
	go func() {
		for i := 0; i < 100; i++ {
			time.Sleep(500 * time.Millisecond)
			if _, err := io.WriteString(c, "a"); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	io.Copy(io.Discard, c)
	if took := time.Since(began); took > 8*time.Second {
		t.Errorf("a dribbling form body held its connection for %v", took)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
