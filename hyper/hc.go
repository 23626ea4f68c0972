package hyper

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
)

// HCNormEps is the eps inside the square root of the parameter-free
// LayerNorm that dynamic HC applies to every stream before its coefficient
// projections (PyTorch's LayerNorm default).
const HCNormEps = 1e-5

// HCScaleInit is the initial value of the dynamic-term gates s_α and s_β
// (HC paper Eq. 14).
const HCScaleInit = 0.01

// hcGrain is the token grain of HC's parallel loops: smaller batches run on
// the calling goroutine.
const hcGrain = 8

// hc is dynamic Hyper-Connections with tanh (HC paper §2.2, Eq. 8–14; the
// Appendix J code is normative). For one token with streams x_0..x_{n-1}
// (each C channels) and sublayer output y:
//
//	h̄_i      = LayerNorm(x_i) over C, no learned weight or bias, eps HCNormEps
//	alpha    = s_α·tanh(H̄·W_α) + static_alpha     (n, n+1); row i from stream i
//	beta     = s_β·tanh(H̄·W_β) + static_beta      (n)
//	u        = Σ_i alpha[i,0]·x_i                   (Pre)
//	x'_j     = Σ_i alpha[i,1+j]·x_i + beta[j]·y     (Post)
//
// so in the mHC orientation H_pre[i] = alpha[i,0], H_post[j] = beta[j] and
// H_res[j][i] = alpha[i,1+j] (H_res = A_rᵀ, HC paper §2.1).
//
// Parameters (prefix p; "decay" = AdamW weight decay):
//
//	p.static_alpha  [n, n+1]  no decay  [one_hot(l mod n) | I_n]
//	p.static_beta   [n]       no decay  1
//	p.dynamic_alpha [C, n+1]  decay     0
//	p.dynamic_beta  [C]       decay     0
//	p.scale_alpha   [1]       no decay  HCScaleInit (s_α, shared by pre and res)
//	p.scale_beta    [1]       no decay  HCScaleInit (s_β)
//
// With this init and identical streams the model equals Pre-Norm at step 0.
//
// Config.Fixed holds maps at their static init value and drops their dynamic
// term: "pre" → alpha[:,0] = one_hot(l mod n) (HC's own static read-in, not
// mHC's 1/n), "res" → I, "post" → 1. The corresponding entries of the
// parameters get zero gradient (the tensors stay registered, so the
// checkpoint layout does not depend on Fixed).
//
// Per-token state lives in buffers sized for MaxN tokens: Pre computes every
// coefficient of the token (including beta, used by Post), so Post, the
// backward calls and MeanRes refer to the last Pre.
type hc struct {
	n, c, k int // streams, channels, coefficients per stream (n+2)
	maxN    int
	onehot  int // l mod n: the stream read by the static pre map
	fixPre  bool
	fixRes  bool
	fixPost bool

	staticA, staticB, dynA, dynB, scaleA, scaleB *param.Tensor

	wt    []float32 // (n+2, C): [W_α | W_β]ᵀ, rebuilt by Pre
	mu    []float32 // (maxN, n) LayerNorm means
	rstd  []float32 // (maxN, n) LayerNorm 1/sqrt(var+eps)
	th    []float32 // (maxN, n, n+2) tanh of the projections
	coef  []float32 // (maxN, n, n+2): alpha[i][0..n], beta[i] at n+1
	dcoef []float32 // (maxN, n, n+2): dL/dcoef, filled by PostBackward and PreBackward

	scratch []float32 // MaxChunks × 2C: per-chunk h̄ and dL/dh̄ rows
	dwPart  []float32 // MaxChunks × (n+2)·C: per-chunk dL/dW in wt layout
	sPart   []float64 // MaxChunks × (n(n+2)+2): per-chunk static and scale gradients

	// arguments of the call in progress
	x, u, y, dxOut, dy, dx, du []float32

	preTask, preBackTask   kernels.ChunkTask
	postTask, postBackTask kernels.Task

	// Seam (seam.go): the connection below whose Post or PostBackward the
	// running fused call interleaves with this one's Pre or PreBackward;
	// gs[chunk] (n·C, allocated on first use) holds one token's dxOut for
	// an in-place PostBackward.
	below                 *hc
	gs                    [][]float32
	postPreTask, seamTask kernels.ChunkTask
}

// newHC registers the parameters of sublayer l's HC connection under prefix
// and returns it (a *hc, which also implements ResMixer).
func newHC(b Builder, prefix string, l int) (Connection, error) {
	n, c := b.Cfg.Streams, b.C
	if n < 1 || n > 16 || c < 1 || b.MaxN < 1 || b.Store == nil {
		return nil, fmt.Errorf("hc: invalid builder (streams %d, C %d, MaxN %d)", n, c, b.MaxN)
	}
	k := n + 2
	h := &hc{
		n: n, c: c, k: k, maxN: b.MaxN, onehot: ((l % n) + n) % n,
		fixPre: b.Cfg.Fixed.Pre, fixRes: b.Cfg.Fixed.Res, fixPost: b.Cfg.Fixed.Post,
	}
	s := b.Store
	h.staticA = s.Add(prefix+".static_alpha", false, n, n+1)
	onehot := h.onehot
	h.staticA.Init = func(d []float32, _ *rand.Rand) {
		clear(d)
		for i := 0; i < n; i++ {
			if i == onehot {
				d[i*(n+1)] = 1
			}
			d[i*(n+1)+1+i] = 1
		}
	}
	h.staticB = s.Add(prefix+".static_beta", false, n)
	h.staticB.Init = param.Const(1)
	h.dynA = s.Add(prefix+".dynamic_alpha", true, c, n+1)
	h.dynB = s.Add(prefix+".dynamic_beta", true, c)
	h.scaleA = s.Add(prefix+".scale_alpha", false, 1)
	h.scaleA.Init = param.Const(HCScaleInit)
	h.scaleB = s.Add(prefix+".scale_beta", false, 1)
	h.scaleB.Init = param.Const(HCScaleInit)

	N, mc := b.MaxN, kernels.MaxChunks()
	h.wt = make([]float32, k*c)
	h.mu, h.rstd = make([]float32, N*n), make([]float32, N*n)
	h.th, h.coef, h.dcoef = make([]float32, N*n*k), make([]float32, N*n*k), make([]float32, N*n*k)
	h.scratch = make([]float32, mc*2*c)
	h.dwPart = make([]float32, mc*k*c)
	h.sPart = make([]float64, mc*h.sLen())
	h.preTask = kernels.ChunkFunc(h.preChunk)
	h.preBackTask = kernels.ChunkFunc(h.preBackChunk)
	h.postTask = kernels.TaskFunc(h.postRange)
	h.postBackTask = kernels.TaskFunc(h.postBackRange)
	h.gs = make([][]float32, mc)
	h.postPreTask = kernels.ChunkFunc(h.postPreChunk)
	h.seamTask = kernels.ChunkFunc(h.seamBackwardChunk)
	return h, nil
}

// sLen is the length of one chunk's scalar partials: n·(n+2) coefficient
// sums (static gradients), then dL/ds_α and dL/ds_β.
func (h *hc) sLen() int { return h.n*h.k + 2 }

// fixed reports whether coefficient k of a stream (0 pre, 1..n res, n+1
// post) is held at its static init value.
func (h *hc) fixed(k int) bool {
	switch {
	case k == 0:
		return h.fixPre
	case k <= h.n:
		return h.fixRes
	}
	return h.fixPost
}

// fixedValue is the constant of a fixed coefficient k of stream i.
func (h *hc) fixedValue(i, k int) float32 {
	switch {
	case k == 0 && i == h.onehot, k > 0 && k <= h.n && k-1 == i, k == h.n+1:
		return 1
	}
	return 0
}

// Pre OVERWRITES u (N, C) with Σ_i alpha[i,0]·x_i and computes every
// coefficient of the N tokens of x (N, n, C) for Post and the backward.
func (h *hc) Pre(x, u []float32, N int) {
	h.preChunkWeights()
	h.x, h.u = x[:N*h.n*h.c], u[:N*h.c]
	kernels.ParallelChunks(N, hcGrain, h.preTask)
	h.x, h.u = nil, nil
}

// preChunkWeights rebuilds wt = [W_α | W_β]ᵀ from the parameters, for a
// Pre. (Names starting with preChunk or preBackChunk keep a method in the
// profile's "conn coef" phase, internal/prof.)
func (h *hc) preChunkWeights() {
	n, c := h.n, h.c
	a, b := h.dynA.Data, h.dynB.Data
	for ch := 0; ch < c; ch++ {
		for j := 0; j <= n; j++ {
			h.wt[j*c+ch] = a[ch*(n+1)+j]
		}
		h.wt[(n+1)*c+ch] = b[ch]
	}
}

func (h *hc) preChunk(chunk, lo, hi int) {
	n, c, k := h.n, h.c, h.k
	hbar := h.scratch[chunk*2*c : chunk*2*c+c]
	sa, sb := h.scaleA.Data[0], h.scaleB.Data[0]
	sA, sB := h.staticA.Data, h.staticB.Data
	for t := lo; t < hi; t++ {
		for i := 0; i < n; i++ {
			r := t*n + i
			h.normRow(h.x[r*c:(r+1)*c], hbar, r)
			th, co := h.th[r*k:(r+1)*k], h.coef[r*k:(r+1)*k]
			for j := 0; j < k; j++ {
				v := float32(math.Tanh(float64(kernels.Dot(hbar, h.wt[j*c:(j+1)*c]))))
				th[j] = v
				switch {
				case h.fixed(j):
					co[j] = h.fixedValue(i, j)
				case j <= n:
					co[j] = sa*v + sA[i*(n+1)+j]
				default:
					co[j] = sb*v + sB[i]
				}
			}
		}
		ut := h.u[t*c : (t+1)*c]
		clear(ut)
		for i := 0; i < n; i++ {
			r := t*n + i
			kernels.Axpy(h.coef[r*k], h.x[r*c:(r+1)*c], ut)
		}
	}
}

// normRow writes the parameter-free LayerNorm of row (C) into hbar and
// stores its mean and 1/std under state row r.
func (h *hc) normRow(row, hbar []float32, r int) {
	mu := float32(hcSum(row) / float64(len(row)))
	for i, v := range row {
		hbar[i] = v - mu
	}
	rs := float32(1 / math.Sqrt(kernels.SumSquares(hbar)/float64(len(row))+HCNormEps))
	kernels.Scale(rs, hbar)
	h.mu[r], h.rstd[r] = mu, rs
}

// Post OVERWRITES xOut (N, n, C) with x'_j = Σ_i alpha[i,1+j]·x_i + beta[j]·y,
// using the coefficients of the last Pre (which must have seen the same x).
func (h *hc) Post(x, y, xOut []float32, N int) {
	nc := N * h.n * h.c
	h.x, h.y, h.dxOut = x[:nc], y[:N*h.c], xOut[:nc]
	kernels.ParallelForGrain(N, hcGrain, h.postTask)
	h.x, h.y, h.dxOut = nil, nil, nil
}

// postRange is Post for tokens [lo, hi); xOut is passed in h.dxOut.
func (h *hc) postRange(lo, hi int) {
	n, c, k := h.n, h.c, h.k
	for t := lo; t < hi; t++ {
		yt := h.y[t*c : (t+1)*c]
		for j := 0; j < n; j++ {
			o := h.dxOut[(t*n+j)*c : (t*n+j+1)*c]
			clear(o)
			kernels.Axpy(h.coef[(t*n+j)*k+n+1], yt, o)
			for i := 0; i < n; i++ {
				kernels.Axpy(h.coef[(t*n+i)*k+1+j], h.x[(t*n+i)*c:(t*n+i+1)*c], o)
			}
		}
	}
}

// PostBackward OVERWRITES dy (N, C) with Σ_j beta[j]·dxOut_j and dx
// (N, n, C) with dx_i = Σ_j alpha[i,1+j]·dxOut_j, and stores the per-token
// gradients of alpha[:,1:] and beta for PreBackward.
func (h *hc) PostBackward(x, y, dxOut, dy, dx []float32, N int) {
	nc := N * h.n * h.c
	h.x, h.y, h.dxOut, h.dy, h.dx = x[:nc], y[:N*h.c], dxOut[:nc], dy[:N*h.c], dx[:nc]
	kernels.ParallelForGrain(N, hcGrain, h.postBackTask)
	h.x, h.y, h.dxOut, h.dy, h.dx = nil, nil, nil, nil, nil
}

func (h *hc) postBackRange(lo, hi int) { h.postBackTokens(lo, hi, nil) }

// postBackTokens is PostBackward for tokens [lo, hi). With gt (n·C) not
// nil, dx and dxOut are one buffer: each token's dxOut is first copied
// into gt and read from there.
func (h *hc) postBackTokens(lo, hi int, gt []float32) {
	n, c, k := h.n, h.c, h.k
	for t := lo; t < hi; t++ {
		yt, dyt := h.y[t*c:(t+1)*c], h.dy[t*c:(t+1)*c]
		g0, gs := t*n*c, h.dxOut
		if gt != nil {
			copy(gt, h.dxOut[t*n*c:(t+1)*n*c])
			g0, gs = 0, gt
		}
		clear(dyt)
		for j := 0; j < n; j++ {
			r := t*n + j
			g := gs[g0+j*c : g0+(j+1)*c]
			kernels.Axpy(h.coef[r*k+n+1], g, dyt)
			h.dcoef[r*k+n+1] = kernels.Dot(yt, g)
		}
		for i := 0; i < n; i++ {
			r := t*n + i
			xi, dxi := h.x[r*c:(r+1)*c], h.dx[r*c:(r+1)*c]
			clear(dxi)
			for j := 0; j < n; j++ {
				g := gs[g0+j*c : g0+(j+1)*c]
				kernels.Axpy(h.coef[r*k+1+j], g, dxi)
				h.dcoef[r*k+1+j] = kernels.Dot(xi, g)
			}
		}
	}
}

// PreBackward ACCUMULATES into dx (N, n, C) the gradient through u = Σ_i
// alpha[i,0]·x_i and through every coefficient (tanh, LayerNorm), and
// ACCUMULATES the parameter gradients. Per-token work runs in parallel;
// parameter gradients are reduced over chunks in chunk order.
func (h *hc) PreBackward(x, du, dx []float32, N int) {
	nc := N * h.n * h.c
	h.x, h.du, h.dx = x[:nc], du[:N*h.c], dx[:nc]
	chunks := kernels.ParallelChunks(N, hcGrain, h.preBackTask)
	h.x, h.du, h.dx = nil, nil, nil
	h.preBackChunkReduce(chunks)
}

// preBackChunkReduce adds the chunks' parameter-gradient partials to the
// gradients, in chunk order.
func (h *hc) preBackChunkReduce(chunks int) {
	n, c, k := h.n, h.c, h.k
	ga, gb := h.dynA.Grad, h.dynB.Grad
	for p := 0; p < chunks; p++ {
		part := h.dwPart[p*k*c : (p+1)*k*c]
		for ch := 0; ch < c; ch++ {
			for j := 0; j <= n; j++ {
				ga[ch*(n+1)+j] += part[j*c+ch]
			}
		}
		kernels.Axpy(1, part[(n+1)*c:(n+2)*c], gb)
	}
	sl := h.sLen()
	gA, gB := h.staticA.Grad, h.staticB.Grad
	for q := 0; q < sl; q++ {
		var s float64
		for p := 0; p < chunks; p++ {
			s += h.sPart[p*sl+q]
		}
		switch i, j := q/k, q%k; {
		case q == sl-2:
			h.scaleA.Grad[0] += float32(s)
		case q == sl-1:
			h.scaleB.Grad[0] += float32(s)
		case j <= n:
			gA[i*(n+1)+j] += float32(s)
		default:
			gB[i] += float32(s)
		}
	}
}

func (h *hc) preBackChunk(chunk, lo, hi int) {
	h.preBackChunkClear(chunk)
	h.preBackChunkTokens(chunk, lo, hi)
}

// preBackChunkClear zeroes chunk's parameter-gradient partials.
func (h *hc) preBackChunkClear(chunk int) {
	sl, kc := h.sLen(), h.k*h.c
	clear(h.sPart[chunk*sl : (chunk+1)*sl])
	clear(h.dwPart[chunk*kc : (chunk+1)*kc])
}

// preBackChunkTokens is PreBackward for tokens [lo, hi) of a chunk,
// accumulating into the chunk's partials.
func (h *hc) preBackChunkTokens(chunk, lo, hi int) {
	n, c, k := h.n, h.c, h.k
	sl := h.sLen()
	sp := h.sPart[chunk*sl : (chunk+1)*sl]
	part := h.dwPart[chunk*k*c : (chunk+1)*k*c]
	hbar := h.scratch[chunk*2*c : chunk*2*c+c]
	g := h.scratch[chunk*2*c+c : (chunk+1)*2*c]
	sa, sb := h.scaleA.Data[0], h.scaleB.Data[0]
	dynamic := !(h.fixPre && h.fixRes && h.fixPost)
	var dp [18]float32 // n ≤ 16, so n+2 ≤ 18
	for t := lo; t < hi; t++ {
		dut := h.du[t*c : (t+1)*c]
		for i := 0; i < n; i++ {
			r := t*n + i
			xi, dxi := h.x[r*c:(r+1)*c], h.dx[r*c:(r+1)*c]
			kernels.Axpy(h.coef[r*k], dut, dxi)
			h.dcoef[r*k] = kernels.Dot(xi, dut)
			if !dynamic {
				continue
			}
			dc, th := h.dcoef[r*k:(r+1)*k], h.th[r*k:(r+1)*k]
			for j := 0; j < k; j++ {
				if h.fixed(j) {
					dp[j] = 0
					continue
				}
				d := dc[j]
				sp[i*k+j] += float64(d)
				s := sa
				if j <= n {
					sp[sl-2] += float64(d) * float64(th[j])
				} else {
					sp[sl-1] += float64(d) * float64(th[j])
					s = sb
				}
				dp[j] = d * s * (1 - th[j]*th[j])
			}
			// h̄ from the stored statistics, dL/dW += h̄ ⊗ dp, g = dL/dh̄.
			mu, rs := h.mu[r], h.rstd[r]
			for q, v := range xi {
				hbar[q] = (v - mu) * rs
			}
			clear(g)
			for j := 0; j < k; j++ {
				if dp[j] != 0 {
					kernels.Axpy(dp[j], hbar, part[j*c:(j+1)*c])
					kernels.Axpy(dp[j], h.wt[j*c:(j+1)*c], g)
				}
			}
			// LayerNorm backward: dx += rstd·(g − mean(g) − h̄·mean(g⊙h̄)).
			gm := float32(hcSum(g) / float64(c))
			gh := kernels.Dot(g, hbar) / float32(c)
			for q := range dxi {
				dxi[q] += rs * (g[q] - gm - hbar[q]*gh)
			}
		}
	}
}

// MeanRes OVERWRITES dst (n·n) with H_res averaged over the N tokens of the
// last Pre: dst[i·n+j] = mean over tokens of alpha[j,1+i], the weight of
// input stream j in output stream i.
func (h *hc) MeanRes(dst []float64, N int) {
	n, k := h.n, h.k
	dst = dst[:n*n]
	clear(dst)
	for t := 0; t < N; t++ {
		for j := 0; j < n; j++ {
			co := h.coef[(t*n+j)*k:]
			for i := 0; i < n; i++ {
				dst[i*n+j] += float64(co[1+i])
			}
		}
	}
	if N > 0 {
		for q := range dst {
			dst[q] /= float64(N)
		}
	}
}

// hcSum returns the sum of x accumulated in float64 with four independent
// partial sums (fixed order, so deterministic).
func hcSum(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}
