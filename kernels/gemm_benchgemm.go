package kernels

import (
	"sort"
	"time"
)

// BenchGEMM times square non-transposed GEMMs (C = A·B, n×n, beta = 0, on
// all Workers()) for about dur and returns the median rate in GFLOP/s
// (2n³ flops per product). Each timed sample batches enough products to last
// at least about a millisecond; at least three samples are taken even if
// that exceeds dur. The inputs are deterministic; n must be positive.
func BenchGEMM(n int, dur time.Duration) (gflops float64) {
	if n <= 0 {
		panic("kernels: BenchGEMM needs n > 0")
	}
	a := make([]float32, n*n)
	b := make([]float32, n*n)
	c := make([]float32, n*n)
	for i := range a {
		a[i] = float32(i%13)*0.25 - 1.5
		b[i] = float32(i%7)*0.5 - 1.5
	}
	run := func() { GEMM(false, false, n, n, n, 1, a, n, b, n, 0, c, n) }
	run() // warm-up: sizes the packing buffers, faults in the pages
	flops := 2 * float64(n) * float64(n) * float64(n)
	batch := 1
	for {
		t0 := time.Now()
		for range batch {
			run()
		}
		if time.Since(t0) >= time.Millisecond || batch >= 1<<20 {
			break
		}
		batch *= 2
	}
	var rates []float64
	deadline := time.Now().Add(dur)
	for len(rates) < 3 || time.Now().Before(deadline) {
		t0 := time.Now()
		for range batch {
			run()
		}
		rates = append(rates, flops*float64(batch)/time.Since(t0).Seconds()/1e9)
	}
	sort.Float64s(rates)
	return rates[len(rates)/2]
}
