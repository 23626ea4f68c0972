package train_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

// Upcycle a (here random) residual model into mHC with 4 streams: the logits
// are unchanged, and the new model trains like any other.
func ExampleUpcycleModel() {
	cfg := model.Presets["tiny"].Config
	cfg.D, cfg.Layers, cfg.Heads, cfg.Seq, cfg.MLPHidden = 32, 2, 2, 16, 64
	res, err := model.New(cfg, 1)
	if err != nil {
		panic(err)
	}
	res.Params.Initialize(1)

	conn := hyper.Config{Kind: hyper.MHC, Streams: 4, Contract: "mean", SinkhornIters: 20, Sinkhorn: "paper", NormEps: 1e-6}
	m, err := train.UpcycleModel(res, conn, hyper.DefaultUpcycle(), 1)
	if err != nil {
		panic(err)
	}
	diff, maxAbs := train.CompareLogits(res, m, 2, 1)
	fmt.Printf("%s n=%d, %d → %d parameters, logits equal: %v\n",
		m.Cfg.Kind, m.Cfg.Streams, res.NumParams(), m.NumParams(), diff <= 1e-5*max(1, maxAbs))

	// The KV-cache decoder gives the full forward pass's logits one token at a time.
	d := model.NewDecoder(m)
	rng := rand.New(rand.NewPCG(1, 2))
	logits := d.Prefill([]int32{'g', 'o'})
	for range 5 {
		logits = d.Step(int32(rng.IntN(cfg.Vocab)))
	}
	fmt.Println("cached tokens:", d.Len(), "logits:", len(logits))
	// Output:
	// mhc n=4, 37024 → 49420 parameters, logits equal: true
	// cached tokens: 7 logits: 256
}
