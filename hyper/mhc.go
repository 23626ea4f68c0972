package hyper

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/manifold"
	"github.com/mhc-go/mhc/param"
)

// mhc is the Manifold-Constrained Hyper-Connection of the mHC paper (§4.2,
// Eq. 7–9, in the fused form of Eq. 14–19) and, with a Lite manifold, its
// mHC-lite variant (arXiv 2601.05732). Per token, with v = vec(x_t) ∈ R^{nC}
// (the n streams of x_t concatenated, which is exactly x's row-major layout):
//
//	r      = 1/sqrt(mean(v²) + NormEps)            (eps inside the sqrt, as DeepSeek's code)
//	p      = φ·v                                   φ: [P, nC], P = 2n + R
//	h̃      = r·(α ⊙ p) + b                         α = [α_pre×n | α_post×n | α_res×R]
//	H_pre  = sigmoid(h̃[0:n])                       (fixed: 1/n)
//	H_post = 2·sigmoid(h̃[n:2n])                    (fixed: 1)
//	H_res  = Sinkhorn(h̃[2n:])                      (fixed: I)
//	u      = Σ_i H_pre[i]·x_i
//	xOut_i = Σ_j H_res[i,j]·x_j + H_post[i]·y      (row i of H_res forms output stream i)
//
// R is n² for mHC (H_res logits row-major in the paper's orientation,
// h̃_res[i·n+j] ↦ H_res[i][j]) and n! for mHC-lite (one logit per
// permutation, in the order of manifold.Permutation). The logit layout
// [pre | post | res] is DeepSeek's; φ is stored like DeepSeek's hc_fn,
// [outputs, nC], so the projection of all tokens is one NT GEMM.
//
// The work is split into seams with their own buffers: coefficients
// (projection, RMS, gates, sigmoids, Sinkhorn: x → proj, logit, r, hpre,
// hpost, hres) with the read-in fused into its per-token pass
// (preApplyToken: hpre, x → u), and postApply (hres, hpost, x, y → xOut). The projection and its gradients run per block of
// SinkLanes tokens inside the per-token passes (kernels.ProjForward,
// ProjBackX, ProjBackPhi; dφ through per-chunk partials) where the kernel
// path has them (kernels.ProjFast), else as GEMMs over all tokens;
// Sinkhorn runs kernels.SinkLanes tokens side by side in SIMD lanes
// (manifold.Sinkhorn.ForwardBatch / BackwardBatch, equal to the per-token
// iteration to the last float32 bit, bit-identical on the generic path;
// the backward recomputes the iteration); the apply
// passes and their backward are one fused pass per token each
// (kernels.ConnMix for the stream mixes, kernels.ConnDots for dH_pre,
// dH_post and dH_res). Across the seam between two sublayers, Post of one
// connection and Pre of the next (and backward PreBackward of the next and
// PostBackward of this one) can run interleaved per block of tokens
// (seam.go: PostPre, BackwardSeam). Per-token work runs in parallel over chunks of
// tokens that depend only on N (kernels.ParallelChunks); parameter-gradient
// reductions go through per-chunk float64 partials summed in chunk order
// and through GEMMs, so the results are bit-identical for any GOMAXPROCS.
type mhc struct {
	n, c, nc int // streams, channels, n·C
	r, p     int // res logits per token (n² or n!), all logits per token (2n + r)
	maxN     int
	normEps  float32

	fixPre, fixPost, fixRes bool
	sk                      manifold.Sinkhorn

	phi, alpha, bias *param.Tensor // [p, nc] (decay), [3], [p]

	// State of the last forward, per token (N rows).
	proj  []float32 // (N, p): raw projection φ·v
	logit []float32 // (N, p): h̃
	rstd  []float32 // (N): r
	hpre  []float32 // (N, n)
	hpost []float32 // (N, n)
	hres  []float32 // (N, n, n), paper orientation

	// Backward state: dH_post, dH_res stored by PostBackward for PreBackward.
	dhpost []float32 // (N, n)
	dhres  []float32 // (N, n, n)
	dp     []float32 // (N, p): dL/dp (after dL/dh̃ has been scaled by r·α)

	partial []float64                  // MaxChunks × (3 + p): per-chunk dα, db partials
	bws     []*manifold.BatchWorkspace // one batched-Sinkhorn workspace per chunk

	// Arguments of the running call, read by the tasks.
	ax, ay, au, adu, adx, adxOut, ady []float32

	coefTask, preBwdTask kernels.ChunkTask
	postTask, pbTask     kernels.ChunkTask

	// Seam (seam.go): the connection of the sublayer below, whose Post
	// (forward) or PostBackward (backward) the running fused call
	// interleaves with this connection's Pre or PreBackward per block of
	// tokens; inPlace: PostBackward's dxOut and dx are one buffer.
	below                 *mhc
	inPlace               bool
	postPreTask, seamTask kernels.ChunkTask

	scr []mhcScratch // per chunk: row tables and per-token weights of the fused apply kernels

	// φ projection by kernels.Proj* (projFast: the active kernel path has
	// them and p ≤ kernels.ProjMaxOut) instead of GEMMs over all tokens.
	projFast bool
	phiT     []float32 // (nc, ProjMaxOut): φᵀ for ProjForward, packed per forward
	phiPad   []float32 // (p, projLd): φ at a padded stride, set during PreBackward
	dphiPart []float32 // chunks × (p, projLd): per-chunk dφ partials, set during PreBackward
	projLd   int       // nc + 16: row stride of phiPad and dphiPart (not a multiple of 4 KiB)
}

// projPool holds the backward's φ copy and dφ partials, shared by the
// connections (they run one at a time; a model holds 2L of them).
var projPool sync.Pool

// projOff is a test hook: true makes the connections use the GEMMs.
var projOff bool

// mhcScratch is one chunk's scratch for kernels.ConnMix / ConnDots: row
// tables (long-lived, so that passing them does not allocate), a token's
// mixing weights and dot products.
type mhcScratch struct {
	a, b kernels.ConnRows
	w    []float32 // (n+1)·n
	d    []float32 // n·(n+1)
	cs   []float32 // kernels.SinkLanes: a block's RMS-gradient coefficients (projFast)
	g    []float32 // n·C: one token's dxOut rows for an in-place PostBackward (allocated on first use)
}

// mhcBias is the initial bias b = [b_pre (n) | b_post (n) | b_res (r)] of
// sublayer l for an init scheme (see InitUniform). r is n² (mHC, row-major
// H_res logits) or n! (lite, identity permutation first).
func mhcBias(n, r, l int, lite bool, scheme string, resBias float32) []float32 {
	b := make([]float32, 2*n+r)
	pre, post, res := b[:n], b[n:2*n], b[2*n:]
	switch scheme {
	case InitIdentity:
		home := l % n
		for i := range pre {
			pre[i] = -3
		}
		pre[home] = 3
		for k := range res {
			res[k] = -3
		}
		if lite {
			res[0] = 3
		} else {
			for i := range n {
				res[i*n+i] = 3
			}
		}
		return b
	case InitSplit:
		const s = 0.5
		for i := range post {
			if n > 1 {
				q := 1 + s*float64(2*i-(n-1))/float64(n-1)
				post[i] = float32(math.Log(q / (2 - q))) // logit(q/2)
			}
		}
	}
	if lite {
		res[0] = resBias // permutation 0 is the identity
	} else {
		for i := range n {
			res[i*n+i] = resBias
		}
	}
	return b
}

var (
	_ Connection = (*mhc)(nil)
	_ ResMixer   = (*mhc)(nil)
)

// mhcGrain is the token grain of the per-token parallel loops.
const mhcGrain = 8

// phiStd is the init std of φ: Glorot/Xavier for an nc → p map,
// sqrt(2/(nc+p)) (the variance of Megatron's Xavier-uniform mapping_proj).
func phiStd(nc, p int) float32 { return float32(math.Sqrt(2 / float64(nc+p))) }

// newMHC builds the mHC (lite: mHC-lite) connection of sublayer l and
// registers
//
//	prefix.phi   [p, n·C]  decay   Normal(sqrt(2/(n·C+p))) (identity init: 0)
//	prefix.alpha [3]       no decay 0.01 (α_pre, α_post, α_res)
//	prefix.bias  [p]       no decay by the init scheme (see InitUniform)
//
// with p = 2n + n² (lite: 2n + n!).
func newMHC(b Builder, prefix string, l int, lite bool) (*mhc, error) {
	cfg := b.Cfg
	n := cfg.Streams
	if n < 1 || b.C < 1 || b.MaxN < 1 {
		return nil, fmt.Errorf("mhc: streams %d, width %d, max tokens %d must be positive", n, b.C, b.MaxN)
	}
	sk := manifold.Sinkhorn{N: n, Iters: cfg.SinkhornIters, Eps: cfg.SinkhornEps}
	switch {
	case lite:
		sk.Variant, sk.Iters, sk.Eps = manifold.Lite, 0, 0
	case cfg.Sinkhorn == "paper":
		sk.Variant = manifold.Paper
	case cfg.Sinkhorn == "deepseek":
		sk.Variant = manifold.DeepSeek
	default:
		return nil, fmt.Errorf("mhc: sinkhorn %q: want paper or deepseek", cfg.Sinkhorn)
	}
	if err := sk.Validate(); err != nil {
		return nil, err
	}
	if !(cfg.NormEps > 0) {
		return nil, fmt.Errorf("mhc: coefficient norm eps %v must be positive", cfg.NormEps)
	}
	m := &mhc{n: n, c: b.C, nc: n * b.C, r: sk.LogitsPerToken(), maxN: b.MaxN, normEps: cfg.NormEps,
		fixPre: cfg.Fixed.Pre, fixPost: cfg.Fixed.Post, fixRes: cfg.Fixed.Res, sk: sk}
	m.p = 2*n + m.r
	N, p := b.MaxN, m.p

	scheme := cfg.InitScheme()
	m.phi = b.Store.Add(prefix+".phi", true, p, m.nc)
	m.phi.Init = param.Normal(phiStd(m.nc, p))
	if scheme == InitIdentity {
		m.phi.Init = nil // zeros
	}
	m.alpha = b.Store.Add(prefix+".alpha", false, 3)
	m.alpha.Init = param.Const(0.01)
	m.bias = b.Store.Add(prefix+".bias", false, p)
	bias := mhcBias(n, m.r, l, lite, scheme, cfg.ResBias)
	m.bias.Init = func(data []float32, _ *rand.Rand) { copy(data, bias) }

	m.proj, m.logit, m.dp = make([]float32, N*p), make([]float32, N*p), make([]float32, N*p)
	m.rstd = make([]float32, N)
	m.hpre, m.hpost, m.dhpost = make([]float32, N*n), make([]float32, N*n), make([]float32, N*n)
	m.hres, m.dhres = make([]float32, N*n*n), make([]float32, N*n*n)
	chunks := kernels.MaxChunks()
	m.partial = make([]float64, chunks*(3+p))
	for range chunks {
		m.bws = append(m.bws, manifold.NewBatchWorkspace(sk))
	}
	m.scr = make([]mhcScratch, chunks)
	for i := range m.scr {
		m.scr[i].w, m.scr[i].d = make([]float32, (n+1)*n), make([]float32, n*(n+1))
		m.scr[i].cs = make([]float32, kernels.SinkLanes)
	}
	m.coefTask = kernels.ChunkFunc(m.coefChunk)
	m.preBwdTask = kernels.ChunkFunc(m.preBackwardChunk)
	m.postTask = kernels.ChunkFunc(m.postApplyRange)
	m.pbTask = kernels.ChunkFunc(m.postBackwardRange)
	m.postPreTask = kernels.ChunkFunc(m.postPreChunk)
	m.seamTask = kernels.ChunkFunc(m.seamBackwardChunk)
	return m, nil
}

func (m *mhc) allFixed() bool { return m.fixPre && m.fixPost && m.fixRes }

func (m *mhc) checkN(N int) {
	if N < 0 || N > m.maxN {
		panic(fmt.Sprintf("hyper: mhc called with N = %d tokens, built for at most %d", N, m.maxN))
	}
}

// group returns the index into α of logit k: 0 pre, 1 post, 2 res.
func (m *mhc) group(k int) int {
	switch {
	case k < m.n:
		return 0
	case k < 2*m.n:
		return 1
	}
	return 2
}

func sigmoid(z float32) float32 { return float32(1 / (1 + math.Exp(-float64(z)))) }

// Pre computes the coefficients of every token from x (N, n, C) and
// OVERWRITES u (N, C) with u_t = Σ_i H_pre[t,i]·x_{t,i}. The coefficients are
// kept for Post and the backward passes.
func (m *mhc) Pre(x, u []float32, N int) {
	m.checkN(N)
	m.au = u // coefChunk applies H_pre token by token while x_t is in L1
	m.coefficients(x, N)
	m.au = nil
}

// coefficients fills proj, logit, rstd, hpre, hpost and hres for N tokens of
// x (N, n, C), all OVERWRITTEN: proj = x·φᵀ ((N, nC)·(nC, p)), then per
// token the RMS scale, gates, sigmoids and the Sinkhorn projection. The
// projection is kernels.ProjForward per block of SinkLanes tokens inside
// the per-token pass (x_t read once, in place) where the kernel path has
// it, else one GEMM over all tokens first.
func (m *mhc) coefficients(x []float32, N int) {
	if !m.coefPrepare() {
		kernels.GEMM(false, true, N, m.p, m.nc, 1, x, m.nc, m.phi.Data, m.nc, 0, m.proj, m.p)
	}
	m.ax = x
	kernels.ParallelChunks(N, mhcGrain, m.coefTask)
	m.ax = nil
}

// coefPrepare sets projFast for the next coefficient pass (packing φᵀ when
// it is set) and reports whether the pass can run token block by token
// block with nothing over all tokens first: true unless the projection is
// one GEMM over all of x (the caller's to run). (Names starting with coef
// or preBackward keep a method in the profile's "conn coef" phase,
// internal/prof.)
func (m *mhc) coefPrepare() (blockwise bool) {
	m.projFast = m.projLoops()
	if m.projFast {
		if m.phiT == nil {
			m.phiT = make([]float32, m.nc*kernels.ProjMaxOut)
		}
		kernels.ProjPackT(m.phiT, m.phi.Data, m.p, m.nc)
	}
	return m.projFast || m.allFixed()
}

// coefBlockwise reports whether coefPrepare would return true, without
// packing anything.
func (m *mhc) coefBlockwise() bool { return m.projLoops() || m.allFixed() }

// projLoops reports whether the φ projection runs through the kernels.Proj*
// loops (not a GEMM over all tokens): the active path has them, φ has at
// most ProjMaxOut rows, and some map is learned.
func (m *mhc) projLoops() bool {
	return !projOff && !m.allFixed() && m.p <= kernels.ProjMaxOut && kernels.ProjFast()
}

func (m *mhc) coefChunk(chunk, lo, hi int) {
	// Blocks of SinkLanes tokens from the chunk's start: they depend only
	// on N.
	for b := lo; b < hi; b += kernels.SinkLanes {
		m.coefBlock(chunk, b, min(b+kernels.SinkLanes, hi))
	}
}

// coefBlock is the coefficient pass (and the read-in when a Pre is
// running) for the tokens [lo, hi) of one chunk, at most SinkLanes of them
// starting at a block boundary of the chunk.
func (m *mhc) coefBlock(chunk, lo, hi int) {
	n, p, nc := m.n, m.p, m.nc
	a, b := m.alpha.Data, m.bias.Data
	if m.projFast {
		kernels.ProjForward(m.proj[lo*p:], p, m.ax[lo*nc:], nc, hi-lo, m.phiT, p, nc)
	}
	for t := lo; t < hi; t++ {
		hp, hq, hr := m.hpre[t*n:(t+1)*n], m.hpost[t*n:(t+1)*n], m.hres[t*n*n:(t+1)*n*n]
		if m.allFixed() {
			m.fixedMaps(hp, hq, hr)
			m.preApplyToken(chunk, t)
			continue
		}
		v := m.ax[t*nc : (t+1)*nc]
		r := float32(1 / math.Sqrt(kernels.SumSquares(v)/float64(nc)+float64(m.normEps)))
		m.rstd[t] = r
		pr, lg := m.proj[t*p:(t+1)*p], m.logit[t*p:(t+1)*p]
		ra := [3]float32{r * a[0], r * a[1], r * a[2]}
		for k := range lg {
			lg[k] = ra[m.group(k)]*pr[k] + b[k]
		}
		m.fixedMaps(hp, hq, hr)
		if !m.fixPre {
			for i := range hp {
				hp[i] = sigmoid(lg[i])
			}
		}
		if !m.fixPost {
			for i := range hq {
				hq[i] = 2 * sigmoid(lg[n+i])
			}
		}
		m.preApplyToken(chunk, t)
	}
	if !m.allFixed() && !m.fixRes && hi > lo {
		// H_res of the block, tokens side by side in SIMD lanes (per token
		// the same bits as any other grouping). M0 is not kept for the
		// backward (nil saved): that would cost SavedPerToken float64 per
		// token of activation memory (128 B at n = 4) to save 16
		// exponentials per token there.
		nn := n * n
		m.sk.ForwardBatch(m.hres[lo*nn:hi*nn], m.logit[lo*p+2*n:], p, hi-lo, nil, m.bws[chunk])
	}
}

// fixedMaps writes the fixed values of the maps held fixed (pre 1/n, post 1,
// res I) into one token's hpre (n), hpost (n) and hres (n×n).
func (m *mhc) fixedMaps(hp, hq, hr []float32) {
	n := m.n
	if m.fixPre {
		for i := range hp {
			hp[i] = 1 / float32(n)
		}
	}
	if m.fixPost {
		for i := range hq {
			hq[i] = 1
		}
	}
	if m.fixRes {
		clear(hr)
		for i := 0; i < n; i++ {
			hr[i*n+i] = 1
		}
	}
}

// preApplyToken OVERWRITES u_t (when a Pre is running, m.au != nil) with
// Σ_i hpre[t,i]·x_{t,i}: one fused pass (kernels.ConnMix), run by coefChunk
// right after the token's coefficients, while x_t is still in L1 from its
// RMS.
func (m *mhc) preApplyToken(chunk, t int) {
	if m.au == nil {
		return
	}
	n, c := m.n, m.c
	sc := &m.scr[chunk]
	sc.a.Reset(c)
	sc.a.Add(m.au[t*c : (t+1)*c])
	sc.b.Reset(c)
	sc.b.AddBlock(m.ax[t*n*c:(t+1)*n*c], n)
	kernels.ConnMix(&sc.a, &sc.b, m.hpre[t*n:(t+1)*n], false)
}

// Post OVERWRITES xOut (N, n, C) with xOut_i = Σ_j H_res[i,j]·x_j +
// H_post[i]·y per token, using the coefficients of the last Pre (which must
// have seen the same x).
func (m *mhc) Post(x, y, xOut []float32, N int) {
	m.checkN(N)
	m.postApply(x, y, xOut, N)
}

// postApply is the post+res-apply seam: xOut (N, n, C) OVERWRITTEN from x
// (N, n, C), y (N, C), hres and hpost, one fused pass per token
// (kernels.ConnMix with the weights [H_post[i] | H_res[i,:]] on [y; x]).
func (m *mhc) postApply(x, y, xOut []float32, N int) {
	m.ax, m.ay, m.adx = x, y, xOut
	kernels.ParallelChunks(N, mhcGrain, m.postTask)
	m.ax, m.ay, m.adx = nil, nil, nil
}

func (m *mhc) postApplyRange(chunk, lo, hi int) {
	n, c := m.n, m.c
	sc := &m.scr[chunk]
	w := sc.w[:n*(n+1)]
	for t := lo; t < hi; t++ {
		hr, hq := m.hres[t*n*n:(t+1)*n*n], m.hpost[t*n:(t+1)*n]
		for i := 0; i < n; i++ {
			w[i*(n+1)] = hq[i]
			copy(w[i*(n+1)+1:(i+1)*(n+1)], hr[i*n:(i+1)*n])
		}
		sc.a.Reset(c)
		sc.a.AddBlock(m.adx[t*n*c:(t+1)*n*c], n)
		sc.b.Reset(c)
		sc.b.Add(m.ay[t*c : (t+1)*c])
		sc.b.AddBlock(m.ax[t*n*c:(t+1)*n*c], n)
		kernels.ConnMix(&sc.a, &sc.b, w, false)
	}
}

// PostBackward OVERWRITES dy (N, C) with Σ_i H_post[i]·dxOut_i and dx
// (N, n, C) with dx_j = Σ_i H_res[i,j]·dxOut_i, and stores dL/dH_post[t,i] =
// ⟨dxOut_i, y⟩ and dL/dH_res[t,i,j] = ⟨dxOut_i, x_j⟩ for PreBackward.
func (m *mhc) PostBackward(x, y, dxOut, dy, dx []float32, N int) {
	m.checkN(N)
	m.ax, m.ay, m.adxOut, m.ady, m.adx = x, y, dxOut, dy, dx
	kernels.ParallelChunks(N, mhcGrain, m.pbTask)
	m.ax, m.ay, m.adxOut, m.ady, m.adx = nil, nil, nil, nil, nil
}

// postBackwardRange: per token, [dx; dy] = [H_resᵀ; H_postᵀ]·dxOut in one
// fused pass (kernels.ConnMix), and dxOut·[y; x]ᵀ (dH_post, dH_res) in
// another (kernels.ConnDots).
func (m *mhc) postBackwardRange(chunk, lo, hi int) {
	n, c := m.n, m.c
	sc := &m.scr[chunk]
	w, d := sc.w[:(n+1)*n], sc.d[:n*(n+1)]
	needDots := !m.fixPost || !m.fixRes
	if m.inPlace && sc.g == nil {
		sc.g = make([]float32, n*c)
	}
	for t := lo; t < hi; t++ {
		xt, yt := m.ax[t*n*c:(t+1)*n*c], m.ay[t*c:(t+1)*c]
		gt, dyt, dxt := m.adxOut[t*n*c:(t+1)*n*c], m.ady[t*c:(t+1)*c], m.adx[t*n*c:(t+1)*n*c]
		if m.inPlace {
			// dx overwrites dxOut: read the token's dxOut from a copy.
			copy(sc.g, gt)
			gt = sc.g
		}
		hr, hq := m.hres[t*n*n:(t+1)*n*n], m.hpost[t*n:(t+1)*n]
		for j := 0; j < n; j++ {
			for i := 0; i < n; i++ {
				w[j*n+i] = hr[i*n+j]
			}
		}
		copy(w[n*n:], hq)
		sc.a.Reset(c)
		sc.a.AddBlock(dxt, n)
		sc.a.Add(dyt)
		sc.b.Reset(c)
		sc.b.AddBlock(gt, n)
		kernels.ConnMix(&sc.a, &sc.b, w, false)
		if !needDots {
			continue
		}
		sc.a.Reset(c)
		sc.a.Add(yt)
		sc.a.AddBlock(xt, n)
		kernels.ConnDots(d, &sc.b, &sc.a) // d[i·(n+1)]: ⟨dxOut_i, y⟩, d[i·(n+1)+1+j]: ⟨dxOut_i, x_j⟩
		if !m.fixPost {
			dq := m.dhpost[t*n : (t+1)*n]
			for i := range dq {
				dq[i] = d[i*(n+1)]
			}
		}
		if !m.fixRes {
			dr := m.dhres[t*n*n : (t+1)*n*n]
			for i := 0; i < n; i++ {
				copy(dr[i*n:(i+1)*n], d[i*(n+1)+1:(i+1)*(n+1)])
			}
		}
	}
}

// PreBackward ACCUMULATES into dx (N, n, C) the gradient through u (H_pre·du)
// and through the coefficients (sigmoids, Sinkhorn, gates, RMS scale and
// projection, using dH_post and dH_res stored by PostBackward), and
// ACCUMULATES the parameter gradients into φ, α and b. Fixed maps pass no
// gradient to their logits.
func (m *mhc) PreBackward(x, du, dx []float32, N int) {
	m.checkN(N)
	pool := m.preBackwardBegin(N)
	m.ax, m.adu, m.adx = x, du, dx
	chunks := kernels.ParallelChunks(N, mhcGrain, m.preBwdTask)
	m.ax, m.adu, m.adx = nil, nil, nil
	m.preBackwardEnd(x, dx, N, chunks, pool)
}

// preBackwardBegin clears the per-chunk partials and, on the projection
// kernels' path, takes the padded φ copy and the dφ partials from projPool
// (returned, for preBackwardEnd).
func (m *mhc) preBackwardBegin(N int) *[]float32 {
	clear(m.partial)
	if !m.projFast || N == 0 {
		return nil
	}
	// φ at a padded stride for ProjBackX, and one dφ partial per chunk.
	var pool *[]float32
	m.projLd = m.nc + 16
	sz := m.p * m.projLd
	need := (1 + kernels.MaxChunks()) * sz
	if v, ok := projPool.Get().(*[]float32); ok && len(*v) >= need {
		pool = v
	} else {
		b := make([]float32, need)
		pool = &b
	}
	m.phiPad, m.dphiPart = (*pool)[:sz], (*pool)[sz:need]
	for j := 0; j < m.p; j++ {
		copy(m.phiPad[j*m.projLd:j*m.projLd+m.nc], m.phi.Data[j*m.nc:(j+1)*m.nc])
	}
	return pool
}

// preBackwardEnd reduces the chunks' parameter-gradient partials in chunk
// order and, off the projection kernels' path, runs the φ GEMMs (dφ and
// dx += dp·φ over all tokens).
func (m *mhc) preBackwardEnd(x, dx []float32, N, chunks int, pool *[]float32) {
	if pool != nil {
		// dφ += the chunks' partials, in chunk order (dx took dp·φ in the
		// chunks already).
		g, ld := m.phi.Grad, m.projLd
		for ch := 0; ch < chunks; ch++ {
			part := m.dphiPart[ch*m.p*ld:]
			for j := 0; j < m.p; j++ {
				kernels.Axpy(1, part[j*ld:j*ld+m.nc], g[j*m.nc:(j+1)*m.nc])
			}
		}
		m.phiPad, m.dphiPart = nil, nil
		projPool.Put(pool)
	}
	if m.allFixed() || N == 0 {
		return
	}
	// Reduce the per-chunk partials in chunk order.
	p := m.p
	ga, gb := m.alpha.Grad, m.bias.Grad
	for k := 0; k < 3+p; k++ {
		var s float64
		for ch := 0; ch < chunks; ch++ {
			s += m.partial[ch*(3+p)+k]
		}
		if k < 3 {
			ga[k] += float32(s)
		} else {
			gb[k-3] += float32(s)
		}
	}
	if m.projFast {
		return
	}
	// dφ += dpᵀ·v ((p, N)·(N, nC)); dx += dp·φ ((N, p)·(p, nC)).
	kernels.GEMM(true, false, p, m.nc, N, 1, m.dp, p, x, m.nc, 1, m.phi.Grad, m.nc)
	kernels.GEMM(false, false, N, m.nc, p, 1, m.dp, p, m.phi.Data, m.nc, 1, dx, m.nc)
}

// preBackwardBlockwise reports whether PreBackward's dx is complete block
// by block (no GEMM over all tokens after the chunks' pass).
func (m *mhc) preBackwardBlockwise() bool { return m.projFast || m.allFixed() }

func (m *mhc) preBackwardChunk(chunk, lo, hi int) {
	// Blocks of SinkLanes tokens: the three passes of a block touch the
	// same rows of x and dx, which stay in L1 between them.
	const B = kernels.SinkLanes
	for b := lo; b < hi; b += B {
		m.preBackwardBlock(chunk, b, min(b+B, hi), b == lo)
	}
}

// preBackwardBlock is PreBackward for the tokens [lo, hi) of one chunk
// (first: the chunk's first block).
func (m *mhc) preBackwardBlock(chunk, lo, hi int, first bool) {
	n, c, p, nc := m.n, m.c, m.p, m.nc
	a := m.alpha.Data
	part := m.partial[chunk*(3+p) : (chunk+1)*(3+p)]
	// Pass 1, per token: the read-in's gradient dx_i += H_pre[i]·du
	// (kernels.ConnMix) and dL/dh̃ of pre (⟨du, x_i⟩, kernels.ConnDots) and
	// post.
	sc := &m.scr[chunk]
	dots := sc.d[:n]
	for t := lo; t < hi; t++ {
		xt, dut, dxt := m.ax[t*nc:(t+1)*nc], m.adu[t*c:(t+1)*c], m.adx[t*nc:(t+1)*nc]
		hp := m.hpre[t*n : (t+1)*n]
		sc.a.Reset(c)
		sc.a.AddBlock(dxt, n)
		sc.b.Reset(c)
		sc.b.Add(dut)
		kernels.ConnMix(&sc.a, &sc.b, hp, true)
		if m.allFixed() {
			continue
		}
		d := m.dp[t*p : (t+1)*p]
		if !m.fixPre {
			sc.a.Reset(c)
			sc.a.AddBlock(xt, n)
			kernels.ConnDots(dots, &sc.b, &sc.a)
		}
		for i := 0; i < n; i++ {
			if m.fixPre {
				d[i] = 0
				continue
			}
			s := hp[i]
			d[i] = dots[i] * s * (1 - s)
		}
		hq, dq := m.hpost[t*n:(t+1)*n], m.dhpost[t*n:(t+1)*n]
		for i := 0; i < n; i++ {
			if m.fixPost {
				d[n+i] = 0
				continue
			}
			h := hq[i] // 2σ, so dH/dz = 2σ(1−σ) = h·(1 − h/2)
			d[n+i] = dq[i] * h * (1 - h/2)
		}
		if m.fixRes {
			clear(d[2*n:])
		}
	}
	if m.allFixed() || hi == lo {
		return
	}
	// Pass 2: dL/dh̃_res of the block through Sinkhorn, tokens in SIMD lanes
	// (the iteration recomputed from the logits).
	if !m.fixRes {
		nn := n * n
		m.sk.BackwardBatch(m.dp[lo*p+2*n:], p, m.dhres[lo*nn:hi*nn], m.logit[lo*p+2*n:], p, hi-lo, nil, m.bws[chunk])
	}
	// Pass 3, per token: h̃_k = r·α_g·p_k + b_k: db += d, dα_g += d·r·p,
	// dr = Σ d·α_g·p, dp = d·r·α_g (overwrites d).
	for t := lo; t < hi; t++ {
		xt, dxt := m.ax[t*nc:(t+1)*nc], m.adx[t*nc:(t+1)*nc]
		d := m.dp[t*p : (t+1)*p]
		r := m.rstd[t]
		pr := m.proj[t*p : (t+1)*p]
		var dr float64
		for k, dk := range d {
			g := m.group(k)
			part[3+k] += float64(dk)
			part[g] += float64(dk) * float64(r) * float64(pr[k])
			dr += float64(dk) * float64(a[g]) * float64(pr[k])
			d[k] = dk * r * a[g]
		}
		// r = (Σv²/nc + eps)^(-1/2): ∂r/∂v = −r³·v/nc.
		cs := float32(-dr * float64(r) * float64(r) * float64(r) / float64(nc))
		if m.projFast {
			sc.cs[t-lo] = cs
			continue
		}
		kernels.Axpy(cs, xt, dxt)
	}
	if m.projFast {
		// dx += cs·x + dp·φ and this chunk's dφ partial (+)= dpᵀ·x for the
		// block, its rows of x and dx still in L1.
		ld := m.projLd
		kernels.ProjBackX(m.adx[lo*nc:], m.ax[lo*nc:], sc.cs, nc, m.dp[lo*p:], p, hi-lo, m.phiPad, ld, p, nc)
		kernels.ProjBackPhi(m.dphiPart[chunk*p*ld:(chunk+1)*p*ld], ld, m.dp[lo*p:], p, m.ax[lo*nc:], nc, hi-lo, p, nc, !first)
	}
}

// MeanRes OVERWRITES dst (n·n) with H_res averaged over the N tokens of the
// last forward, paper orientation (dst[i·n+j]: input stream j → output i).
func (m *mhc) MeanRes(dst []float64, N int) {
	m.checkN(N)
	nn := m.n * m.n
	dst = dst[:nn]
	clear(dst)
	if N == 0 {
		return
	}
	for t := 0; t < N; t++ {
		for k, v := range m.hres[t*nn : (t+1)*nn] {
			dst[k] += float64(v)
		}
	}
	for k := range dst {
		dst[k] /= float64(N)
	}
}
