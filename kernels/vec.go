package kernels

// Vector primitives. Each exported function dispatches to an AVX2+FMA
// assembly loop on amd64 CPUs that support it (see vec_amd64.go) for the bulk
// of the data, and finishes any tail with the portable Go loop; the Go loop
// is also the complete implementation elsewhere.

// Axpy computes y[i] += alpha*x[i] for i < len(x). y must be at least as long
// as x (it panics otherwise); y[len(x):] is untouched. x and y may be the same
// slice (then y = (1+alpha)*y) but must not partially overlap.
func Axpy(alpha float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	i := 0
	if vecAVX2 && n >= 8 {
		i = n &^ 7
		axpyAVX2(alpha, &x[0], &y[0], i)
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
func Scale(alpha float32, x []float32) {
	n := len(x)
	i := 0
	if vecAVX2 && n >= 8 {
		i = n &^ 7
		scaleAVX2(alpha, &x[0], i)
	}
	for j := i; j < n; j++ {
		x[j] *= alpha
	}
}

// Add computes dst[i] = a[i] + b[i] for i < len(dst); a and b must be at
// least len(dst) long (it panics otherwise). dst may alias a or b exactly
// (same first element); partial overlap is not allowed.
func Add(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	i := 0
	if vecAVX2 && n >= 8 {
		i = n &^ 7
		addAVX2(&dst[0], &a[0], &b[0], i)
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
func Dot(x, y []float32) float32 {
	n := len(x)
	y = y[:n]
	i := 0
	var s float32
	if vecAVX2 && n >= 8 {
		i = n &^ 7
		s = dotAVX2(&x[0], &y[0], i)
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
func SumSquares(x []float32) float64 {
	n := len(x)
	i := 0
	var s float64
	if vecAVX2 && n >= 16 {
		i = n &^ 15
		s = sumSquaresAVX2(&x[0], i)
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
func maxf(x []float32) float32 {
	n := len(x)
	i := 0
	m := x[0]
	if vecAVX2 && n >= 8 {
		i = n &^ 7
		m = maxAVX2(&x[0], i)
	}
	for ; i < n; i++ {
		if x[i] > m {
			m = x[i]
		}
	}
	return m
}

// mulScaled computes out[i] = (x[i]*s) * w[i] for i < len(out). out may alias x.
func mulScaled(out, x, w []float32, s float32) {
	n := len(out)
	x, w = x[:n], w[:n]
	i := 0
	if vecAVX2 && n >= 8 {
		i = n &^ 7
		mulScaledAVX2(&out[0], &x[0], &w[0], i, s)
	}
	for ; i < n; i++ {
		out[i] = x[i] * s * w[i]
	}
}
