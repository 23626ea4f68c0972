package hyper

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/internal/fdcheck"
	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/manifold"
	"github.com/mhc-go/mhc/param"
)

// mhcCfg returns an mHC configuration with n streams and the paper Sinkhorn.
func mhcCfg(kind Kind, n int) Config {
	return Config{Kind: kind, Streams: n, Contract: "sum", SinkhornIters: 20, Sinkhorn: "paper", NormEps: 1e-6}
}

// buildMHC builds one mHC connection for width c and up to maxN tokens,
// with its parameters initialised from seed 1.
func buildMHC(t testing.TB, cfg Config, c, maxN int) (*mhc, *param.Store) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &param.Store{}
	conn, err := Builder{Cfg: cfg, C: c, MaxN: maxN, Store: s, Layers: 2}.New("conn", 0)
	if err != nil {
		t.Fatal(err)
	}
	s.Build()
	s.Initialize(1)
	return conn.(*mhc), s
}

func randSlice(rng *rand.Rand, n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(std * rng.NormFloat64())
	}
	return v
}

// directional compares ⟨g, d⟩ with a finite difference of f along a random
// direction d over x (one N(0,1) entry per element): the float32 engine
// cannot resolve single-coordinate differences, but a sum over many
// coordinates is well above rounding noise. The objective here sums ~10³
// float32 outputs, so its rounding noise is ~3e-6 absolute; the plain central
// difference at h = 1e-3 turns that into ~1.5e-3 of noise, above the
// tolerance for small directional derivatives. We therefore use the
// fourth-order stencil (8(f₊ₕ − f₋ₕ) − (f₊₂ₕ − f₋₂ₕ))/12h at h = 1e-2: its
// truncation error is O(h⁴) and its noise ~4× lower. Tolerance as in the
// model tests: 2e-3 relative + 2e-4 absolute.
func directional(t *testing.T, what string, f func() float64, x, g []float32, rng *rand.Rand) {
	t.Helper()
	if err := fdcheck.Directional(f, x, g, rng, 1e-2); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// mhcHarness runs f = Σ w ⊙ Post(x, F(Pre(x))) with F(u) = tanh(u)⊙c and
// its backward through one connection.
type mhcHarness struct {
	conn       *mhc
	N, C, n    int
	x, w, cv   []float32
	u, y, xo   []float32
	dx, dy, du []float32
}

func newHarness(conn *mhc, N int, rng *rand.Rand) *mhcHarness {
	n, C := conn.n, conn.c
	h := &mhcHarness{conn: conn, N: N, C: C, n: n,
		x: randSlice(rng, N*n*C, 1), w: randSlice(rng, N*n*C, 1), cv: randSlice(rng, C, 1),
		u: make([]float32, N*C), y: make([]float32, N*C), xo: make([]float32, N*n*C),
		dx: make([]float32, N*n*C), dy: make([]float32, N*C), du: make([]float32, N*C)}
	return h
}

func (h *mhcHarness) forward() float64 {
	h.conn.Pre(h.x, h.u, h.N)
	for i, v := range h.u {
		h.y[i] = float32(math.Tanh(float64(v))) * h.cv[i%h.C]
	}
	h.conn.Post(h.x, h.y, h.xo, h.N)
	var s float64
	for i, v := range h.xo {
		s += float64(h.w[i]) * float64(v)
	}
	return s
}

// backward runs forward then the backward pass; dx is left in h.dx and the
// parameter gradients are accumulated into the store.
func (h *mhcHarness) backward() {
	h.forward()
	h.conn.PostBackward(h.x, h.y, h.w, h.dy, h.dx, h.N)
	for i, v := range h.u {
		th := math.Tanh(float64(v))
		h.du[i] = h.dy[i] * h.cv[i%h.C] * float32(1-th*th)
	}
	h.conn.PreBackward(h.x, h.du, h.dx, h.N)
}

// perturbParams makes every path non-trivial: φ with unit-scale
// projections, distinct gates of size ~0.5 and random biases.
func perturbParams(m *mhc, rng *rand.Rand) {
	std := 1 / math.Sqrt(float64(m.nc))
	for i := range m.phi.Data {
		m.phi.Data[i] = float32(std * rng.NormFloat64())
	}
	copy(m.alpha.Data, []float32{0.5, -0.6, 0.8})
	for i := range m.bias.Data {
		m.bias.Data[i] = float32(0.5 * rng.NormFloat64())
	}
}

var mhcSeed uint64 = 99

func TestMHCGradients(t *testing.T) {
	cases := []struct {
		name     string
		kind     Kind
		n        int
		sinkhorn string
		eps      float32
		iters    int
		fixed    string
	}{
		{"n1 paper", MHC, 1, "paper", 0, 20, ""},
		{"n2 paper", MHC, 2, "paper", 0, 20, ""},
		{"n4 paper", MHC, 4, "paper", 0, 20, ""},
		{"n4 paper 3 iters", MHC, 4, "paper", 0, 3, ""},
		{"n3 paper eps", MHC, 3, "paper", 1e-6, 20, ""},
		{"n2 deepseek", MHC, 2, "deepseek", 1e-6, 20, ""},
		{"n4 deepseek", MHC, 4, "deepseek", 1e-6, 20, ""},
		{"n1 deepseek", MHC, 1, "deepseek", 1e-6, 20, ""},
		{"lite n2", MHCLite, 2, "paper", 0, 20, ""},
		{"lite n3", MHCLite, 3, "paper", 0, 20, ""},
		{"lite n4", MHCLite, 4, "paper", 0, 20, ""},
		{"fixed pre", MHC, 4, "paper", 0, 20, "pre"},
		{"fixed post", MHC, 4, "paper", 0, 20, "post"},
		{"fixed res", MHC, 4, "paper", 0, 20, "res"},
		{"fixed pre,post", MHC, 3, "deepseek", 1e-6, 20, "pre,post"},
		{"fixed all", MHC, 4, "paper", 0, 20, "pre,post,res"},
		{"lite fixed res", MHCLite, 3, "paper", 0, 20, "res"},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mhcCfg(tc.kind, tc.n)
			cfg.Sinkhorn, cfg.SinkhornEps, cfg.SinkhornIters, cfg.Fixed = tc.sinkhorn, tc.eps, tc.iters, mustFixed(t, tc.fixed)
			const C, N = 6, 37 // N > 2·grain: the parallel path runs with ≥ 2 workers
			m, s := buildMHC(t, cfg, C, N)
			rng := rand.New(rand.NewPCG(uint64(ci), mhcSeed))
			perturbParams(m, rng)
			h := newHarness(m, N, rng)
			s.ZeroGrad()
			h.backward()
			dx := append([]float32(nil), h.dx...)
			grad := append([]float32(nil), s.Grad...)
			directional(t, "dx", h.forward, h.x, dx, rng)
			for _, p := range s.Tensors {
				g := grad[p.Offset : p.Offset+p.Numel()]
				directional(t, p.Name, h.forward, p.Data, g, rng)
			}
			// Fixed maps give their logits and gate no gradient.
			n, ga, gb := tc.n, grad[m.alpha.Offset:], grad[m.bias.Offset:m.bias.Offset+m.p]
			for g, name := range []string{"pre", "post", "res"} {
				if !strings.Contains(cfg.Fixed.String(), name) {
					continue
				}
				lo, hi := g*n, (g+1)*n
				if g == 2 {
					hi = m.p
				}
				if ga[g] != 0 {
					t.Errorf("fixed %s: alpha grad %g, want 0", name, ga[g])
				}
				for _, v := range gb[lo:hi] {
					if v != 0 {
						t.Errorf("fixed %s: bias grad %g, want 0", name, v)
						break
					}
				}
			}
		})
	}
}

// TestMHCTwoStreamsByHand pins the orientation of H_res. With φ = 0 and
// α = 0 the logits are the bias. One Sinkhorn round (column then row
// normalisation) of exp(L), L = [[0 0] [ln 3 0]], gives
// column-normalised [[1/4 1/2] [3/4 1/2]] and then H = [[1/3 2/3] [3/5 2/5]],
// which is not symmetric (any doubly stochastic 2×2 is, hence one round).
// Applying Hᵀ instead would put 3/5 where 2/3 belongs.
func TestMHCTwoStreamsByHand(t *testing.T) {
	for _, variant := range []string{"paper", "deepseek"} {
		t.Run(variant, func(t *testing.T) {
			cfg := mhcCfg(MHC, 2)
			cfg.SinkhornIters, cfg.Sinkhorn = 1, variant
			if variant == "deepseek" {
				cfg.SinkhornEps = 1e-6
			}
			const C = 3
			m, _ := buildMHC(t, cfg, C, 1)
			clear(m.phi.Data)
			clear(m.alpha.Data)
			ln3 := float32(math.Log(3))
			// [pre 2 | post 2 | res 4]: H_pre = (1/2, 3/4), H_post = (3/2, 1).
			copy(m.bias.Data, []float32{0, ln3, ln3, 0, 0, 0, ln3, 0})
			x := []float32{1, 0, 2, 0, 1, -1} // stream 0, stream 1
			y := []float32{0.5, 2, 0}
			u, xo := make([]float32, C), make([]float32, 2*C)
			m.Pre(x, u, 1)
			m.Post(x, y, xo, 1)
			H := [4]float64{1.0 / 3, 2.0 / 3, 3.0 / 5, 2.0 / 5}
			pre, post := [2]float64{0.5, 0.75}, [2]float64{1.5, 1}
			for k := 0; k < C; k++ {
				x0, x1 := float64(x[k]), float64(x[C+k])
				if want := pre[0]*x0 + pre[1]*x1; math.Abs(float64(u[k])-want) > 1e-5 {
					t.Errorf("u[%d] = %.7g, want %.7g", k, u[k], want)
				}
				for i := 0; i < 2; i++ {
					want := H[2*i]*x0 + H[2*i+1]*x1 + post[i]*float64(y[k])
					if got := float64(xo[i*C+k]); math.Abs(got-want) > 1e-5 {
						t.Errorf("xOut stream %d [%d] = %.7g, want %.7g (H_res applied transposed?)", i, k, got, want)
					}
				}
			}
			mean := make([]float64, 4)
			m.MeanRes(mean, 1)
			for k := range mean {
				if math.Abs(mean[k]-H[k]) > 1e-5 {
					t.Errorf("MeanRes = %.6f, want %.6f", mean, H)
					break
				}
			}
		})
	}
}

// TestMHCLiteOrientation puts almost all weight on one 3-cycle and checks
// that output stream i receives input stream Permutation(k)[i].
func TestMHCLiteOrientation(t *testing.T) {
	const n, C, k = 3, 2, 3
	m, _ := buildMHC(t, mhcCfg(MHCLite, n), C, 1)
	clear(m.phi.Data)
	clear(m.alpha.Data)
	clear(m.bias.Data)
	m.bias.Data[2*n+k] = 40
	perm := make([]int, n)
	manifold.Permutation(perm, n, k)
	if perm[0] == 0 && perm[1] == 1 {
		t.Fatalf("permutation %d is %v; the test needs a non-identity one", k, perm)
	}
	x := []float32{1, 2, 3, 4, 5, 6}
	u, y, xo := make([]float32, C), make([]float32, C), make([]float32, n*C)
	m.Pre(x, u, 1)
	m.Post(x, y, xo, 1)
	for i := 0; i < n; i++ {
		for c := 0; c < C; c++ {
			if got, want := xo[i*C+c], x[perm[i]*C+c]; math.Abs(float64(got-want)) > 1e-5 {
				t.Errorf("output stream %d = %v, want input stream %d = %v", i, xo[i*C:(i+1)*C], perm[i], x[perm[i]*C:(perm[i]+1)*C])
				break
			}
		}
	}
}

// TestMHCResIsStochastic checks that every token's H_res has non-negative
// entries and rows summing to 1 for random, large logits.
func TestMHCResIsStochastic(t *testing.T) {
	cases := []struct {
		name     string
		kind     Kind
		sinkhorn string
		eps      float32
		tol      float64
	}{
		{"paper", MHC, "paper", 0, 1e-6},
		{"deepseek", MHC, "deepseek", 1e-6, 3e-6}, // rows sum to s/(s+eps)
		{"lite", MHCLite, "paper", 0, 1e-6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mhcCfg(tc.kind, 4)
			cfg.Sinkhorn, cfg.SinkhornEps = tc.sinkhorn, tc.eps
			const C, N = 8, 40
			m, _ := buildMHC(t, cfg, C, N)
			rng := rand.New(rand.NewPCG(3, 4))
			perturbParams(m, rng)
			for i := range m.bias.Data {
				m.bias.Data[i] *= 8
			}
			x, u := randSlice(rng, N*4*C, 1), make([]float32, N*C)
			m.Pre(x, u, N)
			for tok := 0; tok < N; tok++ {
				h := m.hres[tok*16 : (tok+1)*16]
				for i := 0; i < 4; i++ {
					var s float64
					for j := 0; j < 4; j++ {
						if h[i*4+j] < 0 {
							t.Fatalf("token %d: H_res[%d][%d] = %g < 0", tok, i, j, h[i*4+j])
						}
						s += float64(h[i*4+j])
					}
					if math.Abs(s-1) > tc.tol {
						t.Fatalf("token %d: row %d of H_res sums to %.9f", tok, i, s)
					}
				}
			}
		})
	}
}

// TestMHCInit checks the registered tensors, their init, and that at b = 0
// identical streams stay identical (exactly with α = 0, and up to the small
// dynamic term with the default α = 0.01).
func TestMHCInit(t *testing.T) {
	cases := []struct {
		kind    Kind
		n, p    int
		resBias float32
	}{
		{MHC, 4, 24, 0},
		{MHC, 3, 15, 2},
		{MHCLite, 3, 12, 1.5},
		{MHCLite, 4, 32, 0},
	}
	for _, tc := range cases {
		cfg := mhcCfg(tc.kind, tc.n)
		cfg.ResBias = tc.resBias
		const C, N = 16, 20
		m, s := buildMHC(t, cfg, C, N)
		want := []struct {
			name  string
			shape []int
			decay bool
		}{{"conn.phi", []int{tc.p, tc.n * C}, true}, {"conn.alpha", []int{3}, false}, {"conn.bias", []int{tc.p}, false}}
		if len(s.Tensors) != len(want) {
			t.Fatalf("%s n=%d: %d tensors, want %d", tc.kind, tc.n, len(s.Tensors), len(want))
		}
		for i, w := range want {
			p := s.Tensors[i]
			if p.Name != w.name || param.ShapeString(p.Shape) != param.ShapeString(w.shape) || p.Decay != w.decay {
				t.Errorf("tensor %d: %s %v decay %v, want %s %v decay %v", i, p.Name, p.Shape, p.Decay, w.name, w.shape, w.decay)
			}
		}
		for _, a := range m.alpha.Data {
			if a != 0.01 {
				t.Errorf("alpha init %v, want 0.01", m.alpha.Data)
			}
		}
		for k, b := range m.bias.Data {
			var want float32
			if k >= 2*tc.n {
				r := k - 2*tc.n
				if (tc.kind == MHC && r%(tc.n+1) == 0) || (tc.kind == MHCLite && r == 0) {
					want = tc.resBias
				}
			}
			if b != want {
				t.Errorf("%s n=%d: bias[%d] = %g, want %g", tc.kind, tc.n, k, b, want)
			}
		}
		if tc.resBias != 0 {
			continue
		}
		// Identical streams at b = 0.
		rng := rand.New(rand.NewPCG(8, 9))
		x, y := make([]float32, N*tc.n*C), randSlice(rng, N*C, 1)
		for tok := 0; tok < N; tok++ {
			row := randSlice(rng, C, 1)
			for i := 0; i < tc.n; i++ {
				copy(x[(tok*tc.n+i)*C:], row)
			}
		}
		u, xo := make([]float32, N*C), make([]float32, N*tc.n*C)
		for _, alpha := range []float32{0, 0.01} {
			for g := range m.alpha.Data {
				m.alpha.Data[g] = alpha
			}
			m.Pre(x, u, N)
			m.Post(x, y, xo, N)
			tol := 0.0
			if alpha != 0 {
				tol = 0.1
			}
			for tok := 0; tok < N; tok++ {
				for i := 1; i < tc.n; i++ {
					for c := 0; c < C; c++ {
						a, b := xo[(tok*tc.n)*C+c], xo[(tok*tc.n+i)*C+c]
						if math.Abs(float64(a-b)) > tol*(1+math.Abs(float64(y[tok*C+c]))) {
							t.Fatalf("%s n=%d α=%g token %d: streams 0 and %d differ: %g vs %g", tc.kind, tc.n, alpha, tok, i, a, b)
						}
					}
				}
			}
			mean := make([]float64, tc.n*tc.n)
			m.MeanRes(mean, N)
			for k, v := range mean {
				if alpha == 0 && math.Abs(v-1/float64(tc.n)) > 1e-6 {
					t.Errorf("%s n=%d: MeanRes[%d] = %g at b = 0, α = 0, want 1/n", tc.kind, tc.n, k, v)
				}
			}
		}
	}
}

// TestMHCDeterministic runs the backward twice and wants bit-identical
// gradients.
func TestMHCDeterministic(t *testing.T) {
	const C, N = 8, 64
	m, s := buildMHC(t, mhcCfg(MHC, 4), C, N)
	rng := rand.New(rand.NewPCG(5, 5))
	perturbParams(m, rng)
	h := newHarness(m, N, rng)
	s.ZeroGrad()
	h.backward()
	g1, dx1 := append([]float32(nil), s.Grad...), append([]float32(nil), h.dx...)
	s.ZeroGrad()
	h.backward()
	for i := range g1 {
		if g1[i] != s.Grad[i] {
			t.Fatalf("param grad %d: %g then %g", i, g1[i], s.Grad[i])
		}
	}
	for i := range dx1 {
		if dx1[i] != h.dx[i] {
			t.Fatalf("dx %d: %g then %g", i, dx1[i], h.dx[i])
		}
	}
}

func TestMHCZeroAllocs(t *testing.T) {
	for _, kind := range []Kind{MHC, MHCLite} {
		const C, N = 16, 64
		m, _ := buildMHC(t, mhcCfg(kind, 4), C, N)
		rng := rand.New(rand.NewPCG(1, 1))
		h := newHarness(m, N, rng)
		h.backward() // warm up (GEMM packing buffers)
		steps := []struct {
			name string
			f    func()
		}{
			{"Pre", func() { m.Pre(h.x, h.u, N) }},
			{"Post", func() { m.Post(h.x, h.y, h.xo, N) }},
			{"PostBackward", func() { m.PostBackward(h.x, h.y, h.w, h.dy, h.dx, N) }},
			{"PreBackward", func() { m.PreBackward(h.x, h.du, h.dx, N) }},
		}
		for _, st := range steps {
			if a := testing.AllocsPerRun(20, st.f); a != 0 {
				t.Errorf("%s %s: %v allocations per call", kind, st.name, a)
			}
		}
	}
}

// BenchmarkMHC reports ns per token for the forward (Pre+Post) and the
// backward (PostBackward+PreBackward) of one sublayer connection.
func BenchmarkMHC(b *testing.B) {
	for _, bc := range []struct {
		name string
		kind Kind
		n, C int
	}{{"mhc-n4-C128", MHC, 4, 128}, {"mhc-n4-C256", MHC, 4, 256}, {"lite-n4-C256", MHCLite, 4, 256}, {"mhc-n4-C512", MHC, 4, 512}} {
		const N = 1024
		m, _ := buildMHC(b, mhcCfg(bc.kind, bc.n), bc.C, N)
		h := newHarness(m, N, rand.New(rand.NewPCG(1, 2)))
		b.Run(bc.name+"/fwd", func(b *testing.B) {
			for b.Loop() {
				m.Pre(h.x, h.u, N)
				m.Post(h.x, h.y, h.xo, N)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*N), "ns/token")
		})
		b.Run(bc.name+"/bwd", func(b *testing.B) {
			m.Pre(h.x, h.u, N)
			for b.Loop() {
				m.PostBackward(h.x, h.y, h.w, h.dy, h.dx, N)
				m.PreBackward(h.x, h.du, h.dx, N)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*N), "ns/token")
		})
	}
}

// TestMHCProjKernels runs the connection with the φ projection kernels
// (kernels.Proj*, where the kernel path has them) and with the GEMMs, and
// wants the same outputs and gradients to float32 rounding; and, with the
// kernels, the same bits whether the chunks run in parallel or serially
// (inside another ParallelFor), as with any GOMAXPROCS.
func TestMHCProjKernels(t *testing.T) {
	if !kernels.ProjFast() {
		t.Skipf("kernel path %s has no projection loops", kernels.Path())
	}
	for _, tc := range []struct {
		kind  Kind
		n, C  int
		N     int
		fixed string
	}{
		{MHC, 4, 40, 203, ""}, {MHC, 3, 16, 37, ""}, {MHCLite, 4, 32, 64, ""}, {MHC, 4, 256, 70, "res"}, {MHC, 2, 24, 9, ""},
	} {
		cfg := mhcCfg(tc.kind, tc.n)
		cfg.Fixed = mustFixed(t, tc.fixed)
		m, s := buildMHC(t, cfg, tc.C, tc.N)
		rng := rand.New(rand.NewPCG(7, uint64(tc.n*1000+tc.C)))
		perturbParams(m, rng)
		h := newHarness(m, tc.N, rng)
		run := func() (xo, dx, g []float32) {
			s.ZeroGrad()
			clear(h.dx)
			h.backward()
			return append([]float32(nil), h.xo...), append([]float32(nil), h.dx...), append([]float32(nil), s.Grad...)
		}
		xoK, dxK, gK := run()
		if !m.projFast {
			t.Fatalf("%v n%d: the projection kernels did not run", tc.kind, tc.n)
		}
		var xoS, dxS, gS []float32
		kernels.ParallelFor(2, kernels.TaskFunc(func(lo, hi int) {
			if lo == 0 {
				xoS, dxS, gS = run()
			}
		}))
		projOff = true
		xoG, dxG, gG := run()
		projOff = false
		name := fmt.Sprintf("%v n%d C%d N%d", tc.kind, tc.n, tc.C, tc.N)
		for _, c := range []struct {
			what      string
			k, s, gem []float32
		}{{"xOut", xoK, xoS, xoG}, {"dx", dxK, dxS, dxG}, {"param grads", gK, gS, gG}} {
			var diff, mag float64
			for i := range c.k {
				if c.k[i] != c.s[i] {
					t.Fatalf("%s: %s[%d] parallel %v, serial %v", name, c.what, i, c.k[i], c.s[i])
				}
				diff = max(diff, math.Abs(float64(c.k[i]-c.gem[i])))
				mag = max(mag, math.Abs(float64(c.gem[i])))
			}
			if diff > 1e-5*(mag+1) {
				t.Errorf("%s: %s differs from the GEMM path by %.3g (scale %.3g)", name, c.what, diff, mag)
			}
		}
	}
}
