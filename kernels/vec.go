package kernels

// vecKernels is one kernel path's set of vector loops (a column group of the
// dispatch table, see kernelPath). A nil loop means the portable Go code
// runs instead, so the generic set (goVec) has every loop nil. Each loop
// processes exactly n elements, n a positive multiple of blk (of ssBlk for
// sumSquares), both powers of two; the Go wrappers run the loop on the
// largest such prefix and finish the tail in Go. A set for a new
// instruction set (AVX-512 vector loops, say) is a new value of this type in
// an arch file, put in that path's row by archPaths; the self-check
// (vecChecks) covers every field. Calls through function values are opaque
// to escape analysis, so slices passed to the vector kernels count as
// escaping (buffers in this engine are heap slices anyway), and the loops
// take small structs such as adamHyper by value rather than by pointer.
type vecKernels struct {
	impl  string // instruction set of the loops: "avx2", or "generic" when all are nil
	blk   int    // element multiple of every loop except sumSquares
	ssBlk int    // element multiple of sumSquares

	axpy         func(alpha float32, x, y *float32, n int)
	scale        func(alpha float32, x *float32, n int)
	add          func(dst, a, b *float32, n int)
	dot          func(x, y *float32, n int) float32
	sumSquares   func(x *float32, n int) float64
	max          func(x *float32, n int) float32
	mulScaled    func(out, x, w *float32, n int, s float32)
	expAffineSum func(dst, src *float32, n int, a, b float32) float64 // dst may be nil
	swiglu       func(out, gate, up *float32, n int)
	swigluBack   func(dg, du, dout, gate, up *float32, n int)
	adamw        func(p, grad, m, v *float32, n int, h adamHyper)
	rope         func(a, b, c, s *float32, n int, dir float32)
	rmsBack      func(dx, dw, dy, x, w *float32, n int, rs, c float32)
	dot3         func(a, b, c *float32, n int) float32

	// ropeRows is a whole RoPE / RoPEBackward call (not an n-element
	// loop): x points at the first row's first head (offset applied), c and
	// s at the table row of the first position, rows, heads ≥ 1, hd ≥ 2
	// even, any hd/2; see rope. When nil, rope runs the rope loop per head.
	ropeRows func(x *float32, rows, stride, heads, hd int, c, s *float32, dir float32)

	// rmsNorm / rmsNormBack are whole RMSNorm / RMSNormBackward calls
	// (not n-element loops; rows, dim ≥ 1, any dim). When nil, those run
	// the sumSquares + mulScaled and dot3 + rmsBack loops per row.
	rmsNorm     func(out, rstd, in, w *float32, rows, dim int, eps float32)
	rmsNormBack func(din, dw, dout, in, w, rstd *float32, rows, dim int, dimf float32)

	// sinkExp is SinkhornExp on one block of SinkLanes n×n problems
	// (float64, lane-minor; not an n-element loop, blk does not apply).
	sinkExp func(m *float64, n int)
}

// goVec is the generic set: every kernel runs its portable Go loop.
var goVec = vecKernels{impl: pathGeneric}

// Vector primitives. Each exported function runs the active path's vector
// loop (vecs(); on amd64 the AVX2+FMA assembly of vec_amd64.s) on the bulk
// of the data and finishes any tail with the portable Go loop, which is also
// the complete implementation on the generic path. The unexported *V
// variants take the set explicitly (the self-check runs them for a path
// that is not active).

// Axpy computes y[i] += alpha*x[i] for i < len(x). y must be at least as long
// as x (it panics otherwise); y[len(x):] is untouched. x and y may be the same
// slice (then y = (1+alpha)*y) but must not partially overlap.
func Axpy(alpha float32, x, y []float32) { axpyV(vecs(), alpha, x, y) }

func axpyV(v *vecKernels, alpha float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	i := 0
	if v.axpy != nil && n >= v.blk {
		i = n &^ (v.blk - 1)
		v.axpy(alpha, &x[0], &y[0], i)
	}
	axpyGo(alpha, x[i:], y[i:])
}

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// Scale computes x[i] *= alpha for every element of x.
func Scale(alpha float32, x []float32) { scaleV(vecs(), alpha, x) }

func scaleV(v *vecKernels, alpha float32, x []float32) {
	n := len(x)
	i := 0
	if v.scale != nil && n >= v.blk {
		i = n &^ (v.blk - 1)
		v.scale(alpha, &x[0], i)
	}
	for j := i; j < n; j++ {
		x[j] *= alpha
	}
}

// Add computes dst[i] = a[i] + b[i] for i < len(dst); a and b must be at
// least len(dst) long (it panics otherwise). dst may alias a or b exactly
// (same first element); partial overlap is not allowed.
func Add(dst, a, b []float32) { addV(vecs(), dst, a, b) }

func addV(v *vecKernels, dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	i := 0
	if v.add != nil && n >= v.blk {
		i = n &^ (v.blk - 1)
		v.add(&dst[0], &a[0], &b[0], i)
	}
	for j := i; j < n; j++ {
		dst[j] = a[j] + b[j]
	}
}

// Dot returns sum(x[i]*y[i]) for i < len(x); y must be at least len(x) long.
//
// Accumulation is float32 in several independent partial sums (32 lanes on
// the AVX2 path, 4 in the Go loop) that are added at the end, so the result
// depends on the code path and is not the sequentially rounded sum; its
// error grows like sqrt(len/lanes)·ε rather than len·ε. Use SumSquares, or
// accumulate in float64 yourself, when more precision is needed.
func Dot(x, y []float32) float32 { return dotV(vecs(), x, y) }

func dotV(v *vecKernels, x, y []float32) float32 {
	n := len(x)
	y = y[:n]
	i := 0
	var s float32
	if v.dot != nil && n >= v.blk {
		i = n &^ (v.blk - 1)
		s = v.dot(&x[0], &y[0], i)
	}
	return s + dotGo(x[i:], y[i:])
}

func dotGo(x, y []float32) float32 {
	n := len(x)
	y = y[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < n; i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// SumSquares returns sum(x[i]^2) accumulated in float64 (each square is
// formed exactly in float64), e.g. for gradient-norm clipping.
func SumSquares(x []float32) float64 { return sumSquaresV(vecs(), x) }

func sumSquaresV(v *vecKernels, x []float32) float64 {
	n := len(x)
	i := 0
	var s float64
	if v.sumSquares != nil && n >= v.ssBlk {
		i = n &^ (v.ssBlk - 1)
		s = v.sumSquares(&x[0], i)
	}
	return s + sumSquaresGo(x[i:])
}

func sumSquaresGo(x []float32) float64 {
	n := len(x)
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= n; i += 4 {
		a, b, c, d := float64(x[i]), float64(x[i+1]), float64(x[i+2]), float64(x[i+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < n; i++ {
		a := float64(x[i])
		s0 += a * a
	}
	return (s0 + s1) + (s2 + s3)
}

// maxf returns the largest element of x (len(x) >= 1). The result for input
// containing NaN is unspecified (it may or may not be NaN).
func maxf(x []float32) float32 { return maxfV(vecs(), x) }

func maxfV(v *vecKernels, x []float32) float32 {
	n := len(x)
	i := 0
	m := x[0]
	if v.max != nil && n >= v.blk {
		i = n &^ (v.blk - 1)
		m = v.max(&x[0], i)
	}
	for ; i < n; i++ {
		if x[i] > m {
			m = x[i]
		}
	}
	return m
}

// mulScaledV computes out[i] = (x[i]*s) * w[i] for i < len(out) with the
// vector set v. out may alias x.
func mulScaledV(v *vecKernels, out, x, w []float32, s float32) {
	n := len(out)
	x, w = x[:n], w[:n]
	i := 0
	if v.mulScaled != nil && n >= v.blk {
		i = n &^ (v.blk - 1)
		v.mulScaled(&out[0], &x[0], &w[0], i, s)
	}
	for ; i < n; i++ {
		out[i] = x[i] * s * w[i]
	}
}
