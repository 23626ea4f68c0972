package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Shared helpers for the row/elementwise kernel tests.

var oddSizes = []int{1, 3, 7, 8, 16, 33, 129}

// forEachVecPath runs f once on every kernel path this CPU can run (the
// whole dispatch table is switched, so the vector kernels run each path's
// loops; generic runs the pure-Go ones) and reports the others as skipped.
func forEachVecPath(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, path := range gemmAllPaths {
		t.Run(path, func(t *testing.T) {
			ok, restore := setGEMMPath(path)
			defer restore()
			if !ok {
				t.Skipf("the %s path is not available here (CPU, or self-check: %v)", path, CheckPath(path))
			}
			f(t)
		})
	}
}

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32((rng.Float64()*2 - 1) * scale)
	}
	return x
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// checkClose fails if some |got-want| > atol + rtol*|want|.
func checkClose(t *testing.T, what string, got []float32, want []float64, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		g := float64(got[i])
		if d := math.Abs(g - want[i]); !(d <= atol+rtol*math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v (diff %g)", what, i, g, want[i], d)
		}
	}
}

// maxAbs returns max |x[i]| (at least tiny, for use as a norm).
func maxAbs(x []float64) float64 {
	m := 1e-30
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}

func TestVecOps(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, n := range append(oddSizes, 0, 31, 64, 1000) {
			x, y := randVec(rng, n, 2), randVec(rng, n, 2)
			x64, y64 := to64(x), to64(y)

			var dot, ss float64
			for i := range x64 {
				dot += x64[i] * y64[i]
				ss += x64[i] * x64[i]
			}
			if got := Dot(x, y); math.Abs(float64(got)-dot) > 1e-6*float64(n+1)*2 {
				t.Errorf("n=%d Dot=%v want %v", n, got, dot)
			}
			if got := SumSquares(x); math.Abs(got-ss) > 1e-12*(ss+1) {
				t.Errorf("n=%d SumSquares=%v want %v", n, got, ss)
			}

			ya := append([]float32(nil), y...)
			Axpy(0.75, x, ya)
			want := make([]float64, n)
			for i := range want {
				want[i] = y64[i] + 0.75*x64[i]
			}
			checkClose(t, "Axpy", ya, want, 1e-6, 1e-6)

			// Axpy with x == y (documented as allowed).
			xa := append([]float32(nil), x...)
			Axpy(0.5, xa, xa)
			for i := range want {
				want[i] = 1.5 * x64[i]
			}
			checkClose(t, "Axpy alias", xa, want, 1e-6, 0)

			xs := append([]float32(nil), x...)
			Scale(-3, xs)
			for i := range want {
				want[i] = float64(-3 * x[i])
			}
			checkClose(t, "Scale", xs, want, 0, 0)

			d := make([]float32, n)
			Add(d, x, y)
			for i := range want {
				want[i] = float64(x[i] + y[i])
			}
			checkClose(t, "Add", d, want, 0, 0)
			// dst aliases a.
			xa = append(xa[:0], x...)
			Add(xa, xa, y)
			checkClose(t, "Add alias", xa, want, 0, 0)

			if n > 0 {
				m := x64[0]
				for _, v := range x64 {
					m = max(m, v)
				}
				if got := maxf(x); float64(got) != m {
					t.Errorf("n=%d maxf=%v want %v", n, got, m)
				}
			}
		}
	})
}

func TestVecLengthMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Axpy with short y did not panic")
		}
	}()
	Axpy(1, make([]float32, 9), make([]float32, 8))
}

func TestExpfAccuracy(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		// Dense sweep of the normal range plus the edges.
		const n = 1 << 16
		src := make([]float32, 0, n+16)
		for i := 0; i < n; i++ {
			src = append(src, min(expLo+(expHi-expLo)*float32(i)/float32(n-1), expHi))
		}
		src = append(src, 0, -0.0, 1e-30, -1e-30, 0.34657359, -0.34657359, 1, -1, 88, -87, -87.29)
		dst := make([]float32, len(src))
		sum := expAffineSum(dst, src, 1, 0)
		var worst, wsum float64
		for i, x := range src {
			want := math.Exp(float64(x))
			wsum += want
			for _, got := range []float32{dst[i], expf(x)} {
				rel := math.Abs(float64(got)-want) / want
				worst = max(worst, rel)
				if rel > 4e-7 {
					t.Fatalf("exp(%v) = %v, want %v (rel %g)", x, got, want, rel)
				}
			}
		}
		if math.Abs(sum-wsum) > 1e-6*wsum {
			t.Errorf("sum %v, want %v", sum, wsum)
		}
		t.Logf("max relative error %.3g (%.2f ulp-ish)", worst, worst/(1.0/(1<<24)))

		// Special inputs: very negative → exactly 0, huge → large finite, NaN → NaN.
		special := []float32{-87.31, -88, -100, -1e4, -1e30, float32(math.Inf(-1)),
			88.5, 1e4, float32(math.Inf(1)), float32(math.NaN()), 0, 0, 0, 0, 0, 0}
		out := make([]float32, len(special))
		expAffineSum(out, special, 1, 0)
		for i, x := range special {
			for _, got := range []float32{out[i], expf(x)} {
				switch {
				case x != x:
					if got == got {
						t.Errorf("exp(NaN) = %v", got)
					}
				case x < expLo:
					if got != 0 {
						t.Errorf("exp(%v) = %v, want 0", x, got)
					}
				case x > expHi:
					if !(got > 2e38) || math.IsInf(float64(got), 0) {
						t.Errorf("exp(%v) = %v, want saturated finite", x, got)
					}
				}
			}
		}
	})
}

func TestExpAffineSumNilDst(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, n := range oddSizes {
			x := randVec(rng, n, 5)
			orig := append([]float32(nil), x...)
			var want float64
			for _, v := range x {
				want += math.Exp(float64(0.5*v - 1))
			}
			got := expAffineSum(nil, x, 0.5, 1)
			if math.Abs(got-want) > 1e-6*want {
				t.Errorf("n=%d sum=%v want %v", n, got, want)
			}
			checkClose(t, "src untouched", x, to64(orig), 0, 0)
		}
	})
}

func TestVecNoAllocs(t *testing.T) {
	x, y := make([]float32, 1000), make([]float32, 1000)
	allocs := testing.AllocsPerRun(10, func() {
		Axpy(1, x, y)
		Scale(2, x)
		Add(y, x, y)
		_ = Dot(x, y)
		_ = SumSquares(x)
	})
	if allocs != 0 {
		t.Errorf("vector ops allocate %v times", allocs)
	}
}

func ExampleDot() {
	x := []float32{1, 2, 3}
	y := []float32{4, 5, 6}
	fmt.Println(Dot(x, y))
	Axpy(2, x, y) // y += 2*x
	fmt.Println(y)
	// Output:
	// 32
	// [6 9 12]
}

func benchVec(b *testing.B, n int, bytesPerElem int, f func()) {
	b.SetBytes(int64(n * bytesPerElem))
	for b.Loop() {
		f()
	}
}

func BenchmarkVec(b *testing.B) {
	const n = 1 << 16 // 256 KiB per vector: L2-resident
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(i%7)*0.1, float32(i%5)*0.1
	}
	for _, name := range gemmAllPaths {
		ok, restore := setGEMMPath(name)
		if !ok {
			restore()
			continue
		}
		b.Run("Dot/"+name, func(b *testing.B) { benchVec(b, n, 8, func() { Dot(x, y) }) })
		b.Run("Axpy/"+name, func(b *testing.B) { benchVec(b, n, 12, func() { Axpy(1e-9, x, y) }) })
		b.Run("SumSquares/"+name, func(b *testing.B) { benchVec(b, n, 4, func() { SumSquares(x) }) })
		b.Run("Exp/"+name, func(b *testing.B) { benchVec(b, n, 8, func() { expAffineSum(y, x, 1, 1) }) })
		restore()
	}
}
