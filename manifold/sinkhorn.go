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
// configuration with the same N and no more Iters (and, for N ≤ MaxLiteN,
// the Lite variant too).
//
// The iteration is kept in scaling form: every intermediate matrix is
// diag(r)·M0·diag(c), so the trajectory is M0 plus one row-scaling and one
// column-scaling vector per step, (4t+3)·n + 3·n² float64 in all.
type Workspace struct {
	n, iters, nfact int
	m0              []float64 // n²: M0 (Paper: exp(L − colmax); DeepSeek: S + eps)
	soft            []float64 // n²: DeepSeek column softmax S (before +eps)
	g               []float64 // n²: gradient being swept backward / Lite H accumulator
	rv, cv          []float64 // (steps+1)·n: row / column scalings after each step (block 0: ones)
	inv             []float64 // steps·n: reciprocal denominators 1/(sum+eps) of each step
	sums            []float64 // n: scratch
	argmax          []int     // n: row of each column's max logit (Paper)
	w, dw           []float64 // n!: Lite softmax weights and their gradients
}

// NewWorkspace allocates the scratch for s: about 3·n² + 6·t·n float64 (t the
// effective Iters, DefaultIters for Lite) plus 2·n! for n ≤ MaxLiteN, so the
// same Workspace also serves the Lite variant. It panics if s is invalid.
func NewWorkspace(s Sinkhorn) *Workspace {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	n := s.N
	ws := &Workspace{n: n, iters: s.iters(), sums: make([]float64, n), argmax: make([]int, n),
		m0: make([]float64, n*n), g: make([]float64, n*n), soft: make([]float64, n*n)}
	if s.Variant == Lite {
		ws.iters = DefaultIters
	}
	steps := 2 * ws.iters
	ws.rv = make([]float64, (steps+1)*n)
	ws.cv = make([]float64, (steps+1)*n)
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
// Logits are expected to be finite. Internally the matrix is carried as
// diag(r)·M0·diag(c) in float64; with Eps = 0 a logit span beyond roughly
// 700 within one matrix can underflow a whole row of exp(L − colmax) to 0
// and produce NaN (spans of 200 are tested).
func (s Sinkhorn) Forward(h []float32, logits []float32, ws *Workspace) {
	nn := s.N * s.N
	s.check(ws, [2]int{len(h), nn}, [2]int{len(logits), s.LogitsPerToken()})
	if s.Variant == Lite {
		liteForward(h, logits, s.N, ws)
		return
	}
	steps := s.trajectory(logits, ws)
	n := s.N
	r := ws.rv[steps*n : (steps+1)*n]
	c := ws.cv[steps*n : (steps+1)*n]
	for i := 0; i < n; i++ {
		m := ws.m0[i*n : i*n+n]
		hr := h[i*n : i*n+n]
		ri := r[i]
		for j, v := range m {
			hr[j] = float32(ri * v * c[j])
		}
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
	steps := s.trajectory(logits, ws)
	_, firstCol := s.steps()
	n := s.N
	g := ws.g[:nn]
	for i, v := range dh[:nn] {
		g[i] = float64(v)
	}
	m0 := ws.m0[:nn]
	for k := steps - 1; k >= 0; k-- {
		// Y_k = diag(r)·M0·diag(c) with the scalings after step k.
		r := ws.rv[(k+1)*n : (k+2)*n]
		c := ws.cv[(k+1)*n : (k+2)*n]
		inv := ws.inv[k*n : (k+1)*n]
		switch col := (k%2 == 0) == firstCol; {
		case col && n == 4:
			colStepBack4(g, m0, r, c, inv)
		case col:
			colStepBack(g, m0, r, c, inv, ws.sums, n)
		case n == 4:
			rowStepBack4(g, m0, r, c, inv)
		default:
			rowStepBack(g, m0, r, c, inv, n)
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
			gr, sr := g[i*n:i*n+n], sm[i*n:i*n+n]
			for j, v := range gr {
				a[j] += v * sr[j]
			}
		}
		for i := 0; i < n; i++ {
			gr, sr, dr := g[i*n:i*n+n], sm[i*n:i*n+n], dlogits[i*n:i*n+n]
			for j, v := range gr {
				dr[j] = float32(sr[j] * (v - a[j]))
			}
		}
		return
	}
	// Paper: M0 = exp(L − c), c_j = L[argmax_j, j].
	for i := range g {
		g[i] *= m0[i]
	}
	if s.Eps != 0 {
		// The shift only cancels when Eps = 0; otherwise route
		// −Σ_i dM0[i,j]·M0[i,j] to the max entry of column j.
		a := ws.sums[:n]
		colSums(a, g, n)
		for j := 0; j < n; j++ {
			g[ws.argmax[j]*n+j] -= a[j]
		}
	}
	for i, v := range g {
		dlogits[i] = float32(v)
	}
}

// trajectory runs the forward iteration in scaling form, storing M0 in
// ws.m0, the row and column scalings after every step in ws.rv / ws.cv, and
// every step's reciprocal denominators in ws.inv. It returns the number of
// steps.
func (s Sinkhorn) trajectory(logits []float32, ws *Workspace) int {
	n := s.N
	nn := n * n
	eps := float64(s.Eps)
	m0 := ws.m0[:nn]
	logits = logits[:nn]
	// Column maxima (first occurrence), then exp of the shifted logits.
	mx := ws.sums[:n]
	for j := 0; j < n; j++ {
		mx[j] = float64(logits[j])
		ws.argmax[j] = 0
	}
	for i := 1; i < n; i++ {
		row := logits[i*n : i*n+n]
		for j, v := range row {
			if v := float64(v); v > mx[j] {
				mx[j] = v
				ws.argmax[j] = i
			}
		}
	}
	for i := 0; i < n; i++ {
		row, mr := logits[i*n:i*n+n], m0[i*n:i*n+n]
		for j, v := range row {
			mr[j] = math.Exp(float64(v) - mx[j])
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
			mr, sr := m0[i*n:i*n+n], sm[i*n:i*n+n]
			for j, v := range mr {
				v *= mx[j]
				sr[j] = v
				mr[j] = v + eps
			}
		}
	}
	steps, firstCol := s.steps()
	r0, c0 := ws.rv[:n], ws.cv[:n]
	for i := range r0 {
		r0[i], c0[i] = 1, 1
	}
	for k := 0; k < steps; k++ {
		r, c := ws.rv[k*n:(k+1)*n], ws.cv[k*n:(k+1)*n]
		rn, cn := ws.rv[(k+1)*n:(k+2)*n], ws.cv[(k+1)*n:(k+2)*n]
		inv := ws.inv[k*n : (k+1)*n]
		switch col := (k%2 == 0) == firstCol; {
		case col && n == 4:
			copy(rn, r)
			colStep4(cn, inv, m0, r, c, eps)
		case col:
			copy(rn, r)
			colStep(cn, inv, m0, r, c, ws.sums, n, eps)
		case n == 4:
			copy(cn, c)
			rowStep4(rn, inv, m0, r, c, eps)
		default:
			copy(cn, c)
			rowStep(rn, inv, m0, r, c, n, eps)
		}
	}
	return steps
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

// colStep normalises the columns of X = diag(r)·M0·diag(c): with
// s_j = Σ_i X[i,j] + eps it writes inv_j = 1/s_j and the new column
// scaling cn_j = c_j/s_j. acc is n scratch.
func colStep(cn, inv, m0, r, c, acc []float64, n int, eps float64) {
	acc = acc[:n]
	clear(acc)
	for i := 0; i < n; i++ {
		ri := r[i]
		for j, v := range m0[i*n : i*n+n] {
			acc[j] += ri * v
		}
	}
	for j, a := range acc {
		iv := 1 / (c[j]*a + eps)
		inv[j] = iv
		cn[j] = c[j] * iv
	}
}

// rowStep normalises the rows of X = diag(r)·M0·diag(c): with
// s_i = Σ_j X[i,j] + eps it writes inv_i = 1/s_i and the new row scaling
// rn_i = r_i/s_i.
func rowStep(rn, inv, m0, r, c []float64, n int, eps float64) {
	c = c[:n]
	for i := 0; i < n; i++ {
		var a float64
		for j, v := range m0[i*n : i*n+n] {
			a += v * c[j]
		}
		iv := 1 / (r[i]*a + eps)
		inv[i] = iv
		rn[i] = r[i] * iv
	}
}

// colStepBack maps g = dL/dY to dL/dX in place for a column step whose
// output is Y = diag(r)·M0·diag(c):
// dX[i,j] = (g[i,j] − Σ_k g[k,j]·Y[k,j]) · inv_j. a is n scratch.
func colStepBack(g, m0, r, c, inv, a []float64, n int) {
	a = a[:n]
	clear(a)
	for i := 0; i < n; i++ {
		ri := r[i]
		mr := m0[i*n : i*n+n]
		for j, v := range g[i*n : i*n+n] {
			a[j] += v * ri * mr[j]
		}
	}
	for j := range a {
		a[j] *= c[j]
	}
	for i := 0; i < n; i++ {
		gr := g[i*n : i*n+n]
		for j, v := range gr {
			gr[j] = (v - a[j]) * inv[j]
		}
	}
}

// rowStepBack maps g = dL/dY to dL/dX in place for a row step whose output
// is Y = diag(r)·M0·diag(c):
// dX[i,j] = (g[i,j] − Σ_k g[i,k]·Y[i,k]) · inv_i.
func rowStepBack(g, m0, r, c, inv []float64, n int) {
	c = c[:n]
	for i := 0; i < n; i++ {
		gr := g[i*n : i*n+n]
		mr := m0[i*n : i*n+n]
		var a float64
		for j, v := range gr {
			a += v * mr[j] * c[j]
		}
		a *= r[i]
		iv := inv[i]
		for j, v := range gr {
			gr[j] = (v - a) * iv
		}
	}
}
