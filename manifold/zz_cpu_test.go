package manifold

import (
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestCPUTmp(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, s := range benchConfigs() {
		ws := NewWorkspace(s)
		rng := rand.New(rand.NewPCG(1, 1))
		l := randLogits(rng, s.LogitsPerToken(), 1)
		g := randLogits(rng, s.N*s.N, 1)
		h := make([]float32, s.N*s.N)
		dl := make([]float32, s.LogitsPerToken())
		const N = 200000
		best := [2]time.Duration{1 << 62, 1 << 62}
		for rep := 0; rep < 5; rep++ {
			t0 := cpuNow()
			for i := 0; i < N; i++ {
				s.Forward(h, l, ws)
			}
			t1 := cpuNow()
			for i := 0; i < N; i++ {
				s.Backward(dl, g, l, ws)
			}
			t2 := cpuNow()
			best[0] = min(best[0], (t1-t0)/N)
			best[1] = min(best[1], (t2-t1)/N)
		}
		t.Logf("%-32s fwd %5d ns  bwd %5d ns (thread CPU time, best of 5)", name(s), best[0].Nanoseconds(), best[1].Nanoseconds())
	}
}
