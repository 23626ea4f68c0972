package kernels

import (
	"os"
	"strings"
	"sync/atomic"
)

// gemmPath names the GEMM micro-kernel families.
const (
	pathGeneric = "generic"
	pathAVX2    = "avx2"
	pathAVX512  = "avx512"
)

// kernelFunc is the micro-kernel contract shared by all paths. It multiplies a
// packed MR×kc A micro-panel (a[p*MR+r]) by a packed kc×NR B micro-panel
// (b[p*NR+j]), kc >= 1, into the full MR×NR tile at c (row stride ldc):
//
//	mode 0: C = alpha*AB            (C not read)
//	mode 1: C = alpha*AB + C
//	mode 2: C = alpha*AB + beta*C
type kernelFunc func(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int)

// rowAKernelFunc is kernelFunc with A read unpacked from row-major storage:
// element (r, p) of the MR×kc A panel is a[r*lda+p]. The arithmetic is
// identical to the packed kernel, so results do not depend on which is used.
type rowAKernelFunc func(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int, lda int)

// gemmKernel describes one micro-kernel together with its cache blocking.
type gemmKernel struct {
	name       string
	mr, nr     int // register tile
	kc, mc, nc int // cache blocks: kc | K, mc (multiple of mr) | M, nc (multiple of nr) | N
	fn         kernelFunc
	fnRowA     rowAKernelFunc  // optional: skips packing of a non-transposed A
	peak       func(iters int) // asm FMA loop for PeakGFLOPS; nil for generic
	peakFlops  int             // flops per peak iteration
}

var (
	// gemmCur is the active kernel; swapped only by setGEMMPath (tests) and init.
	gemmCur atomic.Pointer[gemmKernel]
	// gemmPaths lists the kernels this machine can run, best first.
	gemmPaths []*gemmKernel
)

func init() {
	gemmPaths = append(archKernels(), &genericKernel)
	gemmCur.Store(choosePath(os.Getenv("MHC_GEMM")))
}

// choosePath returns the kernel named by the MHC_GEMM value env if this
// machine supports it, else the best supported one.
func choosePath(env string) *gemmKernel {
	if p := findPath(strings.ToLower(strings.TrimSpace(env))); p != nil {
		return p
	}
	return gemmPaths[0]
}

func findPath(name string) *gemmKernel {
	for _, p := range gemmPaths {
		if p.name == name {
			return p
		}
	}
	return nil
}

// setGEMMPath switches the active micro-kernel (used by tests to exercise every
// path). It returns false if this machine cannot run the path, and a function
// restoring the previous path.
func setGEMMPath(name string) (ok bool, restore func()) {
	old := gemmCur.Load()
	p := findPath(name)
	if p == nil {
		return false, func() {}
	}
	gemmCur.Store(p)
	return true, func() { gemmCur.Store(old) }
}

// GEMMPath reports the micro-kernel family GEMM and GEMMSerial use:
// "avx512", "avx2" or "generic". It is chosen at init from the CPU features
// (and OS register-state support) and can be forced with the environment
// variable MHC_GEMM=generic|avx2|avx512; a forced path the CPU cannot run is
// ignored.
func GEMMPath() string { return gemmCur.Load().name }
