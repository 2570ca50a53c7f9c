package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"minyi/core"
	"minyi/sampler"
	"minyi/signing"
	"minyi/sql/pg"
)

// TestServeRunsAsTheApplicationRole runs minyi serve on its embedded
// cluster and works it end to end — an interviewer saves an interview, the
// office downloads the scores and their signature — while checking that
// the server is connected as the application's role only, and that this
// role can neither rewrite the audit log nor set a trigger aside.
func TestServeRunsAsTheApplicationRole(t *testing.T) {
	bin := buildMinyi(t)
	data := dataDir(t)
	env := append(os.Environ(), "MINYI_DATA="+data, "DATABASE_URL=", "DATABASE_OWNER_URL=", "MINYI_KEYS=")
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("minyi %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("", "migrate"); !strings.Contains(out, "the server's role minyi_app has what it needs and no more") {
		t.Fatalf("migrate: %s", out)
	}
	run("", "districts", "import", writeFile(t, "d.csv", twoDistricts))
	phones, err := sampler.SyntheticPhones(11, 40)
	if err != nil {
		t.Fatal(err)
	}
	frame := "phone,district_code\n"
	for i, p := range phones {
		frame += p + "," + []string{"500101", "500102"}[i%2] + "\n"
	}
	run("", "frame", "import", "--kind", "phone", writeFile(t, "f.csv", frame))
	run("", "wave", "create", "w", "--rate", "0.01", "--calling-hours", "00:00-24:00")
	run("", "sample", "draw", "--wave", "w", "--seed", "5")
	const password = "Zhuang-Hu-7781"
	run(password+"\n", "users", "add", "iv", "--role", "interviewer", "--password-stdin")
	run(password+"\n", "users", "add", "off", "--role", "office", "--password-stdin")
	run(password+"\n", "users", "add", "sup", "--role", "supervisor", "--password-stdin")
	publicKey := regexp.MustCompile(`public key: (\S+)`).FindStringSubmatch(run("", "keys", "show"))[1]

	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = env
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	base := ""
	var said []string
	for sc.Scan() {
		said = append(said, sc.Text())
		if m := regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatalf("serve did not start:\n%s", strings.Join(said, "\n"))
	}
	if strings.Contains(strings.Join(said, "\n"), "warning") {
		t.Fatalf("serve warns about its role:\n%s", strings.Join(said, "\n"))
	}
	go io.Copy(io.Discard, stdout)

	// A supervisor sets the wave the interviewers call; an interviewer
	// takes a case and saves an interview.
	sup := signIn(t, base, "sup", password)
	if res := sup.post("/teams/wave", sup.csrf("/teams"), url.Values{"team": {""}, "wave": {"w"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("set the group's wave: %d", res.StatusCode)
	}
	iv := signIn(t, base, "iv", password)
	res := iv.post("/calls/next", iv.csrf("/calls"), nil)
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "/cases/") {
		t.Fatalf("next case: %d %s", res.StatusCode, loc)
	}
	form := url.Values{"key": {"approle-1"}, "q_s1": {"1"}, "q_s2": {"1"}, "q_district": {"500101"}, "q_sex": {"1"}, "q_age_group": {"2"}, "q_urban": {"1"}}
	for i := 1; i <= 13; i++ {
		form.Set(fmt.Sprintf("q_q%02d", i), "2")
	}
	res = iv.post(loc+"/interview", iv.csrf(loc+"/interview"), form)
	if got := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || got != "/calls?msg=saved" {
		t.Fatalf("save the interview: %d %s", res.StatusCode, got)
	}

	// The office downloads the scores, then their signature.
	off := signIn(t, base, "off", password)
	body := off.get("/waves/w/export/scores")
	sig := off.get("/waves/w/signature/scores")
	st, err := signing.ParseSig([]byte(sig))
	if err != nil {
		t.Fatalf("signature %q: %v", sig, err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := st.Check([]signing.PublicKey{mustKey(t, publicKey)}); err != nil || st.SHA256 != hex.EncodeToString(sum[:]) || st.Bytes != int64(len(body)) {
		t.Fatalf("the download's signature: %+v (%v)", st, err)
	}

	// Who the server is, as the cluster sees it.
	c, err := pg.AttachCluster(data)
	if err != nil || c == nil {
		t.Fatalf("no cluster: %v", err)
	}
	super := sqlx.MustOpen("postgres", c.DSN(pg.DatabaseName))
	defer super.Close()
	var roles []string
	if err := super.Select(&roles, `SELECT DISTINCT usename FROM pg_stat_activity
		WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`, pg.DatabaseName); err != nil {
		t.Fatal(err)
	}
	if strings.Join(roles, ",") != pg.AppRole {
		t.Fatalf("the server is connected as %v, want only %s", roles, pg.AppRole)
	}

	// What that role cannot do.
	app := sqlx.MustOpen("postgres", c.DSNAs(pg.DatabaseName, pg.AppRole))
	defer app.Close()
	var superuser bool
	app.Get(&superuser, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`)
	if superuser {
		t.Fatal("the application's role is a superuser")
	}
	for _, stmt := range []string{
		`UPDATE audit_log SET actor = 'x'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
		`ALTER TABLE audit_log DISABLE TRIGGER USER`,
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update`,
		`DROP TRIGGER audit_log_no_update ON audit_log`,
		`UPDATE interview_evidence SET hash = 'x'`,
		`DELETE FROM interviews`,
		`ALTER TABLE interviews DISABLE TRIGGER interviews_no_delete`,
		`SET session_replication_role = replica`,
		`UPDATE score_publications SET sha256 = 'x'`,
	} {
		// Refused for want of the privilege, not merely by a trigger.
		var pe *pq.Error
		if _, err := app.Exec(stmt); !errors.As(err, &pe) || pe.Code != "42501" {
			t.Errorf("the application's role: %s: %v, want permission denied", stmt, err)
		}
	}
	// The owner's functions of the frame's bulk load run only as a load.
	if _, err := app.Exec(`SELECT phone_frame_restore_indexes()`); err == nil {
		t.Error("the application's role restored indexes it never suspended")
	}
	if _, err := app.Exec(`SELECT phone_frame_set_version_trigger(false)`); err == nil {
		t.Error("the application's role set the frame's checksum trigger aside outside a load")
	}
	// It appends to the log as the server does, and reads it.
	if err := core.AuditNow(t.Context(), app, core.AuditEntry{Actor: "test", Action: "approle-check"}); err != nil {
		t.Fatalf("append as the application's role: %v", err)
	}

	// Stopped cleanly, the server leaves its interviews sealed, and the
	// evidence holds.
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
	out := run("", "audit", "verify")
	if !strings.Contains(out, "the audit log is intact") || !strings.Contains(out, "; 1 interviews") || strings.Contains(out, "not sealed") {
		t.Fatalf("audit verify after the run: %s", out)
	}
	var sealed int
	if err := sqlx.MustOpen("postgres", c.DSN(pg.DatabaseName)).Get(&sealed, `SELECT count(*) FROM audit_log WHERE action = 'evidence-seal'`); err == nil && sealed == 0 {
		t.Fatal("the interview was never sealed")
	}
	if _, err := os.Stat(filepath.Join(data, "keys", signing.AnchorsFile)); err != nil {
		t.Fatalf("no anchors beside the key: %v", err)
	}
}

func mustKey(t *testing.T, s string) signing.PublicKey {
	t.Helper()
	k, err := signing.ParsePublicKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// browser is a signed-in HTTP client of a running server.
type browser struct {
	t    *testing.T
	base string
	http *http.Client
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func signIn(t *testing.T, base, user, password string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: base, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	res := b.post("/login", b.csrf("/login"), url.Values{"username": {user}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther || strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("sign in as %s: %d %s", user, res.StatusCode, res.Header.Get("Location"))
	}
	return b
}

func (b *browser) get(path string) string {
	b.t.Helper()
	res, err := b.http.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %d\n%.500s", path, res.StatusCode, body)
	}
	return string(body)
}

// csrf reads the CSRF token of a page's form.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	m := csrfRe.FindStringSubmatch(b.get(path))
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

func (b *browser) post(path, csrf string, form url.Values) *http.Response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrf)
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}
