package model

import (
	"fmt"
	"math"
	"testing"

	"github.com/mhc-go/mhc/hyper"
)

// The fused seams (hyper.PostPre, hyper.BackwardSeam) give the same losses
// and gradients, bit for bit, as the separate connection calls, for every
// connection kind, fixed maps and stream counts, with recomputation off and
// on (both scopes, block sizes that do and do not divide 2L), with
// gradient accumulation.
func TestSeamsBitIdentical(t *testing.T) {
	cfgs := recomputeConfigs()
	for _, c := range []struct {
		kind  hyper.Kind
		n     int
		fixed string
	}{{hyper.MHC, 1, ""}, {hyper.MHC, 2, "res"}, {hyper.MHC, 3, "pre,post,res"}, {hyper.MHCLite, 4, "post"}, {hyper.HC, 2, ""}} {
		cfg := tinyConfig()
		cfg.Layers, cfg.Seq = 3, attnBlk+3
		cfg.Kind, cfg.Streams = c.kind, c.n
		var err error
		if cfg.Fixed, err = hyper.ParseFixed(c.fixed); err != nil {
			t.Fatal(err)
		}
		cfgs = append(cfgs, cfg)
	}
	for _, cfg := range cfgs {
		for _, rc := range []struct {
			scope string
			rc    int
		}{{"", 0}, {RecomputeStreams, 2}, {RecomputeStreams, 4}, {RecomputeAll, 3}, {RecomputeAll, 1}} {
			cfg.RecomputeScope = rc.scope
			name := fmt.Sprintf("%s n%d fixed=%q recompute %d %s", cfg.Kind, cfg.Streams, cfg.Fixed, rc.rc, rc.scope)
			seamsOff = true
			wantL, want1, want2 := runSteps(t, cfg, rc.rc, 2, 2)
			seamsOff = false
			gotL, got1, got2 := runSteps(t, cfg, rc.rc, 2, 2)
			for i := range wantL {
				if math.Float64bits(gotL[i]) != math.Float64bits(wantL[i]) {
					t.Errorf("%s: loss %d = %v fused, %v separate", name, i, gotL[i], wantL[i])
				}
			}
			for k, g := range [][2][]float32{{got1, want1}, {got2, want2}} {
				for i := range g[1] {
					if math.Float32bits(g[0][i]) != math.Float32bits(g[1][i]) {
						t.Errorf("%s: call %d: grad[%d] = %v fused, %v separate", name, k+1, i, g[0][i], g[1][i])
						break
					}
				}
			}
		}
	}
}
