package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"minyi/cmd/internal/cli"
)

// serverBinary finds the minyi whose `serve` the soak runs: the one given,
// else the one beside this program (make bench builds both into bin/),
// else one on PATH.
func serverBinary(given string) (string, error) {
	if given != "" {
		if !fileExists(given) {
			return "", cli.UsageError(fmt.Sprintf("--minyi:找不到 %s / --minyi: %s not found", given, given))
		}
		return given, nil
	}
	if self, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(self), "minyi"); fileExists(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("minyi"); err == nil {
		return p, nil
	}
	return "", errors.New("耐久测试需要 minyi 程序:请先 make build,或用 --minyi 指定 / the soak needs the minyi binary: run make build, or give --minyi PATH")
}

// benchServer is `minyi serve` in a process of its own, so that its heap and
// goroutines are the server's alone, not the simulated interviewers'.
type benchServer struct {
	cmd   *exec.Cmd
	data  string // its MINYI_DATA: outbox, jobs and signing key of its own
	base  string // the application, http://host:port
	debug string // its /debug listener, http://host:port
	done  chan struct{}

	mu         sync.Mutex
	problems   int    // log lines at WARN or ERROR, and panics
	firstIssue string // the first of them
}

var (
	servingRe = regexp.MustCompile(`serving on http://(\S+)`)
	debugRe   = regexp.MustCompile(`debug profiles on http://([^/\s]+)/`)
	problemRe = regexp.MustCompile(`\b(ERROR|WARN)\b|panic`)
)

// startBenchServer starts the server bin on dsn, on loopback ports of its own,
// and waits until it answers.
func startBenchServer(bin, dsn string) (*benchServer, error) {
	// A data directory of its own, so that a run leaves no signing key or
	// outbox behind in the directory it was started from.
	data, err := os.MkdirTemp("", "minyi-bench-serve-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--debug-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn, "MINYI_DATA="+data, "MINYI_KEYS=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(data)
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		os.RemoveAll(data)
		return nil, err
	}
	s := &benchServer{cmd: cmd, data: data, done: make(chan struct{})}
	ready := make(chan struct{})
	var early strings.Builder
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			if m := debugRe.FindStringSubmatch(line); m != nil {
				s.debug = "http://" + m[1]
			} else if m := servingRe.FindStringSubmatch(line); m != nil && s.base == "" {
				s.base = "http://" + m[1]
				close(ready)
			} else if s.base == "" {
				early.WriteString(line + "\n")
			} else if problemRe.MatchString(line) {
				if s.problems++; s.problems == 1 {
					s.firstIssue = line
				}
			}
			s.mu.Unlock()
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
	}()
	select {
	case <-ready:
	case <-s.done:
		return nil, fmt.Errorf("bench: the server stopped before serving:\n%s", early.String())
	case <-time.After(2 * time.Minute):
		s.stop()
		return nil, fmt.Errorf("bench: the server did not start within two minutes:\n%s", early.String())
	}
	if s.debug == "" {
		s.stop()
		return nil, fmt.Errorf("bench: the server did not say where its profiles are")
	}
	return s, nil
}

// stats asks the server for its live heap after a collection and its
// goroutines.
func (s *benchServer) stats(ctx context.Context) (cli.RuntimeStats, error) {
	var st cli.RuntimeStats
	body, err := s.fetch(ctx, "/debug/runtime")
	if err != nil {
		return st, err
	}
	defer body.Close()
	return st, json.NewDecoder(body).Decode(&st)
}

// heapProfile writes the server's heap profile, after a collection, to path.
func (s *benchServer) heapProfile(ctx context.Context, path string) error {
	body, err := s.fetch(ctx, "/debug/pprof/heap?gc=1")
	if err != nil {
		return err
	}
	defer body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (s *benchServer) fetch(ctx context.Context, path string) (io.ReadCloser, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.debug+path, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bench: server %s: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		cancel()
		return nil, fmt.Errorf("bench: server %s: %s", path, res.Status)
	}
	return cancelOnClose{res.Body, cancel}, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// logProblems is how many warnings, errors and panics the server logged
// since it started serving, and the first.
func (s *benchServer) logProblems() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.problems, s.firstIssue
}

// stop ends the server as an operator would (SIGTERM: it drains its
// requests), and kills it if it has not stopped within half a minute.
func (s *benchServer) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.data)
}
