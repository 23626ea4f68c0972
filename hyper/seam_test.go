package hyper

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
)

// seamChain is two sublayers l = 0, 1 with their connections on one
// parameter store, F(u) = tanh(u)⊙c_l, and the loss Σ w ⊙ x_2:
//
//	x0 → Pre_0 → u0 → F → y0 → Post_0 → x1 → Pre_1 → u1 → F → y1 → Post_1 → x2
//
// run either with the separate connection calls or with PostPre and
// BackwardSeam at the seam between them.
type seamChain struct {
	c0, c1         Connection
	store          *param.Store
	N, C, n        int
	x0, x1, x2, w  []float32
	u0, u1, y0, y1 []float32
	cv0, cv1       []float32
	dxA, dxB       []float32
	dy, du         []float32
	dx             []float32 // dL/dx0 of the last backward
}

func newSeamChain(t testing.TB, cfg Config, C, N int, seed uint64) *seamChain {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &param.Store{}
	b := Builder{Cfg: cfg, C: C, MaxN: N, Store: s, Layers: 2}
	c0, err := b.New("c0", 0)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := b.New("c1", 1)
	if err != nil {
		t.Fatal(err)
	}
	s.Build()
	s.Initialize(seed)
	rng := rand.New(rand.NewPCG(seed, 17))
	for _, c := range []Connection{c0, c1} {
		if m, ok := c.(*mhc); ok {
			perturbParams(m, rng)
		}
	}
	n := cfg.Streams
	return &seamChain{c0: c0, c1: c1, store: s, N: N, C: C, n: n,
		x0: randSlice(rng, N*n*C, 1), x1: make([]float32, N*n*C), x2: make([]float32, N*n*C), w: randSlice(rng, N*n*C, 1),
		u0: make([]float32, N*C), u1: make([]float32, N*C), y0: make([]float32, N*C), y1: make([]float32, N*C),
		cv0: randSlice(rng, C, 1), cv1: randSlice(rng, C, 1),
		dxA: make([]float32, N*n*C), dxB: make([]float32, N*n*C), dy: make([]float32, N*C), du: make([]float32, N*C)}
}

func seamF(u, y, cv []float32) {
	for i, v := range u {
		y[i] = float32(math.Tanh(float64(v))) * cv[i%len(cv)]
	}
}

func seamFBack(u, dy, du, cv []float32) {
	for i, v := range u {
		th := math.Tanh(float64(v))
		du[i] = dy[i] * cv[i%len(cv)] * float32(1-th*th)
	}
}

// run does the forward and backward pass; fused selects the seam calls.
// Buffers the run does not write are poisoned first, so that a fused pass
// reading stale data cannot match by luck.
func (h *seamChain) run(fused bool) {
	N := h.N
	for _, b := range [][]float32{h.x1, h.x2, h.u0, h.u1, h.y0, h.y1, h.dxA, h.dxB, h.dy, h.du} {
		for i := range b {
			b[i] = float32(math.NaN())
		}
	}
	h.store.ZeroGrad()
	h.c0.Pre(h.x0, h.u0, N)
	seamF(h.u0, h.y0, h.cv0)
	if fused {
		PostPre(h.c0, h.c1, h.x0, h.y0, h.x1, h.u1, N)
	} else {
		h.c0.Post(h.x0, h.y0, h.x1, N)
		h.c1.Pre(h.x1, h.u1, N)
	}
	seamF(h.u1, h.y1, h.cv1)
	h.c1.Post(h.x1, h.y1, h.x2, N)

	dx := h.dxA
	h.c1.PostBackward(h.x1, h.y1, h.w, h.dy, dx, N)
	seamFBack(h.u1, h.dy, h.du, h.cv1)
	if fused {
		dx = BackwardSeam(h.c0, h.c1, h.x0, h.y0, h.x1, h.du, dx, h.dy, h.dxB, N)
	} else {
		h.c1.PreBackward(h.x1, h.du, dx, N)
		h.c0.PostBackward(h.x0, h.y0, dx, h.dy, h.dxB, N)
		dx = h.dxB
	}
	seamFBack(h.u0, h.dy, h.du, h.cv0)
	h.c0.PreBackward(h.x0, h.du, dx, N)
	h.dx = dx
}

// checkFusedBits runs the chain with the separate calls, then fused (in
// parallel chunks and in one serial chunk), and requires the same bits.
func (h *seamChain) checkFusedBits(t *testing.T, name string) {
	t.Helper()
	h.run(false)
	want := h.snapshot()
	h.run(true)
	sameBits(t, name, h.snapshot(), want)
	kernels.ParallelFor(2, kernels.TaskFunc(func(lo, hi int) {
		if lo == 0 {
			h.run(true)
		}
	}))
	sameBits(t, name+" serial chunks", h.snapshot(), want)
}

// snapshot copies everything a run produces: activations, the
// connections' saved state, the input gradient and the parameter
// gradients.
func (h *seamChain) snapshot() map[string][]float32 {
	N, n := h.N, h.n
	s := map[string][]float32{
		"x1": h.x1, "x2": h.x2, "u0": h.u0, "u1": h.u1, "y1": h.y1, "dx0": h.dx, "grads": h.store.Grad,
	}
	for l, c := range []Connection{h.c0, h.c1} {
		if m, ok := c.(*mhc); ok {
			p := m.p
			for name, b := range map[string][]float32{
				"proj": m.proj[:N*p], "logit": m.logit[:N*p], "rstd": m.rstd[:N], "hpre": m.hpre[:N*n],
				"hpost": m.hpost[:N*n], "hres": m.hres[:N*n*n], "dhpost": m.dhpost[:N*n], "dhres": m.dhres[:N*n*n], "dp": m.dp[:N*p],
			} {
				s[fmt.Sprintf("c%d.%s", l, name)] = b
			}
		}
		if h, ok := c.(*hc); ok {
			k := h.k
			for name, b := range map[string][]float32{
				"mu": h.mu[:N*n], "rstd": h.rstd[:N*n], "th": h.th[:N*n*k], "coef": h.coef[:N*n*k], "dcoef": h.dcoef[:N*n*k],
			} {
				s[fmt.Sprintf("c%d.%s", l, name)] = b
			}
		}
	}
	for k, v := range s {
		s[k] = slices.Clone(v)
	}
	return s
}

// sameBits fails unless every buffer of got has the bits of want.
func sameBits(t *testing.T, name string, got, want map[string][]float32) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		for i := range w {
			if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
				t.Errorf("%s: %s[%d] = %v fused, %v separate", name, k, i, g[i], w[i])
				break
			}
		}
	}
}

// TestSeamBitIdentical runs the two-sublayer chain with the separate calls
// and with PostPre / BackwardSeam and wants the same bits everywhere: mHC
// and mHC-lite, fixed maps, n = 1..4, odd widths, token counts that are not
// multiples of kernels.SinkLanes (one chunk and several), and the fused
// chunks run serially (inside another ParallelFor) as well as in parallel.
// It also checks which cases fuse: all of them where the kernel path has
// the projection kernels, only the all-fixed ones elsewhere.
func TestSeamBitIdentical(t *testing.T) {
	for _, tc := range []struct {
		kind  Kind
		n, C  int
		N     int
		fixed string
	}{
		{MHC, 4, 37, 203, ""}, {MHC, 4, 128, 61, ""}, {MHC, 3, 13, 45, ""}, {MHC, 2, 24, 9, ""}, {MHC, 1, 31, 17, ""},
		{MHCLite, 4, 33, 77, ""}, {MHCLite, 3, 16, 23, ""}, {MHCLite, 2, 7, 11, ""},
		{MHC, 4, 40, 70, "res"}, {MHC, 4, 19, 70, "pre"}, {MHC, 3, 21, 35, "post"}, {MHC, 4, 17, 99, "post,res"},
		{MHC, 4, 23, 101, "pre,post,res"}, {MHC, 2, 5, 3, "pre,post,res"}, {MHCLite, 4, 29, 50, "pre"},
	} {
		cfg := mhcCfg(tc.kind, tc.n)
		cfg.Fixed = mustFixed(t, tc.fixed)
		name := fmt.Sprintf("%s n%d C%d N%d fixed=%q", tc.kind, tc.n, tc.C, tc.N, tc.fixed)
		h := newSeamChain(t, cfg, tc.C, tc.N, uint64(tc.n*100+tc.C))
		h.checkFusedBits(t, name)

		fuses := cfg.Fixed == (Fixed{true, true, true}) || kernels.ProjFast()
		if got := &h.dx[0] == &h.dxA[0]; got != fuses {
			t.Errorf("%s: backward seam fused %v, want %v (kernel path %s)", name, got, fuses, kernels.Path())
		}
		m0, m1 := h.c0.(*mhc), h.c1.(*mhc)
		if got := m0.postPre(m1, h.x0, h.y0, h.x1, h.u1, h.N); got != fuses {
			t.Errorf("%s: forward seam fused %v, want %v (kernel path %s)", name, got, fuses, kernels.Path())
		}
	}
}

// TestSeamHCBitIdentical is TestSeamBitIdentical for HC, which always
// fuses.
func TestSeamHCBitIdentical(t *testing.T) {
	for _, tc := range []struct {
		n, C, N int
		fixed   string
	}{
		{4, 37, 203, ""}, {3, 13, 45, ""}, {2, 24, 9, ""}, {1, 31, 17, ""}, {4, 19, 70, "res"}, {3, 21, 35, "pre,post"},
		{4, 23, 61, "pre,post,res"},
	} {
		cfg := Config{Kind: HC, Streams: tc.n, Contract: "sum", Fixed: mustFixed(t, tc.fixed)}
		name := fmt.Sprintf("hc n%d C%d N%d fixed=%q", tc.n, tc.C, tc.N, tc.fixed)
		h := newSeamChain(t, cfg, tc.C, tc.N, uint64(tc.n*100+tc.C))
		rng := rand.New(rand.NewPCG(uint64(tc.N), 3))
		for i := range h.store.Data { // dynamic terms on, static maps off their init
			h.store.Data[i] += float32(0.3 * rng.NormFloat64())
		}
		h.checkFusedBits(t, name)
		if &h.dx[0] != &h.dxA[0] {
			t.Errorf("%s: backward seam did not fuse", name)
		}
	}
}

// TestSeamFallback checks the separate-call fallback: connections that do
// not fuse (residual, mHC with the projection GEMMs) give the separate
// calls' results, and BackwardSeam returns the spare buffer.
func TestSeamFallback(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		projOff bool
	}{
		{"residual", Config{Kind: Residual, Streams: 1, Contract: "sum"}, false},
		{"mhc gemm", mhcCfg(MHC, 4), true},
	} {
		projOff = tc.projOff
		h := newSeamChain(t, tc.cfg, 21, 29, 5)
		h.run(false)
		want := h.snapshot()
		h.run(true)
		sameBits(t, tc.name, h.snapshot(), want)
		if &h.dx[0] != &h.dxB[0] {
			t.Errorf("%s: BackwardSeam fused, want the separate calls", tc.name)
		}
		projOff = false
	}
}

// TestSeamMismatch: an mHC pair whose widths differ never fuses.
func TestSeamMismatch(t *testing.T) {
	a, _ := buildMHC(t, mhcCfg(MHC, 4), 8, 16)
	b, _ := buildMHC(t, mhcCfg(MHC, 2), 16, 16)
	if a.seamWith(b) != nil || a.seamWith(a) != nil {
		t.Error("seamWith accepted a connection of another shape, or itself")
	}
}

func TestSeamZeroAllocs(t *testing.T) {
	const C, N = 16, 64
	for _, cfg := range []Config{mhcCfg(MHC, 4), {Kind: HC, Streams: 4, Contract: "sum"}} {
		h := newSeamChain(t, cfg, C, N, 3)
		h.run(true) // warm up: scratch, pools
		for _, st := range []struct {
			name string
			f    func()
		}{
			{"PostPre", func() { PostPre(h.c0, h.c1, h.x0, h.y0, h.x1, h.u1, N) }},
			{"BackwardSeam", func() { BackwardSeam(h.c0, h.c1, h.x0, h.y0, h.x1, h.du, h.dxA, h.dy, h.dxB, N) }},
		} {
			if a := testing.AllocsPerRun(20, st.f); a != 0 {
				t.Errorf("%s %s: %v allocations per call", cfg.Kind, st.name, a)
			}
		}
	}
}

// BenchmarkSeam reports ns per token of one seam, separate calls against
// the fused ones: forward Post_l + Pre_{l+1}, backward PreBackward_{l+1} +
// PostBackward_l.
func BenchmarkSeam(b *testing.B) {
	for _, C := range []int{128, 256, 512} {
		const N = 2048
		h := newSeamChain(b, mhcCfg(MHC, 4), C, N, 1)
		h.run(false)
		for _, fused := range []bool{false, true} {
			tag := "separate"
			if fused {
				tag = "fused"
			}
			b.Run(fmt.Sprintf("C%d/fwd/%s", C, tag), func(b *testing.B) {
				for b.Loop() {
					if fused {
						PostPre(h.c0, h.c1, h.x0, h.y0, h.x1, h.u1, N)
					} else {
						h.c0.Post(h.x0, h.y0, h.x1, N)
						h.c1.Pre(h.x1, h.u1, N)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*N), "ns/token")
			})
			b.Run(fmt.Sprintf("C%d/bwd/%s", C, tag), func(b *testing.B) {
				for b.Loop() {
					if fused {
						BackwardSeam(h.c0, h.c1, h.x0, h.y0, h.x1, h.du, h.dxA, h.dy, h.dxB, N)
					} else {
						h.c1.PreBackward(h.x1, h.du, h.dxA, N)
						h.c0.PostBackward(h.x0, h.y0, h.dxA, h.dy, h.dxB, N)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*N), "ns/token")
			})
		}
	}
}
