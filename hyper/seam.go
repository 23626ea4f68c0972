package hyper

import "github.com/mhc-go/mhc/kernels"

// The seam between two sublayers. In the forward pass sublayer l's write-out
// Post_l is immediately followed by sublayer l+1's read-in Pre_{l+1}, both
// streaming the state x_{l+1} (N, n, C); in the backward pass
// PreBackward_{l+1} is immediately followed by PostBackward_l, both
// streaming dL/dx_{l+1}. Run separately, each of these passes reads (and
// writes) the whole state from and to memory, and at n·C floats per token
// that traffic, not arithmetic, bounds them. PostPre and BackwardSeam run
// the two calls of a seam as one pass over blocks of tokens where both
// connections support it (two HC connections; two mHC or mHC-lite ones
// with the projection kernels, kernels.ProjFast, or all maps fixed; see
// seamer), so that the block's rows are still in cache for the second
// call, and fall back to the separate calls otherwise.
//
// The fused passes do per token exactly the arithmetic of the separate
// calls, in the same token chunks (kernels.ParallelChunks with the same
// grain) and blocks, with the parameter-gradient partials reduced in the
// same order: the results are bit-identical to the separate calls.

// seamer is implemented by connections that can fuse a seam with the
// connection of the sublayer above (next). Each method reports false,
// having done nothing, when it cannot fuse this pair; the caller then
// runs the separate calls.
type seamer interface {
	// postPre is Post(x, y, xNext, N) followed by next.Pre(xNext, uNext, N).
	postPre(next Connection, x, y, xNext, uNext []float32, N int) bool
	// backwardSeam is next.PreBackward(xNext, du, dx, N) followed by
	// PostBackward(x, y, dx, dy, dx, N) with dx updated in place.
	backwardSeam(next Connection, x, y, xNext, du, dx, dy []float32, N int) bool
}

// PostPre runs the forward seam between sublayer l (connection cur) and
// sublayer l+1 (connection next): cur.Post(x, y, xNext, N) then
// next.Pre(xNext, uNext, N), with the contracts of those calls (x, xNext
// (N, n, C), y, uNext (N, C); xNext and uNext OVERWRITTEN; xNext must not
// alias x). The result, and the state both connections keep for their
// backward, are bit-identical to the separate calls.
func PostPre(cur, next Connection, x, y, xNext, uNext []float32, N int) {
	if s, ok := cur.(seamer); ok && s.postPre(next, x, y, xNext, uNext, N) {
		return
	}
	cur.Post(x, y, xNext, N)
	next.Pre(xNext, uNext, N)
}

// BackwardSeam runs the backward seam between sublayer l (connection cur)
// and sublayer l+1 (connection next): next.PreBackward(xNext, du, dx, N)
// then cur.PostBackward(x, y, dx, dy, ·, N). On entry dx (N, n, C) holds
// the part of dL/dx_{l+1} that next's PostBackward wrote and du (N, C) is
// dL/du_{l+1}; x (N, n, C) and y (N, C) are sublayer l's state and output,
// xNext (N, n, C) is x_{l+1}. dy (N, C) is OVERWRITTEN with dL/dy_l.
//
// It returns the buffer that holds the part of dL/dx_l that flows through
// cur's Post (PostBackward's dx output): dx itself when the pair fuses in
// place (dx's dL/dx_{l+1} is then gone, overwritten token by token), else
// spare (N, n, C, OVERWRITTEN; it must not alias dx), and dx then holds the
// complete dL/dx_{l+1}. Callers must use the returned buffer and treat the
// other one as free. Parameter gradients are ACCUMULATED as by the separate
// calls, with the same bits, as are dy and the returned gradient.
func BackwardSeam(cur, next Connection, x, y, xNext, du, dx, dy, spare []float32, N int) []float32 {
	if s, ok := cur.(seamer); ok && s.backwardSeam(next, x, y, xNext, du, dx, dy, N) {
		return dx
	}
	next.PreBackward(xNext, du, dx, N)
	cur.PostBackward(x, y, dx, dy, spare, N)
	return spare
}

var _ seamer = (*mhc)(nil)

// seamWith returns next as an *mhc when m can fuse a seam with it: same
// streams and width, and not m itself.
func (m *mhc) seamWith(next Connection) *mhc {
	nx, ok := next.(*mhc)
	if !ok || nx == m || nx.n != m.n || nx.c != m.c {
		return nil
	}
	return nx
}

// postPre fuses m.Post with nx.Pre when nx's coefficients need no pass over
// all tokens first (the projection kernels, or all maps fixed): per block
// of SinkLanes tokens of nx's coefficient chunks, m's write-out of the
// block's rows of xNext, then nx's coefficients and read-in on them.
func (m *mhc) postPre(next Connection, x, y, xNext, uNext []float32, N int) bool {
	nx := m.seamWith(next)
	if nx == nil || !nx.coefBlockwise() {
		return false
	}
	m.checkN(N)
	nx.checkN(N)
	if !nx.coefPrepare() {
		panic("hyper: mhc seam: coefficients not blockwise") // coefBlockwise said they were
	}
	m.ax, m.ay, m.adx = x, y, xNext
	nx.ax, nx.au, nx.below = xNext, uNext, m
	kernels.ParallelChunks(N, mhcGrain, nx.postPreTask)
	m.ax, m.ay, m.adx = nil, nil, nil
	nx.ax, nx.au, nx.below = nil, nil, nil
	return true
}

// postPreChunk is the fused forward seam for one chunk of tokens: the
// blocks of coefChunk, each preceded by the write-out of its rows by the
// connection below.
func (m *mhc) postPreChunk(chunk, lo, hi int) {
	for b := lo; b < hi; b += kernels.SinkLanes {
		e := min(b+kernels.SinkLanes, hi)
		m.below.postApplyRange(chunk, b, e)
		m.coefBlock(chunk, b, e)
	}
}

// backwardSeam fuses nx.PreBackward with m.PostBackward, in place in dx,
// when nx's PreBackward completes dx block by block (the projection
// kernels, or all maps fixed): per block of SinkLanes tokens of nx's
// chunks, nx's pre-backward of the block, then m's post-backward of the
// same rows of dx, each token's dL/dx_{l+1} read from a copy in L1.
func (m *mhc) backwardSeam(next Connection, x, y, xNext, du, dx, dy []float32, N int) bool {
	nx := m.seamWith(next)
	if nx == nil || !nx.preBackwardBlockwise() {
		return false
	}
	m.checkN(N)
	nx.checkN(N)
	pool := nx.preBackwardBegin(N)
	m.ax, m.ay, m.adxOut, m.ady, m.adx, m.inPlace = x, y, dx, dy, dx, true
	nx.ax, nx.adu, nx.adx, nx.below = xNext, du, dx, m
	chunks := kernels.ParallelChunks(N, mhcGrain, nx.seamTask)
	m.ax, m.ay, m.adxOut, m.ady, m.adx, m.inPlace = nil, nil, nil, nil, nil, false
	nx.ax, nx.adu, nx.adx, nx.below = nil, nil, nil, nil
	nx.preBackwardEnd(xNext, dx, N, chunks, pool)
	return true
}

// seamBackwardChunk is the fused backward seam for one chunk: the blocks of
// preBackwardChunk, each followed by the post-backward of its rows by the
// connection below.
func (m *mhc) seamBackwardChunk(chunk, lo, hi int) {
	for b := lo; b < hi; b += kernels.SinkLanes {
		e := min(b+kernels.SinkLanes, hi)
		m.preBackwardBlock(chunk, b, e, b == lo)
		m.below.postBackwardRange(chunk, b, e)
	}
}

var _ seamer = (*hc)(nil)

// seamWith returns next as an *hc when h can fuse a seam with it: same
// streams and width, and not h itself.
func (h *hc) seamWith(next Connection) *hc {
	nx, ok := next.(*hc)
	if !ok || nx == h || nx.n != h.n || nx.c != h.c {
		return nil
	}
	return nx
}

// hcSeamBlock is the token block of HC's fused seams: its rows of the
// state stay in cache between the two calls.
const hcSeamBlock = 8

// postPre fuses h.Post with nx.Pre: per block of tokens of nx's Pre
// chunks, h's write-out of the block's rows of xNext, then nx's
// coefficients and read-in on them.
func (h *hc) postPre(next Connection, x, y, xNext, uNext []float32, N int) bool {
	nx := h.seamWith(next)
	if nx == nil {
		return false
	}
	nc := N * h.n * h.c
	nx.preChunkWeights()
	h.x, h.y, h.dxOut = x[:nc], y[:N*h.c], xNext[:nc]
	nx.x, nx.u, nx.below = xNext[:nc], uNext[:N*h.c], h
	kernels.ParallelChunks(N, hcGrain, nx.postPreTask)
	h.x, h.y, h.dxOut = nil, nil, nil
	nx.x, nx.u, nx.below = nil, nil, nil
	return true
}

func (h *hc) postPreChunk(chunk, lo, hi int) {
	for b := lo; b < hi; b += hcSeamBlock {
		e := min(b+hcSeamBlock, hi)
		h.below.postRange(b, e)
		h.preChunk(chunk, b, e)
	}
}

// backwardSeam fuses nx.PreBackward with h.PostBackward, in place in dx:
// per block of tokens of nx's chunks, nx's pre-backward of the block, then
// h's post-backward of the same rows of dx, each token's dL/dx_{l+1} read
// from a copy.
func (h *hc) backwardSeam(next Connection, x, y, xNext, du, dx, dy []float32, N int) bool {
	nx := h.seamWith(next)
	if nx == nil {
		return false
	}
	nc := N * h.n * h.c
	h.x, h.y, h.dxOut, h.dy, h.dx = x[:nc], y[:N*h.c], dx[:nc], dy[:N*h.c], dx[:nc]
	nx.x, nx.du, nx.dx, nx.below = xNext[:nc], du[:N*h.c], dx[:nc], h
	chunks := kernels.ParallelChunks(N, hcGrain, nx.seamTask)
	h.x, h.y, h.dxOut, h.dy, h.dx = nil, nil, nil, nil, nil
	nx.x, nx.du, nx.dx, nx.below = nil, nil, nil, nil
	nx.preBackChunkReduce(chunks)
	return true
}

func (h *hc) seamBackwardChunk(chunk, lo, hi int) {
	h.preBackChunkClear(chunk)
	g := h.below.gs[chunk]
	if g == nil {
		g = make([]float32, h.n*h.c)
		h.below.gs[chunk] = g
	}
	for b := lo; b < hi; b += hcSeamBlock {
		e := min(b+hcSeamBlock, hi)
		h.preBackChunkTokens(chunk, b, e)
		h.below.postBackTokens(b, e, g)
	}
}
