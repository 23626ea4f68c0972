package manifold

import (
	"fmt"

	"github.com/mhc-go/mhc/kernels"
)

// Batched Sinkhorn: ForwardBatch and BackwardBatch run Forward and
// Backward for many tokens at once, kernels.SinkLanes tokens side by side
// in SIMD lanes (kernels.SinkhornExp, SinkhornSteps and SinkhornBack,
// structure of arrays). The iteration and its reverse sweep evaluate the
// per-token functions' float64 expressions in the same order. The
// exponentials of M0 = exp(L − colmax) are math.Exp on the generic kernel
// path, so there the results are bit-identical to calling Forward /
// Backward token by token; the avx2 and avx512 paths compute them with a
// SIMD float64 exp of < 1 ulp error, which can change the last float64 bit
// of an M0 entry and hence, rarely, the last float32 bit of an H entry or
// a logit gradient (tested: within 1 float32 ulp, plus 1e-12 of the
// token's largest gradient; none of 131,072 differed when written). Every
// path is deterministic. Lite has no iteration and runs token by token.

// BatchWorkspace is the scratch of ForwardBatch and BackwardBatch for one
// goroutine: one block of kernels.SinkLanes tokens, lane-minor. Made by
// NewBatchWorkspace for a Sinkhorn; it serves any Sinkhorn with the same N
// and no more Iters.
type BatchWorkspace struct {
	n, iters    int
	m0, soft, g []float64 // n²·L
	rv, cv, inv []float64 // (steps+1)·n·L, (steps+1)·n·L, steps·n·L
	mx          []float64 // n·L
	argmax      []int32   // n·L
	tok         *Workspace
}

// NewBatchWorkspace allocates the scratch for s (about (3n² + 6·t·n)·8
// float64 for t Iters). It panics if s is invalid.
func NewBatchWorkspace(s Sinkhorn) *BatchWorkspace {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	const L = kernels.SinkLanes
	n, it := s.N, s.iters()
	if s.Variant == Lite {
		it = DefaultIters
	}
	steps := 2 * it
	return &BatchWorkspace{n: n, iters: it,
		m0: make([]float64, n*n*L), soft: make([]float64, n*n*L), g: make([]float64, n*n*L),
		rv: make([]float64, (steps+1)*n*L), cv: make([]float64, (steps+1)*n*L), inv: make([]float64, steps*n*L),
		mx: make([]float64, n*L), argmax: make([]int32, n*L), tok: NewWorkspace(s)}
}

func (s Sinkhorn) checkBatch(ws *BatchWorkspace, T, ld int, lens ...[2]int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if ws == nil || ws.n != s.N || (s.Variant != Lite && ws.iters < s.iters()) {
		panic("manifold: BatchWorkspace was not made for this Sinkhorn (N or Iters differ)")
	}
	if T < 0 || ld < s.LogitsPerToken() {
		panic(fmt.Sprintf("manifold: batch of %d tokens with logit stride %d (want ≥ %d)", T, ld, s.LogitsPerToken()))
	}
	for _, l := range lens {
		if l[0] < l[1] {
			panic(fmt.Sprintf("manifold: batch slice length %d, want at least %d", l[0], l[1]))
		}
	}
}

// rowsNeed is the length a strided (T, ld) array with w used values per
// row must have.
func rowsNeed(T, ld, w int) int {
	if T == 0 {
		return 0
	}
	return (T-1)*ld + w
}

// ForwardBatch computes H for T tokens: token t's logits are
// logits[t·ldl : t·ldl+LogitsPerToken()] and its H (n·n, row-major, paper
// orientation) is OVERWRITTEN at h[t·n·n:]. Results are those of Forward
// per token (bit-identical on the generic kernel path, to the last float32
// bit elsewhere: see above). saved, when not nil, must hold T·SavedPerToken()
// values and receives M0 (and the DeepSeek softmax) for a BackwardBatch over
// the same tokens, which then computes no exponentials. Zero allocations.
func (s Sinkhorn) ForwardBatch(h []float32, logits []float32, ldl, T int, saved []float64, ws *BatchWorkspace) {
	nn, lp := s.N*s.N, s.LogitsPerToken()
	s.checkBatch(ws, T, ldl, [2]int{len(h), T * nn}, [2]int{len(logits), rowsNeed(T, ldl, lp)})
	per := s.SavedPerToken()
	if saved != nil && len(saved) < T*per {
		panic(fmt.Sprintf("manifold: saved has %d values, want %d", len(saved), T*per))
	}
	if s.Variant == Lite {
		for t := 0; t < T; t++ {
			s.Forward(h[t*nn:(t+1)*nn], logits[t*ldl:t*ldl+lp], ws.tok)
		}
		return
	}
	const L = kernels.SinkLanes
	n := s.N
	for t0 := 0; t0 < T; t0 += L {
		cnt := min(L, T-t0)
		var sv []float64
		if saved != nil {
			sv = saved[t0*per:]
		}
		steps := s.blockTrajectory(logits[t0*ldl:], ldl, cnt, ws, sv, true)
		r, c := ws.rv[steps*n*L:], ws.cv[steps*n*L:]
		for l := 0; l < cnt; l++ {
			ht := h[(t0+l)*nn : (t0+l+1)*nn]
			for i := 0; i < n; i++ {
				ri := r[i*L+l]
				for j := 0; j < n; j++ {
					ht[i*n+j] = float32(ri * ws.m0[(i*n+j)*L+l] * c[j*L+l])
				}
			}
		}
	}
}

// BackwardBatch computes the logit gradients of T tokens from dh (T, n·n)
// contiguous and the logits given to ForwardBatch: token t's gradient is
// OVERWRITTEN at dlogits[t·ldd : t·ldd+LogitsPerToken()]. Results are
// those of Backward per token, as for ForwardBatch (the iteration is
// recomputed, from the M0 that ForwardBatch kept in saved when saved is not
// nil: it must then be what ForwardBatch wrote for the same logits).
// dlogits must not overlap dh or logits. Zero allocations.
func (s Sinkhorn) BackwardBatch(dlogits []float32, ldd int, dh []float32, logits []float32, ldl, T int, saved []float64, ws *BatchWorkspace) {
	nn, lp := s.N*s.N, s.LogitsPerToken()
	s.checkBatch(ws, T, ldl, [2]int{len(dh), T * nn}, [2]int{len(logits), rowsNeed(T, ldl, lp)},
		[2]int{len(dlogits), rowsNeed(T, ldd, lp)})
	per := s.SavedPerToken()
	if saved != nil && len(saved) < T*per {
		panic(fmt.Sprintf("manifold: saved has %d values, want %d", len(saved), T*per))
	}
	if ldd < lp {
		panic(fmt.Sprintf("manifold: gradient stride %d < %d", ldd, lp))
	}
	if s.Variant == Lite {
		for t := 0; t < T; t++ {
			s.Backward(dlogits[t*ldd:t*ldd+lp], dh[t*nn:(t+1)*nn], logits[t*ldl:t*ldl+lp], ws.tok)
		}
		return
	}
	const L = kernels.SinkLanes
	n := s.N
	_, firstCol := s.steps()
	colPar := 1
	if firstCol {
		colPar = 0
	}
	g, m0 := ws.g[:nn*L], ws.m0[:nn*L]
	for t0 := 0; t0 < T; t0 += L {
		cnt := min(L, T-t0)
		var sv []float64
		if saved != nil {
			sv = saved[t0*per:]
		}
		steps := s.blockTrajectory(logits[t0*ldl:], ldl, cnt, ws, sv, false)
		if s.Variant == Paper && s.Eps != 0 {
			s.blockArgmax(logits[t0*ldl:], ldl, cnt, ws)
		}
		for l := 0; l < L; l++ {
			if l >= cnt {
				for e := 0; e < nn; e++ {
					g[e*L+l] = 0
				}
				continue
			}
			d := dh[(t0+l)*nn : (t0+l+1)*nn]
			for e, v := range d {
				g[e*L+l] = float64(v)
			}
		}
		kernels.SinkhornBack(g, m0, ws.rv, ws.cv, ws.inv, n, steps, colPar)
		if s.Variant == DeepSeek {
			// dL[i,j] = S[i,j]·(g[i,j] − Σ_k g[k,j]·S[k,j]).
			sm := ws.soft
			for l := 0; l < cnt; l++ {
				dl := dlogits[(t0+l)*ldd:]
				for j := 0; j < n; j++ {
					var a float64
					for i := 0; i < n; i++ {
						e := (i*n + j) * L
						a += g[e+l] * sm[e+l]
					}
					for i := 0; i < n; i++ {
						e := (i*n + j) * L
						dl[i*n+j] = float32(sm[e+l] * (g[e+l] - a))
					}
				}
			}
			continue
		}
		// Paper: M0 = exp(L − colmax).
		for e := range g {
			g[e] *= m0[e]
		}
		for l := 0; l < cnt; l++ {
			dl := dlogits[(t0+l)*ldd:]
			if s.Eps != 0 {
				// Route −Σ_i dM0[i,j]·M0[i,j] to the max entry of column j.
				for j := 0; j < n; j++ {
					a := g[j*L+l]
					for i := 1; i < n; i++ {
						a += g[(i*n+j)*L+l]
					}
					am := int(ws.argmax[j*L+l])
					g[(am*n+j)*L+l] -= a
				}
			}
			for e := 0; e < nn; e++ {
				dl[e] = float32(g[e*L+l])
			}
		}
	}
}

// blockTrajectory forms M0 (and the DeepSeek softmax) for a block of
// cnt ≤ L tokens, lane-minor in ws, and runs the iteration; it returns the
// number of steps. Without saved (or with store) M0 comes from the logits
// (row stride ldl) through kernels.SinkhornExp (trajectory's expressions
// per lane, the exponentials of the active kernel path); with
// store it is then also written to saved (token-major, SavedPerToken
// values per token). With saved and !store M0 is read back from it
// (BackwardBatch after ForwardBatch: no exponentials). Missing lanes get
// M0 = 1.
func (s Sinkhorn) blockTrajectory(logits []float32, ldl, cnt int, ws *BatchWorkspace, saved []float64, store bool) int {
	const L = kernels.SinkLanes
	n := s.N
	nn := n * n
	eps := float64(s.Eps)
	m0, mx, sm := ws.m0[:nn*L], ws.mx[:n*L], ws.soft[:nn*L]
	if saved != nil && !store {
		per := s.SavedPerToken()
		for l := 0; l < L; l++ {
			if l >= cnt {
				for e := 0; e < nn; e++ {
					m0[e*L+l], sm[e*L+l] = 1, 1
				}
				continue
			}
			sv := saved[l*per : (l+1)*per]
			for e := 0; e < nn; e++ {
				m0[e*L+l] = sv[e]
			}
			if s.Variant == DeepSeek {
				for e := 0; e < nn; e++ {
					sm[e*L+l] = sv[nn+e]
				}
			}
		}
		return s.blockSteps(ws)
	}
	// The logits, lane-minor in float64 (missing lanes 0, so M0 = 1 there),
	// then M0 = exp(L − colmax) of every lane at once.
	for l := 0; l < L; l++ {
		if l >= cnt {
			for e := 0; e < nn; e++ {
				m0[e*L+l] = 0
			}
			continue
		}
		for e, v := range logits[l*ldl : l*ldl+nn] {
			m0[e*L+l] = float64(v)
		}
	}
	kernels.SinkhornExp(m0, n)
	if s.Variant == DeepSeek {
		// S = column softmax (denominator without eps), M0 = S + eps.
		for j := 0; j < n; j++ {
			for l := 0; l < L; l++ {
				a := m0[j*L+l]
				for i := 1; i < n; i++ {
					a += m0[(i*n+j)*L+l]
				}
				mx[j*L+l] = 1 / a
			}
		}
		for e := 0; e < nn; e++ {
			j := e % n
			for l := 0; l < L; l++ {
				v := m0[e*L+l] * mx[j*L+l]
				sm[e*L+l] = v
				m0[e*L+l] = v + eps
			}
		}
	}
	if store && saved != nil {
		per := s.SavedPerToken()
		for l := 0; l < cnt; l++ {
			sv := saved[l*per : (l+1)*per]
			for e := 0; e < nn; e++ {
				sv[e] = m0[e*L+l]
			}
			if s.Variant == DeepSeek {
				for e := 0; e < nn; e++ {
					sv[nn+e] = sm[e*L+l]
				}
			}
		}
	}
	return s.blockSteps(ws)
}

// blockArgmax finds the row of every column's maximum logit (first
// occurrence) for cnt tokens, as trajectory does (BackwardBatch of Paper
// with Eps ≠ 0 needs it).
func (s Sinkhorn) blockArgmax(logits []float32, ldl, cnt int, ws *BatchWorkspace) {
	const L = kernels.SinkLanes
	n := s.N
	for l := 0; l < cnt; l++ {
		lg := logits[l*ldl : l*ldl+n*n]
		for j := 0; j < n; j++ {
			m, am := lg[j], int32(0)
			for i := 1; i < n; i++ {
				if v := lg[i*n+j]; float64(v) > float64(m) {
					m, am = v, int32(i)
				}
			}
			ws.argmax[j*L+l] = am
		}
	}
}

// blockSteps runs the iteration on ws.m0 from unit scalings.
func (s Sinkhorn) blockSteps(ws *BatchWorkspace) int {
	const L = kernels.SinkLanes
	n := s.N
	steps, firstCol := s.steps()
	colPar := 1
	if firstCol {
		colPar = 0
	}
	for i := 0; i < n*L; i++ {
		ws.rv[i], ws.cv[i] = 1, 1
	}
	kernels.SinkhornSteps(ws.m0[:n*n*L], ws.rv, ws.cv, ws.inv, n, steps, colPar, float64(s.Eps))
	return steps
}

// SavedPerToken is the number of float64 values per token that ForwardBatch
// can keep for BackwardBatch (M0, and for DeepSeek the column softmax):
// n² for Paper, 2n² for DeepSeek, 0 for Lite.
func (s Sinkhorn) SavedPerToken() int {
	switch s.Variant {
	case Paper:
		return s.N * s.N
	case DeepSeek:
		return 2 * s.N * s.N
	}
	return 0
}
