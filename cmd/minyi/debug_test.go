package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"minyi/cmd/internal/cli"
)

// TestDebugListener checks that the profiles are served on a local address
// only, and that /debug/runtime reports the live heap and goroutines.
func TestDebugListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6060", "example.com:6060"} {
		if _, err := startDebug(ctx, addr); err == nil {
			t.Errorf("--debug-addr %s was accepted; profiles have no sign-in", addr)
		}
	}
	a, err := startDebug(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + a.String() + "/debug/runtime")
	if err != nil {
		t.Fatal(err)
	}
	var st cli.RuntimeStats
	err = json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if err != nil || st.HeapAlloc == 0 || st.Goroutines == 0 {
		t.Fatalf("/debug/runtime: %+v, %v", st, err)
	}
	res, err = http.Get("http://" + a.String() + "/debug/pprof/heap?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/debug/pprof/heap: %s", res.Status)
	}
}
