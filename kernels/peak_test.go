package kernels

import (
	"runtime"
	"testing"
	"time"
)

// TestThreadCPUTime checks the per-thread CPU clock that measurePeak uses:
// on Linux it must exist and advance over busy work on the locked thread
// (by no more than the wall time, plus the clock's granularity); elsewhere
// it must report that it is unavailable.
func TestThreadCPUTime(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0, ok := threadCPUTime()
	if runtime.GOOS != "linux" {
		if ok {
			t.Fatalf("threadCPUTime reported a clock on %s", runtime.GOOS)
		}
		return
	}
	if !ok {
		t.Fatal("threadCPUTime: no CLOCK_THREAD_CPUTIME_ID on linux")
	}
	w0 := time.Now()
	for time.Since(w0) < 20*time.Millisecond {
		peakGo(1000)
	}
	wall := time.Since(w0)
	c1, ok := threadCPUTime()
	if !ok || c1 <= c0 {
		t.Fatalf("thread CPU time did not advance over busy work: %v -> %v (ok %v)", c0, c1, ok)
	}
	if d := c1 - c0; d > wall+5*time.Millisecond {
		t.Fatalf("thread CPU time %v exceeds the wall time %v", d, wall)
	}
}
