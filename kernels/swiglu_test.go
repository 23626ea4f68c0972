package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func silu64(g float64) float64 { return g / (1 + math.Exp(-g)) }

func TestSwiGLU(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(17, 18))
		for _, h := range oddSizes {
			for _, rows := range []int{1, 3} {
				gu := randVec(rng, rows*2*h, 6)
				out := make([]float32, rows*h)
				// Row sub-ranges.
				SwiGLU(out, gu, 1, h)
				SwiGLU(out[h:], gu[2*h:], rows-1, h)
				want := make([]float64, rows*h)
				for r := 0; r < rows; r++ {
					for i := 0; i < h; i++ {
						g, u := float64(gu[r*2*h+i]), float64(gu[r*2*h+h+i])
						want[r*h+i] = silu64(g) * u
					}
				}
				checkClose(t, fmt.Sprintf("h=%d rows=%d", h, rows), out, want, 1e-6, 1e-7)
			}
		}
		// Extreme gates: finite, correct limits.
		gu := []float32{-1e4, -200, -88, -87, 87, 200, 1e4, 0 /**/, 1, 1, 1, 1, 1, 1, 1, 1}
		out := make([]float32, 8)
		SwiGLU(out, gu, 1, 8)
		for i, v := range out {
			g := float64(gu[i])
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)-silu64(g)) > 1e-6*math.Abs(g)+1e-30 {
				t.Errorf("silu(%v) = %v, want %v", g, v, silu64(g))
			}
		}
	})
}

func TestSwiGLUBackward(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(19, 20))
		for _, h := range oddSizes {
			for _, alias := range []bool{false, true} {
				rows := 3
				gu := randVec(rng, rows*2*h, 5)
				dout := randVec(rng, rows*h, 1)
				gu64 := to64(gu)
				dgu := randVec(rng, rows*2*h, 1) // garbage: overwritten
				if alias {
					dgu = gu
				}
				SwiGLUBackward(dgu, dout, gu, rows, h)
				// Elementwise: dL/dg and dL/du for L = Σ dout*silu(g)*u, by
				// float64 central differences (h = 1e-6, error < 1e-9).
				want := make([]float64, rows*2*h)
				for r := 0; r < rows; r++ {
					for i := 0; i < h; i++ {
						g, u, dy := gu64[r*2*h+i], gu64[r*2*h+h+i], float64(dout[r*h+i])
						const e = 1e-6
						want[r*2*h+i] = dy * u * (silu64(g+e) - silu64(g-e)) / (2 * e)
						want[r*2*h+h+i] = dy * silu64(g)
					}
				}
				checkClose(t, fmt.Sprintf("h=%d alias=%v", h, alias), dgu, want, 1e-5, 1e-6)
			}
		}
		// Extreme gates: finite gradients.
		gu := []float32{-1e4, -200, -88, 88, 200, 1e4, 0, 3 /**/, 1, 1, 1, 1, 1, 1, 1, 1}
		dgu := make([]float32, 16)
		SwiGLUBackward(dgu, []float32{1, 1, 1, 1, 1, 1, 1, 1}, gu, 1, 8)
		for i, v := range dgu {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Errorf("dgu[%d] = %v for g=%v", i, v, gu[i%8])
			}
		}
	})
}

func TestSwiGLUNoAllocs(t *testing.T) {
	gu, out := make([]float32, 4*2*96), make([]float32, 4*96)
	allocs := testing.AllocsPerRun(10, func() {
		SwiGLU(out, gu, 4, 96)
		SwiGLUBackward(gu, out, gu, 4, 96)
	})
	if allocs != 0 {
		t.Errorf("SwiGLU allocates %v times", allocs)
	}
}

func BenchmarkSwiGLU(b *testing.B) {
	const rows, h = 2048, 384
	rng := rand.New(rand.NewPCG(1, 1))
	gu, dout := randVec(rng, rows*2*h, 3), randVec(rng, rows*h, 1)
	out, dgu := make([]float32, rows*h), make([]float32, rows*2*h)
	b.Run("Forward", func(b *testing.B) {
		b.SetBytes(rows * h * 12)
		for b.Loop() {
			SwiGLU(out, gu, rows, h)
		}
	})
	b.Run("Backward", func(b *testing.B) {
		b.SetBytes(rows * h * 20)
		for b.Loop() {
			SwiGLUBackward(dgu, dout, gu, rows, h)
		}
	})
}
