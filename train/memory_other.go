//go:build !linux

package train

import "errors"

// sysinfoAvailable: without Linux's /proc/meminfo and sysinfo(2) the
// available memory is unknown, and CheckMemory does not refuse.
func sysinfoAvailable() (int64, string, error) {
	return 0, "", errors.New("memory: available memory unknown on this system")
}
