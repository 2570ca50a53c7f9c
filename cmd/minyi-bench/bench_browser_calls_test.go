package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"minyi/sql/pgtest"
)

// TestBrowserCallsBench runs the browser-calls benchmark with two calls:
// the browsers, a child process, connect through the telephony and their
// calls carry speech both ways; the figures stand beside the SIP phone's
// of the same run; and no browser process is left behind.
func TestBrowserCallsBench(t *testing.T) {
	out := mustRun(t, pgtest.NewDatabase(t), "--json", "--only", "browser-calls", "--calls", "2", "--duration", "2s")
	results := map[string]BenchResult{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r BenchResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not one JSON object per line: %v\n%s", err, out)
		}
		results[r.Name] = r
	}
	br, sip := results[benchBrowserCallsName], results[benchCallsName]
	if br.Ours <= 0 || sip.Ours <= 0 || br.Baseline != sip.Ours || br.Ratio != br.Ours/br.Baseline {
		t.Errorf("browser calls per core %+v not beside the SIP phone's %+v", br, sip)
	}
	late, sipLate := results[benchBrowserLateName], results[benchCallsLateName]
	if late.Ours <= 0 || late.Baseline != sipLate.Ours || !late.Pass {
		t.Errorf("browser calls' lateness %+v (SIP phone's %+v): want measured, beside the SIP phone's, within 20 ms at two calls", late, sipLate)
	}
	// Both directions of both calls carried audio: nearly every packet
	// sent was relayed (one dead direction would be half).
	m := regexp.MustCompile(`(\d+) packets relayed of about (\d+) sent`).FindStringSubmatch(br.Note)
	if m == nil {
		t.Fatalf("no packet count in the note: %s", br.Note)
	}
	relayed, _ := strconv.Atoi(m[1])
	sent, _ := strconv.Atoi(m[2])
	if sent < 2*2*50*2*9/10 || relayed < sent*9/10 {
		t.Errorf("%d packets relayed of %d sent by two calls in 2 s", relayed, sent)
	}
	if kids := browserProcesses(t); len(kids) > 0 {
		t.Errorf("browser processes left running: %v", kids)
	}
}

// browserProcesses are this process's children running as the
// benchmark's browsers.
func browserProcesses(t *testing.T) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue // exited meanwhile
		}
		// The parent's pid follows the command's name in parentheses
		// and the state.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join(filepath.Dir(st), "cmdline"))
		if bytes.Contains(cmd, []byte(browserPeersCmd)) {
			out = append(out, strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	return out
}
