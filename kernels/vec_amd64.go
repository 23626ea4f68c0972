//go:build amd64 && !purego

package kernels

// avx2Vec is the vector-kernel set of the AVX2+FMA assembly loops below
// (vec_amd64.s), used by the avx2 and avx512 paths.
var avx2Vec = vecKernels{
	impl: pathAVX2, blk: 8, ssBlk: 16,
	axpy: axpyAVX2, scale: scaleAVX2, add: addAVX2, dot: dotAVX2,
	sumSquares: sumSquaresAVX2, max: maxAVX2, mulScaled: mulScaledAVX2,
	expAffineSum: expAffineSumAVX2, swiglu: swigluAVX2, swigluBack: swigluBackAVX2,
	adamw: adamwAVX2, rope: ropeAVX2, rmsBack: rmsBackAVX2, dot3: dot3AVX2,
	sinkExp: sinkExpAVX2,
}

// The assembly loops below process exactly n elements, n a multiple of 8
// (16 for sumSquaresAVX2), n >= 8; the Go wrappers handle tails.

//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func scaleAVX2(alpha float32, x *float32, n int)

//go:noescape
func addAVX2(dst, a, b *float32, n int)

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func sumSquaresAVX2(x *float32, n int) float64

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func mulScaledAVX2(out, x, w *float32, n int, s float32)

// expAffineSumAVX2: dst[i] = exp(a*src[i]-b) (dst may be nil: no stores),
// returns the float64 sum.
//
//go:noescape
func expAffineSumAVX2(dst, src *float32, n int, a, b float32) float64

//go:noescape
func swigluAVX2(out, gate, up *float32, n int)

//go:noescape
func swigluBackAVX2(dg, du, dout, gate, up *float32, n int)

//go:noescape
func adamwAVX2(p, grad, m, v *float32, n int, h adamHyper)

//go:noescape
func ropeAVX2(a, b, c, s *float32, n int, dir float32)

//go:noescape
func rmsBackAVX2(dx, dw, dy, x, w *float32, n int, rs, c float32)

//go:noescape
func dot3AVX2(a, b, c *float32, n int) float32

// sinkExpAVX2 is SinkhornExp's loop on the avx2 path: one block of
// SinkLanes n×n problems, lane-minor, n ≥ 1 (float64 exp, ≤ 1 ulp).
//
//go:noescape
func sinkExpAVX2(m *float64, n int)
