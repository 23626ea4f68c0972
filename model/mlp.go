package model

import (
	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
)

// mlp is the feed-forward sublayer: RMSNorm → [gate | up] projection →
// silu(gate)·up → down projection. Shapes (N = B·T): u, y (N, C); normed
// (N, C); gu (N, 2h) with row layout [gate | up]; act (N, h).
type mlp struct {
	cfg          Config
	norm         *rmsnorm
	gateUp, down linear
	act          *mlpActs // the activations of the last forward (may be shared, see recompute)
	sc           *scratch
	N            int
	swiF, swiB   kernels.Task
}

// mlpActs are the activations an MLP sublayer keeps for its backward.
type mlpActs struct {
	normed, gu, act []float32
}

func newMLPActs(cfg Config, maxB int) *mlpActs {
	C, h, N := cfg.D, cfg.MLPHidden, maxB*cfg.Seq
	return &mlpActs{normed: make([]float32, N*C), gu: make([]float32, N*2*h), act: make([]float32, N*h)}
}

func newMLP(s *param.Store, prefix string, cfg Config, maxB int, sc *scratch) *mlp {
	m := newMLPShared(s, prefix, cfg, maxB, sc)
	m.act = newMLPActs(cfg, maxB)
	return m
}

// newMLPShared builds an MLP sublayer without activations: the caller sets
// act before every forward and backward.
func newMLPShared(s *param.Store, prefix string, cfg Config, maxB int, sc *scratch) *mlp {
	C, h, N := cfg.D, cfg.MLPHidden, maxB*cfg.Seq
	m := &mlp{
		cfg:    cfg,
		norm:   newRMSNorm(s, prefix+".mlp_norm.weight", C, N, cfg.NormEps),
		gateUp: newLinear(s, prefix+".mlp.gate_up.weight", C, 2*h, cfg.matrixInit(C, false)),
		down:   newLinear(s, prefix+".mlp.down.weight", h, C, cfg.matrixInit(h, true)),
		sc:     sc,
	}
	m.swiF = kernels.TaskFunc(func(lo, hi int) {
		h := m.cfg.MLPHidden
		kernels.SwiGLU(m.act.act[lo*h:hi*h], m.act.gu[lo*2*h:hi*2*h], hi-lo, h)
	})
	m.swiB = kernels.TaskFunc(func(lo, hi int) {
		h := m.cfg.MLPHidden
		kernels.SwiGLUBackward(m.sc.dgu[lo*2*h:hi*2*h], m.sc.dact[lo*h:hi*h], m.act.gu[lo*2*h:hi*2*h], hi-lo, h)
	})
	return m
}

// forward: u (N, C) → y (N, C), overwriting y.
func (m *mlp) forward(u, y []float32, B, T int) {
	N := B * T
	m.N = N
	m.norm.forward(u, m.act.normed, N)
	m.gateUp.forward(m.act.normed, m.act.gu, N)
	kernels.ParallelForGrain(N, 16, m.swiF)
	m.down.forward(m.act.act, y, N)
}

// backward: dy (N, C) → du ACCUMULATED.
func (m *mlp) backward(u, dy, du []float32) {
	N := m.N
	m.down.backward(m.act.act, dy, m.sc.dact, N)
	kernels.ParallelForGrain(N, 16, m.swiB)
	m.gateUp.backward(m.act.normed, m.sc.dgu, m.sc.dnorm, N)
	m.norm.backward(u, m.sc.dnorm, du, N)
}
