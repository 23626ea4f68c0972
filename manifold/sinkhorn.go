package manifold

import (
	"fmt"
	"math"
)

// Variant selects how a [Sinkhorn] maps logits to H.
type Variant int

const (
	// Paper is Eq. 9 of the mHC paper: M0 = exp(L − colmax(L)), then Iters
	// rounds of (column-normalise, row-normalise). With Eps = 0 every
	// denominator is the plain sum, the first column normalisation turns M0
	// into the exact column softmax of L, and rows of H sum to 1 to rounding.
	// With Eps > 0 every denominator is sum+Eps (applied to the shifted
	// values, so the max shift is then part of the function and Backward
	// differentiates through it); rows then sum to s/(s+Eps).
	Paper Variant = iota
	// DeepSeek is the order of DeepSeek's released kernels, written in the
	// paper's orientation: S = column softmax of L; M = S + Eps; rows divided
	// by (rowsum+Eps); then Iters−1 rounds of {columns divided by
	// (colsum+Eps), rows divided by (rowsum+Eps)}. Use Eps = [DeepSeekEps] to
	// match their code. With Eps = 0 it is mathematically identical to Paper.
	DeepSeek
	// Lite is mHC-lite (arXiv 2601.05732): the logits are n! weights w and
	// H = Σ_k softmax(w)_k P_k over all n×n permutation matrices, in the
	// order of [Permutation]. H is exactly doubly stochastic. Requires
	// N ≤ [MaxLiteN]; Iters and Eps are ignored.
	Lite
)

// String returns the variant's name.
func (v Variant) String() string {
	switch v {
	case Paper:
		return "Paper"
	case DeepSeek:
		return "DeepSeek"
	case Lite:
		return "Lite"
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

const (
	// DefaultIters is the number of Sinkhorn rounds used when
	// Sinkhorn.Iters is 0 (the paper's t_max = 20).
	DefaultIters = 20
	// DeepSeekEps is the epsilon of DeepSeek's released Sinkhorn kernels
	// (hc_eps = 1e-6), for use with the DeepSeek variant.
	DeepSeekEps = 1e-6
	// MaxLiteN is the largest stream count the Lite variant accepts
	// (4! = 24 logits per token).
	MaxLiteN = 4
)

// Sinkhorn configures the projection of one token's logits onto (an
// approximation of) the Birkhoff polytope of n×n doubly stochastic matrices.
// It is a small value type; the zero Iters means [DefaultIters] and the zero
// Eps means plain division.
//
// Forward and Backward handle one token. They do not allocate; all scratch
// lives in a [Workspace] created by [NewWorkspace] for the same N (one per
// goroutine, reused across tokens and calls).
type Sinkhorn struct {
	N       int     // number of streams n ≥ 1; H is n×n
	Iters   int     // Sinkhorn rounds t (0 means DefaultIters); ignored by Lite
	Eps     float32 // added to every normalisation denominator; ≥ 0; ignored by Lite
	Variant Variant // Paper, DeepSeek or Lite
}

// Validate reports whether the configuration is usable: N ≥ 1, Iters ≥ 0,
// Eps finite and ≥ 0, a known Variant, and N ≤ MaxLiteN for Lite.
func (s Sinkhorn) Validate() error {
	if s.N < 1 {
		return fmt.Errorf("manifold: Sinkhorn.N = %d, want ≥ 1", s.N)
	}
	switch s.Variant {
	case Paper, DeepSeek:
		if s.Iters < 0 {
			return fmt.Errorf("manifold: Sinkhorn.Iters = %d, want ≥ 0 (0 means %d)", s.Iters, DefaultIters)
		}
		if !(s.Eps >= 0) || math.IsInf(float64(s.Eps), 0) {
			return fmt.Errorf("manifold: Sinkhorn.Eps = %v, want finite and ≥ 0", s.Eps)
		}
	case Lite:
		if s.N > MaxLiteN {
			return fmt.Errorf("manifold: Lite variant needs N ≤ %d (N! logits), got N = %d", MaxLiteN, s.N)
		}
	default:
		return fmt.Errorf("manifold: unknown %v", s.Variant)
	}
	return nil
}

// iters returns the effective number of rounds.
func (s Sinkhorn) iters() int {
	if s.Iters == 0 {
		return DefaultIters
	}
	return s.Iters
}

// steps returns the number of normalisation steps after the initial map and
// whether step 0 normalises columns (step k normalises columns iff
// k%2 == 0 == firstCol).
func (s Sinkhorn) steps() (steps int, firstCol bool) {
	t := s.iters()
	if s.Variant == DeepSeek {
		return 2*t - 1, false
	}
	return 2 * t, true
}

// LogitsPerToken is the number of logits one token feeds to Forward:
// N*N (row-major, paper orientation) for Paper and DeepSeek, N! for Lite.
func (s Sinkhorn) LogitsPerToken() int {
	if s.Variant == Lite {
		return factorial(s.N)
	}
	return s.N * s.N
}

// Workspace is the per-goroutine scratch of a [Sinkhorn]. It holds no state
// between calls that a caller may rely on; it must not be shared by
// concurrent calls. A Workspace made for one configuration serves any
// configuration with the same N and no more Iters.
type Workspace struct {
	n, iters, nfact int
	traj            []float64 // (steps+1)·n²: traj[0] = M0, block k+1 = result of step k
	inv             []float64 // steps·n: reciprocal denominators 1/(sum+eps) of each step
	soft            []float64 // n²: DeepSeek column softmax S (before +eps)
	g               []float64 // n²: gradient being swept backward / Lite H accumulator
	sums            []float64 // n: column-sum scratch
	argmax          []int     // n: row of each column's max logit (Paper)
	w, dw           []float64 // nfact: Lite softmax weights and their gradients
}

// NewWorkspace allocates the scratch for s: about (2t+4)·n² float64 (t the
// effective Iters, DefaultIters for Lite) plus 2·n! for n ≤ MaxLiteN, so the
// same Workspace also serves the Lite variant. It panics if s is invalid.
func NewWorkspace(s Sinkhorn) *Workspace {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	n := s.N
	ws := &Workspace{n: n, iters: s.iters(), sums: make([]float64, n), argmax: make([]int, n),
		g: make([]float64, n*n), soft: make([]float64, n*n)}
	if s.Variant == Lite {
		ws.iters = DefaultIters
	}
	steps := 2 * ws.iters
	ws.traj = make([]float64, (steps+1)*n*n)
	ws.inv = make([]float64, steps*n)
	if n <= MaxLiteN {
		ws.nfact = factorial(n)
		ws.w = make([]float64, ws.nfact)
		ws.dw = make([]float64, ws.nfact)
	}
	return ws
}

// check panics unless s is valid, ws fits it and the slices have the lengths
// one token needs.
func (s Sinkhorn) check(ws *Workspace, lens ...[2]int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if ws == nil || ws.n != s.N || (s.Variant == Lite && ws.nfact == 0) ||
		(s.Variant != Lite && ws.iters < s.iters()) {
		panic("manifold: Workspace was not made for this Sinkhorn (N or Iters differ)")
	}
	for _, l := range lens {
		if l[0] != l[1] {
			panic(fmt.Sprintf("manifold: slice length %d, want %d", l[0], l[1]))
		}
	}
}

// Forward computes one token's mixing matrix h (n*n, row-major, paper
// orientation, OVERWRITTEN) from its logits (LogitsPerToken values; for
// Paper/DeepSeek an n*n row-major matrix in paper orientation). logits is
// not modified; h must not overlap logits. Zero allocations.
//
// Logits are expected to be finite; with Eps = 0 a logit span beyond about
// 700 within one matrix can underflow a whole row of exp to 0 and produce NaN.
func (s Sinkhorn) Forward(h []float32, logits []float32, ws *Workspace) {
	nn := s.N * s.N
	s.check(ws, [2]int{len(h), nn}, [2]int{len(logits), s.LogitsPerToken()})
	if s.Variant == Lite {
		liteForward(h, logits, s.N, ws)
		return
	}
	last := s.trajectory(logits, ws)
	for i, v := range last[:nn] {
		h[i] = float32(v)
	}
}

// Backward computes the gradient of the loss with respect to one token's
// logits, given dh = dLoss/dH (n*n, row-major, paper orientation) and the
// same logits that were passed to Forward. dlogits (LogitsPerToken values)
// is OVERWRITTEN, not accumulated. It is exact reverse mode through the
// unrolled iteration: the forward trajectory is recomputed into ws (nothing
// is kept from Forward), then swept in reverse. All inputs are read before
// dlogits is written, so dlogits may be the same slice as dh or logits.
// Zero allocations.
func (s Sinkhorn) Backward(dlogits []float32, dh []float32, logits []float32, ws *Workspace) {
	nn := s.N * s.N
	s.check(ws, [2]int{len(dh), nn}, [2]int{len(logits), s.LogitsPerToken()},
		[2]int{len(dlogits), s.LogitsPerToken()})
	if s.Variant == Lite {
		liteBackward(dlogits, dh, logits, s.N, ws)
		return
	}
	s.trajectory(logits, ws)
	n := s.N
	eps := float64(s.Eps)
	g := ws.g[:nn]
	for i, v := range dh[:nn] {
		g[i] = float64(v)
	}
	steps, firstCol := s.steps()
	for k := steps - 1; k >= 0; k-- {
		y := ws.traj[(k+1)*nn : (k+2)*nn]
		inv := ws.inv[k*n : (k+1)*n]
		if (k%2 == 0) == firstCol {
			colStepBack(g, y, inv, ws.sums, n)
		} else {
			rowStepBack(g, y, inv, n)
		}
	}
	// g is now dLoss/dM0.
	if s.Variant == DeepSeek {
		// M0 = S + eps with S the column softmax of L (eps is a constant):
		// dL[i,j] = S[i,j]·(g[i,j] − Σ_k g[k,j]·S[k,j]).
		sm := ws.soft[:nn]
		a := ws.sums[:n]
		clear(a)
		for i := 0; i < n; i++ {
			row := i * n
			for j := 0; j < n; j++ {
				a[j] += g[row+j] * sm[row+j]
			}
		}
		for i := 0; i < n; i++ {
			row := i * n
			for j := 0; j < n; j++ {
				dlogits[row+j] = float32(sm[row+j] * (g[row+j] - a[j]))
			}
		}
		return
	}
	// Paper: M0 = exp(L − c), c_j = L[argmax_j, j].
	m0 := ws.traj[:nn]
	for i := range g {
		g[i] *= m0[i]
	}
	if eps != 0 {
		// The shift only cancels when Eps = 0; otherwise route
		// −Σ_i dM0[i,j]·M0[i,j] to the max entry of column j.
		a := ws.sums[:n]
		clear(a)
		for i := 0; i < n; i++ {
			row := i * n
			for j := 0; j < n; j++ {
				a[j] += g[row+j]
			}
		}
		for j := 0; j < n; j++ {
			g[ws.argmax[j]*n+j] -= a[j]
		}
	}
	for i, v := range g {
		dlogits[i] = float32(v)
	}
}

// trajectory runs the forward iteration, storing M0 and every step's result
// in ws.traj and every step's reciprocal denominators in ws.inv. It returns
// the final matrix.
func (s Sinkhorn) trajectory(logits []float32, ws *Workspace) []float64 {
	n := s.N
	nn := n * n
	eps := float64(s.Eps)
	m0 := ws.traj[:nn]
	// Column maxima (first occurrence), then exp of the shifted logits.
	mx := ws.sums[:n]
	for j := 0; j < n; j++ {
		mx[j] = float64(logits[j])
		ws.argmax[j] = 0
	}
	for i := 1; i < n; i++ {
		row := i * n
		for j := 0; j < n; j++ {
			if v := float64(logits[row+j]); v > mx[j] {
				mx[j] = v
				ws.argmax[j] = i
			}
		}
	}
	for i := 0; i < n; i++ {
		row := i * n
		for j := 0; j < n; j++ {
			m0[row+j] = math.Exp(float64(logits[row+j]) - mx[j])
		}
	}
	if s.Variant == DeepSeek {
		// S = column softmax (denominator without eps), M0 = S + eps.
		sm := ws.soft[:nn]
		colSums(mx, m0, n)
		for j := range mx {
			mx[j] = 1 / mx[j]
		}
		for i := 0; i < n; i++ {
			row := i * n
			for j := 0; j < n; j++ {
				v := m0[row+j] * mx[j]
				sm[row+j] = v
				m0[row+j] = v + eps
			}
		}
	}
	steps, firstCol := s.steps()
	for k := 0; k < steps; k++ {
		src := ws.traj[k*nn : (k+1)*nn]
		dst := ws.traj[(k+1)*nn : (k+2)*nn]
		inv := ws.inv[k*n : (k+1)*n]
		if (k%2 == 0) == firstCol {
			colStep(dst, src, inv, n, eps)
		} else {
			rowStep(dst, src, inv, n, eps)
		}
	}
	return ws.traj[steps*nn : (steps+1)*nn]
}

// colSums writes the n column sums of the n×n matrix a into dst.
func colSums(dst, a []float64, n int) {
	dst = dst[:n]
	copy(dst, a[:n])
	for i := 1; i < n; i++ {
		row := a[i*n : i*n+n]
		for j, v := range row {
			dst[j] += v
		}
	}
}

// colStep: dst[i,j] = src[i,j] / (Σ_k src[k,j] + eps); inv receives the
// reciprocal denominators.
func colStep(dst, src, inv []float64, n int, eps float64) {
	colSums(inv, src, n)
	for j := range inv {
		inv[j] = 1 / (inv[j] + eps)
	}
	for i := 0; i < n; i++ {
		s := src[i*n : i*n+n]
		d := dst[i*n : i*n+n]
		for j, v := range s {
			d[j] = v * inv[j]
		}
	}
}

// rowStep: dst[i,j] = src[i,j] / (Σ_k src[i,k] + eps); inv receives the
// reciprocal denominators.
func rowStep(dst, src, inv []float64, n int, eps float64) {
	for i := 0; i < n; i++ {
		s := src[i*n : i*n+n]
		d := dst[i*n : i*n+n]
		var sum float64
		for _, v := range s {
			sum += v
		}
		r := 1 / (sum + eps)
		inv[i] = r
		for j, v := range s {
			d[j] = v * r
		}
	}
}

// colStepBack maps g = dL/dY to dL/dX in place for Y = colStep(X):
// dX[i,j] = (g[i,j] − Σ_k g[k,j]·Y[k,j]) · inv_j.
func colStepBack(g, y, inv, a []float64, n int) {
	a = a[:n]
	clear(a)
	for i := 0; i < n; i++ {
		gr := g[i*n : i*n+n]
		yr := y[i*n : i*n+n]
		for j, v := range gr {
			a[j] += v * yr[j]
		}
	}
	for i := 0; i < n; i++ {
		gr := g[i*n : i*n+n]
		for j, v := range gr {
			gr[j] = (v - a[j]) * inv[j]
		}
	}
}

// rowStepBack maps g = dL/dY to dL/dX in place for Y = rowStep(X):
// dX[i,j] = (g[i,j] − Σ_k g[i,k]·Y[i,k]) · inv_i.
func rowStepBack(g, y, inv []float64, n int) {
	for i := 0; i < n; i++ {
		gr := g[i*n : i*n+n]
		yr := y[i*n : i*n+n]
		var a float64
		for j, v := range gr {
			a += v * yr[j]
		}
		r := inv[i]
		for j, v := range gr {
			gr[j] = (v - a) * r
		}
	}
}
