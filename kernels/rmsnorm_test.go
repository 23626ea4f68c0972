package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/internal/fdcheck"
)

// rmsRow64 is the float64 reference RMSNorm of one row.
func rmsRow64(x, w []float64, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	rs := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] * rs * w[i]
	}
	return out
}

func TestRMSNorm(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		const eps = 1e-5
		for _, dim := range append(oddSizes, 53, 256) { // 53 = 32 + 16 + 5 on avx512
			for _, rows := range []int{1, 3, 7} {
				in := randVec(rng, rows*dim, 2)
				w := randVec(rng, dim, 1.5)
				out := make([]float32, rows*dim)
				rstd := make([]float32, rows)
				// Two sub-ranges, as a parallel caller would do.
				a := rows / 2
				RMSNorm(out, rstd, in, w, a, dim, eps)
				RMSNorm(out[a*dim:], rstd[a:], in[a*dim:], w, rows-a, dim, eps)
				for r := 0; r < rows; r++ {
					want := rmsRow64(to64(in[r*dim:(r+1)*dim]), to64(w), eps)
					checkClose(t, fmt.Sprintf("dim=%d row %d", dim, r), out[r*dim:(r+1)*dim], want, 1e-6, 1e-6*maxAbs(want))
				}
				// out aliasing in is allowed.
				alias := append([]float32(nil), in...)
				RMSNorm(alias, rstd, alias, w, rows, dim, eps)
				checkClose(t, "alias", alias, to64(out), 0, 0)
			}
		}
		// All-zero row: rstd = 1/sqrt(eps), output zeros, no NaN.
		out, rstd := make([]float32, 4), make([]float32, 1)
		RMSNorm(out, rstd, make([]float32, 4), []float32{1, 1, 1, 1}, 1, 4, 1e-6)
		if out[0] != 0 || math.Abs(float64(rstd[0])-1000) > 1e-3 {
			t.Errorf("zero row: out %v rstd %v", out, rstd)
		}
	})
}

func TestRMSNormBackward(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		const eps = 1e-5
		for _, dim := range append(oddSizes, 53, 256) {
			rows := 3
			in := randVec(rng, rows*dim, 2)
			w := randVec(rng, dim, 1.5)
			dout := randVec(rng, rows*dim, 1)
			out := make([]float32, rows*dim)
			rstd := make([]float32, rows)
			RMSNorm(out, rstd, in, w, rows, dim, eps)

			// Prefilled outputs check the += contract.
			din0 := randVec(rng, rows*dim, 1)
			dw0 := randVec(rng, dim, 1)
			din := append([]float32(nil), din0...)
			dw := append([]float32(nil), dw0...)
			// Rows in two sub-ranges.
			RMSNormBackward(din, dw, dout, in, w, rstd, 1, dim)
			RMSNormBackward(din[dim:], dw, dout[dim:], in[dim:], w, rstd[1:], rows-1, dim)

			// L = Σ dout ⊙ RMSNorm(in, w) in float64; central differences with
			// h = 1e-5 have error far below the float32 kernel's ~1e-6.
			in64, w64, dy := to64(in), to64(w), to64(dout)
			loss := func() float64 {
				var l float64
				for r := 0; r < rows; r++ {
					o := rmsRow64(in64[r*dim:(r+1)*dim], w64, eps)
					for j, v := range o {
						l += dy[r*dim+j] * v
					}
				}
				return l
			}
			wantIn := fdcheck.Gradient(loss, in64, 1e-5)
			for i := range wantIn {
				wantIn[i] += float64(din0[i])
			}
			wantW := fdcheck.Gradient(loss, w64, 1e-5)
			for i := range wantW {
				wantW[i] += float64(dw0[i])
			}
			checkClose(t, fmt.Sprintf("dim=%d din", dim), din, wantIn, 1e-4, 1e-5*maxAbs(wantIn))
			checkClose(t, fmt.Sprintf("dim=%d dweight", dim), dw, wantW, 1e-4, 1e-5*maxAbs(wantW))
		}
	})
}

func TestRMSNormNoAllocs(t *testing.T) {
	const rows, dim = 16, 128
	in, out, din, dout := make([]float32, rows*dim), make([]float32, rows*dim), make([]float32, rows*dim), make([]float32, rows*dim)
	w, dw, rstd := make([]float32, dim), make([]float32, dim), make([]float32, rows)
	allocs := testing.AllocsPerRun(10, func() {
		RMSNorm(out, rstd, in, w, rows, dim, 1e-5)
		RMSNormBackward(din, dw, dout, in, w, rstd, rows, dim)
	})
	if allocs != 0 {
		t.Errorf("RMSNorm allocates %v times", allocs)
	}
}

func BenchmarkRMSNorm(b *testing.B) {
	const rows, dim = 2048, 128
	rng := rand.New(rand.NewPCG(1, 1))
	in, dout := randVec(rng, rows*dim, 1), randVec(rng, rows*dim, 1)
	w := randVec(rng, dim, 1)
	out, din := make([]float32, rows*dim), make([]float32, rows*dim)
	rstd, dw := make([]float32, rows), make([]float32, dim)
	b.Run("Forward", func(b *testing.B) {
		b.SetBytes(rows * dim * 8)
		for b.Loop() {
			RMSNorm(out, rstd, in, w, rows, dim, 1e-5)
		}
	})
	b.Run("Backward", func(b *testing.B) {
		b.SetBytes(rows * dim * 16)
		for b.Loop() {
			RMSNormBackward(din, dw, dout, in, w, rstd, rows, dim)
		}
	})
}
