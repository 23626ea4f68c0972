package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// adamw64 is the float64 reference of AdamW's documented formula.
func adamw64(p, g, m, v []float64, lr, b1, b2, eps, wd, bc1, bc2 float64) {
	for i := range p {
		if wd != 0 {
			p[i] -= lr * wd * p[i]
		}
		m[i] = b1*m[i] + (1-b1)*g[i]
		v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
		p[i] -= lr * (m[i] / bc1) / (math.Sqrt(v[i]/bc2) + eps)
	}
}

func TestAdamW(t *testing.T) { forEachVecPath(t, testAdamW) }

func testAdamW(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	const lr, b1, b2, eps = 1e-3, 0.9, 0.95, 1e-8
	for _, n := range append(oddSizes, 1000) {
		for _, wd := range []float32{0, 0.1} {
			p := randVec(rng, n, 1)
			m, v := make([]float32, n), make([]float32, n)
			p64, m64, v64 := to64(p), make([]float64, n), make([]float64, n)
			for step := 1; step <= 5; step++ {
				g := randVec(rng, n, 0.1)
				g[0] = 0 // zero gradient at step 1: update 0/(0+eps)
				bc1 := 1 - math.Pow(b1, float64(step))
				bc2 := 1 - math.Pow(b2, float64(step))
				AdamW(p, g, m, v, lr, b1, b2, eps, wd, float32(bc1), float32(bc2))
				// The reference sees the same (float32-rounded) hyperparameters.
				f := func(x float64) float64 { return float64(float32(x)) }
				adamw64(p64, to64(g), m64, v64, f(lr), f(b1), f(b2), f(eps), float64(wd), f(bc1), f(bc2))
				name := fmt.Sprintf("n=%d wd=%v step %d", n, wd, step)
				// Per step, p is rounded to float32 twice (decay, update): <= 2
				// ulps (1.2e-7 relative), plus ~1e-6 relative error of the
				// ~lr-sized update. The reference is re-synced to the kernel's
				// state after each step so errors do not compound.
				checkClose(t, name+" p", p, p64, 1.5e-7, 1e-6*lr)
				// m and v: a few float32 roundings per step, relative to |g| ~ 0.1
				// (m can cancel to near 0, hence the absolute term).
				checkClose(t, name+" m", m, m64, 1e-6, 1e-9)
				checkClose(t, name+" v", v, v64, 1e-6, 1e-11)
				p64, m64, v64 = to64(p), to64(m), to64(v)
			}
		}
	}
}

func TestAdamWNoAllocs(t *testing.T) {
	p, g, m, v := make([]float32, 100), make([]float32, 100), make([]float32, 100), make([]float32, 100)
	if a := testing.AllocsPerRun(10, func() { AdamW(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.1, 0.1, 0.001) }); a != 0 {
		t.Errorf("AdamW allocates %v times", a)
	}
}

func BenchmarkAdamW(b *testing.B) {
	const n = 1 << 20
	rng := rand.New(rand.NewPCG(1, 1))
	p, g := randVec(rng, n, 1), randVec(rng, n, 1e-3)
	m, v := make([]float32, n), make([]float32, n)
	b.SetBytes(n * 28) // 4 loads + 3 stores
	for b.Loop() {
		AdamW(p, g, m, v, 1e-3, 0.9, 0.95, 1e-8, 0.1, 0.5, 0.1)
	}
}
