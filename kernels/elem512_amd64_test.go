//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestElem512 checks the AVX-512 exp-based loops (and their AVX2 remainder
// of 8) directly against float64 references at lengths that run the zmm
// loop, the ymm remainder and both, with a nil dst for expAffineSum and dg/du
// aliasing gate/up for swigluBack.
func TestElem512(t *testing.T) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("no AVX-512F / AVX2+FMA")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{8, 16, 24, 40, 56, 64, 200, 1032} {
		name := fmt.Sprintf("n=%d", n)
		x := randVec(rng, n, 8)
		dst := make([]float32, n)
		const a, b = 1.5, 2.25
		s := expAffineSum512(&dst[0], &x[0], n, a, b)
		s2 := expAffineSum512(nil, &x[0], n, a, b)
		want := make([]float64, n)
		var ws float64
		for i, v := range x {
			want[i] = math.Exp(a*float64(v) - b)
			ws += want[i]
		}
		checkClose(t, name+" exp", dst, want, 2e-6, 1e-30)
		if math.Abs(s-ws) > 2e-6*ws || s != s2 {
			t.Errorf("%s: expAffineSum sum %v (nil dst %v), want %v", name, s, s2, ws)
		}

		g, u, dout := randVec(rng, n, 6), randVec(rng, n, 2), randVec(rng, n, 1)
		out := make([]float32, n)
		swiglu512(&out[0], &g[0], &u[0], n)
		wantSw, wantDg, wantDu := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range g {
			gg, uu, d := float64(g[i]), float64(u[i]), float64(dout[i])
			sg := 1 / (1 + math.Exp(-gg))
			wantSw[i] = gg * sg * uu
			wantDg[i] = d * uu * sg * (1 + gg*(1-sg))
			wantDu[i] = d * gg * sg
		}
		checkClose(t, name+" swiglu", out, wantSw, 1e-6, 1e-7)
		dg, du := append([]float32(nil), g...), append([]float32(nil), u...) // aliasing gate and up
		swigluBack512(&dg[0], &du[0], &dout[0], &dg[0], &du[0], n)
		checkClose(t, name+" swigluBack dg", dg, wantDg, 1e-5, 1e-6)
		checkClose(t, name+" swigluBack du", du, wantDu, 1e-5, 1e-6)
	}
}
