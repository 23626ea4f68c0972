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
	in, out, rstd, weight = in[:rows*dim], out[:rows*dim], rstd[:rows], weight[:dim]
	for r := range rstd {
		x := in[r*dim : (r+1)*dim]
		ss := SumSquares(x)
		rs := float32(1 / math.Sqrt(ss/float64(dim)+float64(eps)))
		rstd[r] = rs
		mulScaled(out[r*dim:(r+1)*dim], x, weight, rs)
	}
}

// RMSNormBackward back-propagates dout (rows×dim) through RMSNorm, given the
// forward input in, weight and the forward's rstd. It ACCUMULATES:
//
//	din[r,j]   += rstd[r]*weight[j]*dout[r,j] − c[r]*in[r,j]
//	dweight[j] += Σ_r dout[r,j]*in[r,j]*rstd[r]
//
// with c[r] = rstd[r]³/dim · Σ_j dout[r,j]*weight[j]*in[r,j] (float32
// accumulation in several partial sums: 4 in Go, 16 lanes on AVX2). din is
// rows×dim, dweight is dim. din must not alias dout or in. Because every row adds into dweight, callers that
// parallelise over rows must give each worker its own dweight buffer (zeroed)
// and sum them afterwards.
func RMSNormBackward(din, dweight, dout, in, weight, rstd []float32, rows, dim int) {
	if rows <= 0 || dim <= 0 {
		return
	}
	n := rows * dim
	din, dout, in, rstd = din[:n], dout[:n], in[:n], rstd[:rows]
	weight, dweight = weight[:dim], dweight[:dim]
	for r, rs := range rstd {
		x := in[r*dim : (r+1)*dim]
		dy := dout[r*dim : (r+1)*dim]
		dx := din[r*dim : (r+1)*dim]
		rmsBackRow(dx, dweight, dy, x, weight, rs)
	}
}

// rmsBackRow does one row of RMSNormBackward.
func rmsBackRow(dx, dw, dy, x, w []float32, rs float32) {
	n := len(x)
	dx, dw, dy, w = dx[:n], dw[:n], dy[:n], w[:n]
	if vecAVX2 && n >= 8 {
		k := n &^ 7
		d := dot3AVX2(&dy[0], &w[0], &x[0], k)
		for j := k; j < n; j++ {
			d += dy[j] * w[j] * x[j]
		}
		c := rs * rs * rs / float32(n) * d
		rmsBackAVX2(&dx[0], &dw[0], &dy[0], &x[0], &w[0], k, rs, c)
		for j := k; j < n; j++ {
			dx[j] += rs*w[j]*dy[j] - c*x[j]
			dw[j] += dy[j] * x[j] * rs
		}
		return
	}
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= n; j += 4 {
		s0 += dy[j] * w[j] * x[j]
		s1 += dy[j+1] * w[j+1] * x[j+1]
		s2 += dy[j+2] * w[j+2] * x[j+2]
		s3 += dy[j+3] * w[j+3] * x[j+3]
	}
	for ; j < n; j++ {
		s0 += dy[j] * w[j] * x[j]
	}
	c := rs * rs * rs / float32(n) * ((s0 + s1) + (s2 + s3))
	for j := range x {
		dx[j] += rs*w[j]*dy[j] - c*x[j]
		dw[j] += dy[j] * x[j] * rs
	}
}
