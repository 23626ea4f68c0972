package train

import (
	"fmt"
	"testing"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// BenchmarkTrainStep times one real optimizer step (data, forward, backward,
// clip, AdamW) of the tiny preset per connection and reports tokens/s.
func BenchmarkTrainStep(b *testing.B) {
	for _, conn := range []hyper.Kind{hyper.Residual, hyper.HC, hyper.MHC, hyper.MHCLite} {
		b.Run(fmt.Sprintf("tiny/%s", conn), func(b *testing.B) {
			tr := syntheticTrainer(b, conn, model.Presets["tiny"].Config, model.Presets["tiny"].Batch)
			step(b, tr)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				step(b, tr)
			}
			N := tr.Opts.Batch * tr.Opts.Accum * tr.Net.Config().Seq
			b.ReportMetric(float64(N*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// A whole training step allocates nothing, for every connection kind.
func TestTrainStepAllocs(t *testing.T) {
	for _, conn := range []hyper.Kind{hyper.Residual, hyper.HC, hyper.MHC, hyper.MHCLite} {
		cfg := model.Presets["tiny"].Config
		cfg.Seq, cfg.Layers = 32, 2 // small and quick: allocations do not depend on size
		tr := syntheticTrainer(t, conn, cfg, 4)
		tr.Opts.Accum = 2 // accumulation is part of the step
		// Warm up: concurrent serial GEMMs (attention runs one per head
		// block) take packing contexts from a shared free list in whatever
		// order the workers ask, and a context grows its buffers the first
		// time it meets a larger shape; after a few steps every context
		// has met every shape.
		for range 5 {
			step(t, tr)
		}
		if n := testing.AllocsPerRun(3, func() { step(t, tr) }); n != 0 {
			t.Errorf("%s: %v allocations per training step, want 0", conn, n)
		}
	}
}

func syntheticTrainer(tb testing.TB, conn hyper.Kind, cfg model.Config, batch int) *Trainer {
	tb.Helper()
	cfg.Kind = conn
	if conn != hyper.Residual {
		cfg.Streams = 4
	}
	tr, err := NewSynthetic(cfg, batch)
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

func step(tb testing.TB, tr *Trainer) {
	if _, err := tr.TrainStep(); err != nil {
		tb.Fatal(err)
	}
}
