//go:build linux || darwin || freebsd

package dist

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// MPI is this process's place in MPI_COMM_WORLD. All its methods are
// collectives, to be called on every rank in the same order, from the
// goroutine that called Open.
type MPI struct {
	rank, size int
	timeout    time.Duration
	world      uintptr // MPI_Comm handles are pointers to these Open MPI symbols
	float, dbl uintptr
	i32, byte_ uintptr
	sum, max_  uintptr

	allreduce func(send uintptr, recv unsafe.Pointer, count int32, dtype, op, comm uintptr) int32
	bcast     func(buf unsafe.Pointer, count int32, dtype uintptr, root int32, comm uintptr) int32
	finalize  func() int32
}

// mpiInPlace is Open MPI's MPI_IN_PLACE, ((void *) 1), as the send buffer.
const mpiInPlace uintptr = 1

// Open initialises MPI (MPI_Init_thread, MPI_THREAD_SERIALIZED) and returns
// the world communicator. timeout bounds every later collective (0: none).
// It locks the calling goroutine to its OS thread: make every MPI call from
// it. Errors name the library and the call that failed.
func Open(timeout time.Duration) (*MPI, error) {
	name := DefaultLibrary
	if v := os.Getenv("MHC_LIBMPI"); v != "" {
		name = v
	}
	// RTLD_GLOBAL: Open MPI's plugins resolve libmpi's symbols through it.
	lib, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("dist: cannot load %s (install Open MPI: apt-get install openmpi-bin): %v", name, err)
	}
	c := &MPI{timeout: timeout}
	for _, s := range []struct {
		name string
		dst  *uintptr
	}{
		{"ompi_mpi_comm_world", &c.world}, {"ompi_mpi_float", &c.float}, {"ompi_mpi_double", &c.dbl},
		{"ompi_mpi_int", &c.i32}, {"ompi_mpi_byte", &c.byte_}, {"ompi_mpi_op_sum", &c.sum}, {"ompi_mpi_op_max", &c.max_},
	} {
		if *s.dst, err = purego.Dlsym(lib, s.name); err != nil {
			return nil, fmt.Errorf("dist: %s is not Open MPI (no symbol %s): only Open MPI is supported", name, s.name)
		}
	}
	var (
		initThread func(argc, argv unsafe.Pointer, required int32, provided *int32) int32
		commRank   func(comm uintptr, rank *int32) int32
		commSize   func(comm uintptr, size *int32) int32
	)
	purego.RegisterLibFunc(&initThread, lib, "MPI_Init_thread")
	purego.RegisterLibFunc(&commRank, lib, "MPI_Comm_rank")
	purego.RegisterLibFunc(&commSize, lib, "MPI_Comm_size")
	purego.RegisterLibFunc(&c.allreduce, lib, "MPI_Allreduce")
	purego.RegisterLibFunc(&c.bcast, lib, "MPI_Bcast")
	purego.RegisterLibFunc(&c.finalize, lib, "MPI_Finalize")

	runtime.LockOSThread()
	const serialized = 2 // MPI_THREAD_SERIALIZED in Open MPI's mpi.h
	var provided, rank, size int32
	if rc := initThread(nil, nil, serialized, &provided); rc != 0 {
		return nil, fmt.Errorf("dist: MPI_Init_thread failed (error %d)", rc)
	}
	if rc := commRank(c.world, &rank); rc != 0 {
		return nil, fmt.Errorf("dist: MPI_Comm_rank failed (error %d)", rc)
	}
	if rc := commSize(c.world, &size); rc != 0 {
		return nil, fmt.Errorf("dist: MPI_Comm_size failed (error %d)", rc)
	}
	c.rank, c.size = int(rank), int(size)
	return c, nil
}

// Rank is this process's rank in MPI_COMM_WORLD.
func (c *MPI) Rank() int { return c.rank }

// Size is the number of ranks.
func (c *MPI) Size() int { return c.size }

// watch runs call under the collective timeout: if it has not returned in
// time, the process reports it and exits with status 1, and mpirun then ends
// the other ranks.
func (c *MPI) watch(what string, call func() int32) error {
	if c.timeout > 0 {
		t := time.AfterFunc(c.timeout, func() {
			fmt.Fprintf(os.Stderr, "mhc: rank %d: %s did not complete within %v (another rank died or hangs); aborting\n", c.rank, what, c.timeout)
			os.Exit(1)
		})
		defer t.Stop()
	}
	if rc := call(); rc != 0 {
		return fmt.Errorf("dist: %s failed (MPI error %d)", what, rc)
	}
	return nil
}

// maxCount is the most elements one MPI call takes (its count is a C int).
const maxCount = 1 << 30

// SyncGrads replaces grad by its element-wise sum over the ranks (in-place
// MPI_Allreduce of the whole buffer, split only past 2³⁰ elements) and
// returns the sum of loss over the ranks.
func (c *MPI) SyncGrads(grad []float32, loss float64) (float64, error) {
	for lo := 0; lo < len(grad); lo += maxCount {
		part := grad[lo:min(lo+maxCount, len(grad))]
		err := c.watch("gradient all-reduce", func() int32 {
			return c.allreduce(mpiInPlace, unsafe.Pointer(&part[0]), int32(len(part)), c.float, c.sum, c.world)
		})
		if err != nil {
			return 0, err
		}
	}
	l := [1]float64{loss}
	err := c.watch("loss all-reduce", func() int32 {
		return c.allreduce(mpiInPlace, unsafe.Pointer(&l[0]), 1, c.dbl, c.sum, c.world)
	})
	return l[0], err
}

// AnyStop returns true on every rank if stop is true on any.
func (c *MPI) AnyStop(stop bool) (bool, error) {
	v := [1]int32{}
	if stop {
		v[0] = 1
	}
	err := c.watch("stop agreement", func() int32 {
		return c.allreduce(mpiInPlace, unsafe.Pointer(&v[0]), 1, c.i32, c.max_, c.world)
	})
	return v[0] != 0, err
}

// Agree broadcasts rank 0's digest; every rank compares it with its own and
// they all learn whether any differed. what names the digest in the error.
func (c *MPI) Agree(digest []byte, what string) error {
	var buf [64]byte // digests are at most 64 bytes (SHA-512)
	if len(digest) > len(buf) {
		return errors.New("dist: digest longer than 64 bytes")
	}
	copy(buf[:], digest)
	n := [1]int32{int32(len(digest))}
	if err := c.watch("startup check", func() int32 {
		if rc := c.bcast(unsafe.Pointer(&n[0]), 1, c.i32, 0, c.world); rc != 0 {
			return rc
		}
		return c.bcast(unsafe.Pointer(&buf[0]), int32(len(buf)), c.byte_, 0, c.world)
	}); err != nil {
		return err
	}
	differ := [1]int32{} // the highest rank that differs from rank 0
	if int(n[0]) != len(digest) || !bytes.Equal(buf[:n[0]], digest) {
		differ[0] = int32(c.rank)
	}
	if err := c.watch("startup check", func() int32 {
		return c.allreduce(mpiInPlace, unsafe.Pointer(&differ[0]), 1, c.i32, c.max_, c.world)
	}); err != nil {
		return err
	}
	if differ[0] != 0 {
		return fmt.Errorf("rank %d has a different %s than rank 0", differ[0], what)
	}
	return nil
}

// Close finalises MPI. Call it on every rank after the last collective.
func (c *MPI) Close() error {
	if rc := c.finalize(); rc != 0 {
		return fmt.Errorf("dist: MPI_Finalize failed (error %d)", rc)
	}
	return nil
}
