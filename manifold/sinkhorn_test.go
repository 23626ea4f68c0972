package manifold

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mhc-go/mhc/internal/fdcheck"
)

func randLogits(rng *rand.Rand, k int, scale float64) []float32 {
	l := make([]float32, k)
	for i := range l {
		l[i] = float32(rng.NormFloat64() * scale)
	}
	return l
}

func widen(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// configs is the grid of configurations most tests sweep.
func configs() []Sinkhorn {
	var cs []Sinkhorn
	for _, n := range []int{1, 2, 3, 4, 8} {
		for _, it := range []int{1, 3, 0} {
			for _, eps := range []float32{0, DeepSeekEps, 1e-2} {
				cs = append(cs, Sinkhorn{N: n, Iters: it, Eps: eps, Variant: Paper})
				cs = append(cs, Sinkhorn{N: n, Iters: it, Eps: eps, Variant: DeepSeek})
			}
		}
		if n <= MaxLiteN {
			cs = append(cs, Sinkhorn{N: n, Variant: Lite})
		}
	}
	return cs
}

func name(s Sinkhorn) string {
	return fmt.Sprintf("%v/n=%d/t=%d/eps=%g", s.Variant, s.N, s.iters(), s.Eps)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		s  Sinkhorn
		ok bool
	}{
		{Sinkhorn{N: 4}, true},
		{Sinkhorn{N: 1, Iters: 1}, true},
		{Sinkhorn{N: 8, Iters: 20, Eps: DeepSeekEps, Variant: DeepSeek}, true},
		{Sinkhorn{N: 4, Variant: Lite}, true},
		{Sinkhorn{N: 4, Variant: Lite, Eps: -1, Iters: -1}, true}, // ignored by Lite
		{Sinkhorn{N: 0}, false},
		{Sinkhorn{N: 4, Iters: -1}, false},
		{Sinkhorn{N: 4, Eps: -1e-6}, false},
		{Sinkhorn{N: 4, Eps: float32(math.NaN())}, false},
		{Sinkhorn{N: 4, Eps: float32(math.Inf(1))}, false},
		{Sinkhorn{N: 5, Variant: Lite}, false},
		{Sinkhorn{N: 4, Variant: Variant(7)}, false},
	}
	for _, tt := range tests {
		if err := tt.s.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tt.s, err, tt.ok)
		}
	}
}

func TestLogitsPerToken(t *testing.T) {
	tests := []struct {
		s    Sinkhorn
		want int
	}{
		{Sinkhorn{N: 1}, 1}, {Sinkhorn{N: 4}, 16}, {Sinkhorn{N: 8, Variant: DeepSeek}, 64},
		{Sinkhorn{N: 1, Variant: Lite}, 1}, {Sinkhorn{N: 2, Variant: Lite}, 2},
		{Sinkhorn{N: 3, Variant: Lite}, 6}, {Sinkhorn{N: 4, Variant: Lite}, 24},
	}
	for _, tt := range tests {
		if got := tt.s.LogitsPerToken(); got != tt.want {
			t.Errorf("%+v: LogitsPerToken() = %d, want %d", tt.s, got, tt.want)
		}
	}
}

// TestForwardMatchesReference checks every variant entry-wise against its
// independent float64 mirror (for DeepSeek, a mirror written in DeepSeek's
// own transposed orientation).
func TestForwardMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range configs() {
		ws := NewWorkspace(s)
		h := make([]float32, s.N*s.N)
		for _, scale := range []float64{1, 4} {
			for rep := 0; rep < 5; rep++ {
				l := randLogits(rng, s.LogitsPerToken(), scale)
				s.Forward(h, l, ws)
				want := ref(s, widen(l))
				for i := range h {
					if d := math.Abs(float64(h[i]) - want[i]); d > 1e-6 {
						t.Fatalf("%s scale %g: H[%d] = %v, reference %v", name(s), scale, i, h[i], want[i])
					}
				}
			}
		}
	}
}

// TestOrientation pins the paper orientation with hand-built non-symmetric
// logits: a transposed implementation (or one normalising rows first) fails.
func TestOrientation(t *testing.T) {
	ln3 := float32(math.Log(3))
	tests := []struct {
		name   string
		s      Sinkhorn
		logits []float32
		want   []float64 // nil: use refPaper
	}{
		// By hand, t = 1: exp = [[1 3] [1 1]]; T_c → [[.5 .75] [.5 .25]];
		// T_r → [[.4 .6] [2/3 1/3]].
		{"hand n=2 t=1", Sinkhorn{N: 2, Iters: 1}, []float32{0, ln3, 0, 0}, []float64{0.4, 0.6, 2.0 / 3, 1.0 / 3}},
		{"hand n=2 t=1 DeepSeek", Sinkhorn{N: 2, Iters: 1, Variant: DeepSeek}, []float32{0, ln3, 0, 0}, []float64{0.4, 0.6, 2.0 / 3, 1.0 / 3}},
		// At convergence the Sinkhorn limit of Lᵀ is the transpose of that of
		// L, so the fixtures use few rounds or a slowly converging,
		// near-saturated matrix where the order of the last step matters.
		{"n=3 t=2", Sinkhorn{N: 3, Iters: 2}, []float32{0, 1, 2.5, -1, 0, 0.5, -2, 3, 0}, nil},
		{"n=3 t=2 DeepSeek", Sinkhorn{N: 3, Iters: 2, Variant: DeepSeek}, []float32{0, 1, 2.5, -1, 0, 0.5, -2, 3, 0}, nil},
		{"n=4 t=20", Sinkhorn{N: 4}, []float32{-1.4, -0.1, 5.5, 2.8, 4.9, 3.2, -2.6, 0.2, 6.1, -5.9, -2.5, -3.8, 0.7, 3, 0.4, 6.3}, nil},
		{"n=4 t=20 DeepSeek", Sinkhorn{N: 4, Variant: DeepSeek}, []float32{-1.4, -0.1, 5.5, 2.8, 4.9, 3.2, -2.6, 0.2, 6.1, -5.9, -2.5, -3.8, 0.7, 3, 0.4, 6.3}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.s.N
			l := widen(tt.logits)
			want := tt.want
			if want == nil {
				want = refPaper(l, n, tt.s.iters(), 0)
			}
			// The fixture must discriminate: both a transposed result (Hᵀ)
			// and the transposed computation (P(Lᵀ)ᵀ, i.e. rows first and
			// columns last) must differ from the right one.
			lt := make([]float64, n*n)
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					lt[j*n+i] = l[i*n+j]
				}
			}
			tr := refPaper(lt, n, tt.s.iters(), 0)
			dComp, dSym := 0.0, 0.0
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					dComp = math.Max(dComp, math.Abs(tr[j*n+i]-want[i*n+j]))
					dSym = math.Max(dSym, math.Abs(want[j*n+i]-want[i*n+j]))
				}
			}
			if dComp < 1e-2 || dSym < 1e-2 {
				t.Fatalf("fixture does not discriminate orientation (%g, %g)", dComp, dSym)
			}
			h := make([]float32, n*n)
			tt.s.Forward(h, tt.logits, NewWorkspace(tt.s))
			for i := range h {
				if math.Abs(float64(h[i])-want[i]) > 1e-6 {
					t.Errorf("H[%d][%d] = %v, want %v", i/n, i%n, h[i], want[i])
				}
			}
		})
	}
}

// TestDoublyStochastic: paper rows sum to 1 within 1e-6, entries are ≥ 0,
// and the column sums (which carry all the truncation error of t = 20
// rounds) are close to 1. Measured worst column deviation at n = 4 over 2000
// draws: 9e-5 for logits N(0,1), 6e-2 for N(0,1)·4 (median 3e-3); Sinkhorn
// converges only like O(1/t) on near-triangular, saturated patterns, so a
// worst-case 1e-3 bound holds at scale 1 but not at scale 4.
func TestDoublyStochastic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		n         int
		scale     float64
		maxColTol float64 // worst |col sum − 1| over all samples
		medianTol float64 // median over samples of the per-matrix worst column
		samples   int
	}{
		{2, 1, 1e-2, 1e-6, 400},
		{4, 1, 1e-3, 1e-6, 400},
		{8, 1, 1e-3, 1e-6, 200},
		{4, 4, 0.1, 1e-2, 400},
		{8, 4, 0.1, 1e-2, 200},
	}
	for _, tt := range tests {
		s := Sinkhorn{N: tt.n}
		ws := NewWorkspace(s)
		h := make([]float32, tt.n*tt.n)
		worstRow := 0.0
		cols := make([]float64, 0, tt.samples)
		for rep := 0; rep < tt.samples; rep++ {
			s.Forward(h, randLogits(rng, tt.n*tt.n, tt.scale), ws)
			hh := widen(h)
			wc := 0.0
			for i := 0; i < tt.n; i++ {
				var r, c float64
				for j := 0; j < tt.n; j++ {
					if hh[i*tt.n+j] < 0 {
						t.Fatalf("negative entry %v", hh[i*tt.n+j])
					}
					r += hh[i*tt.n+j]
					c += hh[j*tt.n+i]
				}
				worstRow = math.Max(worstRow, math.Abs(r-1))
				wc = math.Max(wc, math.Abs(c-1))
			}
			cols = append(cols, wc)
		}
		slices.Sort(cols)
		med, worst := cols[len(cols)/2], cols[len(cols)-1]
		if worstRow > 1e-6 || worst > tt.maxColTol || med > tt.medianTol {
			t.Errorf("n=%d scale=%g: worst |row−1| %g (tol 1e-6); |col−1| worst %g (tol %g), median %g (tol %g)",
				tt.n, tt.scale, worstRow, worst, tt.maxColTol, med, tt.medianTol)
		}
	}
}

// TestDeepSeekMatchesPaper: the two orders are the same function at
// eps = 0. With DeepSeek's eps = 1e-6 they agree to ~1e-5 for moderate
// logits only: the +eps floor on tiny softmax entries moves the fixed point
// of saturated matrices (measured: up to 0.15 entry-wise for N(0,1)·4 logits,
// confirmed with the float64 mirrors), so the tolerance is checked at scale 1.
func TestDeepSeekMatchesPaper(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		eps   float32
		scale float64
		tol   float64
	}{{0, 1, 1e-6}, {0, 4, 1e-6}, {DeepSeekEps, 1, 2e-5}}
	for _, tt := range tests {
		p := Sinkhorn{N: 4}
		d := Sinkhorn{N: 4, Eps: tt.eps, Variant: DeepSeek}
		ws := NewWorkspace(p)
		hp, hd := make([]float32, 16), make([]float32, 16)
		for rep := 0; rep < 200; rep++ {
			l := randLogits(rng, 16, tt.scale)
			p.Forward(hp, l, ws)
			d.Forward(hd, l, ws)
			for i := range hp {
				if math.Abs(float64(hp[i]-hd[i])) > tt.tol {
					t.Fatalf("eps=%g scale=%g: paper %v vs deepseek %v at %d", tt.eps, tt.scale, hp[i], hd[i], i)
				}
			}
		}
	}
}

// TestGradient compares Backward with central differences of the float64
// mirror. Why this is a sound check: the mirror is independent code in
// float64, so with step 1e-6 its central difference has truncation error
// O(h²·|f”'|) ≈ 1e-12 and rounding error O(ε64/h) ≈ 1e-10 relative to the
// loss scale; Backward itself works in float64 on the same float32 inputs,
// so the only expected discrepancy is the float32 rounding of dlogits
// (≈ 6e-8 relative). The tolerance 1e-5·(1+max|grad|) is therefore loose,
// yet any wrong term (a transposed step, a missing eps, a dropped max-shift
// correction at Eps > 0) shows up orders of magnitude above it.
func TestGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	worst := 0.0
	defer func() { t.Logf("worst |Backward − FD| / (1+max|grad|) = %.2g", worst) }()
	for _, s := range configs() {
		for _, scale := range []float64{1, 3} {
			ws := NewWorkspace(s)
			k := s.LogitsPerToken()
			nn := s.N * s.N
			l := randLogits(rng, k, scale)
			g := randLogits(rng, nn, 1)
			loss := func(x []float64) float64 {
				h := ref(s, x)
				var sum float64
				for i := range h {
					sum += float64(g[i]) * h[i]
				}
				return sum
			}
			dl := make([]float32, k)
			s.Backward(dl, g, l, ws)
			x := widen(l)
			fd := fdcheck.Gradient(func() float64 { return loss(x) }, x, 1e-6)
			maxg := 0.0
			for _, v := range fd {
				maxg = math.Max(maxg, math.Abs(v))
			}
			for i := range fd {
				d := math.Abs(float64(dl[i]) - fd[i])
				worst = math.Max(worst, d/(1+maxg))
				if d > 1e-5*(1+maxg) {
					t.Fatalf("%s scale %g: dlogits[%d] = %v, finite difference %v", name(s), scale, i, dl[i], fd[i])
				}
			}
		}
	}
}

// TestGradientCoarseFloat32 is a coarser check that needs no mirror:
// central differences of the float32 Forward itself, h = 1e-2, for which the
// truncation error (~h²) and float32 rounding (~1e-7/h) both stay near 1e-4.
func TestGradientCoarseFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range []Sinkhorn{{N: 4}, {N: 4, Eps: DeepSeekEps, Variant: DeepSeek}, {N: 4, Variant: Lite}, {N: 3, Eps: 0.05}} {
		ws := NewWorkspace(s)
		k, nn := s.LogitsPerToken(), s.N*s.N
		l := randLogits(rng, k, 1)
		g := randLogits(rng, nn, 1)
		h := make([]float32, nn)
		loss := func() float64 {
			s.Forward(h, l, ws)
			var sum float64
			for i := range h {
				sum += float64(g[i]) * float64(h[i])
			}
			return sum
		}
		dl := make([]float32, k)
		s.Backward(dl, g, l, ws)
		fd := fdcheck.Gradient(loss, l, 1e-2)
		for i := range l {
			if math.Abs(float64(dl[i])-fd[i]) > 1e-3*(1+math.Abs(fd[i])) {
				t.Errorf("%s: dlogits[%d] = %v, coarse FD %v", name(s), i, dl[i], fd[i])
			}
		}
	}
}

// TestExtremeLogits: logits spanning 200 must not produce NaN/Inf.
func TestExtremeLogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	gens := []struct {
		name string
		gen  func(k int) []float32
	}{
		{"±100 signs", func(k int) []float32 {
			l := make([]float32, k)
			for i := range l {
				l[i] = 100
				if rng.IntN(2) == 0 {
					l[i] = -100
				}
			}
			return l
		}},
		{"uniform[-100,100]", func(k int) []float32 {
			l := make([]float32, k)
			for i := range l {
				l[i] = float32(rng.Float64()*200 - 100)
			}
			return l
		}},
		{"identity bias 100", func(k int) []float32 {
			l := make([]float32, k)
			n := int(math.Sqrt(float64(k)))
			for i := range l {
				l[i] = -100
				if n*n == k && i%(n+1) == 0 || n*n != k && i == 0 {
					l[i] = 100
				}
			}
			return l
		}},
	}
	for _, s := range configs() {
		ws := NewWorkspace(s)
		nn, k := s.N*s.N, s.LogitsPerToken()
		h := make([]float32, nn)
		dl := make([]float32, k)
		for _, gn := range gens {
			for rep := 0; rep < 10; rep++ {
				l := gn.gen(k)
				s.Forward(h, l, ws)
				s.Backward(dl, randLogits(rng, nn, 1), l, ws)
				for _, v := range append(slices.Clone(h), dl...) {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("%s %s: non-finite output; logits %v H %v dlogits %v", name(s), gn.name, l, h, dl)
					}
				}
				for _, v := range h {
					if v < 0 || v > 1+1e-6 {
						t.Fatalf("%s %s: entry %v outside [0,1]", name(s), gn.name, v)
					}
				}
			}
		}
	}
}

func TestN1(t *testing.T) {
	for _, s := range []Sinkhorn{{N: 1}, {N: 1, Iters: 1, Eps: DeepSeekEps, Variant: DeepSeek}, {N: 1, Variant: Lite}} {
		ws := NewWorkspace(s)
		h := []float32{7}
		s.Forward(h, []float32{-42}, ws)
		tol := 0.0
		if s.Eps != 0 {
			tol = 1e-5
		}
		if math.Abs(float64(h[0])-1) > tol {
			t.Errorf("%s: H = %v, want [1]", name(s), h)
		}
		dl := []float32{9}
		s.Backward(dl, []float32{3}, []float32{-42}, ws)
		if math.Abs(float64(dl[0])) > 1e-12 {
			t.Errorf("%s: dlogits = %v, want [0]", name(s), dl)
		}
	}
}

func TestLitePermutations(t *testing.T) {
	for n := 1; n <= MaxLiteN; n++ {
		want := refPerms(n)
		seen := map[string]bool{}
		p := make([]int, n)
		for k := 0; k < factorial(n); k++ {
			Permutation(p, n, k)
			if !slices.Equal(p, want[k]) {
				t.Errorf("n=%d k=%d: %v, want %v (lexicographic)", n, k, p, want[k])
			}
			sorted := slices.Sorted(slices.Values(p))
			for i, v := range sorted {
				if v != i {
					t.Fatalf("n=%d k=%d: %v is not a permutation", n, k, p)
				}
			}
			key := fmt.Sprint(p)
			if seen[key] {
				t.Fatalf("n=%d: duplicate permutation %v", n, p)
			}
			seen[key] = true
		}
		if len(seen) != len(want) {
			t.Errorf("n=%d: %d distinct permutations, want %d", n, len(seen), len(want))
		}
	}
}

func TestLiteExactlyDoublyStochastic(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for n := 1; n <= MaxLiteN; n++ {
		s := Sinkhorn{N: n, Variant: Lite}
		ws := NewWorkspace(s)
		h := make([]float32, n*n)
		for rep := 0; rep < 100; rep++ {
			s.Forward(h, randLogits(rng, s.LogitsPerToken(), 5), ws)
			for i := 0; i < n; i++ {
				var r, c float64
				for j := 0; j < n; j++ {
					r += float64(h[i*n+j])
					c += float64(h[j*n+i])
				}
				if math.Abs(r-1) > 1e-6 || math.Abs(c-1) > 1e-6 {
					t.Fatalf("n=%d: row %d sum %v, col sum %v", n, i, r, c)
				}
			}
		}
	}
}

// TestBackwardAliasing: dlogits may be the very slice holding dh or logits.
func TestBackwardAliasing(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, s := range []Sinkhorn{{N: 4}, {N: 4, Eps: 0.01}, {N: 3, Eps: DeepSeekEps, Variant: DeepSeek}, {N: 2, Variant: Lite}} {
		ws := NewWorkspace(s)
		k, nn := s.LogitsPerToken(), s.N*s.N
		l := randLogits(rng, k, 2)
		g := randLogits(rng, nn, 1)
		want := make([]float32, k)
		s.Backward(want, g, l, ws)
		if k == nn {
			buf := slices.Clone(g)
			s.Backward(buf, buf, l, ws)
			if !slices.Equal(buf, want) {
				t.Errorf("%s: in-place over dh differs", name(s))
			}
		}
		buf := slices.Clone(l)
		s.Backward(buf, g, buf, ws)
		if !slices.Equal(buf, want) {
			t.Errorf("%s: in-place over logits differs", name(s))
		}
	}
}

func TestWorkspaceReuse(t *testing.T) {
	// A workspace made for Paper n=4 t=20 serves DeepSeek, fewer iters and Lite.
	ws := NewWorkspace(Sinkhorn{N: 4})
	h := make([]float32, 16)
	for _, s := range []Sinkhorn{{N: 4, Iters: 5, Variant: DeepSeek}, {N: 4, Variant: Lite}} {
		s.Forward(h, make([]float32, s.LogitsPerToken()), ws)
		for _, v := range h {
			if math.Abs(float64(v)-0.25) > 1e-6 {
				t.Fatalf("%s on zero logits: %v, want uniform 0.25", name(s), h)
			}
		}
	}
}

func TestPanics(t *testing.T) {
	s := Sinkhorn{N: 4}
	ws := NewWorkspace(s)
	tests := []struct {
		name string
		f    func()
	}{
		{"workspace N mismatch", func() { Sinkhorn{N: 2}.Forward(make([]float32, 4), make([]float32, 4), ws) }},
		{"workspace too few iters", func() {
			Sinkhorn{N: 4, Iters: 30}.Forward(make([]float32, 16), make([]float32, 16), ws)
		}},
		{"nil workspace", func() { s.Forward(make([]float32, 16), make([]float32, 16), nil) }},
		{"short h", func() { s.Forward(make([]float32, 15), make([]float32, 16), ws) }},
		{"short logits", func() { s.Backward(make([]float32, 16), make([]float32, 16), make([]float32, 3), ws) }},
		{"invalid config", func() { NewWorkspace(Sinkhorn{N: 5, Variant: Lite}) }},
		{"permutation range", func() { Permutation(make([]int, 3), 3, 6) }},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tt.name)
				}
			}()
			tt.f()
		}()
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, s := range []Sinkhorn{{N: 4}, {N: 4, Eps: 1e-3}, {N: 8, Eps: DeepSeekEps, Variant: DeepSeek}, {N: 4, Variant: Lite}} {
		ws := NewWorkspace(s)
		k, nn := s.LogitsPerToken(), s.N*s.N
		l, g := make([]float32, k), make([]float32, nn)
		h, dl := make([]float32, nn), make([]float32, k)
		if a := testing.AllocsPerRun(20, func() { s.Forward(h, l, ws) }); a != 0 {
			t.Errorf("%s: Forward allocs %v", name(s), a)
		}
		if a := testing.AllocsPerRun(20, func() { s.Backward(dl, g, l, ws) }); a != 0 {
			t.Errorf("%s: Backward allocs %v", name(s), a)
		}
	}
}

func benchConfigs() []Sinkhorn {
	return []Sinkhorn{
		{N: 4, Iters: 20, Variant: Paper},
		{N: 4, Iters: 20, Eps: DeepSeekEps, Variant: DeepSeek},
		{N: 4, Variant: Lite},
		{N: 8, Iters: 20, Variant: Paper},
	}
}

func BenchmarkForward(b *testing.B) {
	for _, s := range benchConfigs() {
		b.Run(name(s), func(b *testing.B) {
			ws := NewWorkspace(s)
			l := randLogits(rand.New(rand.NewPCG(1, 1)), s.LogitsPerToken(), 1)
			h := make([]float32, s.N*s.N)
			b.ReportAllocs()
			for b.Loop() {
				s.Forward(h, l, ws)
			}
		})
	}
}

func BenchmarkBackward(b *testing.B) {
	for _, s := range benchConfigs() {
		b.Run(name(s), func(b *testing.B) {
			ws := NewWorkspace(s)
			rng := rand.New(rand.NewPCG(1, 1))
			l := randLogits(rng, s.LogitsPerToken(), 1)
			g := randLogits(rng, s.N*s.N, 1)
			dl := make([]float32, s.LogitsPerToken())
			b.ReportAllocs()
			for b.Loop() {
				s.Backward(dl, g, l, ws)
			}
		})
	}
}

// TestSteps4MatchGeneric: the unrolled n = 4 kernels agree with the generic
// ones to rounding.
func TestSteps4MatchGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	vec := func(k int) []float64 {
		v := make([]float64, k)
		for i := range v {
			v[i] = rng.Float64() + 0.1
		}
		return v
	}
	near := func(a, b []float64) bool {
		for i := range a {
			if math.Abs(a[i]-b[i]) > 1e-14*(1+math.Abs(b[i])) {
				return false
			}
		}
		return true
	}
	for rep := 0; rep < 50; rep++ {
		m0, r, c, eps := vec(16), vec(4), vec(4), []float64{0, 1e-6}[rep%2]
		o1, i1, o2, i2 := make([]float64, 4), make([]float64, 4), make([]float64, 4), make([]float64, 4)
		colStep(o1, i1, m0, r, c, make([]float64, 4), 4, eps)
		colStep4(o2, i2, m0, r, c, eps)
		if !near(o1, o2) || !near(i1, i2) {
			t.Fatal("colStep4 differs")
		}
		rowStep(o1, i1, m0, r, c, 4, eps)
		rowStep4(o2, i2, m0, r, c, eps)
		if !near(o1, o2) || !near(i1, i2) {
			t.Fatal("rowStep4 differs")
		}
		g := vec(16)
		g1, g2 := slices.Clone(g), slices.Clone(g)
		colStepBack(g1, m0, r, c, i1, make([]float64, 4), 4)
		colStepBack4(g2, m0, r, c, i1)
		if !near(g1, g2) {
			t.Fatal("colStepBack4 differs")
		}
		rowStepBack(g1, m0, r, c, i1, 4)
		rowStepBack4(g2, m0, r, c, i1)
		if !near(g1, g2) {
			t.Fatal("rowStepBack4 differs")
		}
	}
}
