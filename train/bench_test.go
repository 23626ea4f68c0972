package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// BenchmarkTrainStep times one optimizer step (forward, backward, clip,
// AdamW) of the tiny preset per connection and reports tokens/s; allocs/op
// must stay 0 (no per-step allocation in the hot path).
func BenchmarkTrainStep(b *testing.B) {
	for _, conn := range []hyper.Kind{hyper.Residual, hyper.HC, hyper.MHC} {
		b.Run(fmt.Sprintf("tiny/%s", conn), func(b *testing.B) {
			p := model.Presets["tiny"]
			cfg := p.Config
			cfg.Conn = conn
			if conn != hyper.Residual {
				cfg.Streams = 4
			}
			m, err := model.New(cfg, p.Batch)
			if err != nil {
				b.Skip(err)
			}
			m.Params.Initialize(1)
			opt := NewAdamW(m.Params, 0.9, 0.95, 1e-8, 0.1)
			N := p.Batch * cfg.Seq
			rng := rand.New(rand.NewPCG(1, 2))
			in, tg := make([]int32, N), make([]int32, N)
			for i := range in {
				in[i], tg[i] = int32(rng.IntN(cfg.Vocab)), int32(rng.IntN(cfg.Vocab))
			}
			step := func() {
				m.Params.ZeroGrad()
				m.ForwardBackward(in, tg, p.Batch, cfg.Seq, 1)
				opt.ClipGrad(1)
				opt.Update(1e-4)
			}
			step()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				step()
			}
			b.ReportMetric(float64(N*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
