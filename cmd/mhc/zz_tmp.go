package main

import (
	"time"

	"github.com/mhc-go/mhc/kernels"
)

func benchGEMMTmp(n int, d time.Duration) float64 {
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	kernels.GEMM(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
	t := time.Now()
	k := 0
	for time.Since(t) < d {
		kernels.GEMM(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		k++
	}
	return 2 * float64(n*n*n) * float64(k) / time.Since(t).Seconds() / 1e9
}
