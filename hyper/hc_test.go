package hyper

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/internal/fdcheck"
	"github.com/mhc-go/mhc/param"
)

// hcDirCheck compares a directional finite difference of f along a random
// direction v (over all of x) with ⟨g, v⟩ (the idea of model/grad_test.go's
// checkDirectional) with fdcheck.Directional at h = 1e-3, tolerance 2e-3
// relative + 2e-4 absolute.
//
// f is a float64 re-implementation of the connection written straight from
// the HC formulas (hcRef), not the float32 engine: with |f| ≈ 100 the
// engine's own rounding noise (≈ 1e-5 in f, so ≈ 5e-3 in a difference
// quotient at h = 1e-3) would swamp the tolerance, while larger h meets the
// tanh/LayerNorm curvature. The engine's forward is compared with hcRef
// separately (hcHarness.compare), so together forward and backward are
// checked against the same definition.
func hcDirCheck(t *testing.T, name string, f func() float64, x []float64, g []float32, rng *rand.Rand) {
	t.Helper()
	if err := fdcheck.Directional(f, x, g, rng, 1e-3); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

func hcF64(a []float32) []float64 {
	r := make([]float64, len(a))
	for i, v := range a {
		r[i] = float64(v)
	}
	return r
}

// hcRef is a float64 HC connection (HC paper Eq. 8–13, Appendix J) inside
// the test function f = Σ w ⊙ Post(x, cv ⊙ tanh(Pre(x))). Its slices are
// float64 copies of the engine's parameters and input, perturbed in place
// by hcDirCheck.
type hcRef struct {
	n, c, N, onehot         int
	fixPre, fixRes, fixPost bool
	sa, sb                  float64   // s_α, s_β
	staticA, staticB        []float64 // (n, n+1), (n)
	dynA, dynB              []float64 // (C, n+1), (C)
	x, w, cv                []float64
	u, xOut                 []float64 // outputs of the last f
}

func newHCRef(h *hc, hh *hcHarness) *hcRef {
	return &hcRef{n: h.n, c: h.c, N: hh.N, onehot: h.onehot,
		fixPre: h.fixPre, fixRes: h.fixRes, fixPost: h.fixPost,
		sa: float64(h.scaleA.Data[0]), sb: float64(h.scaleB.Data[0]),
		staticA: hcF64(h.staticA.Data), staticB: hcF64(h.staticB.Data),
		dynA: hcF64(h.dynA.Data), dynB: hcF64(h.dynB.Data),
		x: hcF64(hh.x), w: hcF64(hh.w), cv: hcF64(hh.cv),
		u: make([]float64, hh.N*h.c), xOut: make([]float64, hh.N*h.n*h.c)}
}

func (r *hcRef) f() float64 {
	n, c := r.n, r.c
	alpha := make([]float64, n*(n+1))
	beta := make([]float64, n)
	var f float64
	for t := 0; t < r.N; t++ {
		xs := r.x[t*n*c : (t+1)*n*c]
		for i := 0; i < n; i++ {
			row := xs[i*c : (i+1)*c]
			var mu, vr float64
			for _, v := range row {
				mu += v / float64(c)
			}
			for _, v := range row {
				vr += (v - mu) * (v - mu) / float64(c)
			}
			hbar := make([]float64, c)
			for q, v := range row {
				hbar[q] = (v - mu) / math.Sqrt(vr+HCNormEps)
			}
			for k := 0; k <= n; k++ {
				var p float64
				for q := range hbar {
					p += hbar[q] * r.dynA[q*(n+1)+k]
				}
				alpha[i*(n+1)+k] = r.sa*math.Tanh(p) + r.staticA[i*(n+1)+k]
			}
			var p float64
			for q := range hbar {
				p += hbar[q] * r.dynB[q]
			}
			beta[i] = r.sb*math.Tanh(p) + r.staticB[i]
			// Fixed maps: the static init values, no dynamic term.
			if r.fixPre {
				alpha[i*(n+1)] = float64(hcB2F(i == r.onehot))
			}
			if r.fixRes {
				for j := 0; j < n; j++ {
					alpha[i*(n+1)+1+j] = float64(hcB2F(i == j))
				}
			}
			if r.fixPost {
				beta[i] = 1
			}
		}
		for q := 0; q < c; q++ {
			var u float64
			for i := 0; i < n; i++ {
				u += alpha[i*(n+1)] * xs[i*c+q]
			}
			r.u[t*c+q] = u
			y := r.cv[q] * math.Tanh(u)
			for j := 0; j < n; j++ {
				o := beta[j] * y
				for i := 0; i < n; i++ {
					o += alpha[i*(n+1)+1+j] * xs[i*c+q] // output j = Σ_i A_r[i][j]·x_i
				}
				r.xOut[(t*n+j)*c+q] = o
				f += r.w[(t*n+j)*c+q] * o
			}
		}
	}
	return f
}

func hcRandn(rng *rand.Rand, n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(std * rng.NormFloat64())
	}
	return v
}

// hcBuild returns sublayer l's HC connection for n streams and its store,
// built and initialised (Eq. 14).
func hcBuild(t *testing.T, n, c, maxN, l int, fixed string) (*hc, *param.Store) {
	t.Helper()
	s := &param.Store{}
	b := Builder{Cfg: Config{Kind: HC, Streams: n, Contract: "sum", Fixed: mustFixed(t, fixed)}, C: c, MaxN: maxN, Store: s, Layers: 4}
	conn, err := b.New("conn", l)
	if err != nil {
		t.Fatal(err)
	}
	s.Build()
	s.Initialize(1)
	return conn.(*hc), s
}

// hcHarness evaluates f = Σ w ⊙ Post(x, F(Pre(x))) with F(u) = cv ⊙ tanh(u)
// and its backward.
type hcHarness struct {
	h          *hc
	N          int
	x, w, cv   []float32
	u, y, xOut []float32
	dy, du, dx []float32
}

func newHCHarness(h *hc, N int, rng *rand.Rand) *hcHarness {
	n, c := h.n, h.c
	return &hcHarness{h: h, N: N,
		x: hcRandn(rng, N*n*c, 1), w: hcRandn(rng, N*n*c, 1), cv: hcRandn(rng, c, 1),
		u: make([]float32, N*c), y: make([]float32, N*c), xOut: make([]float32, N*n*c),
		dy: make([]float32, N*c), du: make([]float32, N*c), dx: make([]float32, N*n*c)}
}

func (hh *hcHarness) forward() float64 {
	c := hh.h.c
	hh.h.Pre(hh.x, hh.u, hh.N)
	for i, v := range hh.u {
		hh.y[i] = hh.cv[i%c] * float32(math.Tanh(float64(v)))
	}
	hh.h.Post(hh.x, hh.y, hh.xOut, hh.N)
	var s float64
	for i, v := range hh.xOut {
		s += float64(hh.w[i]) * float64(v)
	}
	return s
}

func (hh *hcHarness) backward() {
	c := hh.h.c
	hh.h.PostBackward(hh.x, hh.y, hh.w, hh.dy, hh.dx, hh.N)
	for i, v := range hh.u {
		th := math.Tanh(float64(v))
		hh.du[i] = hh.dy[i] * hh.cv[i%c] * float32(1-th*th)
	}
	hh.h.PreBackward(hh.x, hh.du, hh.dx, hh.N)
}

// TestHCGradients checks the engine's forward against hcRef and its
// backward (dx and every parameter) against finite differences of hcRef,
// with random non-zero dynamic weights and gates so every path is live.
// N > 2·hcGrain, so the parallel chunk path and its reduction run.
func TestHCGradients(t *testing.T) {
	cases := []struct {
		n     int
		fixed string
	}{
		{1, ""}, {2, ""}, {4, ""}, {3, "res"}, {4, "pre,post"}, {2, "pre,post,res"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("n=%d,fixed=%q", tc.n, tc.fixed), func(t *testing.T) {
			const c, N, l = 6, 20, 5
			h, s := hcBuild(t, tc.n, c, N, l, tc.fixed)
			rng := rand.New(rand.NewPCG(uint64(tc.n), 9))
			for _, p := range s.Tensors {
				for i := range p.Data {
					p.Data[i] += float32(0.5 * rng.NormFloat64())
				}
			}
			hh := newHCHarness(h, N, rng)
			hh.forward()
			ref := newHCRef(h, hh)
			ref.f()
			hcClose(t, "u", hh.u, ref.u)
			hcClose(t, "x'", hh.xOut, ref.xOut)

			s.ZeroGrad()
			hh.backward()
			dx := append([]float32(nil), hh.dx...)
			grad := append([]float32(nil), s.Grad...)
			// Parameter gradients accumulate; dx is rebuilt (Post overwrites, Pre adds).
			hh.backward()
			for i, g := range s.Grad {
				if math.Abs(float64(g-2*grad[i])) > 1e-5*math.Abs(float64(grad[i]))+1e-6 {
					t.Fatalf("gradient %d does not accumulate: %v then %v", i, grad[i], g)
				}
			}
			for i := range dx {
				if dx[i] != hh.dx[i] {
					t.Fatalf("dx[%d] differs between identical backward passes", i)
				}
			}
			g := func(name string) []float32 {
				p := s.Get("conn." + name)
				return grad[p.Offset : p.Offset+p.Numel()]
			}
			sa, sb := []float64{ref.sa}, []float64{ref.sb}
			f := func() float64 { ref.sa, ref.sb = sa[0], sb[0]; return ref.f() }
			hcDirCheck(t, "x", f, ref.x, dx, rng)
			hcDirCheck(t, "static_alpha", f, ref.staticA, g("static_alpha"), rng)
			hcDirCheck(t, "static_beta", f, ref.staticB, g("static_beta"), rng)
			hcDirCheck(t, "dynamic_alpha", f, ref.dynA, g("dynamic_alpha"), rng)
			hcDirCheck(t, "dynamic_beta", f, ref.dynB, g("dynamic_beta"), rng)
			hcDirCheck(t, "scale_alpha", f, sa, g("scale_alpha"), rng)
			hcDirCheck(t, "scale_beta", f, sb, g("scale_beta"), rng)
		})
	}
}

// hcClose compares float32 engine output with the float64 reference.
func hcClose(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	for i, w := range want {
		if math.Abs(float64(got[i])-w) > 1e-5*math.Abs(w)+1e-5 {
			t.Errorf("%s[%d] = %v, reference %v", name, i, got[i], w)
			return
		}
	}
}

// TestHCOrientation pins the stream mixing on a hand-computed 2-stream case
// with a non-symmetric A_r: output stream j is Σ_i A_r[i][j]·x_i (a dropped
// or transposed H_res fails it), and MeanRes is in the mHC orientation.
func TestHCOrientation(t *testing.T) {
	h, s := hcBuild(t, 2, 2, 2, 0, "")
	sa := s.Get("conn.static_alpha").Data // rows: stream i = [A_m[i], A_r[i][0], A_r[i][1]]
	copy(sa, []float32{0.25, 1, 2, 0.75, 0, 1})
	// Dynamic weights stay 0, so the tanh terms vanish exactly.
	x := []float32{
		1, 3, 10, 30, // token 0: stream 0, stream 1
		1, 3, 10, 30, // token 1
	}
	y := []float32{0.5, -1, 0.5, -1}
	u, xOut := make([]float32, 4), make([]float32, 8)
	h.Pre(x, u, 2)
	h.Post(x, y, xOut, 2)
	wantU := []float32{7.75, 23.25, 7.75, 23.25}
	wantX := []float32{
		1.5, 2, 12.5, 35, // x'_0 = 1·x_0 + 0·x_1 + y, x'_1 = 2·x_0 + 1·x_1 + y
		1.5, 2, 12.5, 35,
	}
	for i := range wantU {
		if u[i] != wantU[i] {
			t.Errorf("u = %v, want %v", u, wantU)
			break
		}
	}
	for i := range wantX {
		if xOut[i] != wantX[i] {
			t.Errorf("x' = %v, want %v", xOut, wantX)
			break
		}
	}
	var m ResMixer = h
	got := make([]float64, 4)
	m.MeanRes(got, 2)
	want := []float64{1, 0, 2, 1} // out0 = in0; out1 = 2·in0 + in1
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("MeanRes = %v, want %v", got, want)
			break
		}
	}
}

// TestHCInitIsPreNorm: at init with replicated streams, u equals the stream
// and every output stream equals the plain residual x + y, for every
// sublayer index (the one-hot rotates).
func TestHCInitIsPreNorm(t *testing.T) {
	const n, c, N = 4, 8, 3
	rng := rand.New(rand.NewPCG(3, 4))
	emb, y := hcRandn(rng, N*c, 1), hcRandn(rng, N*c, 1)
	st, err := NewStreams(Config{Streams: n, Contract: "sum"}, c, N, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, N*n*c)
	st.Expand(emb, x, N)
	res := make([]float32, N*c)
	residual{c: c}.Post(emb, y, res, N)
	for l := 0; l < 2*n; l++ {
		h, _ := hcBuild(t, n, c, N, l, "")
		u, xOut := make([]float32, N*c), make([]float32, N*n*c)
		h.Pre(x, u, N)
		h.Post(x, y, xOut, N)
		for i := range u {
			if u[i] != emb[i] {
				t.Fatalf("l=%d: u[%d] = %v, want the stream value %v", l, i, u[i], emb[i])
			}
		}
		for tk := 0; tk < N; tk++ {
			for j := 0; j < n; j++ {
				for ch := 0; ch < c; ch++ {
					if got, want := xOut[(tk*n+j)*c+ch], res[tk*c+ch]; got != want {
						t.Fatalf("l=%d token %d stream %d: x' = %v, want x+y = %v", l, tk, j, got, want)
					}
				}
			}
		}
		mr := make([]float64, n*n)
		h.MeanRes(mr, N)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if want := float64(hcB2F(i == j)); mr[i*n+j] != want {
					t.Fatalf("l=%d: MeanRes = %v, want I", l, mr)
				}
			}
		}
	}
}

func hcB2F(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// TestHCParams documents the registered tensors.
func TestHCParams(t *testing.T) {
	const n, c = 3, 5
	_, s := hcBuild(t, n, c, 1, 4, "")
	want := []struct {
		name  string
		shape []int
		decay bool
		init  []float32
	}{
		{"conn.static_alpha", []int{n, n + 1}, false, []float32{0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1}}, // one-hot at 4 mod 3 = 1
		{"conn.static_beta", []int{n}, false, []float32{1, 1, 1}},
		{"conn.dynamic_alpha", []int{c, n + 1}, true, make([]float32, c*(n+1))},
		{"conn.dynamic_beta", []int{c}, true, make([]float32, c)},
		{"conn.scale_alpha", []int{1}, false, []float32{HCScaleInit}},
		{"conn.scale_beta", []int{1}, false, []float32{HCScaleInit}},
	}
	if len(s.Tensors) != len(want) {
		t.Fatalf("%d tensors, want %d", len(s.Tensors), len(want))
	}
	for i, w := range want {
		p := s.Tensors[i]
		if p.Name != w.name || param.ShapeString(p.Shape) != param.ShapeString(w.shape) || p.Decay != w.decay {
			t.Errorf("tensor %d = %s %v decay=%v, want %s %v decay=%v", i, p.Name, p.Shape, p.Decay, w.name, w.shape, w.decay)
			continue
		}
		for j, v := range w.init {
			if p.Data[j] != v {
				t.Errorf("%s init = %v, want %v", p.Name, p.Data, w.init)
				break
			}
		}
	}
}

func TestHCAllocs(t *testing.T) {
	for _, N := range []int{3, 64} { // serial and parallel paths
		h, s := hcBuild(t, 4, 16, N, 1, "")
		rng := rand.New(rand.NewPCG(1, 1))
		for i := range s.Data {
			s.Data[i] += float32(0.1 * rng.NormFloat64())
		}
		hh := newHCHarness(h, N, rng)
		hh.forward()
		hh.backward()
		allocs := testing.AllocsPerRun(20, func() {
			h.Pre(hh.x, hh.u, N)
			h.Post(hh.x, hh.y, hh.xOut, N)
			h.PostBackward(hh.x, hh.y, hh.w, hh.dy, hh.dx, N)
			h.PreBackward(hh.x, hh.du, hh.dx, N)
		})
		if allocs != 0 {
			t.Errorf("N=%d: %v allocations per step, want 0", N, allocs)
		}
	}
}

// mustFixed parses a --fixed list.
func mustFixed(t testing.TB, s string) Fixed {
	t.Helper()
	f, err := ParseFixed(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
