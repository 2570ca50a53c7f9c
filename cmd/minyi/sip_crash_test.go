package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"minyi/core"
	"minyi/media"
	"minyi/sql/pgtest"
	"minyi/telephony"
	"minyi/telephony/peers"
	"minyi/web"
)

// Minyi killed mid-call (SIGKILL) and started again: the call left talking
// is closed as interrupted, its recording kept as far as it was written,
// hashed as found and entered in the audit chain.
func TestServerKilledMidCall(t *testing.T) {
	bin := buildMinyi(t)
	dsn := pgtest.NewDatabase(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	sub := seedSubmitters(t, db, 1, 1)[0]
	caseID := sub.cases[0]
	const number = "13900000200"
	if _, err := db.Exec(`UPDATE cases SET phone = $2 WHERE id = $1`, caseID, number); err != nil {
		t.Fatal(err)
	}
	var ivID int64
	db.Get(&ivID, `SELECT held_by FROM cases WHERE id = $1`, caseID)
	acct, err := telephony.AccountOf(ctx, db, ivID)
	if err != nil {
		t.Fatal(err)
	}
	resp := peers.StartRespondent(t, number, 1000)
	addr := freePort(t)
	base := "http://" + addr
	sipAddr := fmt.Sprintf("127.0.0.1:%d", peers.FreePort(t))
	lo, hi := peers.RTPPorts()
	recordings := t.TempDir()
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--addr", addr, "--sip-trunk", resp.URI(), "--sip-listen", sipAddr,
			"--sip-rtp-ports", fmt.Sprintf("%d-%d", lo, hi), "--recordings", recordings)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving on") {
				go func() {
					for sc.Scan() {
					}
				}()
				return cmd
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("serve did not start")
		return nil
	}
	cmd := start()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	peers.StartInterviewerPhone(t, sipAddr, acct.SIPUser, acct.Secret, 440)

	request := func(method, path string) map[string]any {
		req, _ := http.NewRequest(method, base+path, nil)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-CSRF-Token", sub.csrf)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: sub.token})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return out
	}
	casePath := "/cases/" + strconv.FormatInt(caseID, 10)
	peers.WaitFor(t, "the phone to register", 60*time.Second, func() bool {
		req, _ := http.NewRequest("GET", base+"/phone", nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: sub.token})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return strings.Contains(string(b), "已注册")
	})
	if st := request("POST", casePath+"/call"); st == nil || st["problem"] != nil || st["state"] != "ringing" {
		t.Fatalf("placing the call: %v", st)
	}
	peers.WaitFor(t, "the call to be answered", 60*time.Second, func() bool {
		st := request("GET", casePath+"/call")
		return st != nil && st["state"] == "talking"
	})
	time.Sleep(3 * time.Second)
	cmd.Process.Kill()
	cmd.Wait()

	var path string
	if err := db.Get(&path, `SELECT r.path FROM recordings r JOIN calls c ON c.id = r.call_id WHERE c.case_id = $1 AND r.sha256 IS NULL AND c.state = 'talking'`, caseID); err != nil {
		t.Fatalf("after the kill, no open call with an unfinished recording: %v", err)
	}
	cmd = start()
	var call struct {
		State       string
		Interrupted bool
		HangupBy    string `db:"hangup_by"`
		SHA256      string
	}
	if err := db.Get(&call, `SELECT c.state, c.interrupted, c.hangup_by, coalesce(r.sha256, '') AS sha256
		FROM calls c JOIN recordings r ON r.call_id = c.id WHERE c.case_id = $1`, caseID); err != nil {
		t.Fatal(err)
	}
	sum, _, err := media.HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if call.State != "ended" || !call.Interrupted || call.HangupBy != "minyi" || call.SHA256 != sum {
		t.Errorf("after the restart the call is %+v, the file's hash %s", call, sum)
	}
	var audited int
	db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'call-interrupted' AND details ->> 'recording_sha256' = $1`, sum)
	if audited != 1 {
		t.Errorf("the interrupted call's recording is in the audit chain %d times, want once", audited)
	}
	if rep, err := core.VerifyAudit(ctx, db); err != nil || len(rep.Problems) > 0 {
		t.Errorf("the audit chain: %v %v", rep.Problems, err)
	}
	// The recording holds the call up to the kill.
	f, err := os.Open(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := media.ReadOggOpus(f)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := s.DecodePCM()
	if err != nil {
		t.Fatal(err)
	}
	if !s.Truncated || len(pcm) < 2*media.SampleRate {
		t.Errorf("the recording left by the kill: truncated %v, %.1f s", s.Truncated, float64(len(pcm))/2/media.SampleRate)
	}
	peers.CheckChannels(t, pcm, 440, 1000)
}
