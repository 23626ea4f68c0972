package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/hyper"
)

// At init, HC (one-hot A_m, A_r = I, B = 1, dynamic weights 0) keeps the n
// replicated streams identical, each equal to the residual stream, so with a
// mean contraction an HC model gives the residual model's logits exactly
// (up to float32 rounding) when they share weights.
func TestHCEqualsResidualAtInit(t *testing.T) {
	res := tinyConfig()
	res.InitStd = 0.02
	hc := res
	hc.Kind, hc.Streams, hc.Contract = hyper.HC, 4, "mean"
	B := 2
	mr, err := New(res, B)
	if err != nil {
		t.Fatal(err)
	}
	mh, err := New(hc, B)
	if err != nil {
		t.Fatal(err)
	}
	mh.Params.Initialize(5)
	for _, pt := range mr.Params.Tensors {
		src := mh.Params.Get(pt.Name)
		if src == nil {
			t.Fatalf("HC model lacks %s", pt.Name)
		}
		copy(pt.Data, src.Data)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	in := make([]int32, B*res.Seq)
	for i := range in {
		in[i] = int32(rng.IntN(res.Vocab))
	}
	mr.Forward(in, B, res.Seq)
	mh.Forward(in, B, res.Seq)
	a, b := mr.Logits(), mh.Logits()
	var worst float64
	for i := range a {
		worst = math.Max(worst, math.Abs(float64(a[i]-b[i])))
	}
	if worst > 1e-5 {
		t.Fatalf("HC at init differs from residual: max |Δlogit| = %g", worst)
	}
}

// TestConnectionModelGradients checks every parameter of 2-block models
// whose sublayers are wrapped by HC, mHC and mHC-lite connections.
func TestConnectionModelGradients(t *testing.T) {
	cases := []struct {
		kind     hyper.Kind
		n        int
		contract string
		sinkhorn string
		eps      float32
		fixed    hyper.Fixed
		perturb  float64
	}{
		{hyper.HC, 2, "sum", "paper", 0, hyper.Fixed{}, 0.1},
		{hyper.HC, 4, "learned", "paper", 0, hyper.Fixed{}, 0.1},
		{hyper.MHC, 4, "sum", "paper", 0, hyper.Fixed{}, 0.3},
		{hyper.MHC, 2, "sum", "deepseek", 1e-6, hyper.Fixed{}, 0.3},
		{hyper.MHC, 3, "mean", "paper", 0, hyper.Fixed{Res: true}, 0.3},
		{hyper.MHCLite, 3, "sum", "paper", 0, hyper.Fixed{}, 0.3},
	}
	for _, c := range cases {
		cfg := tinyConfig()
		cfg.Kind, cfg.Streams, cfg.Contract = c.kind, c.n, c.contract
		cfg.Sinkhorn, cfg.SinkhornEps, cfg.Fixed = c.sinkhorn, c.eps, c.fixed
		label := fmt.Sprintf("%s n=%d %s %s fixed=%q", c.kind, c.n, c.contract, c.sinkhorn, c.fixed)
		checkModelGradients(t, cfg, label, c.perturb)
	}
}
