package model

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/hyper"
)

// recomputeConfigs are 3-block models (6 sublayers) with each connection
// kind, sequences longer than one attention row block.
func recomputeConfigs() []Config {
	var out []Config
	for _, c := range []struct {
		kind     hyper.Kind
		n        int
		contract string
	}{{hyper.Residual, 1, "sum"}, {hyper.HC, 3, "learned"}, {hyper.MHC, 4, "sum"}, {hyper.MHCLite, 3, "mean"}} {
		cfg := tinyConfig()
		cfg.Layers, cfg.Seq = 3, attnBlk+3
		cfg.Kind, cfg.Streams, cfg.Contract = c.kind, c.n, c.contract
		out = append(out, cfg)
	}
	return out
}

// runSteps builds cfg with recomputation block rc (cfg.RecomputeScope as
// given), perturbs its connections
// and returns the losses and the accumulated gradient of accum micro-batches
// of B/accum sequences (lossScale 1/accum each), then of a second call with
// the full batch: the buffers are reused between calls and batch shapes.
func runSteps(t *testing.T, cfg Config, rc, B, accum int) ([]float64, []float32, []float32) {
	t.Helper()
	cfg.Recompute = rc
	m, err := New(cfg, B)
	if err != nil {
		t.Fatal(err)
	}
	m.Params.Initialize(11)
	rng := rand.New(rand.NewPCG(7, 8))
	perturbConnections(m, 0.3, rng)
	N := B * cfg.Seq
	in, tg := make([]int32, N), make([]int32, N)
	for i := range in {
		in[i], tg[i] = int32(rng.IntN(cfg.Vocab)), int32(rng.IntN(cfg.Vocab))
	}
	var losses []float64
	m.Params.ZeroGrad()
	b := B / accum
	for k := range accum {
		lo, hi := k*b*cfg.Seq, (k+1)*b*cfg.Seq
		losses = append(losses, m.ForwardBackward(in[lo:hi], tg[lo:hi], b, cfg.Seq, 1/float32(accum)))
	}
	g1 := append([]float32(nil), m.Params.Grad...)
	m.Params.ZeroGrad()
	losses = append(losses, m.ForwardBackward(in, tg, B, cfg.Seq-2, 1)) // a shorter T too
	m.Forward(in, B, cfg.Seq)
	losses = append(losses, m.Loss(tg))
	return losses, g1, append([]float32(nil), m.Params.Grad...)
}

// Gradients and losses are bit-identical with recomputation on (both
// scopes, every block size, including ones that do not divide 2L and ones
// past it) and off, for every connection, with and without gradient
// accumulation.
func TestRecomputeBitIdentical(t *testing.T) {
	for _, cfg := range recomputeConfigs() {
		for _, accum := range []int{1, 2} {
			wantL, want1, want2 := runSteps(t, cfg, 0, 2, accum)
			for _, sc := range []struct {
				scope string
				rc    int
			}{
				{RecomputeAll, 1}, {RecomputeAll, 2}, {RecomputeAll, 3}, {RecomputeAll, 4}, {RecomputeAll, 5},
				{RecomputeAll, 6}, {RecomputeAll, 9}, {"", 2}, {RecomputeStreams, 1}, {RecomputeStreams, 2},
				{RecomputeStreams, 3}, {RecomputeStreams, 4}, {RecomputeStreams, 6}, {RecomputeStreams, 9},
			} {
				rc := sc.rc
				cfg.RecomputeScope = sc.scope
				name := fmt.Sprintf("%s n=%d accum %d recompute %d scope %q", cfg.Kind, cfg.Streams, accum, rc, sc.scope)
				gotL, got1, got2 := runSteps(t, cfg, rc, 2, accum)
				for i := range wantL {
					if gotL[i] != wantL[i] {
						t.Errorf("%s: loss %d = %v, want %v", name, i, gotL[i], wantL[i])
					}
				}
				for i := range want1 {
					if got1[i] != want1[i] || got2[i] != want2[i] {
						t.Fatalf("%s: gradient %d differs: %v %v, want %v %v", name, i, got1[i], got2[i], want1[i], want2[i])
					}
				}
			}
		}
	}
}

// Finite differences with recomputation on.
func TestRecomputeGradients(t *testing.T) {
	cfg := tinyConfig()
	cfg.Recompute = 1
	checkModelGradients(t, cfg, "residual recompute 1", 0)
	cfg.Kind, cfg.Streams, cfg.Recompute = hyper.MHC, 4, 3
	checkModelGradients(t, cfg, "mhc recompute 3", 0.3)
	cfg.RecomputeScope = RecomputeStreams
	checkModelGradients(t, cfg, "mhc recompute 3 streams", 0.3)
}

// Recomputation allocates one block's activations: the model's buffers
// shrink, and they shrink more for smaller blocks (down to the boundary
// states). Scope "streams" saves exactly the residual states of all but the
// boundaries and one block.
func TestRecomputeAllocatesLess(t *testing.T) {
	cfg := Presets["tiny"].Config
	cfg.Kind, cfg.Streams = hyper.MHC, 4
	floats := func(rc int, scope string) int {
		c := cfg
		c.Recompute, c.RecomputeScope = rc, scope
		m, err := New(c, 2)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, b := range [][][]float32{m.xs, m.us, m.ys} {
			for _, x := range b {
				n += len(x)
			}
		}
		for _, s := range m.subs {
			switch s := s.(type) {
			case *attention:
				if !m.shared() {
					n += len(s.act.normed) + len(s.act.qkv) + len(s.act.probs) + len(s.act.att)
				}
			case *mlp:
				if !m.shared() {
					n += len(s.act.normed) + len(s.act.gu) + len(s.act.act)
				}
			}
		}
		for _, a := range m.attnSets {
			n += len(a.normed) + len(a.qkv) + len(a.probs) + len(a.att)
		}
		for _, f := range m.mlpSets {
			n += len(f.normed) + len(f.gu) + len(f.act)
		}
		return n
	}
	off, two, four := floats(0, RecomputeAll), floats(2, RecomputeAll), floats(4, RecomputeAll)
	if !(two < off/2 && two < four && four < off) {
		t.Errorf("activation floats: off %d, recompute 4 %d, recompute 2 %d", off, four, two)
	}
	// 2L = 8 sublayers, blocks of 3: boundaries x0, x3, x6, x8 and two
	// inner states instead of 9 states.
	state := 2 * cfg.Seq * cfg.Streams * cfg.D
	if got, want := off-floats(3, RecomputeStreams), 3*state; got != want {
		t.Errorf("streams scope, blocks of 3: saves %d floats, want %d (3 states)", got, want)
	}
}

// The Decoder still works on a model built with recomputation (its prefill
// reads each attention's q, k, v of one sequence).
func TestRecomputeDecoder(t *testing.T) {
	cfg := tinyConfig()
	cfg.Layers, cfg.Kind, cfg.Streams = 3, hyper.MHC, 2
	var got [2][]float32
	for i, rc := range []int{0, 2} {
		cfg.Recompute = rc
		m, err := New(cfg, 2)
		if err != nil {
			t.Fatal(err)
		}
		m.Params.Initialize(4)
		d := NewDecoder(m)
		d.Prefill([]int32{1, 2, 3})
		got[i] = append([]float32(nil), d.Step(4)...)
	}
	for j := range got[0] {
		if got[0][j] != got[1][j] {
			t.Fatalf("logit %d: recompute %v, plain %v", j, got[1][j], got[0][j])
		}
	}
}
