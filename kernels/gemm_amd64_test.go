package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// goMicroKernel returns a pure-Go kernelFunc for an mr×nr tile, used to run
// the driver with the exact blocking of the assembly paths (in particular
// AVX-512, which CI machines may lack).
func goMicroKernel(mr, nr int) kernelFunc {
	return func(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int) {
		as := unsafe.Slice(a, kc*mr)
		bs := unsafe.Slice(b, kc*nr)
		cs := unsafe.Slice(c, (mr-1)*ldc+nr)
		for r := range mr {
			for j := range nr {
				var s float32
				for p := range kc {
					s += as[p*mr+r] * bs[p*nr+j]
				}
				v := alpha * s
				switch mode {
				case 1:
					v += cs[r*ldc+j]
				case 2:
					v += beta * cs[r*ldc+j]
				}
				cs[r*ldc+j] = v
			}
		}
	}
}

// TestGEMMDriverBlocking runs the reference tests through the blocking
// (tile, kc, mc, nc) of every assembly path with a Go micro-kernel, so the
// packing and edge handling for 12×32 tiles are checked even without
// AVX-512 hardware.
func TestGEMMDriverBlocking(t *testing.T) {
	for _, base := range []*gemmKernel{&avx2Kernel, &avx512Kernel} {
		t.Run(base.name, func(t *testing.T) {
			k := *base
			k.name = pathGeneric // GEMMPath is not under test here
			k.fn = goMicroKernel(k.mr, k.nr)
			k.fnRowA, k.fnColA = nil, nil
			defer useKernelPath(newPath(pathGeneric, &k, goVec))()
			rng := rand.New(rand.NewPCG(5, 6))
			for _, sh := range []gemmCase{{1, 1, 1, 0}, {13, 33, 7, 0}, {37, 65, 200, 0}, {200, 31, 400, 0}, {25, 4100, 3, 0}} {
				for tr := range 4 {
					checkGEMMCase(t, rng, sh, tr&1 != 0, tr&2 != 0, []float32{-0.5}, []float32{0, 0.3})
				}
			}
		})
	}
}

// TestGEMMRowAKernels checks each row-A micro-kernel (AVX2 6×16, AVX-512
// 12×32) and each column-A one (AVX-512) directly against its packed twin
// on odd kc (every loop tail), odd lda and every store mode: both do the
// same FMAs in the same order, so the tiles must match bit for bit, and
// nothing outside the tile may change.
func TestGEMMRowAKernels(t *testing.T) {
	for _, tc := range []struct {
		k  *gemmKernel
		ok bool
	}{
		{&avx2Kernel, cpu.X86.HasAVX2 && cpu.X86.HasFMA},
		{&avx512Kernel, cpu.X86.HasAVX512F},
	} {
		k := tc.k
		t.Run(k.name, func(t *testing.T) {
			if !tc.ok {
				t.Skipf("the CPU lacks %s", k.name)
			}
			if k.fnRowA == nil {
				t.Fatalf("%s has no row-A kernel", k.name)
			}
			mr := k.mr
			rng := rand.New(rand.NewPCG(7, 8))
			for _, kc := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 65, k.kc - 1, k.kc} {
				for _, lda := range []int{kc, kc + 1, kc + 13} {
					a := randMatrix(rng, mr, kc, lda, float32(math.NaN()))
					ap := make([]float32, mr*kc)
					packTransposed(ap, a, lda, 0, mr, 0, kc, mr)
					sameAsPacked(t, rng, k, k.fnRowA, "row-A", kc, ap, a, lda)
				}
				if k.fnColA == nil {
					continue
				}
				// Column-A: op(A) (r, p) at at[p*lda+r], lda >= mr.
				for _, lda := range []int{mr, mr + 1, mr + 19} {
					at := randMatrix(rng, kc, mr, lda, float32(math.NaN()))
					ap := make([]float32, mr*kc)
					packStraight(ap, at, lda, 0, kc, 0, mr, mr)
					sameAsPacked(t, rng, k, k.fnColA, "column-A", kc, ap, at, lda)
				}
			}
		})
	}
}

// sameAsPacked runs the in-place-A micro-kernel f on a (stored with lda)
// and k's packed kernel on its packed copy ap, into one tile of a wider C
// (one row and columns of padding around it), for every store mode, and
// requires the same bits everywhere in C.
func sameAsPacked(t *testing.T, rng *rand.Rand, k *gemmKernel, f rowAKernelFunc, kind string, kc int, ap, a []float32, lda int) {
	t.Helper()
	b := randMatrix(rng, kc, k.nr, k.nr, 0)
	const ldc = 37 + 32
	c0 := randMatrix(rng, k.mr+1, ldc, ldc, 0)
	for mode := range 3 {
		want := append([]float32(nil), c0...)
		got := append([]float32(nil), c0...)
		k.fn(kc, &ap[0], &b[0], &want[ldc+3], ldc, -0.75, 0.5, mode)
		f(kc, &a[0], &b[0], &got[ldc+3], ldc, -0.75, 0.5, mode, lda)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s kc=%d lda=%d mode=%d: C[%d] = %v, packed kernel gives %v", kind, kc, lda, mode, i, got[i], want[i])
			}
		}
	}
}
