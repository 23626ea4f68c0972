package model_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// Build the tiny preset with an mHC connection, run one training
// forward/backward pass and sample a few tokens.
func Example() {
	p := model.Presets["tiny"]
	cfg := p.Config
	cfg.Kind, cfg.Streams = hyper.MHC, 4
	m, err := model.New(cfg, 2) // room for 2 sequences of cfg.Seq tokens
	if err != nil {
		panic(err)
	}
	m.Params.Initialize(1)

	in := make([]int32, 2*cfg.Seq)
	tg := make([]int32, 2*cfg.Seq)
	for i := range in {
		in[i], tg[i] = int32(i%256), int32((i+1)%256)
	}
	m.Params.ZeroGrad()
	loss := m.ForwardBackward(in, tg, 2, cfg.Seq, 1) // gradients accumulate into m.Params.Grad
	fmt.Printf("initial loss, a little above ln 256 = 5.5: %.1f\n", loss)

	s := &model.Sampler{Temperature: 0, Rng: rand.New(rand.NewPCG(1, 2))}
	out := s.Generate(m, []int32{'a'}, 3)
	fmt.Println(len(out), "tokens")
	// Output:
	// initial loss, a little above ln 256 = 5.5: 5.7
	// 4 tokens
}
