package kernels

import (
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
