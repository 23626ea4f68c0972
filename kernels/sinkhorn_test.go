package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigExp returns exp(x) correctly rounded to float64 (nearest even): the
// Taylor series of exp(x/2^s), |x/2^s| < 2^-8, summed at 320 bits, squared
// s times.
func bigExp(x float64) float64 {
	const prec = 320
	s := 0
	for math.Abs(x) >= 1.0/256 && s < 20 {
		x /= 2 // exact
		s++
	}
	xb := new(big.Float).SetPrec(prec).SetFloat64(x)
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for k := int64(1); k <= 40; k++ {
		term.Mul(term, xb)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(k))
		sum.Add(sum, term)
	}
	for range s {
		sum.Mul(sum, sum)
	}
	f, _ := sum.Float64()
	return f
}

// ulpDiff returns |got − want| in units of want's ulp (the gap above want;
// the smallest subnormal for 0).
func ulpDiff(got, want float64) float64 {
	if got == want {
		return 0
	}
	u := math.Nextafter(want, math.Inf(1)) - want
	return math.Abs(got-want) / u
}

// sinkExpOn runs SinkhornExp on n = 2 blocks whose first row is 0 and second
// row holds xs (≤ 0), so that M0[1, j] = exp(x): 16 values per call.
func sinkExpOn(xs []float64) []float64 {
	const L = SinkLanes
	out := make([]float64, len(xs))
	m := make([]float64, 4*L)
	for k0 := 0; k0 < len(xs); k0 += 2 * L {
		clear(m)
		for k := k0; k < min(k0+2*L, len(xs)); k++ {
			m[2*L+(k-k0)] = xs[k] // row 1: elements (1,0) and (1,1), 8 lanes each
		}
		SinkhornExp(m, 2)
		for k := k0; k < min(k0+2*L, len(xs)); k++ {
			out[k] = m[2*L+(k-k0)]
			if m[k-k0] != 1 {
				panic("row 0 not exp(0) = 1")
			}
		}
	}
	return out
}

// TestSinkhornExpAccuracy: on every path, SinkhornExp's exponentials are
// within 1 ulp of the correctly rounded exp over the whole range the
// Sinkhorn uses (x − colmax ∈ [−745, 0], including subnormal results and
// the underflow to 0), and exactly math.Exp on the generic path.
func TestSinkhornExpAccuracy(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		var xs []float64
		for range 3000 {
			xs = append(xs, -rng.Float64()*40) // the useful range
		}
		for range 1000 {
			xs = append(xs, -rng.Float64()*745)
		}
		for range 200 {
			xs = append(xs, -rng.Float64()*1e-6, -708-rng.Float64()*38) // near 0, subnormal results
		}
		// k·ln2/2 boundaries of the range reduction, and exact cases.
		for k := -1070; k <= 0; k += 37 {
			h := (float64(k) + 0.5) * math.Ln2
			xs = append(xs, h, math.Nextafter(h, 0), math.Nextafter(h, -1000), float64(k)*math.Ln2)
		}
		xs = append(xs, 0, math.Copysign(0, -1), -1, -0.5, -745.2, -745.1, -746, -800, math.Inf(-1), -math.SmallestNonzeroFloat64)
		got := sinkExpOn(xs)
		worst, at, off := 0.0, 0.0, 0
		for k, x := range xs {
			want := 0.0 // exp(−Inf)
			if !math.IsInf(x, -1) {
				want = bigExp(x)
			}
			if Path() == pathGeneric && got[k] != math.Exp(x) {
				t.Fatalf("generic: exp(%v) = %v, math.Exp %v", x, got[k], math.Exp(x))
			}
			d := ulpDiff(got[k], want)
			if d > worst {
				worst, at = d, x
			}
			if d != 0 {
				off++
			}
		}
		t.Logf("%s: max error %.3f ulp (at x = %v), %d of %d not correctly rounded", Path(), worst, at, off, len(xs))
		if worst > 1 {
			t.Errorf("max error %.3f ulp at x = %v, want ≤ 1", worst, at)
		}
	})
}

// TestSinkhornExp: on every path and odd n, every lane gets its own column
// maxima and the exponentials of the shifted values (to 2 ulps of math.Exp),
// and a column's maximum maps to exactly 1.
func TestSinkhornExp(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		const L = SinkLanes
		rng := rand.New(rand.NewPCG(5, 6))
		for _, n := range []int{1, 2, 3, 4, 5, 7} {
			m := make([]float64, n*n*L+3)
			for i := range m {
				m[i] = float64(float32(rng.NormFloat64() * 6))
			}
			m[n*n*L] = math.NaN() // past the block: untouched
			in := append([]float64(nil), m...)
			SinkhornExp(m[:n*n*L], n)
			for l := 0; l < L; l++ {
				for j := 0; j < n; j++ {
					mx := in[j*L+l]
					for i := 1; i < n; i++ {
						mx = max(mx, in[(i*n+j)*L+l])
					}
					for i := 0; i < n; i++ {
						e := (i*n+j)*L + l
						want := math.Exp(in[e] - mx)
						if in[e] == mx && m[e] != 1 || ulpDiff(m[e], want) > 2 {
							t.Fatalf("n=%d lane %d (%d,%d): %v, want %v", n, l, i, j, m[e], want)
						}
					}
				}
			}
			if !math.IsNaN(m[n*n*L]) || m[n*n*L+1] != in[n*n*L+1] {
				t.Fatalf("n=%d: wrote past the block", n)
			}
		}
	})
}

func TestSinkhornExpPanics(t *testing.T) {
	for _, c := range []struct{ len, n int }{{0, 0}, {9*SinkLanes - 1, 3}, {SinkLanes - 1, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("len %d n %d: no panic", c.len, c.n)
				}
			}()
			SinkhornExp(make([]float64, c.len), c.n)
		}()
	}
}

// BenchmarkSinkhornExp: one block of 8 tokens' n = 4 exponentials.
func BenchmarkSinkhornExp(b *testing.B) {
	for _, path := range gemmAllPaths {
		b.Run(path, func(b *testing.B) {
			ok, restore := setGEMMPath(path)
			defer restore()
			if !ok {
				b.Skip("not available")
			}
			const n = 4
			src := make([]float64, n*n*SinkLanes)
			for i := range src {
				src[i] = float64(i%9) - 4
			}
			m := make([]float64, len(src))
			for b.Loop() {
				copy(m, src)
				SinkhornExp(m, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/SinkLanes, "ns/token")
		})
	}
}
