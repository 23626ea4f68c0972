package kernels

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestParallelForCoversRangeOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 33, 129, 1000} {
		for _, grain := range []int{1, 4, 64} {
			hits := make([]int32, n)
			ParallelForGrain(n, grain, TaskFunc(func(lo, hi int) {
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			}))
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("n=%d grain=%d: index %d visited %d times", n, grain, i, h)
				}
			}
		}
	}
}

func TestParallelForNested(t *testing.T) {
	var total int64
	ParallelFor(8, TaskFunc(func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ParallelFor(10, TaskFunc(func(a, b int) { atomic.AddInt64(&total, int64(b-a)) }))
		}
	}))
	if total != 80 {
		t.Fatalf("nested ParallelFor counted %d, want 80", total)
	}
}

// ParallelChunks cuts a range the same way whether it runs in parallel or
// serially (nested inside another ParallelFor), and never by the number of
// workers: reductions over its chunks are bit-identical on any machine.
func TestParallelChunksFixedSplit(t *testing.T) {
	type rec struct{ chunk, lo, hi int }
	collect := func(n, grain int) ([]rec, int) {
		var mu sync.Mutex
		var got []rec
		k := ParallelChunks(n, grain, ChunkFunc(func(c, lo, hi int) {
			mu.Lock()
			got = append(got, rec{c, lo, hi})
			mu.Unlock()
		}))
		slices.SortFunc(got, func(a, b rec) int { return a.chunk - b.chunk })
		return got, k
	}
	for _, tc := range []struct{ n, grain, want int }{
		{1, 1, 1}, {5, 1, 5}, {100, 1, MaxChunks()}, {100, 32, 4}, {10000, 7, MaxChunks()}, {31, 32, 1},
	} {
		top, k := collect(tc.n, tc.grain)
		if k != tc.want || len(top) != k {
			t.Fatalf("n=%d grain=%d: %d chunks (%d calls), want %d", tc.n, tc.grain, k, len(top), tc.want)
		}
		next := 0
		for i, r := range top {
			if r.chunk != i || r.lo != next || r.hi <= r.lo || (r.lo%tc.grain != 0) {
				t.Fatalf("n=%d grain=%d: chunk %+v after %d", tc.n, tc.grain, r, next)
			}
			next = r.hi
		}
		if next != tc.n {
			t.Fatalf("n=%d grain=%d: chunks end at %d", tc.n, tc.grain, next)
		}
		// The same call nested inside a ParallelFor runs serially: same chunks.
		var nested []rec
		ParallelFor(2, TaskFunc(func(lo, hi int) {
			if lo == 0 {
				nested, _ = collect(tc.n, tc.grain)
			}
		}))
		if !slices.Equal(nested, top) {
			t.Fatalf("n=%d grain=%d: nested %v, top-level %v", tc.n, tc.grain, nested, top)
		}
	}
}
