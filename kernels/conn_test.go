package kernels

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// sinkRef runs one lane's Sinkhorn steps on the explicit matrix in float64:
// X ← X with columns (k%2 == colPar) or rows divided by (sum + eps). It
// returns every iterate X_0..X_steps and the denominators.
func sinkRef(m0 []float64, n, steps, colPar int, eps float64) (xs [][]float64, dens [][]float64) {
	x := append([]float64(nil), m0...)
	xs = append(xs, append([]float64(nil), x...))
	for k := 0; k < steps; k++ {
		d := make([]float64, n)
		col := k%2 == colPar
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if col {
					d[j] += x[i*n+j]
				} else {
					d[i] += x[i*n+j]
				}
			}
		}
		for i := range d {
			d[i] += eps
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if col {
					x[i*n+j] /= d[j]
				} else {
					x[i*n+j] /= d[i]
				}
			}
		}
		xs = append(xs, append([]float64(nil), x...))
		dens = append(dens, d)
	}
	return xs, dens
}

// sinkRefBack is the reverse sweep of sinkRef on explicit matrices:
// Y = X/s with s = Σ X + eps along the normalised axis, so
// dX = (G − Σ G·Y)/s along that axis.
func sinkRefBack(g []float64, xs, dens [][]float64, n, colPar int) []float64 {
	g = append([]float64(nil), g...)
	for k := len(dens) - 1; k >= 0; k-- {
		y, d := xs[k+1], dens[k]
		col := k%2 == colPar
		a := make([]float64, n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if col {
					a[j] += g[i*n+j] * y[i*n+j]
				} else {
					a[i] += g[i*n+j] * y[i*n+j]
				}
			}
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if col {
					g[i*n+j] = (g[i*n+j] - a[j]) / d[j]
				} else {
					g[i*n+j] = (g[i*n+j] - a[i]) / d[i]
				}
			}
		}
	}
	return g
}

// TestSinkhornLanes checks SinkhornSteps and SinkhornBack on every path
// this machine can run against the explicit float64 reference, lane by
// lane, on odd n, both parities, eps 0 and not, and checks that every path
// computes exactly the generic path's bits.
func TestSinkhornLanes(t *testing.T) {
	const L = SinkLanes
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 4, 5, 7} {
		for _, steps := range []int{1, 2, 7, 40} {
			for colPar := range 2 {
				for _, eps := range []float64{0, 1e-6, 0.1} {
					m0 := make([]float64, n*n*L)
					for i := range m0 {
						m0[i] = math.Exp(3 * rng.NormFloat64())
					}
					dh := make([]float64, n*n*L)
					for i := range dh {
						dh[i] = rng.NormFloat64()
					}
					var want []float64 // generic path's results, all concatenated
					for _, path := range Paths() {
						ok, restore := setGEMMPath(path)
						if !ok {
							restore()
							t.Fatalf("path %s: self-check failed: %v", path, CheckPath(path))
						}
						vl := (steps + 1) * n * L
						rv, cv, inv := make([]float64, vl), make([]float64, vl), make([]float64, steps*n*L)
						for i := range n * L {
							rv[i], cv[i] = 1, 1
						}
						g := append([]float64(nil), dh...)
						SinkhornSteps(m0, rv, cv, inv, n, steps, colPar, eps)
						SinkhornBack(g, m0, rv, cv, inv, n, steps, colPar)
						restore()
						got := append(append(append(append([]float64(nil), rv...), cv...), inv...), g...)
						if want == nil {
							want = got
						} else {
							for i := range want {
								if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
									t.Fatalf("n=%d steps=%d par=%d eps=%g path %s: element %d = %v, generic %v (must be bit-identical)",
										n, steps, colPar, eps, path, i, got[i], want[i])
								}
							}
						}
						// Reference, per lane.
						for l := 0; l < L; l++ {
							ml, gl := make([]float64, n*n), make([]float64, n*n)
							for e := range ml {
								ml[e], gl[e] = m0[e*L+l], dh[e*L+l]
							}
							xs, dens := sinkRef(ml, n, steps, colPar, eps)
							x := xs[steps]
							gref := sinkRefBack(gl, xs, dens, n, colPar)
							for i := 0; i < n; i++ {
								for j := 0; j < n; j++ {
									e := i*n + j
									y := rv[(steps*n+i)*L+l] * ml[e] * cv[(steps*n+j)*L+l]
									if d := math.Abs(y - x[e]); d > 1e-12*math.Max(1, math.Abs(x[e])) {
										t.Fatalf("n=%d steps=%d par=%d eps=%g path %s lane %d: X[%d,%d] = %v, ref %v",
											n, steps, colPar, eps, path, l, i, j, y, x[e])
									}
									// dL/dM0 of the scaling form is g·r0·c0 = g (r0 = c0 = 1).
									if d := math.Abs(g[e*L+l] - gref[e]); d > 1e-9*math.Max(1, math.Abs(gref[e])) {
										t.Fatalf("n=%d steps=%d par=%d eps=%g path %s lane %d: dM0[%d,%d] = %v, ref %v",
											n, steps, colPar, eps, path, l, i, j, g[e*L+l], gref[e])
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestSinkhornSelfCheckCatches breaks the Sinkhorn loops of every assembly
// path and checks that the self-check rejects it.
func TestSinkhornSelfCheckCatches(t *testing.T) {
	for _, p := range kernelPaths {
		if p.conn == nil || p.conn.sinkSteps == nil {
			continue
		}
		for _, which := range []string{"steps", "back"} {
			c := *p.conn
			if which == "steps" {
				f := c.sinkSteps
				c.sinkSteps = func(m0, rv, cv, inv *float64, n, steps, colPar int, eps float64) {
					f(m0, rv, cv, inv, n, steps-1, colPar, eps) // one step short
				}
			} else {
				f := c.sinkBack
				c.sinkBack = func(g, m0, rv, cv, inv *float64, n, steps, colPar int) {
					f(g, m0, rv, cv, inv, n, steps, 1-colPar) // wrong parity
				}
			}
			np := newPath(p.name, p.gemm, p.vec)
			np.conn = &c
			err := checkConn(np)
			if err == nil || !strings.Contains(err.Error(), "sinkhorn") {
				t.Errorf("%s with broken sinkhorn %s: self-check returned %v", p.name, which, err)
			}
		}
	}
}

func BenchmarkSinkhornLanes(b *testing.B) {
	const n, steps, L = 4, 40, SinkLanes
	m0 := make([]float64, n*n*L)
	for i := range m0 {
		m0[i] = 1 + float64(i%7)/7
	}
	vl := (steps + 1) * n * L
	rv, cv, inv, g := make([]float64, vl), make([]float64, vl), make([]float64, steps*n*L), make([]float64, n*n*L)
	for i := range n * L {
		rv[i], cv[i] = 1, 1
	}
	for _, path := range Paths() {
		b.Run(path, func(b *testing.B) {
			ok, restore := setGEMMPath(path)
			defer restore()
			if !ok {
				b.Skip("self-check failed")
			}
			for b.Loop() {
				SinkhornSteps(m0, rv, cv, inv, n, steps, 0, 0)
				for i := range g {
					g[i] = 1
				}
				SinkhornBack(g, m0, rv, cv, inv, n, steps, 0)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/L, "ns/token")
		})
	}
}
