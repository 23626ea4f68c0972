package kernels

import (
	"math/rand/v2"
	"testing"
	"unsafe"
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
			k.fnRowA = nil
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
