package kernels

// Causal attention on row blocks. A query row block [r0, r0+rows) of a
// causal T×T score matrix needs keys 0 … r0+rows−1 only, so it is stored as
// a rows × w matrix with w = r0+rows (row stride w): the masked upper
// triangle to the right of the block is neither computed nor stored, and
// inside the block's own diagonal square the masked entries are zeros.

// AttnCausalSoftmax applies the causal softmax to a row block in place: s is
// rows × lds (row stride lds), row t holds query r0+t against keys 0 … lds−1,
// and lds must be at least r0+rows. For each row t, with i = r0+t:
//
//	s[t,j] = exp(scale*s[t,j] − m) / Σ_{j'≤i} exp(scale*s[t,j'] − m)   for j ≤ i
//	s[t,j] = 0                                                          for i < j < lds
//
// with m = max_{j≤i} scale*s[t,j]. Entries j > i are overwritten whatever
// they held. scale must be > 0. With r0 = 0 and rows = lds = T it is
// CausalSoftmax(s, T, 0, T, scale).
func AttnCausalSoftmax(s []float32, lds, r0, rows int, scale float32) {
	if rows <= 0 {
		return
	}
	if !(scale > 0) {
		panic("kernels: AttnCausalSoftmax needs scale > 0")
	}
	if r0 < 0 || r0+rows > lds {
		panic("kernels: AttnCausalSoftmax block exceeds lds")
	}
	s = s[:rows*lds]
	v := vecs()
	for t := 0; t < rows; t++ {
		row := s[t*lds : (t+1)*lds]
		i := r0 + t
		softmaxRow(v, row[:i+1], scale)
		clear(row[i+1:])
	}
}

// AttnCausalSoftmaxBackward is CausalSoftmaxBackward on a row block laid out
// as for AttnCausalSoftmax (rows × lds, row t = query r0+t):
//
//	ds[t,j] = scale * p[t,j] * (dp[t,j] − Σ_{j'≤i} dp[t,j']·p[t,j'])   for j ≤ i = r0+t
//	ds[t,j] = 0                                                         for i < j < lds
//
// ds is OVERWRITTEN and may alias dp or p.
func AttnCausalSoftmaxBackward(ds, p, dp []float32, lds, r0, rows int, scale float32) {
	if rows <= 0 {
		return
	}
	if r0 < 0 || r0+rows > lds {
		panic("kernels: AttnCausalSoftmaxBackward block exceeds lds")
	}
	n := rows * lds
	causalSoftmaxBackRows(ds[:n], p[:n], dp[:n], lds, r0, rows, scale)
}

// AttnBlocks describes the row blocks of causal attention over T positions
// with blocks of (at most) blk query rows: block i covers rows
// [i·blk, min((i+1)·blk, T)) against keys [0, min((i+1)·blk, T)).
type AttnBlocks struct{ T, Blk int }

// N is the number of row blocks.
func (a AttnBlocks) N() int { return (a.T + a.Blk - 1) / a.Blk }

// Block returns block i's first row r0, its row count and its width w
// (keys 0 … w−1; w = r0+rows) and the offset of its rows × w scores in a
// packed buffer holding blocks 0, 1, … back to back.
func (a AttnBlocks) Block(i int) (r0, rows, w, off int) {
	r0 = i * a.Blk
	rows = min(a.Blk, a.T-r0)
	w = r0 + rows
	// Σ_{i'<i} blk·(i'+1)·blk: every earlier block is full.
	off = a.Blk * a.Blk * i * (i + 1) / 2
	return
}

// Size is the length of the packed buffer: Σ_i rows_i·w_i, about T²/2·(1 + Blk/T).
func (a AttnBlocks) Size() int {
	n := a.N()
	if n == 0 {
		return 0
	}
	_, rows, w, off := a.Block(n - 1)
	return off + rows*w
}
