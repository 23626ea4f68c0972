package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/internal/fdcheck"
	"github.com/mhc-go/mhc/param"
)

// Finite-difference checks. The engine computes in float32, so we check
// directional derivatives: for a random direction v (restricted to one
// tensor at a time), (f(θ+hv) − f(θ−hv)) / 2h against ⟨∇f, v⟩. Summing over
// many coordinates gives a derivative well above float32 rounding noise
// (loss ≈ 2.4, ε32 ≈ 6e-8, so with h = 1e-3 the noise is ~1e-4 absolute),
// and Richardson extrapolation over h and 2h removes the O(h²) curvature
// error (which reaches ~1 % at h = 1e-3 for HC models). Tolerance:
// |fd − an| ≤ 2e-3·max(|fd|, |an|) + 2e-4.

func tinyConfig() Config {
	c := Presets["tiny"].Config
	c.Vocab, c.D, c.Layers, c.Heads, c.Seq, c.MLPHidden = 11, 8, 2, 2, 5, 12
	c.InitStd = 0.3
	return c
}

func checkDirectional(t *testing.T, name string, f func() float64, x, g []float32, rng *rand.Rand) {
	t.Helper()
	if err := fdcheck.Directional(f, x, g, rng, 1e-3); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

func TestModelGradients(t *testing.T) {
	for _, tie := range []bool{false, true} {
		cfg := tinyConfig()
		cfg.Tie = tie
		checkModelGradients(t, cfg, "residual", 0)
	}
}

// perturbConnections adds std·N(0,1) to every connection parameter, moving
// gates and projections off their init so that their paths carry signal.
func perturbConnections(m *Model, std float64, rng *rand.Rand) {
	for _, pt := range m.Params.Tensors {
		if strings.Contains(pt.Name, "conn") {
			for i := range pt.Data {
				pt.Data[i] += float32(std * rng.NormFloat64())
			}
		}
	}
}

// checkModelGradients checks every parameter tensor of a 2-block model.
// Connection parameters are moved off their init by perturb·N(0,1) so that
// the dynamic paths (gates, projections) carry gradients well above the
// finite-difference noise.
func checkModelGradients(t *testing.T, cfg Config, label string, perturb float64) {
	t.Helper()
	B := 2
	m, err := New(cfg, B)
	if err != nil {
		t.Fatal(err)
	}
	m.Params.Initialize(7)
	rng := rand.New(rand.NewPCG(1, 2))
	perturbConnections(m, perturb, rng)
	N := B * cfg.Seq
	in, tg := make([]int32, N), make([]int32, N)
	for i := range in {
		in[i], tg[i] = int32(rng.IntN(cfg.Vocab)), int32(rng.IntN(cfg.Vocab))
	}
	m.Params.ZeroGrad()
	m.ForwardBackward(in, tg, B, cfg.Seq, 1)
	grad := append([]float32(nil), m.Params.Grad...)
	loss := func() float64 { m.Forward(in, B, cfg.Seq); return m.Loss(tg) }
	for _, pt := range m.Params.Tensors {
		g := grad[pt.Offset : pt.Offset+pt.Numel()]
		checkDirectional(t, label+" "+pt.Name, loss, pt.Data, g, rng)
	}
}

// TestSublayerGradients checks attention and MLP alone, including the
// gradient with respect to their input u, on f = Σ w ⊙ F(u).
func TestSublayerGradients(t *testing.T) {
	cfg := tinyConfig()
	B := 2
	N, C := B*cfg.Seq, cfg.D
	for _, kind := range []string{"attention", "mlp"} {
		s := &param.Store{}
		sc := &scratch{datt: make([]float32, N*C), dqkv: make([]float32, N*3*C),
			dprobs: make([]float32, B*cfg.Heads*cfg.Seq*cfg.Seq), dnorm: make([]float32, N*C),
			dgu: make([]float32, N*2*cfg.MLPHidden), dact: make([]float32, N*cfg.MLPHidden)}
		var sub sublayer
		if kind == "attention" {
			cos, sin := ropeTables(cfg)
			sub = newAttention(s, "a", cfg, B, sc, cos, sin)
		} else {
			sub = newMLP(s, "m", cfg, B, sc)
		}
		checkSublayerGradients(t, kind, sub, s, B, cfg.Seq, C, 0.1)
	}
}

// checkSublayerGradients builds and initialises s, moves every parameter by
// scale·N(0, 1) (non-trivial norm weights), and checks the input and
// parameter gradients of sub on f = Σ w ⊙ sub(u) by finite differences.
func checkSublayerGradients(t *testing.T, name string, sub sublayer, s *param.Store, B, T, C int, scale float32) {
	t.Helper()
	N := B * T
	s.Build()
	s.Initialize(3)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, p := range s.Tensors {
		for i := range p.Data {
			p.Data[i] += scale * float32(rng.NormFloat64())
		}
	}
	u, w, y := make([]float32, N*C), make([]float32, N*C), make([]float32, N*C)
	for i := range u {
		u[i], w[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	f := func() float64 {
		sub.forward(u, y, B, T)
		var s float64
		for i := range y {
			s += float64(w[i]) * float64(y[i])
		}
		return s
	}
	f()
	du := make([]float32, N*C)
	sub.backward(u, w, du)
	checkDirectional(t, name+" input", f, u, du, rng)
	for _, p := range s.Tensors {
		checkDirectional(t, name+" "+p.Name, f, p.Data, append([]float32(nil), p.Grad...), rng)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Presets["tiny"].Config
	cases := []struct {
		name string
		mod  func(*Config)
	}{
		{"heads not dividing d", func(c *Config) { c.Heads = 3 }},
		{"seq < 2", func(c *Config) { c.Seq = 1 }},
		{"zero layers", func(c *Config) { c.Layers = 0 }},
		{"odd head dim", func(c *Config) { c.D, c.Heads = 12, 4 }},
		{"residual with streams", func(c *Config) { c.Streams = 4 }},
		{"unknown conn", func(c *Config) { c.Kind = hyper.Kind("xx") }},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("tiny preset invalid: %v", err)
	}
	for _, tc := range cases {
		c := good
		tc.mod(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: Validate accepted %+v", tc.name, c)
			continue
		}
		var me *FieldError
		var he *hyper.FieldError
		if !errors.As(err, &me) && !errors.As(err, &he) {
			t.Errorf("%s: error %q is not a field error", tc.name, err)
		}
	}
}

// Gradient accumulation: two half batches with lossScale ½ give the gradient
// of the full batch (up to float32 summation order).
func TestGradientAccumulation(t *testing.T) {
	cfg := tinyConfig()
	B := 4
	m, err := New(cfg, B)
	if err != nil {
		t.Fatal(err)
	}
	m.Params.Initialize(2)
	rng := rand.New(rand.NewPCG(8, 9))
	N := B * cfg.Seq
	in, tg := make([]int32, N), make([]int32, N)
	for i := range in {
		in[i], tg[i] = int32(rng.IntN(cfg.Vocab)), int32(rng.IntN(cfg.Vocab))
	}
	m.Params.ZeroGrad()
	full := m.ForwardBackward(in, tg, B, cfg.Seq, 1)
	want := append([]float32(nil), m.Params.Grad...)
	m.Params.ZeroGrad()
	h := N / 2
	a := m.ForwardBackward(in[:h], tg[:h], B/2, cfg.Seq, 0.5)
	b := m.ForwardBackward(in[h:], tg[h:], B/2, cfg.Seq, 0.5)
	if d := math.Abs((a+b)/2 - full); d > 1e-5 {
		t.Errorf("mean of half-batch losses %v, full batch %v", (a+b)/2, full)
	}
	var maxG, maxD float64
	for i, g := range m.Params.Grad {
		maxG = math.Max(maxG, math.Abs(float64(want[i])))
		maxD = math.Max(maxD, math.Abs(float64(g-want[i])))
	}
	if maxD > 1e-5*maxG {
		t.Fatalf("accumulated gradient differs by %g (max |g| %g)", maxD, maxG)
	}
}
