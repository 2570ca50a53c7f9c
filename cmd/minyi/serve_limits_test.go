package main

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/cmd/internal/cli"
	"minyi/sql/pgtest"
	"minyi/users"
	"minyi/web"
)

// TestUsersAddRefusesWeakPasswords: minyi users add applies the password
// rules of the web pages.
func TestUsersAddRefusesWeakPasswords(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", dsn)
	for pw, why := range map[string]string{"short": "at least 10", "zhang.wei1": "username", "1234567890": "most common", "Password123": "most common"} {
		var out bytes.Buffer
		e := &cli.Env{Prog: "minyi", Stdout: &out, Stderr: &out, Stdin: strings.NewReader(pw + "\n")}
		err := run(context.Background(), e, []string{"users", "add", "zhang.wei1", "--role", "office", "--password-stdin"})
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("users add with the password %q: %v, want a refusal saying %q", pw, err, why)
		}
	}
}

func TestSizeAndNetworkFlags(t *testing.T) {
	for in, want := range map[string]int64{"2G": 2 << 30, "500M": 500 << 20, "64k": 64 << 10, "1048576": 1 << 20, "1GiB": 1 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1G", "2T", "lots"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	if _, err := minyi(t, "", "serve", "--max-upload", "2T"); err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("serve --max-upload 2T: %v", err)
	}
	if _, err := minyi(t, "", "serve", "--trusted-proxy", "10.0.0.0/8,proxy.example"); err == nil || !strings.Contains(err.Error(), "network") {
		t.Errorf("serve --trusted-proxy with a name: %v", err)
	}
}

// syncBuffer is a buffer a server writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeUploadLimitAndProxy: minyi serve --max-upload refuses a larger
// upload, and --trusted-proxy (repeated) makes sign-in count by the
// address its proxy forwards.
func TestServeUploadLimitAndProxy(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("MINYI_DATA", t.TempDir())
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, &cli.Env{Prog: "minyi", Stdout: &out, Stderr: &out},
			[]string{"serve", "--addr", "127.0.0.1:0", "--max-upload", "64K", "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "127.0.0.1"})
	}()
	defer func() {
		cancel()
		<-done
	}()
	addr := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)`)
	var base string
	for i := 0; i < 100 && base == ""; i++ {
		time.Sleep(100 * time.Millisecond)
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = "http://" + m[1]
		}
	}
	if base == "" {
		t.Fatalf("serve did not start: %s", out.String())
	}

	if _, err := users.Add(ctx, db, "admin", "", "a long admin passphrase", users.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	var id int64
	db.Get(&id, `SELECT id FROM users WHERE username = 'admin'`)
	token, csrf, err := users.SessionFor(ctx, db, id)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf", csrf)
	fw, _ := w.CreateFormFile("file", "districts.csv")
	fw.Write([]byte("code,name,resident_population\n"))
	fw.Write(bytes.Repeat([]byte("500101,万州区,1000\n"), 10000))
	w.Close()
	req, _ := http.NewRequest("POST", base+"/districts", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: token})
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a 200 KB upload with --max-upload 64K: %d", res.StatusCode)
		}
	}

	form := strings.NewReader("csrf=t&username=admin&password=wrong+password")
	req, _ = http.NewRequest("POST", base+"/login", form)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "198.51.100.9")
	req.AddCookie(&http.Cookie{Name: "minyi_login_csrf", Value: "t"})
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	var from string
	db.Get(&from, `SELECT address FROM sign_in_attempts`)
	if from != "198.51.100.9" {
		t.Errorf("behind --trusted-proxy 127.0.0.1 the attempt was counted from %q", from)
	}
}
