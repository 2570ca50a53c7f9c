// Package csvtest is for the tests of imports: it makes CSV files of any
// size as they are read, so that a test can feed an importer gigabytes
// without writing them anywhere, and measures the heap while the importer
// reads one.
package csvtest

import (
	"io"
	"runtime"
	"sync"
	"time"
)

// File returns a reader of a CSV file of at least size bytes: the header
// line, then line(i, buf) for i = 0, 1, … (each appended to buf, with its
// line break) until size is reached, the last line whole. Lines returns how
// many data lines the file has once it has been read to its end.
func File(header string, size int64, line func(i int, buf []byte) []byte) *Lines {
	return &Lines{pending: []byte(header + "\n"), left: size - int64(len(header)) - 1, line: line}
}

// Lines is a file being made as it is read.
type Lines struct {
	pending []byte
	left    int64
	n       int
	line    func(int, []byte) []byte
	buf     []byte
}

func (l *Lines) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.pending) == 0 {
			if l.left <= 0 {
				break
			}
			l.buf = l.line(l.n, l.buf[:0])
			l.n++
			l.left -= int64(len(l.buf))
			l.pending = l.buf
		}
		c := copy(p[n:], l.pending)
		l.pending = l.pending[c:]
		n += c
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Lines is the number of data lines made so far.
func (l *Lines) Lines() int { return l.n }

// Heap runs fn and returns the heap in use before it, after a collection
// (idle), and the most in use while it ran, sampled every few milliseconds
// (peak): runtime.MemStats.HeapInuse, the memory the heap's spans hold,
// garbage not yet collected included.
func Heap(fn func()) (idle, peak uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	idle, peak = ms.HeapInuse, ms.HeapInuse
	var mu sync.Mutex
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapInuse)
		mu.Unlock()
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	fn()
	sample()
	close(done)
	<-stopped
	return idle, peak
}

// MiB is a byte count in mebibytes, for messages.
func MiB(b uint64) float64 { return float64(b) / (1 << 20) }
