package manifold

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Fig. 8 matrices of the mHC paper (token-averaged, 27B model), rows as
// printed (paper orientation), entries rounded to 2 decimals.
var (
	fig8HC1 = []float64{
		5.43, 4.43, 4.43, 4.43,
		-4.07, -3.07, -4.07, -4.07,
		-3.95, -3.95, -2.95, -3.95,
		-4.22, -4.22, -4.22, -3.22,
	}
	fig8MHC1 = []float64{
		0.67, 0.09, 0.03, 0.22,
		0.26, 0.48, 0.26, 0.00,
		0.03, 0.24, 0.00, 0.73,
		0.03, 0.20, 0.69, 0.09,
	}
	fig8MHC60 = []float64{
		0.92, 0.06, 0.01, 0.01,
		0.05, 0.81, 0.01, 0.13,
		0.00, 0.01, 0.97, 0.02,
		0.03, 0.13, 0.00, 0.84,
	}
)

// TestFig8 reproduces the printed row/column sums and the gains derived
// from them, within the printed rounding: four entries each rounded to
// ±0.005 sum to within ±0.02.
func TestFig8(t *testing.T) {
	const tol = 0.02
	tests := []struct {
		name             string
		a                []float64
		rows, cols       []float64 // printed sums; nil = not printed
		fwd, bwd, logCol float64
	}{
		{"HC H_res_1", fig8HC1, []float64{18.73, -15.29, -14.79, -15.88}, []float64{-6.81, -6.81, -6.81, -6.81},
			18.73, 6.81, math.Inf(1)},
		{"mHC P(H_res_1)", fig8MHC1, []float64{1, 1, 1, 1}, []float64{0.98, 1.00, 0.98, 1.04},
			1.00, 1.04, math.Log(1.04)},
		{"mHC P(H_res_60)", fig8MHC60, []float64{1, 1, 1, 1}, []float64{1.00, 1.01, 0.99, 1.00},
			1.00, 1.01, math.Log(1.01)},
	}
	near := func(got, want float64) bool {
		if math.IsInf(want, 1) {
			return math.IsInf(got, 1)
		}
		return math.Abs(got-want) <= tol
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c := make([]float64, 4), make([]float64, 4)
			RowSums(r, tt.a, 4)
			ColSums(c, tt.a, 4)
			for i := range r {
				if !near(r[i], tt.rows[i]) {
					t.Errorf("row %d sum %.4f, printed %.2f", i, r[i], tt.rows[i])
				}
				if !near(c[i], tt.cols[i]) {
					t.Errorf("column %d sum %.4f, printed %.2f", i, c[i], tt.cols[i])
				}
			}
			if g := ForwardGain(tt.a, 4); !near(g, tt.fwd) {
				t.Errorf("ForwardGain %.4f, want %.2f", g, tt.fwd)
			}
			if g := BackwardGain(tt.a, 4); !near(g, tt.bwd) {
				t.Errorf("BackwardGain %.4f, want %.2f", g, tt.bwd)
			}
			if g := MaxLogColSum(tt.a, 4); !near(g, tt.logCol) {
				t.Errorf("MaxLogColSum %.4f, want %.4f", g, tt.logCol)
			}
		})
	}
}

func TestGainEdgeCases(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name             string
		a                []float64
		n                int
		fwd, bwd, logCol float64
	}{
		{"empty", nil, 0, 0, 0, 0},
		{"scalar 1", []float64{1}, 1, 1, 1, 0},
		{"scalar -2", []float64{-2}, 1, 2, 2, math.Inf(1)},
		{"zero column", []float64{1, 0, 1, 0}, 2, 1, 2, math.Inf(1)},
		{"absolute value of sum, not sum of absolute values", []float64{3, -2, -1, 1}, 2, 1, 2, math.Inf(1)},
		{"attenuation shows in logCol only", []float64{0.5, 0.5, 0.5, 0.5}, 2, 1, 1, 0},
		{"0.41 column", []float64{0.41, 0.59, 0, 1}, 2, 1, 1.59, math.Abs(math.Log(0.41))},
		{"nan", []float64{nan, 0, 0, 1}, 2, nan, nan, nan},
	}
	same := func(a, b float64) bool {
		return a == b || math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-12
	}
	for _, tt := range tests {
		if g := ForwardGain(tt.a, tt.n); !same(g, tt.fwd) {
			t.Errorf("%s: ForwardGain %v, want %v", tt.name, g, tt.fwd)
		}
		if g := BackwardGain(tt.a, tt.n); !same(g, tt.bwd) {
			t.Errorf("%s: BackwardGain %v, want %v", tt.name, g, tt.bwd)
		}
		if g := MaxLogColSum(tt.a, tt.n); !same(g, tt.logCol) {
			t.Errorf("%s: MaxLogColSum %v, want %v", tt.name, g, tt.logCol)
		}
	}
}

func naiveMul(a, b []float64, n int) []float64 {
	c := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for k := 0; k < n; k++ {
				c[i*n+j] += a[i*n+k] * b[k*n+j]
			}
		}
	}
	return c
}

func TestMatMulAndComposite(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{1, 2, 4, 5} {
		for _, L := range []int{1, 2, 7} {
			hs := make([][]float64, L)
			for l := range hs {
				hs[l] = make([]float64, n*n)
				for i := range hs[l] {
					hs[l][i] = rng.NormFloat64()
				}
			}
			fwd, bwd := Composite(hs, n)
			// fwd[l] = H_{l+1}···H_1 and bwd[l] = H_L···H_{l+1}, built naively.
			for l := 0; l < L; l++ {
				f := hs[0]
				for k := 1; k <= l; k++ {
					f = naiveMul(hs[k], f, n)
				}
				b := hs[L-1]
				for k := L - 2; k >= l; k-- {
					b = naiveMul(b, hs[k], n)
				}
				for i := range f {
					if math.Abs(fwd[l][i]-f[i]) > 1e-9*(1+math.Abs(f[i])) ||
						math.Abs(bwd[l][i]-b[i]) > 1e-9*(1+math.Abs(b[i])) {
						t.Fatalf("n=%d L=%d l=%d: composite mismatch", n, L, l)
					}
				}
			}
			for i := range fwd[L-1] {
				if math.Abs(fwd[L-1][i]-bwd[0][i]) > 1e-9*(1+math.Abs(bwd[0][i])) {
					t.Fatalf("n=%d L=%d: full products differ", n, L)
				}
			}
		}
	}
	if f, b := Composite(nil, 4); len(f) != 0 || len(b) != 0 {
		t.Error("empty stack should give empty composites")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MatMul with dst aliasing a: no panic")
			}
		}()
		a := make([]float64, 4)
		MatMul(a, a, make([]float64, 4), 2)
	}()
}

// TestAnalyzeSinkhornStack: for a deep stack of Paper-Sinkhorn matrices the
// forward composite gain stays 1 (rows are exact and row-stochasticity is
// closed under products), while the backward composite drifts.
func TestAnalyzeSinkhornStack(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	s := Sinkhorn{N: 4}
	ws := NewWorkspace(s)
	h := make([]float32, 16)
	hs := make([][]float64, 60)
	for l := range hs {
		s.Forward(h, randLogits(rng, 16, 4), ws)
		hs[l] = widen(h)
	}
	r := Analyze(hs, 4)
	for l := range hs {
		for _, g := range []float64{r.Single.Fwd[l], r.FwdComposite.Fwd[l], r.BwdComposite.Fwd[l]} {
			if math.Abs(g-1) > 1e-5 {
				t.Fatalf("l=%d: forward gain %v, want 1", l, g)
			}
		}
		if r.BwdComposite.Bwd[l] < 1-1e-6 || r.Single.LogCol[l] < 0 {
			t.Fatalf("l=%d: backward gain %v < 1 or LogCol %v < 0", l, r.BwdComposite.Bwd[l], r.Single.LogCol[l])
		}
	}
	t.Logf("60 sublayers, logits N(0,1)·4: max single Bwd %.3f, composite Bwd at l=1 %.3f, LogCol %.3f",
		slicesMax(r.Single.Bwd), r.BwdComposite.Bwd[0], r.BwdComposite.LogCol[0])
}

func slicesMax(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	return m
}

func TestGainsZeroAllocs(t *testing.T) {
	a, b, d := fig8MHC1, fig8MHC60, make([]float64, 16)
	sums := make([]float64, 4)
	allocs := testing.AllocsPerRun(20, func() {
		_ = ForwardGain(a, 4) + BackwardGain(a, 4) + MaxLogColSum(a, 4)
		MatMul(d, a, b, 4)
		RowSums(sums, a, 4)
		ColSums(sums, a, 4)
	})
	if allocs != 0 {
		t.Errorf("allocs %v, want 0", allocs)
	}
}
