package main

import (
	"testing"
	"time"
)

// TestSoakFlatness checks the soak's judgement on made-up samples every ten
// seconds of a ten-minute run: bursts of requests in flight, however
// large, are not growth; a leak of 1 MiB or 10 goroutines a minute is.
func TestSoakFlatness(t *testing.T) {
	series := func(heapLeak, goroutineLeak float64) []soakSample {
		var s []soakSample
		for i := 1; i <= 60; i++ {
			at := time.Duration(i) * 10 * time.Second
			minutes := at.Minutes()
			heap := uint64((6 + heapLeak*minutes) * (1 << 20))
			g := 210 + int(goroutineLeak*minutes)
			if i%3 != 0 { // most samples catch requests in flight
				heap += uint64(i%7) << 20
				g += 40 * (i % 7)
			}
			s = append(s, soakSample{at: at, heap: heap, goroutines: g})
		}
		return s
	}
	for _, c := range []struct {
		name                   string
		heapLeak, goroutines   float64
		wantHeap, wantRoutines bool
	}{
		{"flat", 0, 0, true, true},
		{"heap leak", 1, 0, false, true},
		{"goroutine leak", 0, 10, true, false},
	} {
		f := soakFlatness(series(c.heapLeak, c.goroutines), 10*time.Minute)
		heap, routines := f.flat()
		if heap != c.wantHeap || routines != c.wantRoutines {
			t.Errorf("%s: flat heap %v, goroutines %v; want %v, %v (floors %.1f → %.1f MiB, %d → %d)", c.name, heap, routines, c.wantHeap, c.wantRoutines,
				mib(f.start.minHeap), mib(f.end.minHeap), f.start.minGoroutines, f.end.minGoroutines)
		}
		if f.start.label != "1m0s–2m0s" || f.end.label != "9m0s–10m0s" {
			t.Errorf("%s: spans %s and %s", c.name, f.start.label, f.end.label)
		}
	}
}
