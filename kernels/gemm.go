package kernels

import (
	"fmt"
	"sync"
	"unsafe"
)

// GEMM computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(A) is m×k, op(B) is k×n and C is m×n.
//
// Storage: if transA, A is stored k×m (element op(A)[i][p] = a[p*lda+i],
// lda >= m), else m×k (a[i*lda+p], lda >= k). If transB, B is stored n×k
// (op(B)[p][j] = b[j*ldb+p], ldb >= k), else k×n (b[p*ldb+j], ldb >= n).
// C[i][j] is c[i*ldc+j] with ldc >= n. Leading dimensions larger than the
// width address sub-matrix views; elements between rows are never touched.
//
// beta == 0 means C is not read, so NaN or garbage in C is overwritten.
// alpha == 0 or k == 0 reduces to C = beta*C (A and B are not read).
// m, n or k may be 0. GEMM panics if a dimension is negative, a leading
// dimension is too small or a slice is too short for the given shape.
//
// The work is split over Workers() goroutines with ParallelFor (small
// problems run serially); the reduction over k is never split, so the result
// is bit-identical for the same inputs regardless of the worker count. GEMM
// allocates nothing in steady state (packing buffers are pooled). It may be
// called concurrently from several goroutines; calls made while another
// ParallelFor is running (for example from inside a Task) run serially.
func GEMM(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GEMMSerial has exactly the contract of GEMM but runs entirely on the
// calling goroutine, without using the worker pool. It is meant for many
// small independent products issued from inside ParallelFor tasks (for
// example one per attention head) and is safe to call concurrently from
// several goroutines. Its results are bit-identical to GEMM's.
func GEMMSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmParallelMin is the m*n*k below which GEMM runs serially: under it the
// fork/join cost (a few µs) is comparable to the work.
const gemmParallelMin = 48 * 48 * 48

// gemm implements GEMM with the active path's micro-kernel and workers
// rectangles of C (0: Workers(), or 1 for problems under gemmParallelMin).
func gemm(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmKern(curPath.Load().gemm, workers, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmKern is gemm with the micro-kernel kern (the self-check runs a path
// that is not active).
func gemmKern(kern *gemmKernel, workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGEMMArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if workers <= 0 {
		workers = 1
		if float64(m)*float64(n)*float64(k) >= gemmParallelMin {
			workers = Workers()
		}
	}
	g := getGEMMCtx()
	g.kern = kern
	g.transA, g.transB = transA, transB
	g.m, g.n, g.k = m, n, k
	g.alpha, g.beta = alpha, beta
	g.a, g.b, g.c = a, b, c
	g.lda, g.ldb, g.ldc = lda, ldb, ldc
	g.workers = workers
	g.run()
	g.a, g.b, g.c = nil, nil, nil
	putGEMMCtx(g)
}

func checkGEMMArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: GEMM negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k // stored shape of A
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) {
		panic(fmt.Sprintf("kernels: GEMM leading dimension too small: lda=%d (need %d) ldb=%d (need %d) ldc=%d (need %d)",
			lda, max(1, ac), ldb, max(1, bc), ldc, max(1, n)))
	}
	if m == 0 || n == 0 {
		return
	}
	if need := (m-1)*ldc + n; len(c) < need {
		panic(fmt.Sprintf("kernels: GEMM len(c)=%d < %d", len(c), need))
	}
	if k == 0 {
		return
	}
	if need := (ar-1)*lda + ac; len(a) < need {
		panic(fmt.Sprintf("kernels: GEMM len(a)=%d < %d", len(a), need))
	}
	if need := (br-1)*ldb + bc; len(b) < need {
		panic(fmt.Sprintf("kernels: GEMM len(b)=%d < %d", len(b), need))
	}
}

// scaleC sets C = beta*C (C not read when beta == 0).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// gemmCtx holds one GEMM call's arguments, its blocking state and its packing
// buffers. Contexts are recycled through a free list so that steady-state
// calls do not allocate.
type gemmCtx struct {
	kern           *gemmKernel
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	workers        int
	wm, wn         int // worker grid: wm row groups × wn column groups
	mt, nt         int // mr-tall row tiles / nr-wide column panels of C

	w []gemmWorker // per worker state and buffers
}

// gemmWorker is one worker's packing buffers and current block.
type gemmWorker struct {
	apack []float32 // packed mc×kc A block, mr-tall micro-panels
	bpack []float32 // packed kc×nc B block, nr-wide micro-panels
	tmp   []float32 // mr×nr edge tile

	jc, nc, pc, kc int     // current column block and K slice
	mode           int     // kernelFunc mode for this K slice
	beta           float32 // beta for this K slice (1 after the first)
}

var gemmFree struct {
	sync.Mutex
	list []*gemmCtx
}

func getGEMMCtx() *gemmCtx {
	gemmFree.Lock()
	defer gemmFree.Unlock()
	if n := len(gemmFree.list); n > 0 {
		g := gemmFree.list[n-1]
		gemmFree.list = gemmFree.list[:n-1]
		return g
	}
	return new(gemmCtx)
}

func putGEMMCtx(g *gemmCtx) {
	gemmFree.Lock()
	gemmFree.list = append(gemmFree.list, g)
	gemmFree.Unlock()
}

// alignedBuf returns buf if it holds n floats, else a new 64-byte aligned
// slice of length n.
func alignedBuf(buf []float32, n int) []float32 {
	if len(buf) >= n {
		return buf
	}
	raw := make([]float32, n+16)
	off := 0
	if r := uintptr(unsafe.Pointer(&raw[0])) % 64; r != 0 {
		off = int(64-r) / 4
	}
	return raw[off : off+n : off+n]
}

// run executes the blocked algorithm. C is split into a wm×wn grid of
// tile-aligned rectangles, one per worker; each worker runs the whole
// Goto/BLIS loop nest on its rectangle with private packing buffers: for each
// nc-wide column block and kc-deep K slice it packs B (kc×nc, L3), then for
// each mc-tall row block packs A (mc×kc, L2) and sweeps the micro-kernel with
// the B micro-panel (kc×nr) L1-resident. Private B copies cost a little
// duplicate packing but need a single fork/join per call and keep each
// core's B in its own cache.
func (g *gemmCtx) run() {
	kn := g.kern
	w := g.workers
	for len(g.w) < w {
		g.w = append(g.w, gemmWorker{})
	}
	g.mt = (g.m + kn.mr - 1) / kn.mr
	g.nt = (g.n + kn.nr - 1) / kn.nr
	g.wm, g.wn = workerGrid(w, g.mt, g.nt)
	if w > 1 {
		ParallelFor(w, (*gemmCompute)(g))
	} else {
		g.work(0)
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// workerGrid splits w workers into wm×wn groups over mt row tiles and nt
// column panels, minimising the tiles of the busiest worker; on ties it
// prefers more row groups (each worker then packs all of B but only its
// own rows of A, and A is the operand with the larger reuse distance).
func workerGrid(w, mt, nt int) (wm, wn int) {
	best := -1
	for d := w; d >= 1; d-- {
		if w%d != 0 {
			continue
		}
		e := w / d
		load := ((mt + d - 1) / d) * ((nt + e - 1) / e)
		if best < 0 || load < best {
			best, wm, wn = load, d, e
		}
	}
	return wm, wn
}

// gemmCompute runs workers [lo, hi).
type gemmCompute gemmCtx

func (t *gemmCompute) Run(lo, hi int) {
	for id := lo; id < hi; id++ {
		(*gemmCtx)(t).work(id)
	}
}

// work computes worker id's rectangle of C. Rectangle edges are multiples
// of mr / nr from the origin, so every element is computed by the same tile
// with the same K order whatever the worker count (bit-identical results).
func (g *gemmCtx) work(id int) {
	kn := g.kern
	im, in := id/g.wn, id%g.wn
	t0, t1 := im*g.mt/g.wm, (im+1)*g.mt/g.wm
	p0, p1 := in*g.nt/g.wn, (in+1)*g.nt/g.wn
	if t0 == t1 || p0 == p1 {
		return
	}
	r0, r1 := t0*kn.mr, min(t1*kn.mr, g.m)
	c0, c1 := p0*kn.nr, min(p1*kn.nr, g.n)
	wk := &g.w[id]
	kcMax := min(kn.kc, g.k)
	wk.apack = alignedBuf(wk.apack, roundUp(min(kn.mc, r1-r0), kn.mr)*kcMax)
	wk.bpack = alignedBuf(wk.bpack, roundUp(min(kn.nc, c1-c0), kn.nr)*kcMax)
	wk.tmp = alignedBuf(wk.tmp, kn.mr*kn.nr)
	for jc := c0; jc < c1; jc += kn.nc {
		wk.jc, wk.nc = jc, min(kn.nc, c1-jc)
		for pc := 0; pc < g.k; pc += kn.kc {
			wk.pc, wk.kc = pc, min(kn.kc, g.k-pc)
			wk.mode, wk.beta = 1, 1
			if pc == 0 {
				wk.beta = g.beta
				switch g.beta {
				case 0:
					wk.mode = 0
				case 1:
					wk.mode = 1
				default:
					wk.mode = 2
				}
			}
			g.packB(wk)
			for ic := r0; ic < r1; ic += kn.mc {
				mc := min(kn.mc, r1-ic)
				// In-place A: only a ragged last row tile needs packing (zero padding).
				full := mc / kn.mr * kn.mr
				switch {
				case g.rowA():
					if full < mc {
						packTransposed(wk.apack[full*wk.kc:(full+kn.mr)*wk.kc], g.a, g.lda, ic+full, mc-full, pc, wk.kc, kn.mr)
					}
				case g.colA():
					if full < mc {
						packStraight(wk.apack[full*wk.kc:(full+kn.mr)*wk.kc], g.a, g.lda, pc, wk.kc, ic+full, mc-full, kn.mr)
					}
				default:
					g.packA(wk, ic, mc)
				}
				g.macro(wk, ic, mc)
			}
		}
	}
}

// packB packs the worker's current B block: op(B) rows [pc, pc+kc),
// columns [jc, jc+nc) into nr-wide micro-panels, zero padded.
func (g *gemmCtx) packB(wk *gemmWorker) {
	nr, kc := g.kern.nr, wk.kc
	if !g.transB {
		packStraight(wk.bpack, g.b, g.ldb, wk.pc, kc, wk.jc, wk.nc, nr)
		return
	}
	for j := 0; j < wk.nc; j += nr {
		packTransposed(wk.bpack[j*kc:(j+nr)*kc], g.b, g.ldb, wk.jc+j, min(nr, wk.nc-j), wk.pc, kc, nr)
	}
}

// rowA reports whether full tiles read A unpacked: non-transposed A, a
// kernel that supports it, and a row stride that is not a multiple of 4 KiB
// (there the micro-panel's rows alias one L1 set and evict the B panel, and
// packing wins). Skipping the pack saves 5-15 % on the skinny k=128..512
// training shapes, where each A element is used only 2n times.
func (g *gemmCtx) rowA() bool {
	return !g.transA && g.kern.fnRowA != nil && g.lda%1024 != 0
}

// colA reports whether full tiles read a transposed A unpacked (each
// k-step's mr values are contiguous, k-steps lda apart): a kernel that
// supports it and, as for rowA, a row stride that is not a multiple of
// 4 KiB. It saves the copy of A in the TN weight-gradient products
// (dW += dYᵀ·X, K = the token count), where every A element is used only
// 2n times.
func (g *gemmCtx) colA() bool {
	return g.transA && g.kern.fnColA != nil && g.lda%1024 != 0
}

// packA packs rows [ic, ic+mc) × K slice [pc, pc+kc) of op(A) into mr-tall
// micro-panels: apack[(ir/mr)*mr*kc + p*mr + r] = op(A)[ic+ir+r][pc+p], zero
// padded to a multiple of mr rows.
func (g *gemmCtx) packA(wk *gemmWorker, ic, mc int) {
	mr, kc := g.kern.mr, wk.kc
	if g.transA {
		packStraight(wk.apack, g.a, g.lda, wk.pc, kc, ic, mc, mr)
		return
	}
	for ir := 0; ir < mc; ir += mr {
		rows := min(mr, mc-ir)
		packTransposed(wk.apack[ir*kc:ir*kc+mr*kc], g.a, g.lda, ic+ir, rows, wk.pc, kc, mr)
	}
}

// packStraight packs src rows [p0, p0+kc), columns [j0, j0+cols) into
// ceil(cols/w) panels of w*kc floats laid out as panel[p*w+j], zero padding
// the last panel's columns. Source rows are read in order (streaming).
func packStraight(dst, src []float32, ld, p0, kc, j0, cols, w int) {
	full := cols / w
	rem := cols - full*w
	ps := w * kc // panel stride in dst
	if full > 0 && kc > 0 {
		// Bounds for the unchecked copy: last source and destination element.
		_ = src[(p0+kc-1)*ld+j0+full*w-1]
		_ = dst[(full-1)*ps+kc*w-1]
		panelCopy(&dst[0], &src[p0*ld+j0], kc, ld, w, full, ps)
	}
	if rem > 0 {
		for p := range kc {
			t := dst[full*ps+p*w : full*ps+p*w+w]
			copy(t, src[(p0+p)*ld+j0+full*w:(p0+p)*ld+j0+cols])
			clear(t[rem:])
		}
	}
}

// panelCopyGo is the portable panelCopy: for r < rows, q < npanels, copy w
// floats from src[r*lds+q*w] to dst[r*w+q*ps].
func panelCopyGo(dst, src *float32, rows, lds, w, npanels, ps int) {
	d := unsafe.Slice(dst, (npanels-1)*ps+rows*w)
	s := unsafe.Slice(src, (rows-1)*lds+npanels*w)
	for r := range rows {
		for q := range npanels {
			copy(d[q*ps+r*w:q*ps+r*w+w], s[r*lds+q*w:r*lds+q*w+w])
		}
	}
}

// packTransposed packs src rows [j0, j0+cols), columns [p0, p0+kc) into dst
// laid out as dst[p*w+j] (a transpose), zero padding j = cols..w-1.
func packTransposed(dst, src []float32, ld, j0, cols, p0, kc, w int) {
	dst = dst[:kc*w]
	if cols == w && w%4 == 0 {
		if kc == 0 {
			return
		}
		// Bounds for the unchecked transpose: last source element.
		_ = src[(j0+w-1)*ld+p0+kc-1]
		packT4(&dst[0], &src[j0*ld+p0], ld, kc, w)
		return
	}
	if cols == w && w == 6 {
		s0 := src[(j0)*ld+p0:][:kc]
		s1 := src[(j0+1)*ld+p0:][:kc]
		s2 := src[(j0+2)*ld+p0:][:kc]
		s3 := src[(j0+3)*ld+p0:][:kc]
		s4 := src[(j0+4)*ld+p0:][:kc]
		s5 := src[(j0+5)*ld+p0:][:kc]
		for p := range s0 {
			d := dst[p*6 : p*6+6]
			d[0], d[1], d[2], d[3], d[4], d[5] = s0[p], s1[p], s2[p], s3[p], s4[p], s5[p]
		}
		return
	}
	for j := range cols {
		s := src[(j0+j)*ld+p0:][:kc]
		for p, v := range s {
			dst[p*w+j] = v
		}
	}
	for j := cols; j < w; j++ {
		for p := range kc {
			dst[p*w+j] = 0
		}
	}
}

// packT4Go is the portable packT4: dst[p*w+j] = src[j*ld+p] for j < w,
// p < kc (w a positive multiple of 4), four source rows at a time (four
// streams, stores of 4 contiguous floats).
func packT4Go(dst, src *float32, ld, kc, w int) {
	d := unsafe.Slice(dst, kc*w)
	s := unsafe.Slice(src, (w-1)*ld+kc)
	for j := 0; j < w; j += 4 {
		s0 := s[j*ld:][:kc]
		s1 := s[(j+1)*ld:][:kc]
		s2 := s[(j+2)*ld:][:kc]
		s3 := s[(j+3)*ld:][:kc]
		for p := range s0 {
			t := d[p*w+j : p*w+j+4]
			t[0], t[1], t[2], t[3] = s0[p], s1[p], s2[p], s3[p]
		}
	}
}

// macro runs the micro-kernel over the worker's packed A block (rows
// [ic, ic+mc)) and all panels of its B block. Partial edge tiles go through
// the mr×nr tmp tile so the kernel always sees a full tile and does the same
// arithmetic as for interior tiles.
func (g *gemmCtx) macro(wk *gemmWorker, ic, mc int) {
	kn := g.kern
	mr, nr, kc := kn.mr, kn.nr, wk.kc
	fn := kn.fn
	c, ldc := g.c, g.ldc
	apack, tmp := wk.apack, wk.tmp
	alpha, beta, mode := g.alpha, wk.beta, wk.mode
	rowA, fnRowA := g.rowA(), kn.fnRowA
	colA, fnColA := g.colA(), kn.fnColA
	for jr := 0; jr < wk.nc; jr += nr {
		j := wk.jc + jr
		cols := min(nr, wk.nc-jr)
		bp := &wk.bpack[jr*kc]
		for ir := 0; ir < mc; ir += mr {
			rows := min(mr, mc-ir)
			ap := &apack[ir*kc]
			ci := (ic+ir)*ldc + j
			if rows == mr && cols == nr {
				switch {
				case rowA:
					fnRowA(kc, &g.a[(ic+ir)*g.lda+wk.pc], bp, &c[ci], ldc, alpha, beta, mode, g.lda)
				case colA:
					fnColA(kc, &g.a[wk.pc*g.lda+ic+ir], bp, &c[ci], ldc, alpha, beta, mode, g.lda)
				default:
					fn(kc, ap, bp, &c[ci], ldc, alpha, beta, mode)
				}
				continue
			}
			if rows == mr {
				// Column-ragged tile: pack this A micro-panel on the fly.
				switch {
				case rowA:
					packTransposed(apack[ir*kc:ir*kc+mr*kc], g.a, g.lda, ic+ir, mr, wk.pc, kc, mr)
				case colA:
					packStraight(apack[ir*kc:ir*kc+mr*kc], g.a, g.lda, wk.pc, kc, ic+ir, mr, mr)
				}
			}
			if mode != 0 {
				for r := range rows {
					copy(tmp[r*nr:r*nr+cols], c[ci+r*ldc:ci+r*ldc+cols])
				}
			}
			fn(kc, ap, bp, &tmp[0], nr, alpha, beta, mode)
			for r := range rows {
				copy(c[ci+r*ldc:ci+r*ldc+cols], tmp[r*nr:r*nr+cols])
			}
		}
	}
}

// genericKernel is the portable pure-Go micro-kernel (4×4 register tile).
var genericKernel = gemmKernel{
	name: pathGeneric, mr: 4, nr: 4, kc: 256, mc: 128, nc: 1024,
	fn: sgemmKernelGo,
}

// sgemmKernelGo implements kernelFunc for a 4×4 tile in pure Go.
func sgemmKernelGo(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int) {
	as := unsafe.Slice(a, kc*4)
	bs := unsafe.Slice(b, kc*4)
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < kc; p++ {
		av := as[p*4 : p*4+4 : p*4+4]
		bv := bs[p*4 : p*4+4 : p*4+4]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		a0 := av[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := av[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := av[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := av[3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	acc := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	for r := range 4 {
		row := cs[r*ldc : r*ldc+4 : r*ldc+4]
		for j := range 4 {
			v := alpha * acc[r][j]
			switch mode {
			case 1:
				v += row[j]
			case 2:
				v += beta * row[j]
			}
			row[j] = v
		}
	}
}
