package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/internal/fdcheck"
)

// softmax64 is the float64 reference: softmax(scale*x).
func softmax64(x []float64, scale float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, scale*v)
	}
	out := make([]float64, len(x))
	var s float64
	for i, v := range x {
		out[i] = math.Exp(scale*v - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func TestSoftmax(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, rows := range []int{1, 3} {
			for _, n := range oddSizes {
				for _, amp := range []float64{1, 30, 1e4} {
					x := randVec(rng, rows*n, amp)
					var want []float64
					for r := 0; r < rows; r++ {
						want = append(want, softmax64(to64(x[r*n:(r+1)*n]), 1)...)
					}
					Softmax(x, rows, n)
					checkClose(t, fmt.Sprintf("Softmax %dx%d amp %g", rows, n, amp), x, want, 2e-6, 1e-12)
				}
			}
		}
		// A row of -Inf becomes zeros, not NaN.
		inf := float32(math.Inf(-1))
		x := []float32{inf, inf, inf, 1, 2, 3}
		Softmax(x, 2, 3)
		if x[0] != 0 || x[1] != 0 || x[2] != 0 || math.Abs(float64(x[3]+x[4]+x[5])-1) > 1e-6 {
			t.Errorf("Softmax with -Inf row: %v", x)
		}
	})
}

// causalRef returns the float64 causal softmax of row i of s (length lds).
func causalRef(row []float64, i int, scale float64) []float64 {
	out := make([]float64, len(row))
	copy(out, softmax64(row[:i+1], scale))
	return out
}

func TestCausalSoftmax(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		const scale = 0.37
		for _, T := range []int{1, 3, 7, 33, 129} {
			s := randVec(rng, T*T, 20)
			s64 := to64(s)
			// Process in two sub-ranges [0,a) and [a,T); check that each call
			// leaves the other rows untouched.
			a := T / 3
			CausalSoftmax(s, T, a, T, scale)
			for i := 0; i < a; i++ {
				checkClose(t, "untouched row", s[i*T:(i+1)*T], s64[i*T:(i+1)*T], 0, 0)
			}
			CausalSoftmax(s, T, 0, a, scale)
			for i := 0; i < T; i++ {
				want := causalRef(s64[i*T:(i+1)*T], i, scale)
				checkClose(t, fmt.Sprintf("T=%d row %d", T, i), s[i*T:(i+1)*T], want, 2e-6, 1e-12)
			}
			if s[0] != 1 {
				t.Errorf("T=%d: single-entry row 0 = %v, want 1", T, s[0])
			}
			// Empty range is a no-op.
			CausalSoftmax(s, T, 1, 1, scale)
		}
	})
}

// causalRowLoss is Σ_j w[j]*p[j] for row i of the causal softmax of row.
func causalRowLoss(row, w []float64, i int, scale float64) float64 {
	p := causalRef(row, i, scale)
	var l float64
	for j := range p {
		l += w[j] * p[j]
	}
	return l
}

func TestCausalSoftmaxBackward(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		const scale = 0.6
		for _, T := range []int{1, 3, 7, 33, 129} {
			for _, alias := range []bool{false, true} {
				s := randVec(rng, T*T, 3)
				s64 := to64(s)
				p := append([]float32(nil), s...)
				CausalSoftmax(p, T, 0, T, scale)
				dp := randVec(rng, T*T, 1)
				dp64 := to64(dp)
				ds := randVec(rng, T*T, 1) // garbage: must be overwritten
				if alias {
					ds = dp
				}
				r0, r1 := T/4, T-T/5
				dsBefore := append([]float32(nil), ds...)
				CausalSoftmaxBackward(ds, p, dp, T, r0, r1, scale)
				for i := 0; i < T; i++ {
					got := ds[i*T : (i+1)*T]
					if i < r0 || i >= r1 {
						checkClose(t, "untouched row", got, to64(dsBefore[i*T:(i+1)*T]), 0, 0)
						continue
					}
					// Central differences on the float64 forward. The loss is
					// smooth and computed in float64, so with h = 1e-5 the FD error
					// (~h² + 1e-16/h) is < 1e-9, far below the float32 kernel's
					// error (p is float32: ~1e-7 relative).
					row := append([]float64(nil), s64[i*T:(i+1)*T]...)
					w := dp64[i*T : (i+1)*T]
					want := make([]float64, T) // zero above the diagonal
					copy(want, fdcheck.Gradient(func() float64 { return causalRowLoss(row, w, i, scale) }, row[:i+1], 1e-5))
					checkClose(t, fmt.Sprintf("T=%d alias=%v row %d", T, alias, i), got, want, 1e-4, 1e-5*maxAbs(want))
				}
			}
		}
	})
}

func TestSoftmaxNoAllocs(t *testing.T) {
	s := make([]float32, 64*64)
	allocs := testing.AllocsPerRun(10, func() {
		CausalSoftmax(s, 64, 0, 64, 0.125)
		CausalSoftmaxBackward(s, s, s, 64, 0, 64, 0.125)
		Softmax(s, 64, 64)
	})
	if allocs != 0 {
		t.Errorf("softmax kernels allocate %v times", allocs)
	}
}

func ExampleCausalSoftmax() {
	// 3×3 scores, all equal: row i spreads its mass over keys 0..i.
	s := make([]float32, 9)
	CausalSoftmax(s, 3, 0, 3, 1)
	for i := 0; i < 3; i++ {
		fmt.Printf("%.3f\n", s[i*3:(i+1)*3])
	}
	// Output:
	// [1.000 0.000 0.000]
	// [0.500 0.500 0.000]
	// [0.333 0.333 0.333]
}

func BenchmarkCausalSoftmax(b *testing.B) {
	for _, T := range []int{256, 1024} {
		s := make([]float32, T*T)
		rng := rand.New(rand.NewPCG(1, 1))
		for i := range s {
			s[i] = rng.Float32()
		}
		orig := append([]float32(nil), s...)
		b.Run(fmt.Sprintf("T=%d", T), func(b *testing.B) {
			b.SetBytes(int64(T * (T + 1) / 2 * 8)) // read+write of the valid triangle
			for b.Loop() {
				copy(s, orig)
				CausalSoftmax(s, T, 0, T, 0.125)
			}
		})
		b.Run(fmt.Sprintf("Backward/T=%d", T), func(b *testing.B) {
			b.SetBytes(int64(T * (T + 1) / 2 * 12))
			p := append([]float32(nil), orig...)
			CausalSoftmax(p, T, 0, T, 0.125)
			for b.Loop() {
				CausalSoftmaxBackward(s, p, orig, T, 0, T, 0.125)
			}
		})
	}
}
