//go:build !(linux || darwin || freebsd)

package dist

import (
	"errors"
	"time"
)

// MPI is unavailable on this operating system; Open always fails.
type MPI struct{}

// Open fails: mhc loads Open MPI only on Linux, macOS and FreeBSD.
func Open(timeout time.Duration) (*MPI, error) {
	return nil, errors.New("dist: MPI data-parallel training needs Linux, macOS or FreeBSD")
}

func (c *MPI) Rank() int                                               { return 0 }
func (c *MPI) Size() int                                               { return 1 }
func (c *MPI) SyncGrads(grad []float32, loss float64) (float64, error) { return loss, nil }
func (c *MPI) AnyStop(stop bool) (bool, error)                         { return stop, nil }
func (c *MPI) Agree(digest []byte, what string) error                  { return nil }
func (c *MPI) Close() error                                            { return nil }
