package kernels

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// Kernel paths: each names one row of the dispatch table, which selects the
// GEMM micro-kernel and the vector-kernel implementation together.
const (
	pathGeneric = "generic"
	pathAVX2    = "avx2"
	pathAVX512  = "avx512"
)

// Environment variables that override the path chosen from the CPU features.
// MHC_KERNELS wins when both are set (non-empty); MHC_GEMM is the older name.
const (
	envKernels = "MHC_KERNELS"
	envGEMM    = "MHC_GEMM"
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
	fnColA     rowAKernelFunc  // optional: skips packing of a transposed A (element (r, p) at a[p*lda+r])
	peak       func(iters int) // asm FMA loop for PeakGFLOPS; nil for generic
	peakFlops  int             // flops per peak iteration
}

// kernelPath is one row of the dispatch table: everything a path runs. The
// GEMM driver and every vector kernel load the active row on each call, so a
// switch of path switches all of them at once.
type kernelPath struct {
	name string
	gemm *gemmKernel  // never nil; &genericKernel on the generic path
	vec  vecKernels   // nil loops run the portable Go code
	conn *connKernels // connection loops (Sinkhorn lanes, fused apply; conn.go)
	proj *projKernels // φ projection loops (proj.go); nil: Go code

	checkOnce sync.Once
	checkErr  error // self-check outcome, set once by selfCheck
}

// newPath returns a table row. Rows are built only through it (or a literal
// with the same fields): a kernelPath holds a sync.Once and must not be copied.
func newPath(name string, g *gemmKernel, v vecKernels) *kernelPath {
	return &kernelPath{name: name, gemm: g, vec: v, conn: connFor(name), proj: projFor(name)}
}

var (
	// curPath is the active row. Swapped only by selection (init, the
	// setGEMMPath test hook) and other test hooks; kernels read it with one
	// atomic load per call.
	curPath atomic.Pointer[kernelPath]
	// kernelPaths lists the rows this machine can run, best first; the last
	// is always the generic row, which needs no self-check.
	kernelPaths []*kernelPath
	// kernelLog receives the dispatcher's notices, one line each (an
	// unusable override, a failed self-check). Tests replace it.
	kernelLog io.Writer = os.Stderr

	// selMu serialises selections; selErr is the joined self-check failures
	// that made the last selection fall back (nil when its first choice passed).
	selMu  sync.Mutex
	selErr error
)

func init() {
	kernelPaths = append(archPaths(), newPath(pathGeneric, &genericKernel, goVec))
	selectKernels(os.Getenv(envKernels), os.Getenv(envGEMM))
}

// selectKernels is the selection init makes from the values of MHC_KERNELS
// and MHC_GEMM: the override (or the best row), then down the table past
// any row whose self-check fails. It returns the row activated.
func selectKernels(kernelsEnv, gemmEnv string) *kernelPath {
	start, notice := choosePath(kernelsEnv, gemmEnv)
	if notice != "" {
		logKernels(notice)
	}
	return activate(start)
}

// logKernels writes one notice line to kernelLog.
func logKernels(msg string) {
	fmt.Fprintf(kernelLog, "mhc kernels: %s\n", msg)
}

// choosePath returns the row to start selection from for the override
// values of MHC_KERNELS and MHC_GEMM (MHC_KERNELS wins when non-empty): the
// named row if this machine can run it, else the best row. notice is a
// one-line explanation when a non-empty override cannot be honoured.
func choosePath(kernelsEnv, gemmEnv string) (p *kernelPath, notice string) {
	v, val := envKernels, strings.TrimSpace(kernelsEnv)
	if val == "" {
		v, val = envGEMM, strings.TrimSpace(gemmEnv)
	}
	best := kernelPaths[0]
	if val == "" {
		return best, ""
	}
	name := strings.ToLower(val)
	if p := findPath(name); p != nil {
		return p, ""
	}
	switch name {
	case pathGeneric, pathAVX2, pathAVX512:
		return best, fmt.Sprintf("%s=%s: this CPU cannot run the %s path; using %s", v, val, name, best.name)
	}
	return best, fmt.Sprintf("%s=%s: unknown path (want %s, %s or %s); using %s",
		v, val, pathGeneric, pathAVX2, pathAVX512, best.name)
}

// findPath returns the runnable row called name, or nil.
func findPath(name string) *kernelPath {
	for _, p := range kernelPaths {
		if p.name == name {
			return p
		}
	}
	return nil
}

// activate makes the first row of kernelPaths, from start on, whose
// self-check passes the active row. Each failure is logged as one line
// naming the path, the kernel, the error and the row used instead. start
// must be in kernelPaths. It returns the row activated.
func activate(start *kernelPath) *kernelPath {
	selMu.Lock()
	defer selMu.Unlock()
	i := 0
	for kernelPaths[i] != start {
		i++
	}
	var errs []error
	for ; i < len(kernelPaths)-1; i++ {
		err := kernelPaths[i].selfCheck()
		if err == nil {
			break
		}
		errs = append(errs, err)
		logKernels(fmt.Sprintf("%v; using %s", err, kernelPaths[i+1].name))
	}
	p := kernelPaths[i]
	selErr = errors.Join(errs...)
	curPath.Store(p)
	return p
}

// setGEMMPath is the test hook that switches the whole dispatch table (GEMM
// and vector kernels) to the named path, self-checking it first as a
// selection at init does. ok reports whether the named path is now active
// (false if this machine cannot run it or its self-check failed, in which
// case the fallback is active); restore reinstates the previous row.
func setGEMMPath(name string) (ok bool, restore func()) {
	p := findPath(name)
	if p == nil {
		return false, func() {}
	}
	selMu.Lock()
	old, oldErr := curPath.Load(), selErr
	selMu.Unlock()
	got := activate(p)
	return got == p, func() {
		selMu.Lock()
		curPath.Store(old)
		selErr = oldErr
		selMu.Unlock()
	}
}

// vecs returns the active row's vector kernels.
func vecs() *vecKernels { return &curPath.Load().vec }

// Path reports the active kernel path, "avx512", "avx2" or "generic", which
// selects both the GEMM micro-kernel and the vector kernels (see the package
// documentation). It is chosen at init: the best path this CPU (and OS
// register-state support) can run, or the one named by MHC_KERNELS (or the
// older MHC_GEMM), then moved down avx512 → avx2 → generic past any path
// whose self-check fails.
func Path() string { return curPath.Load().name }

// GEMMPath reports the micro-kernel family GEMM and GEMMSerial use. It is the
// same value as Path: one path selects every kernel.
func GEMMPath() string { return Path() }

// VectorPath reports the instruction set of the active path's vector
// kernels (softmax, RMSNorm, RoPE, SwiGLU, AdamW, cross-entropy, vector ops):
// "avx512", "avx2" or "generic". The avx512 path runs the exp-based loops
// (softmax and cross-entropy exponentials, SwiGLU forward and backward, the
// Sinkhorn lanes' float64 exponentials), RoPE, RMSNorm forward and
// backward, sum of squares and AdamW in AVX-512F and the others in
// AVX2+FMA; VectorPath is "avx512" there.
func VectorPath() string { return curPath.Load().vec.impl }

// Paths lists the kernel paths this machine can run, best first; "generic"
// is always last. Whether a path passed its self-check is CheckPath's.
func Paths() []string {
	names := make([]string, len(kernelPaths))
	for i, p := range kernelPaths {
		names[i] = p.name
	}
	return names
}

// SelfCheck returns the self-check failures that made the active path
// differ from the one first chosen (the best runnable path, or the
// override), joined; nil when that path passed. See CheckPath.
func SelfCheck() error {
	selMu.Lock()
	defer selMu.Unlock()
	return selErr
}

// CheckPath runs the self-check of the named path (once per process; later
// calls return the recorded outcome) and returns its error: nil if every
// kernel of the path agrees with its generic twin, an error naming the
// kernel and its relative error otherwise, or an error if this machine
// cannot run the path. It does not change the active path.
func CheckPath(name string) error {
	p := findPath(name)
	if p == nil {
		return fmt.Errorf("kernels: path %q is not runnable here (runnable: %s)", name, strings.Join(Paths(), ", "))
	}
	return p.selfCheck()
}
