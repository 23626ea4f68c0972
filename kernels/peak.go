package kernels

import (
	"runtime"
	"sync"
	"time"
)

var (
	peakOnce sync.Once
	peakVal  float64
)

// PeakGFLOPS returns this machine's measured float32 FMA peak in GFLOP/s
// (counting an FMA as 2 flops) for Workers() cores — one core's best rate
// times Workers(), each round timed by the thread's CPU clock on Linux (so
// time the core spent on other processes does not count) — for MFU
// reporting.
// It runs, on the calling goroutine, an assembly loop of independent vector
// FMAs of the kernel path active at the first call (AVX-512 or AVX2); on the
// generic path it estimates the peak of a scalar pure-Go multiply-add loop.
// The first call takes about 50-100 ms; the result is cached for the life of
// the process.
func PeakGFLOPS() float64 {
	peakOnce.Do(func() { peakVal = measurePeak(curPath.Load().gemm) })
	return peakVal
}

// peakSink keeps the pure-Go loop's result alive.
var peakSink float32

// peakGo runs iters iterations of 8 independent scalar multiply-adds
// (16 flops per iteration).
func peakGo(iters int) {
	x0, x1, x2, x3 := float32(0), float32(1), float32(2), float32(3)
	x4, x5, x6, x7 := float32(4), float32(5), float32(6), float32(7)
	const m, a = 0.999, 0.001
	for range iters {
		x0 = x0*m + a
		x1 = x1*m + a
		x2 = x2*m + a
		x3 = x3*m + a
		x4 = x4*m + a
		x5 = x5*m + a
		x6 = x6*m + a
		x7 = x7*m + a
	}
	peakSink += x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7
}

// measurePeak times k's FMA loop (peakGo when k has none) on the calling
// goroutine and returns one core's best rate times Workers(), in GFLOP/s.
func measurePeak(k *gemmKernel) float64 {
	loop, flopsPerIter := peakGo, 16
	if k.peak != nil {
		loop, flopsPerIter = k.peak, k.peakFlops
	}
	// The loop runs on one core and the result is scaled by Workers(): a
	// parallel round is only as fast as its most disturbed worker, so on a
	// shared machine it read as low as half the peak (which inflates MFU),
	// while one core's best round is stable. Peak is per-core peak × cores.
	// Each round is timed by the thread's CPU clock where there is one
	// (Linux): a round during which another process held the core then
	// still reads the core's rate (wall-clock rounds read 296 and 416
	// GFLOP/s within minutes on a loaded 2-core machine), so MFU has a
	// steady denominator. The wall clock is the fallback.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	elapsed := func(run func()) time.Duration {
		c0, okc := threadCPUTime()
		w0 := time.Now()
		run()
		w := time.Since(w0)
		if c1, ok := threadCPUTime(); ok && okc && c1 > c0 {
			return min(c1-c0, w)
		}
		return w
	}
	// Calibrate so one timed round takes about 8 ms.
	iters := 1 << 14
	for {
		el := elapsed(func() { loop(iters) })
		if el >= 2*time.Millisecond || iters >= 1<<30 {
			scaled := float64(iters) * float64(8*time.Millisecond) / float64(max(el, time.Microsecond))
			iters = max(1, int(scaled))
			break
		}
		iters *= 4
	}
	// Ten rounds, keep the best: a peak is an upper bound, and on a shared
	// machine the best short round is the one least disturbed.
	best := 0.0
	for range 10 {
		el := max(elapsed(func() { loop(iters) }).Seconds(), 1e-9)
		best = max(best, float64(Workers())*float64(iters)*float64(flopsPerIter)/el/1e9)
	}
	return best
}
