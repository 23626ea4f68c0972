package model

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/hyper"
)

// TestMHCModelGradients checks every parameter of a 2-block model whose
// sublayers are wrapped by mHC / mHC-lite connections. The connection
// parameters are moved off their init (gates 0.01, zero biases) so that the
// dynamic paths carry gradients well above the finite-difference noise.
func TestMHCModelGradients(t *testing.T) {
	cases := []struct {
		name     string
		conn     hyper.Kind
		streams  int
		sinkhorn string
		eps      float32
		fixed    string
	}{
		{"mhc n4 paper", hyper.MHC, 4, "paper", 0, ""},
		{"mhc n2 deepseek", hyper.MHC, 2, "deepseek", 1e-6, ""},
		{"mhc n3 fixed res", hyper.MHC, 3, "paper", 0, "res"},
		{"mhc-lite n3", hyper.MHCLite, 3, "paper", 0, ""},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Conn, cfg.Streams, cfg.Contract = tc.conn, tc.streams, "sum"
			cfg.Sinkhorn, cfg.SinkhornEps, cfg.Fixed = tc.sinkhorn, tc.eps, tc.fixed
			B := 2
			m, err := New(cfg, B)
			if err != nil {
				t.Fatal(err)
			}
			m.Params.Initialize(7)
			rng := rand.New(rand.NewPCG(uint64(ci), 3))
			for _, p := range m.Params.Tensors {
				if !strings.Contains(p.Name, "_conn.") {
					continue
				}
				for i := range p.Data {
					p.Data[i] += 0.3 * float32(rng.NormFloat64())
				}
			}
			N := B * cfg.Seq
			in, tg := make([]int32, N), make([]int32, N)
			for i := range in {
				in[i], tg[i] = int32(rng.IntN(cfg.Vocab)), int32(rng.IntN(cfg.Vocab))
			}
			m.Params.ZeroGrad()
			m.ForwardBackward(in, tg, B, cfg.Seq, 1)
			grad := append([]float32(nil), m.Params.Grad...)
			loss := func() float64 { m.Forward(in, B, cfg.Seq); return m.Loss(tg) }
			conns := 0
			for _, pt := range m.Params.Tensors {
				if strings.Contains(pt.Name, "_conn.") {
					conns++
				}
				g := grad[pt.Offset : pt.Offset+pt.Numel()]
				checkDirectional(t, pt.Name, loss, pt.Data, g, rng)
			}
			if want := 3 * 2 * cfg.Layers; conns != want {
				t.Errorf("%d connection tensors, want %d", conns, want)
			}
		})
	}
}
