package kernels

import "math"

// Fast float32 exponential shared by softmax, cross-entropy and SwiGLU.
//
// exp(x) = 2^k · exp(r), k = round(x·log2 e), r = x − k·ln2 computed with a
// two-constant (Cody–Waite) split of ln2 so that k·ln2hi is exact, |r| ≤ ~0.347.
// exp(r) is its degree-7 Taylor polynomial (truncation error < 6e-9
// relative), evaluated by Horner's rule; 2^k is built in the exponent bits.
// Measured max relative error vs math.Exp is a few float32 ulps (see tests).
//
// Range handling: x < expLo (−87.3, where the result would be within 1e-38 of
// zero or subnormal) returns exactly 0; x > expHi (88.37) is clamped to expHi,
// so the result saturates at ≈2.4e38 instead of overflowing to +Inf; NaN in,
// NaN out. The AVX2 kernels implement the same algorithm with FMAs.
const (
	expLo   = float32(-87.3)
	expHi   = float32(88.37)
	log2e   = float32(math.Log2E)
	ln2Hi   = float32(0.693145751953125) // 15 significant bits: k*ln2Hi is exact for |k| <= 127
	ln2Lo   = float32(1.4286068203094173e-06)
	expC7   = float32(1.0 / 5040)
	expC6   = float32(1.0 / 720)
	expC5   = float32(1.0 / 120)
	expC4   = float32(1.0 / 24)
	expC3   = float32(1.0 / 6)
	expC2   = float32(0.5)
	expBias = 127
)

// expf is the scalar version of the fast exponential described above.
func expf(x float32) float32 {
	if !(x >= expLo) {
		if x != x {
			return x
		}
		return 0
	}
	if x > expHi {
		x = expHi
	}
	k := float32(math.RoundToEven(float64(x * log2e)))
	r := x - k*ln2Hi
	r -= k * ln2Lo
	p := expC7*r + expC6
	p = p*r + expC5
	p = p*r + expC4
	p = p*r + expC3
	p = p*r + expC2
	p = p*r + 1
	p = p*r + 1
	return p * math.Float32frombits(uint32(int32(k)+expBias)<<23)
}

// expAffineSum computes e[i] = exp(a*src[i] − b) (fast exp above) for every
// element of src, stores e[i] into dst[i] unless dst is nil, and returns the
// sum of the e[i] accumulated in float64. dst, when non-nil, has len(src)
// elements and may be src itself.
func expAffineSum(dst, src []float32, a, b float32) float64 {
	return expAffineSumV(vecs(), dst, src, a, b)
}

func expAffineSumV(v *vecKernels, dst, src []float32, a, b float32) float64 {
	n := len(src)
	i := 0
	var s float64
	if v.expAffineSum != nil && n >= v.blk {
		i = n &^ (v.blk - 1)
		var d *float32
		if dst != nil {
			d = &dst[:n][0]
		}
		s = v.expAffineSum(d, &src[0], i, a, b)
	}
	if dst == nil {
		for ; i < n; i++ {
			s += float64(expf(a*src[i] - b))
		}
		return s
	}
	dst = dst[:n]
	for ; i < n; i++ {
		e := expf(a*src[i] - b)
		dst[i] = e
		s += float64(e)
	}
	return s
}
