package train

import (
	"math/rand/v2"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/model"
)

// NewSynthetic returns a Trainer for cfg on a stream of uniformly random
// tokens: what `mhc bench train` and BenchmarkTrainStep time. Its TrainStep is
// the real training step (data loading, Accum micro-batches of forward and
// backward, clipping, AdamW); evaluation, the gain probe and checkpoints are
// off. The model is initialised with seed 1.
func NewSynthetic(cfg model.Config, batch int) (*Trainer, error) {
	m, err := model.New(cfg, batch)
	if err != nil {
		return nil, err
	}
	m.Params.Initialize(1)
	rng := rand.New(rand.NewPCG(1, 2))
	toks := make([]int32, 4*batch*(cfg.Seq+1))
	for i := range toks {
		toks[i] = int32(rng.IntN(cfg.Vocab))
	}
	loader, err := data.NewLoader(toks, batch, cfg.Seq, 1)
	if err != nil {
		return nil, err
	}
	o := DefaultOptions()
	o.Batch, o.Steps, o.Warmup = batch, 1<<30, 0
	o.EvalEvery, o.CkptEvery, o.GainsEvery = 0, 0, 0
	return NewTrainer(m, loader, nil, o)
}
