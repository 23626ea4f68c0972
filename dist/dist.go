// Package dist trains one model data-parallel across processes on MPI, an
// existing, proven distributed engine. It loads Open MPI's libmpi.so.40 at
// run time with purego, so mhc builds without cgo and runs with or without
// MPI installed; only a process started by mpirun (and asked to) touches
// the library.
//
// An *MPI is a train.Group: each rank trains on its own share of every
// global batch, and SyncGrads sums the gradient buffer over the ranks with
// one MPI_Allreduce (MPI_SUM, in place) of the contiguous buffer. With two
// ranks the sum is exactly the one-process sum (float addition of two terms
// commutes); with more, the order is Open MPI's reduction algorithm's, fixed
// for a given rank count and message size, so runs repeat bit for bit but
// differ from one process in the last bits.
//
// Every collective is bounded by a timeout: a rank that died or hangs takes
// the job down with one message instead of hanging it.
package dist

import (
	"os"
	"strconv"
)

// Launched reports the rank count that an MPI launcher (Open MPI's mpirun,
// or a PMI-based one) gave this process in its environment, or 0 when it was
// not started by one.
func Launched() int {
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"} {
		if n, err := strconv.Atoi(os.Getenv(v)); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// DefaultLibrary is the MPI library Open loads unless MHC_LIBMPI names
// another: Open MPI 4's (Debian: libopenmpi3, pulled in by openmpi-bin).
const DefaultLibrary = "libmpi.so.40"
