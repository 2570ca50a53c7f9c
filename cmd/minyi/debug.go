package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"minyi/cmd/internal/cli"
)

// readRuntimeStats collects first, so that the heap it reports is what is
// live.
func readRuntimeStats() cli.RuntimeStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return cli.RuntimeStats{HeapAlloc: m.HeapAlloc, HeapObjects: m.HeapObjects, Sys: m.Sys, Goroutines: runtime.NumGoroutine()}
}

// startDebug serves Go's profiles (/debug/pprof/) and /debug/runtime on a
// listener of their own, apart from the application and its sign-in, so
// that a server's memory can be examined while it runs. They have no
// access control, hence only an address on this machine is accepted.
func startDebug(ctx context.Context, addr string) (net.Addr, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, cli.UsageError(fmt.Sprintf("--debug-addr 须为 HOST:PORT / --debug-addr must be HOST:PORT: %v", err))
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, cli.UsageError(fmt.Sprintf("--debug-addr 只能是本机地址(127.0.0.1 或 localhost)/ --debug-addr must be on this machine (127.0.0.1 or localhost): %s", addr))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("无法监听 %s / cannot listen on %s: %w", addr, addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/runtime", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(readRuntimeStats())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return ln.Addr(), nil
}
