//go:build linux

package kernels

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUTime returns the calling thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID) and true, or false if the clock is unavailable.
// The caller locks the goroutine to its thread around the interval.
func threadCPUTime() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
