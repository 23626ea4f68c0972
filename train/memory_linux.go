package train

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// sysinfoAvailable is the free plus buffer memory that sysinfo(2) reports:
// the fallback of AvailableMemory when /proc/meminfo cannot be read.
func sysinfoAvailable() (int64, string, error) {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0, "", fmt.Errorf("memory: %w", err)
	}
	unit := int64(max(si.Unit, 1))
	return (int64(si.Freeram) + int64(si.Bufferram)) * unit, "free memory from sysinfo", nil
}
