package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestRoPETable(t *testing.T) {
	const T, hd, theta = 17, 10, 10000.0
	cos, sin := RoPETable(T, hd, theta)
	if len(cos) != T*hd/2 || len(sin) != T*hd/2 {
		t.Fatalf("table sizes %d %d", len(cos), len(sin))
	}
	for tt := 0; tt < T; tt++ {
		for i := 0; i < hd/2; i++ {
			a := float64(tt) / math.Pow(theta, float64(2*i)/hd)
			if float64(cos[tt*hd/2+i]) != float64(float32(math.Cos(a))) || float64(sin[tt*hd/2+i]) != float64(float32(math.Sin(a))) {
				t.Fatalf("t=%d i=%d: got %v %v", tt, i, cos[tt*hd/2+i], sin[tt*hd/2+i])
			}
		}
	}
}

func TestRoPE(t *testing.T) { forEachVecPath(t, testRoPE) }

func testRoPE(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const T = 40
	for _, hd := range []int{2, 6, 16, 32, 34, 64, 66} {
		for _, heads := range []int{1, 3} {
			C := heads * hd
			cos, sin := RoPETable(T, hd, 10000)
			for _, pos0 := range []int{0, 5} {
				rows := 7
				stride := 3 * C // fused [q|k|v] rows
				x := randVec(rng, rows*stride, 2)
				x64 := to64(x)
				// Rotate k (off = C) only.
				RoPE(x, rows, stride, C, heads, hd, pos0, cos, sin)
				want := append([]float64(nil), x64...)
				half := hd / 2
				for r := 0; r < rows; r++ {
					for h := 0; h < heads; h++ {
						b := r*stride + C + h*hd
						for i := 0; i < half; i++ {
							a := float64(pos0+r) * math.Pow(10000, -2*float64(i)/float64(hd))
							c, s := math.Cos(a), math.Sin(a)
							x0, x1 := x64[b+i], x64[b+i+half]
							want[b+i] = x0*c - x1*s
							want[b+i+half] = x1*c + x0*s
						}
					}
				}
				name := fmt.Sprintf("hd=%d heads=%d pos0=%d", hd, heads, pos0)
				checkClose(t, name, x, want, 1e-6, 1e-6)

				// Backward is the transpose: <R a, b> = <a, R^T b>, and
				// R^T R = I. Being linear, this is the exact gradient check.
				bv := randVec(rng, rows*stride, 1)
				rtb := append([]float32(nil), bv...)
				RoPEBackward(rtb, rows, stride, C, heads, hd, pos0, cos, sin)
				var lhs, rhs float64
				for i := range x {
					lhs += float64(x[i]) * float64(bv[i]) // <R a, b>
					rhs += x64[i] * float64(rtb[i])       // <a, R^T b>
				}
				if math.Abs(lhs-rhs) > 1e-4*(math.Abs(lhs)+1) {
					t.Errorf("%s: <Ra,b>=%v <a,R^T b>=%v", name, lhs, rhs)
				}
				RoPEBackward(x, rows, stride, C, heads, hd, pos0, cos, sin)
				checkClose(t, name+" inverse", x, x64, 1e-5, 1e-5)
			}
		}
	}
}

func TestRoPEOddHeadDimPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("odd hd did not panic")
		}
	}()
	RoPE(make([]float32, 3), 1, 3, 0, 1, 3, 0, make([]float32, 10), make([]float32, 10))
}

func ExampleRoPE() {
	// One token at position 1, one head of size 2, theta irrelevant for i=0:
	// (1, 0) rotated by 1 radian.
	cos, sin := RoPETable(2, 2, 10000)
	x := []float32{1, 0}
	RoPE(x, 1, 2, 0, 1, 2, 1, cos, sin)
	fmt.Printf("%.4f\n", x)
	// Output: [0.5403 0.8415]
}

func BenchmarkRoPE(b *testing.B) {
	const rows, C, hd = 2048, 128, 32
	cos, sin := RoPETable(rows, hd, 10000)
	x := randVec(rand.New(rand.NewPCG(1, 1)), rows*3*C, 1)
	b.SetBytes(rows * 2 * C * 8)
	for b.Loop() {
		RoPE(x, rows, 3*C, 0, C/hd, hd, 0, cos, sin)
		RoPE(x, rows, 3*C, C, C/hd, hd, 0, cos, sin)
	}
}

// TestRoPEShortPanics: on every path, a call whose rows reach past x or
// past the tables panics instead of touching memory outside them.
func TestRoPEShortPanics(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		cos, sin := RoPETable(4, 8, 10000)
		for _, c := range []struct {
			name             string
			n, rows, off, p0 int
		}{
			{"x short", 2*24 - 1, 2, 8, 0},
			{"table short", 4 * 24, 3, 0, 2},
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s: no panic", c.name)
					}
				}()
				RoPE(make([]float32, c.n), c.rows, 24, c.off, 2, 8, c.p0, cos, sin)
			}()
		}
	})
}
