package kernels

import "math"

// Softmax replaces each of the rows rows of x (rows×n, row-major, contiguous)
// by its softmax: x[r,j] = exp(x[r,j] − max_r) / Σ_j exp(x[r,j] − max_r).
// The max subtraction makes it overflow-free; exponentials use the package's
// fast float32 exp (relative error a few ulps) and the row sum is
// accumulated in float64. A row whose maximum is −Inf (all −Inf) becomes all
// zeros. Serial: to parallelise, call it on row sub-ranges x[lo*n:hi*n].
func Softmax(x []float32, rows, n int) {
	if rows <= 0 || n <= 0 {
		return
	}
	x = x[:rows*n]
	v := vecs()
	for r := 0; r < rows; r++ {
		softmaxRow(v, x[r*n:(r+1)*n], 1)
	}
}

// softmaxRow sets row[j] = softmax(scale*row)[j] with the vector set v;
// scale must be > 0.
func softmaxRow(v *vecKernels, row []float32, scale float32) {
	m := maxfV(v, row) * scale
	if math.IsInf(float64(m), -1) {
		clear(row)
		return
	}
	s := expAffineSumV(v, row, row, scale, m)
	scaleV(v, float32(1/s), row)
}

// CausalSoftmax applies the masked (causal) softmax to query rows [r0, r1) of
// the attention-score matrix s, in place. s is a dense T×T row-major matrix
// with row stride lds == T (row i = query i, column j = key j); only rows
// r0..r1-1 are read or written, so disjoint row ranges may run in parallel.
// For each row i:
//
//	s[i,j] = exp(scale*s[i,j] − m) / Σ_{j'≤i} exp(scale*s[i,j'] − m)   for j ≤ i
//	s[i,j] = 0                                                          for i < j < lds
//
// with m = max_{j≤i} scale*s[i,j]. Row 0 becomes [1, 0, 0, ...]. scale must be
// > 0 (typically 1/sqrt(head_dim)). Columns j > i are overwritten with zeros
// whatever they held, which is why the row width is taken to be lds: pass a
// T×T matrix with lds = T, not a strided view into a wider buffer.
func CausalSoftmax(s []float32, lds, r0, r1 int, scale float32) {
	if r1 <= r0 {
		return
	}
	if !(scale > 0) {
		panic("kernels: CausalSoftmax needs scale > 0")
	}
	if r1 > lds {
		panic("kernels: CausalSoftmax row range exceeds lds")
	}
	s = s[r0*lds : r1*lds]
	v := vecs()
	for i := r0; i < r1; i++ {
		row := s[(i-r0)*lds : (i-r0+1)*lds]
		softmaxRow(v, row[:i+1], scale)
		clear(row[i+1:])
	}
}

// CausalSoftmaxBackward computes, for query rows i in [r0, r1) of T×T
// matrices with row stride lds == T (same layout as CausalSoftmax):
//
//	ds[i,j] = scale * p[i,j] * (dp[i,j] − Σ_{j'≤i} dp[i,j']·p[i,j'])   for j ≤ i
//	ds[i,j] = 0                                                         for i < j < lds
//
// where p is the CausalSoftmax output and dp = ∂L/∂p, so ds = ∂L/∂s for the
// pre-scale scores s. ds is OVERWRITTEN. ds may alias dp or p (the same
// slice); the row dot product is taken before the row is written. The dot
// product is accumulated in float32 over several partial sums (see Dot).
func CausalSoftmaxBackward(ds, p, dp []float32, lds, r0, r1 int, scale float32) {
	if r1 <= r0 {
		return
	}
	if r1 > lds {
		panic("kernels: CausalSoftmaxBackward row range exceeds lds")
	}
	lo, hi := r0*lds, r1*lds
	causalSoftmaxBackRows(ds[lo:hi], p[lo:hi], dp[lo:hi], lds, r0, r1-r0, scale)
}

// causalSoftmaxBackRows is the row loop of CausalSoftmaxBackward and
// AttnCausalSoftmaxBackward: ds, p and dp hold rows × lds values, row t
// being query r0+t.
func causalSoftmaxBackRows(ds, p, dp []float32, lds, r0, rows int, scale float32) {
	v := vecs()
	for t := 0; t < rows; t++ {
		o, i := t*lds, r0+t
		pr := p[o : o+i+1]
		dpr := dp[o : o+i+1]
		dsr := ds[o : o+lds]
		d := dotV(v, pr, dpr)
		out := dsr[:len(pr)]
		for j := range out {
			out[j] = scale * pr[j] * (dpr[j] - d)
		}
		clear(dsr[i+1:])
	}
}
