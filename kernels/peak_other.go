//go:build !linux

package kernels

import "time"

// threadCPUTime reports false: without a per-thread CPU clock measurePeak
// times its rounds by the wall clock.
func threadCPUTime() (time.Duration, bool) { return 0, false }
