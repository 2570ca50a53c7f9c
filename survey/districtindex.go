package survey

import (
	"runtime"
	"slices"
	"sync"
)

// districtIndex tells the district of every respondent of a slice, so that
// weighting and estimation look each district up once per wave rather than
// once per pass. The slice is cut into a few contiguous chunks, worked on
// side by side: the interviews of one district are spread over the whole
// slice, and each pass reads it in order, a chunk per processor, putting
// every respondent in its place in its district's list.
type districtIndex struct {
	names  []string // the districts in code order
	of     []int32  // respondent i is in district names[of[i]]
	count  []int    // respondents per district
	chunks []districtChunk
}

// districtChunk is a contiguous run of respondents, rs[lo:hi]. Its
// respondents of district h take the places from start[h] on in a list of
// that district's respondents in the order of rs.
type districtChunk struct {
	lo, hi int
	start  []int
}

// chunkMin is the smallest chunk worth a goroutine of its own.
const chunkMin = 1 << 14

func indexDistricts(rs []Respondent) *districtIndex {
	P := max(1, min(runtime.GOMAXPROCS(0), len(rs)/chunkMin))
	ix := &districtIndex{of: make([]int32, len(rs)), chunks: make([]districtChunk, P)}
	for c := range ix.chunks {
		ix.chunks[c].lo, ix.chunks[c].hi = len(rs)*c/P, len(rs)*(c+1)/P
	}
	// Each chunk numbers the districts in the order it meets them...
	local := make([][]string, P)
	counts := make([][]int, P)
	ix.each(func(c int, ch *districtChunk) {
		seen := map[string]int32{}
		last, lastK := "", int32(-1)
		for i := ch.lo; i < ch.hi; i++ {
			d := rs[i].District
			if lastK < 0 || d != last {
				k, ok := seen[d]
				if !ok {
					k = int32(len(local[c]))
					seen[d] = k
					local[c] = append(local[c], d)
					counts[c] = append(counts[c], 0)
				}
				last, lastK = d, k
			}
			ix.of[i] = lastK
			counts[c][lastK]++
		}
	})
	// ...and then by the districts' order.
	for c := range local {
		ix.names = append(ix.names, local[c]...)
	}
	slices.Sort(ix.names)
	ix.names = slices.Compact(ix.names)
	H := len(ix.names)
	ix.count = make([]int, H)
	global := make([][]int32, P)
	for c := range ix.chunks {
		ch := &ix.chunks[c]
		ch.start = make([]int, H)
		global[c] = make([]int32, len(local[c]))
		for k, d := range local[c] {
			h, _ := slices.BinarySearch(ix.names, d)
			global[c][k] = int32(h)
			ch.start[h] = ix.count[h]
			ix.count[h] += counts[c][k]
		}
	}
	ix.each(func(c int, ch *districtChunk) {
		for i := ch.lo; i < ch.hi; i++ {
			ix.of[i] = global[c][ix.of[i]]
		}
	})
	return ix
}

// each calls do for every chunk, side by side.
func (ix *districtIndex) each(do func(c int, ch *districtChunk)) {
	jobs := make([]int, len(ix.chunks))
	for c := range jobs {
		jobs[c] = c
	}
	shareOut(jobs, func(c int) { do(c, &ix.chunks[c]) })
}

// scatter calls put(i, h, k) for every respondent i, in district h, whose
// place in the list of h's respondents in the order of rs is k; chunks are
// worked on side by side.
func (ix *districtIndex) scatter(put func(i int, h int32, k int)) {
	ix.each(func(c int, ch *districtChunk) {
		next := slices.Clone(ch.start)
		for i := ch.lo; i < ch.hi; i++ {
			h := ix.of[i]
			put(i, h, next[h])
			next[h]++
		}
	})
}

// shareOut calls do for each of the jobs, in that order of starting, on as
// many goroutines as there are processors, and returns when all are done.
func shareOut(jobs []int, do func(int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				do(h)
			}
		}()
	}
	for _, h := range jobs {
		work <- h
	}
	close(work)
	wg.Wait()
}
