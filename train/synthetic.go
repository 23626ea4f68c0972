package train

import (
	"math/rand/v2"

	"github.com/mhc-go/mhc/model"
)

// Synthetic is a model, an optimizer and one fixed batch of random tokens:
// what `mhc bench train` and BenchmarkTrainStep time.
type Synthetic struct {
	Model  *model.Model
	Opt    *AdamW
	Batch  int
	in, tg []int32
}

// NewSynthetic builds cfg for batch sequences, initialises it with seed 1 and
// draws a fixed random batch.
func NewSynthetic(cfg model.Config, batch int) (*Synthetic, error) {
	m, err := model.New(cfg, batch)
	if err != nil {
		return nil, err
	}
	m.Params.Initialize(1)
	s := &Synthetic{Model: m, Opt: NewAdamW(m.Params, 0.9, 0.95, 1e-8, 0.1), Batch: batch}
	N := batch * cfg.Seq
	rng := rand.New(rand.NewPCG(1, 2))
	s.in, s.tg = make([]int32, N), make([]int32, N)
	for i := range s.in {
		s.in[i], s.tg[i] = int32(rng.IntN(cfg.Vocab)), int32(rng.IntN(cfg.Vocab))
	}
	return s, nil
}

// Tokens is the number of tokens one Step processes.
func (s *Synthetic) Tokens() int { return len(s.in) }

// Step runs one full optimizer step: zero grads, forward, backward, clip, AdamW.
func (s *Synthetic) Step() {
	s.Model.Params.ZeroGrad()
	s.Model.ForwardBackward(s.in, s.tg, s.Batch, s.Model.Cfg.Seq, 1)
	s.Opt.ClipGrad(1)
	s.Opt.Update(1e-4)
}
