package sampler

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// NewRNG returns the deterministic generator for one stratum of one draw: the
// same (seed, stratum) always gives the same stream, on every platform and Go
// version.
//
// ChaCha8 is used because its output is fixed by a published specification
// (C2SP chacha8rand), so a recorded seed keeps reproducing its sample after
// Go upgrades. The 32-byte key is
// SHA-256(seed as 8 big-endian bytes || stratum), so every stratum gets an
// independent stream and adding or removing a stratum does not shift the
// draws of the others.
//
// Only the raw Uint64 stream of the result is guaranteed to be stable: the
// functions in this package derive everything else from it themselves,
// because rand.Rand's bounded helpers take a different code path on 32-bit
// platforms.
func NewRNG(seed int64, stratum string) *rand.Rand {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(stratum))
	var key [32]byte
	copy(key[:], h.Sum(nil))
	return rand.New(rand.NewChaCha8(key))
}

// uniformN returns an integer uniform on [0, n), n > 0, using only
// rng.Uint64, so the result is the same on every platform. It is Lemire's
// multiply-and-reject method: the high word of x·n is uniform once products
// whose low word falls below 2⁶⁴ mod n are rejected.
func uniformN(rng *rand.Rand, n uint64) uint64 {
	hi, lo := bits.Mul64(rng.Uint64(), n)
	if lo < n {
		thresh := -n % n // 2⁶⁴ mod n
		for lo < thresh {
			hi, lo = bits.Mul64(rng.Uint64(), n)
		}
	}
	return hi
}

// Floyd draws n distinct integers uniformly from 1..N (Floyd's algorithm, O(n)
// time and memory) and returns them sorted ascending.
//
// Every n-subset of 1..N is equally likely. Only n random numbers are used,
// so drawing from a frame's dense ordinals touches n rows however large the
// frame is. The output is sorted so that it does not reveal the order of
// drawing and can be fetched from the frame in index order.
func Floyd(rng *rand.Rand, N int64, n int) ([]int64, error) {
	if N < 0 {
		return nil, fmt.Errorf("总体规模不能为负 / population size must not be negative: %d", N)
	}
	if n < 0 || int64(n) > N {
		return nil, fmt.Errorf("样本量须在 0 到 %d 之间 / sample size must be between 0 and %d: %d", N, N, n)
	}
	if n == 0 {
		return []int64{}, nil
	}
	if rng == nil {
		return nil, errors.New("随机数发生器为空 / random number generator is nil")
	}
	chosen := make(map[int64]struct{}, n)
	out := make([]int64, 0, n)
	// For j = N−n+1 … N pick t uniform on 1..j; take t, or j itself when t
	// is already taken. Each step keeps every subset of 1..j of the current
	// size equally likely.
	// The loop counts steps rather than comparing j with N, because j++
	// would wrap around when N is the largest int64.
	for i := int64(0); i < int64(n); i++ {
		j := N - int64(n) + 1 + i
		t := int64(uniformN(rng, uint64(j))) + 1
		if _, dup := chosen[t]; dup {
			t = j
		}
		chosen[t] = struct{}{}
		out = append(out, t)
	}
	slices.Sort(out)
	return out, nil
}
