package kernels

import "math"

// RMSNorm normalises rows rows of in (rows×dim, row-major):
//
//	rstd[r]  = 1 / sqrt(mean_j(in[r,j]²) + eps)
//	out[r,j] = in[r,j] * rstd[r] * weight[j]
//
// out (rows×dim) and rstd (rows) are OVERWRITTEN; rstd is kept for the
// backward pass. The sum of squares is accumulated in float64. out may alias
// in. Serial: parallelise over row sub-ranges (in[lo*dim:], out[lo*dim:],
// rstd[lo:]).
func RMSNorm(out, rstd, in, weight []float32, rows, dim int, eps float32) {
	if rows <= 0 || dim <= 0 {
		return
	}
	rmsNormV(vecs(), out, rstd, in, weight, rows, dim, eps)
}

// rmsNormV is RMSNorm with the vector set v (rows, dim ≥ 1).
func rmsNormV(v *vecKernels, out, rstd, in, weight []float32, rows, dim int, eps float32) {
	in, out, rstd, weight = in[:rows*dim], out[:rows*dim], rstd[:rows], weight[:dim]
	if v.rmsNorm != nil {
		v.rmsNorm(&out[0], &rstd[0], &in[0], &weight[0], rows, dim, eps)
		return
	}
	for r := range rstd {
		x := in[r*dim : (r+1)*dim]
		ss := sumSquaresV(v, x)
		rs := float32(1 / math.Sqrt(ss/float64(dim)+float64(eps)))
		rstd[r] = rs
		mulScaledV(v, out[r*dim:(r+1)*dim], x, weight, rs)
	}
}

// RMSNormBackward back-propagates dout (rows×dim) through RMSNorm, given the
// forward input in, weight and the forward's rstd. It ACCUMULATES:
//
//	din[r,j]   += rstd[r]*weight[j]*dout[r,j] − c[r]*in[r,j]
//	dweight[j] += Σ_r dout[r,j]*in[r,j]*rstd[r]
//
// with c[r] = rstd[r]³/dim · Σ_j dout[r,j]*weight[j]*in[r,j] (float32
// accumulation in several partial sums: 4 in Go, 16 lanes on AVX2, 32 on
// AVX-512). din is
// rows×dim, dweight is dim. din must not alias dout or in. Because every row adds into dweight, callers that
// parallelise over rows must give each worker its own dweight buffer (zeroed)
// and sum them afterwards.
func RMSNormBackward(din, dweight, dout, in, weight, rstd []float32, rows, dim int) {
	if rows <= 0 || dim <= 0 {
		return
	}
	rmsNormBackV(vecs(), din, dweight, dout, in, weight, rstd, rows, dim)
}

// rmsNormBackV is RMSNormBackward with the vector set v (rows, dim ≥ 1).
func rmsNormBackV(v *vecKernels, din, dweight, dout, in, weight, rstd []float32, rows, dim int) {
	n := rows * dim
	din, dout, in, rstd = din[:n], dout[:n], in[:n], rstd[:rows]
	weight, dweight = weight[:dim], dweight[:dim]
	if v.rmsNormBack != nil {
		v.rmsNormBack(&din[0], &dweight[0], &dout[0], &in[0], &weight[0], &rstd[0], rows, dim, float32(dim))
		return
	}
	for r, rs := range rstd {
		x := in[r*dim : (r+1)*dim]
		dy := dout[r*dim : (r+1)*dim]
		dx := din[r*dim : (r+1)*dim]
		rmsBackRow(v, dx, dweight, dy, x, weight, rs)
	}
}

// rmsBackRow does one row of RMSNormBackward with the vector set v.
func rmsBackRow(v *vecKernels, dx, dw, dy, x, w []float32, rs float32) {
	n := len(x)
	dx, dw, dy, w = dx[:n], dw[:n], dy[:n], w[:n]
	c := rs * rs * rs / float32(n) * dot3V(v, dy, w, x)
	i := 0
	if v.rmsBack != nil && n >= v.blk {
		i = n &^ (v.blk - 1)
		v.rmsBack(&dx[0], &dw[0], &dy[0], &x[0], &w[0], i, rs, c)
	}
	for j := i; j < n; j++ {
		dx[j] += rs*w[j]*dy[j] - c*x[j]
		dw[j] += dy[j] * x[j] * rs
	}
}

// dot3V returns sum(a[i]*b[i]*c[i]) for i < len(a) with the vector set v:
// the loop's lanes plus a sequential tail, or 4 partial sums in Go.
func dot3V(v *vecKernels, a, b, c []float32) float32 {
	n := len(a)
	b, c = b[:n], c[:n]
	if v.dot3 != nil && n >= v.blk {
		k := n &^ (v.blk - 1)
		d := v.dot3(&a[0], &b[0], &c[0], k)
		for j := k; j < n; j++ {
			d += a[j] * b[j] * c[j]
		}
		return d
	}
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= n; j += 4 {
		s0 += a[j] * b[j] * c[j]
		s1 += a[j+1] * b[j+1] * c[j+1]
		s2 += a[j+2] * b[j+2] * c[j+2]
		s3 += a[j+3] * b[j+3] * c[j+3]
	}
	for ; j < n; j++ {
		s0 += a[j] * b[j] * c[j]
	}
	return (s0 + s1) + (s2 + s3)
}
