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

// TestBrowserCallsBench runs the browser-phone benchmark with two calls:
// the browsers, a child process, connect to the telephony's browser side
// and their calls carry speech both ways; the figures stand beside the SIP
// phone's of the same run; and no browser process is left behind.
func TestBrowserCallsBench(t *testing.T) {
	out := mustRun(t, pgtest.NewDatabase(t), "--json", "--only", benchBrowserCallsName, "--calls", "2", "--duration", "2s")
	results := map[string]BenchResult{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r BenchResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not one JSON object per line: %v\n%s", err, out)
		}
		results[r.Name] = r
	}
	br, late := results[benchBrowserCallsName], results[benchBrowserLateName]
	if br.Ours <= 0 || br.Baseline <= 0 || br.Ratio != br.Ours/br.Baseline || !strings.Contains(br.Note, "SIP-phone figure") {
		t.Errorf("browser calls per core %+v: want measured beside the SIP phone's", br)
	}
	if late.Ours <= 0 || late.Baseline <= 0 || !late.Pass {
		t.Errorf("browser calls' lateness %+v: want measured beside the SIP phone's, within 20 ms at two calls", late)
	}
	// Both directions of both calls carried audio: two calls, two
	// streams each, 50 packets a second for 2 s; one dead direction would
	// be half.
	m := regexp.MustCompile(`(\d+) packets relayed`).FindStringSubmatch(br.Note)
	if m == nil {
		t.Fatalf("no packet count in the note: %s", br.Note)
	}
	if relayed, _ := strconv.Atoi(m[1]); relayed < 2*2*50*2*9/10 {
		t.Errorf("%d packets relayed by two calls in 2 s, want about 400", relayed)
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
		if bytes.Contains(cmd, []byte(browserClientsCmd)) {
			out = append(out, strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	return out
}
