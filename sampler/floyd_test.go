package sampler

import (
	"crypto/sha256"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// The key must be SHA-256(seed big-endian || stratum), as documented, since
// anyone re-running a recorded draw has to derive it the same way.
func TestNewRNGKey(t *testing.T) {
	seed := int64(-2) // negative, to pin two's-complement encoding
	msg := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, "500101"...)
	want := rand.New(rand.NewChaCha8(sha256.Sum256(msg)))
	got := NewRNG(seed, "500101")
	for i := 0; i < 100; i++ {
		if g, w := got.Uint64(), want.Uint64(); g != w {
			t.Fatalf("value %d: %#x, want %#x", i, g, w)
		}
	}
}

// Recorded draws must stay reproducible. These values were produced once by
// this code; a change means old samples can no longer be re-drawn, so it must
// never be made silently.
func TestFloydGolden(t *testing.T) {
	rng := NewRNG(20240601, "500101")
	if got, want := rng.Uint64(), uint64(goldenFirstUint64); got != want {
		t.Errorf("first Uint64 = %#x, want %#x", got, want)
	}
	got, err := Floyd(NewRNG(20240601, "500101"), 1563050, 8)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, goldenFloyd) {
		t.Errorf("Floyd = %v, want %v", got, goldenFloyd)
	}
}

var (
	goldenFirstUint64 = uint64(0x4c6aa8b9eb306362)
	goldenFloyd       = []int64{71750, 355262, 375795, 466573, 1229134, 1328847, 1496149, 1523691}
)

func TestFloydDeterministic(t *testing.T) {
	draw := func(seed int64, stratum string) []int64 {
		t.Helper()
		s, err := Floyd(NewRNG(seed, stratum), 1_000_000, 50)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := draw(42, "500101")
	if b := draw(42, "500101"); !reflect.DeepEqual(a, b) {
		t.Error("same seed and stratum gave different samples")
	}
	if b := draw(43, "500101"); reflect.DeepEqual(a, b) {
		t.Error("different seeds gave the same sample")
	}
	if b := draw(42, "500102"); reflect.DeepEqual(a, b) {
		t.Error("different strata gave the same sample")
	}
}

func TestFloydValid(t *testing.T) {
	rng := NewRNG(7, "valid")
	check := func(N int64, n int) {
		t.Helper()
		s, err := Floyd(rng, N, n)
		if err != nil {
			t.Fatalf("Floyd(%d, %d): %v", N, n, err)
		}
		if len(s) != n {
			t.Fatalf("Floyd(%d, %d): %d values", N, n, len(s))
		}
		for i, v := range s {
			if v < 1 || v > N {
				t.Fatalf("Floyd(%d, %d): %d out of range", N, n, v)
			}
			if i > 0 && v <= s[i-1] {
				t.Fatalf("Floyd(%d, %d): not strictly ascending at %d: %v", N, n, i, s)
			}
		}
	}
	for N := int64(0); N <= 30; N++ {
		for n := 0; int64(n) <= N; n++ {
			check(N, n)
		}
	}
	for i := 0; i < 200; i++ {
		N := 1 + rng.Int64N(100000)
		check(N, rng.IntN(int(min(N, 2000))+1))
	}
	// The largest frame must neither overflow nor loop forever.
	check(math.MaxInt64, 3)
	check(math.MaxInt64, 0)
}

func TestFloydAll(t *testing.T) {
	for _, N := range []int64{1, 2, 5, 100} {
		got, err := Floyd(NewRNG(1, "all"), N, int(N))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]int64, N)
		for i := range want {
			want[i] = int64(i + 1)
		}
		if !slices.Equal(got, want) {
			t.Errorf("n == N = %d gave %v", N, got)
		}
	}
	got, err := Floyd(nil, 10, 0)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("n = 0 gave %v, %v; want an empty slice", got, err)
	}
}

func TestFloydErrors(t *testing.T) {
	rng := NewRNG(1, "errors")
	for _, c := range []struct {
		N int64
		n int
	}{{10, 11}, {10, -1}, {0, 1}, {-1, 0}} {
		got, err := Floyd(rng, c.N, c.n)
		if err == nil {
			t.Errorf("Floyd(%d, %d) = %v, want an error", c.N, c.n, got)
		} else if !isBilingual(err.Error()) {
			t.Errorf("error %q is not in Chinese and English", err)
		}
	}
	if _, err := Floyd(nil, 10, 3); err == nil {
		t.Error("nil generator: no error")
	}
}

// chiSquare returns Σ (observed − expected)² / expected.
func chiSquare(counts []int, expected float64) float64 {
	x := 0.0
	for _, c := range counts {
		d := float64(c) - expected
		x += d * d / expected
	}
	return x
}

// TestFloydUniform draws n = 3 from N = 10 many times: every element must be
// included equally often and every one of the C(10,3) = 120 subsets drawn
// equally often. The critical values are at p = 0.001, and the draws are
// seeded, so the test is not flaky.
func TestFloydUniform(t *testing.T) {
	const (
		draws = 20000
		N     = 10
		n     = 3
	)
	rng := NewRNG(2024, "uniformity")
	elements := make([]int, N)
	subsets := map[[n]int64]int{}
	for i := 0; i < draws; i++ {
		s, err := Floyd(rng, N, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range s {
			elements[v-1]++
		}
		subsets[[n]int64(s)]++
	}
	if x := chiSquare(elements, draws*n/N); x > 27.88 { // df 9
		t.Errorf("element inclusion χ² = %.2f > 27.88: %v", x, elements)
	} else {
		t.Logf("element inclusion χ² = %.2f (df 9)", x)
	}
	if len(subsets) != 120 {
		t.Fatalf("%d distinct subsets seen, want 120", len(subsets))
	}
	counts := make([]int, 0, len(subsets))
	for _, c := range subsets {
		counts = append(counts, c)
	}
	if x := chiSquare(counts, draws/120.0); x > 169.0 { // df 119
		t.Errorf("subset χ² = %.2f > 169.0", x)
	} else {
		t.Logf("subset χ² = %.2f (df 119)", x)
	}
}

// uniformN must be unbiased also for bounds where plain modulo reduction
// would not be, and for powers of two.
func TestUniformN(t *testing.T) {
	rng := NewRNG(5, "uniformN")
	for _, n := range []uint64{1, 2, 7, 8, 10} {
		counts := make([]int, n)
		const draws = 70000
		for i := 0; i < draws; i++ {
			v := uniformN(rng, n)
			if v >= n {
				t.Fatalf("uniformN(%d) = %d", n, v)
			}
			counts[v]++
		}
		// p = 0.001 critical values for df n−1.
		crit := map[uint64]float64{1: 0, 2: 10.83, 7: 22.46, 8: 24.32, 10: 27.88}[n]
		if x := chiSquare(counts, float64(draws)/float64(n)); n > 1 && x > crit {
			t.Errorf("uniformN(%d): χ² = %.2f > %.2f: %v", n, x, crit, counts)
		}
	}
	// A bound just above 2⁶³ rejects almost half of all raw values; the
	// result must still be in range.
	bound := uint64(1)<<63 + 1
	for i := 0; i < 1000; i++ {
		if v := uniformN(rng, bound); v >= bound {
			t.Fatalf("uniformN(2⁶³+1) = %d", v)
		}
	}
}
