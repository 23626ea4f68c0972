package train

import (
	"fmt"
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
			run, err := NewSynthetic(cfg, p.Batch)
			if err != nil {
				b.Fatal(err)
			}
			step, N := run.Step, run.Tokens()
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
