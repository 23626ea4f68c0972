//go:build amd64 && !purego

package kernels

import "unsafe"

// avx512Vec is the avx512 path's vector set: the AVX2+FMA loops
// (vec_amd64.s) with the exp-based loops — softmax and cross-entropy
// (expAffineSum), SwiGLU and its backward — in AVX-512F (elem512_amd64.s).
// The set keeps the AVX2 block of 8 elements: the wrappers below run the
// zmm loop on the first multiple of 16 and the AVX2 loop on a remaining 8.
var avx512Vec = func() vecKernels {
	v := avx2Vec
	v.impl = pathAVX512
	v.expAffineSum = expAffineSum512
	v.swiglu = swiglu512
	v.swigluBack = swigluBack512
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
