package manifold

import "math"

// The Amax instruments of the paper (§3.1, Figs. 3, 7, 8). A matrix a is
// n×n, row-major float64, paper orientation (row i forms output stream i).
// "Absolute row sum" is read as |Σ_j a[i,j]| (the absolute value of the
// sum, which fits Fig. 8's negative HC sums), not the ∞-norm Σ_j |a[i,j]|;
// the two agree for non-negative (mHC) matrices. NaN entries give NaN.
// None of these functions allocate except Composite, GainsOf and Analyze,
// which return fresh slices.

// RowSums writes the n row sums Σ_j a[i,j] (the forward gains per output
// stream) into dst[:n], overwriting it.
func RowSums(dst, a []float64, n int) {
	checkSquare(a, n)
	dst = dst[:n]
	for i := range dst {
		var s float64
		for _, v := range a[i*n : i*n+n] {
			s += v
		}
		dst[i] = s
	}
}

// ColSums writes the n column sums Σ_i a[i,j] (the backward gains per input
// stream) into dst[:n], overwriting it.
func ColSums(dst, a []float64, n int) {
	checkSquare(a, n)
	colSums(dst, a, n)
}

// ForwardGain is the forward Amax gain max_i |Σ_j a[i,j]|: the worst-case
// amplification of a signal passing forward through a.
func ForwardGain(a []float64, n int) float64 {
	checkSquare(a, n)
	g := 0.0
	for i := 0; i < n; i++ {
		var s float64
		for _, v := range a[i*n : i*n+n] {
			s += v
		}
		g = math.Max(g, math.Abs(s))
	}
	return g
}

// colSum returns Σ_i a[i,j].
func colSum(a []float64, n, j int) float64 {
	var s float64
	for i := 0; i < n; i++ {
		s += a[i*n+j]
	}
	return s
}

// BackwardGain is the backward Amax gain max_j |Σ_i a[i,j]|: the worst-case
// amplification of a gradient passing backward through a.
func BackwardGain(a []float64, n int) float64 {
	checkSquare(a, n)
	g := 0.0
	for j := 0; j < n; j++ {
		g = math.Max(g, math.Abs(colSum(a, n, j)))
	}
	return g
}

// MaxLogColSum is max_j |log Σ_i a[i,j]|: zero iff every column sums to 1,
// and, unlike BackwardGain, it also exposes attenuation (a column sum of
// 0.41 scores as high as one of 2.44). It is +Inf if any column sum is ≤ 0
// (the log is undefined there; for mHC matrices, which are non-negative,
// that means a column of zeros) and NaN if any column sum is NaN.
func MaxLogColSum(a []float64, n int) float64 {
	checkSquare(a, n)
	g := 0.0
	for j := 0; j < n; j++ {
		s := colSum(a, n, j)
		switch {
		case math.IsNaN(s):
			return math.NaN()
		case s <= 0:
			g = math.Inf(1)
		default:
			g = math.Max(g, math.Abs(math.Log(s)))
		}
	}
	return g
}

// MatMul sets dst = a·b for n×n row-major matrices (dst is OVERWRITTEN).
// dst must not overlap a or b.
func MatMul(dst, a, b []float64, n int) {
	checkSquare(dst, n)
	checkSquare(a, n)
	checkSquare(b, n)
	if n > 0 && (&dst[0] == &a[0] || &dst[0] == &b[0]) {
		panic("manifold: MatMul: dst aliases an operand")
	}
	for i := 0; i < n; i++ {
		d := dst[i*n : i*n+n]
		clear(d)
		for k, aik := range a[i*n : i*n+n] {
			for j, v := range b[k*n : k*n+n] {
				d[j] += aik * v
			}
		}
	}
}

// Composite returns the composite residual maps over the L = len(hs)
// sublayer matrices hs[0] = H_1, ..., hs[L-1] = H_L (each n×n): the forward
// composite fwd[l] = H_{l+1}·H_l···H_1 (the map from the stream state before
// sublayer 1 to the state after sublayer l+1) and the backward composite
// bwd[l] = H_L···H_{l+1} (the map whose transpose carries gradients from
// the top back to the input of sublayer l+1). fwd[L-1] and bwd[0] are both
// the full product H_L···H_1. Each result is freshly allocated.
func Composite(hs [][]float64, n int) (fwd, bwd [][]float64) {
	L := len(hs)
	fwd = make([][]float64, L)
	bwd = make([][]float64, L)
	for l := 0; l < L; l++ {
		checkSquare(hs[l], n)
		fwd[l] = make([]float64, n*n)
		bwd[l] = make([]float64, n*n)
	}
	if L == 0 {
		return fwd, bwd
	}
	copy(fwd[0], hs[0])
	for l := 1; l < L; l++ {
		MatMul(fwd[l], hs[l], fwd[l-1], n)
	}
	copy(bwd[L-1], hs[L-1])
	for l := L - 2; l >= 0; l-- {
		MatMul(bwd[l], bwd[l+1], hs[l], n)
	}
	return fwd, bwd
}

// Gains holds, for a sequence of n×n matrices, each one's ForwardGain,
// BackwardGain and MaxLogColSum (index = position in the sequence).
type Gains struct {
	Fwd    []float64 // ForwardGain per matrix (max |row sum|)
	Bwd    []float64 // BackwardGain per matrix (max |column sum|)
	LogCol []float64 // MaxLogColSum per matrix (max |log column sum|)
}

// GainsOf measures every matrix of ms (each n×n).
func GainsOf(ms [][]float64, n int) Gains {
	g := Gains{Fwd: make([]float64, len(ms)), Bwd: make([]float64, len(ms)), LogCol: make([]float64, len(ms))}
	for l, m := range ms {
		g.Fwd[l] = ForwardGain(m, n)
		g.Bwd[l] = BackwardGain(m, n)
		g.LogCol[l] = MaxLogColSum(m, n)
	}
	return g
}

// Report is the full Amax picture of one stack of residual maps, indexed by
// sublayer l = 0..L-1 (sublayer l+1 in the paper's 1-based numbering).
// The paper's single-layer curves (Figs. 3a, 7a) are Single.Fwd and
// Single.Bwd; its composite curves (Figs. 3b, 7b) are FwdComposite.Fwd
// (forward gain of H_{l+1}···H_1) and BwdComposite.Bwd (backward gain of
// H_L···H_{l+1}).
type Report struct {
	Single       Gains // gains of each H_{l+1}
	FwdComposite Gains // gains of H_{l+1}···H_1
	BwdComposite Gains // gains of H_L···H_{l+1}
}

// Analyze computes the Report for hs[0] = H_1, ..., hs[L-1] = H_L (each n×n).
// It measures whatever matrices it is given; token averaging (of matrices
// or of gains, which the paper leaves ambiguous) is the caller's choice.
func Analyze(hs [][]float64, n int) Report {
	fwd, bwd := Composite(hs, n)
	return Report{Single: GainsOf(hs, n), FwdComposite: GainsOf(fwd, n), BwdComposite: GainsOf(bwd, n)}
}

func checkSquare(a []float64, n int) {
	if n < 0 || len(a) != n*n {
		panic("manifold: matrix length is not n*n")
	}
}
