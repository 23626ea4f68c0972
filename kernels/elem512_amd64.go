//go:build amd64 && !purego

package kernels

import "unsafe"

// avx512Vec is the avx512 path's vector set: the AVX2+FMA loops
// (vec_amd64.s) with these in AVX-512F (elem512_amd64.s): the exp-based
// loops — softmax and cross-entropy (expAffineSum), SwiGLU and its
// backward, the Sinkhorn lanes' float64 exponentials (SinkhornExp) — RoPE
// (whole calls), RMSNorm and its backward (whole calls), sumSquares and
// AdamW. The set keeps the AVX2 block of 8 elements: the wrappers below
// run the zmm loop on the first multiple of 16 and the AVX2 loop on a
// remaining 8 (sumSquares' block is 16 already); the whole-call loops
// handle any length with a masked tail.
var avx512Vec = func() vecKernels {
	v := avx2Vec
	v.impl = pathAVX512
	v.expAffineSum = expAffineSum512
	v.swiglu = swiglu512
	v.swigluBack = swigluBack512
	v.sinkExp = sinkExpAVX512
	v.ropeRows = ropeRowsAVX512
	v.sumSquares = sumSquaresAVX512
	v.adamw = adamw512
	v.rmsNorm = rmsNorm512
	v.rmsNormBack = rmsNormBackAVX512
	return v
}()

// f32at returns p + i elements (p may be nil, then nil).
func f32at(p *float32, i int) *float32 {
	if p == nil {
		return nil
	}
	return (*float32)(unsafe.Add(unsafe.Pointer(p), 4*i))
}

func expAffineSum512(dst, src *float32, n int, a, b float32) float64 {
	n16 := n &^ 15
	var s float64
	if n16 > 0 {
		s = expAffineSumAVX512(dst, src, n16, a, b)
	}
	if n > n16 {
		s += expAffineSumAVX2(f32at(dst, n16), f32at(src, n16), n-n16, a, b)
	}
	return s
}

func swiglu512(out, gate, up *float32, n int) {
	n16 := n &^ 15
	if n16 > 0 {
		swigluAVX512(out, gate, up, n16)
	}
	if n > n16 {
		swigluAVX2(f32at(out, n16), f32at(gate, n16), f32at(up, n16), n-n16)
	}
}

func swigluBack512(dg, du, dout, gate, up *float32, n int) {
	n16 := n &^ 15
	if n16 > 0 {
		swigluBackAVX512(dg, du, dout, gate, up, n16)
	}
	if n > n16 {
		swigluBackAVX2(f32at(dg, n16), f32at(du, n16), f32at(dout, n16), f32at(gate, n16), f32at(up, n16), n-n16)
	}
}

// The AVX-512F loops process exactly n elements, n a positive multiple of
// 16.

//go:noescape
func expAffineSumAVX512(dst, src *float32, n int, a, b float32) float64

//go:noescape
func swigluAVX512(out, gate, up *float32, n int)

//go:noescape
func swigluBackAVX512(dg, du, dout, gate, up *float32, n int)

// sinkExpAVX512 is SinkhornExp's loop: one block of SinkLanes n×n problems,
// lane-minor, n ≥ 1 (float64 exp of elem512_amd64.s, ≤ 1 ulp).
//
//go:noescape
func sinkExpAVX512(m *float64, n int)

// ropeRowsAVX512 is the ropeRows loop (see vecKernels): whole RoPE calls,
// any even hd (a masked tail of hd/2 mod 16 pairs).
//
//go:noescape
func ropeRowsAVX512(x *float32, rows, stride, heads, hd int, c, s *float32, dir float32)

func adamw512(p, g, m, v *float32, n int, h adamHyper) {
	n16 := n &^ 15
	if n16 > 0 {
		adamwAVX512(p, g, m, v, n16, h)
	}
	if n > n16 {
		adamwAVX2(f32at(p, n16), f32at(g, n16), f32at(m, n16), f32at(v, n16), n-n16, h)
	}
}

// rmsNorm512 is the rmsNorm loop: rmsNormAVX512 with the float64 dim and eps.
func rmsNorm512(out, rstd, in, w *float32, rows, dim int, eps float32) {
	rmsNormAVX512(out, rstd, in, w, rows, dim, float64(dim), float64(eps))
}

// sumSquaresAVX512: n a positive multiple of 16 (the set's ssBlk).
//
//go:noescape
func sumSquaresAVX512(x *float32, n int) float64

//go:noescape
func adamwAVX512(p, grad, m, v *float32, n int, h adamHyper)

// rmsNormAVX512 / rmsNormBackAVX512: whole RMSNorm / RMSNormBackward calls
// (rows, dim ≥ 1, any dim: a masked tail of dim mod 16).
//
//go:noescape
func rmsNormAVX512(out, rstd, in, w *float32, rows, dim int, dimf, eps float64)

//go:noescape
func rmsNormBackAVX512(din, dw, dout, in, w, rstd *float32, rows, dim int, dimf float32)
