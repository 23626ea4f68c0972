package manifold

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/internal/fdcheck"
	"github.com/mhc-go/mhc/kernels"
)

// TestBatchMatchesPerToken: ForwardBatch and BackwardBatch agree with
// Forward and Backward per token, for every configuration, on token counts
// around the lane width, with strided logits and gradients, with and
// without saved M0. On the generic path they give exactly the same bits
// (same float64 expressions in the same order, math.Exp); on the SIMD paths
// M0's exponentials come from kernels.SinkhornExp (≤ 1 ulp of float64, not
// always math.Exp's bit), so H may differ by 1 float32 ulp and a logit
// gradient by 1 float32 ulp plus 1e-12 of the token's largest gradient
// (float64 differences of ~1e-16 that survive the final rounding; the
// iteration itself computes the same bits on every path, see
// kernels.TestSinkhornLanes). It also checks H against the float64
// reference.
func TestBatchMatchesPerToken(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	exact := kernels.Path() == "generic"
	t.Logf("kernel path %s: exact bits %v", kernels.Path(), exact)
	for _, s := range configs() {
		nn, lp := s.N*s.N, s.LogitsPerToken()
		ws, bws := NewWorkspace(s), NewBatchWorkspace(s)
		for _, T := range []int{0, 1, kernels.SinkLanes - 1, kernels.SinkLanes, kernels.SinkLanes + 1, 21} {
			ldl, ldd := lp+3, lp+5
			logits := randLogits(rng, max(1, T*ldl), 2)
			dh := randLogits(rng, T*nn, 1)
			h := make([]float32, T*nn)
			dl := make([]float32, T*ldd)
			for i := range dl {
				dl[i] = float32(math.NaN()) // padding must stay untouched
			}
			saved := make([]float64, T*s.SavedPerToken())
			dl2 := make([]float32, T*ldd)
			h2 := make([]float32, T*nn)
			s.ForwardBatch(h, logits, ldl, T, nil, bws)
			s.BackwardBatch(dl, ldd, dh, logits, ldl, T, nil, bws)
			s.ForwardBatch(h2, logits, ldl, T, saved, bws)
			s.BackwardBatch(dl2, ldd, dh, logits, ldl, T, saved, bws)
			for i := range h {
				if math.Float32bits(h[i]) != math.Float32bits(h2[i]) {
					t.Fatalf("%s T=%d: H differs with saved", name(s), T)
				}
			}
			for i := range dl {
				if math.Float32bits(dl[i]) != math.Float32bits(dl2[i]) && !math.IsNaN(float64(dl[i])) {
					t.Fatalf("%s T=%d: dlogits[%d] %v with saved, %v without", name(s), T, i, dl2[i], dl[i])
				}
			}
			for tk := 0; tk < T; tk++ {
				lg := logits[tk*ldl : tk*ldl+lp]
				hw, dw := make([]float32, nn), make([]float32, lp)
				s.Forward(hw, lg, ws)
				s.Backward(dw, dh[tk*nn:(tk+1)*nn], lg, ws)
				for e := range hw {
					if !sameOrClose(h[tk*nn+e], hw[e], 0, exact) {
						t.Fatalf("%s T=%d token %d: H[%d] = %v, per token %v", name(s), T, tk, e, h[tk*nn+e], hw[e])
					}
				}
				gmax := 0.0
				for _, v := range dw {
					gmax = max(gmax, math.Abs(float64(v)))
				}
				for e := range dw {
					if !sameOrClose(dl[tk*ldd+e], dw[e], 1e-12*gmax, exact) {
						t.Fatalf("%s T=%d token %d: dlogit[%d] = %v, per token %v", name(s), T, tk, e, dl[tk*ldd+e], dw[e])
					}
				}
				for e := lp; e < ldd && tk*ldd+e < len(dl); e++ {
					if !math.IsNaN(float64(dl[tk*ldd+e])) {
						t.Fatalf("%s T=%d token %d: padding %d written", name(s), T, tk, e)
					}
				}
				want := ref(s, widen(lg))
				for e := range want {
					if d := math.Abs(float64(h[tk*nn+e]) - want[e]); d > 2e-6 {
						t.Fatalf("%s T=%d token %d: H[%d] = %v, float64 reference %v", name(s), T, tk, e, h[tk*nn+e], want[e])
					}
				}
			}
		}
	}
}

// sameOrClose reports whether got is want's bits (exact), or else within
// 1 float32 ulp of want plus atol.
func sameOrClose(got, want float32, atol float64, exact bool) bool {
	if math.Float32bits(got) == math.Float32bits(want) {
		return true
	}
	if exact {
		return false
	}
	ulp := float64(math.Nextafter32(float32(math.Abs(float64(want))), float32(math.Inf(1)))) - math.Abs(float64(want))
	return math.Abs(float64(got)-float64(want)) <= ulp+atol
}

// TestBatchAgreementStats counts, over 4096 tokens of the training
// configuration (n = 4, 20 rounds, Paper and DeepSeek), how many H entries
// and logit gradients of the batched path differ from the per-token bits
// on the active kernel path (it logs the counts: 0 on generic by
// construction, and 0 of 131,072 on avx512 when written; any difference
// must be within the tolerance of TestBatchMatchesPerToken, checked here).
func TestBatchAgreementStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	exact := kernels.Path() == "generic"
	for _, s := range []Sinkhorn{{N: 4, Variant: Paper}, {N: 4, Eps: DeepSeekEps, Variant: DeepSeek}} {
		const T = 4096
		nn := s.N * s.N
		ws, bws := NewWorkspace(s), NewBatchWorkspace(s)
		logits, dh := randLogits(rng, T*nn, 3), randLogits(rng, T*nn, 1)
		h, dl := make([]float32, T*nn), make([]float32, T*nn)
		s.ForwardBatch(h, logits, nn, T, nil, bws)
		s.BackwardBatch(dl, nn, dh, logits, nn, T, nil, bws)
		hw, dw := make([]float32, nn), make([]float32, nn)
		var hOff, gOff int
		for tk := range T {
			lg := logits[tk*nn : (tk+1)*nn]
			s.Forward(hw, lg, ws)
			s.Backward(dw, dh[tk*nn:(tk+1)*nn], lg, ws)
			gmax := 0.0
			for _, v := range dw {
				gmax = max(gmax, math.Abs(float64(v)))
			}
			for e := range nn {
				if math.Float32bits(h[tk*nn+e]) != math.Float32bits(hw[e]) {
					hOff++
					if !sameOrClose(h[tk*nn+e], hw[e], 0, exact) {
						t.Fatalf("%s token %d: H[%d] = %v, per token %v", name(s), tk, e, h[tk*nn+e], hw[e])
					}
				}
				if math.Float32bits(dl[tk*nn+e]) != math.Float32bits(dw[e]) {
					gOff++
					if !sameOrClose(dl[tk*nn+e], dw[e], 1e-12*gmax, exact) {
						t.Fatalf("%s token %d: dlogit[%d] = %v, per token %v", name(s), tk, e, dl[tk*nn+e], dw[e])
					}
				}
			}
		}
		t.Logf("%s, path %s: %d of %d H entries and %d of %d gradients differ from the per-token bits",
			name(s), kernels.Path(), hOff, T*nn, gOff, T*nn)
	}
}

// TestBatchGradient checks BackwardBatch against finite differences of
// ForwardBatch (loss ⟨H, W⟩ over a batch of 11 tokens).
func TestBatchGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range []Sinkhorn{{N: 4, Variant: Paper}, {N: 3, Iters: 5, Eps: 1e-2, Variant: Paper},
		{N: 4, Eps: DeepSeekEps, Variant: DeepSeek}, {N: 5, Iters: 4, Variant: DeepSeek}} {
		const T = 11
		nn, lp := s.N*s.N, s.LogitsPerToken()
		bws := NewBatchWorkspace(s)
		logits := randLogits(rng, T*lp, 1)
		w := randLogits(rng, T*nn, 1)
		h := make([]float32, T*nn)
		f := func() float64 {
			s.ForwardBatch(h, logits, lp, T, nil, bws)
			var sum float64
			for i, v := range h {
				sum += float64(v) * float64(w[i])
			}
			return sum
		}
		g := make([]float32, T*lp)
		saved := make([]float64, T*s.SavedPerToken())
		s.ForwardBatch(h, logits, lp, T, saved, bws)
		s.BackwardBatch(g, lp, w, logits, lp, T, saved, bws)
		for k := 0; k < 3; k++ {
			if err := fdcheck.Directional(f, logits, g, rng, 1e-2); err != nil {
				t.Errorf("%s: %v", name(s), err)
			}
		}
	}
}

func TestBatchZeroAllocs(t *testing.T) {
	s := Sinkhorn{N: 4, Variant: Paper}
	const T = 19
	bws := NewBatchWorkspace(s)
	logits, h, g := make([]float32, T*16), make([]float32, T*16), make([]float32, T*16)
	if a := testing.AllocsPerRun(10, func() {
		s.ForwardBatch(h, logits, 16, T, nil, bws)
		s.BackwardBatch(g, 16, h, logits, 16, T, nil, bws)
	}); a != 0 {
		t.Errorf("%v allocations per run", a)
	}
}

func BenchmarkBatch(b *testing.B) {
	for _, s := range []Sinkhorn{{N: 4, Variant: Paper}, {N: 4, Eps: DeepSeekEps, Variant: DeepSeek}} {
		const T = 256
		bws := NewBatchWorkspace(s)
		rng := rand.New(rand.NewPCG(1, 1))
		logits, h, g := randLogits(rng, T*16, 1), make([]float32, T*16), make([]float32, T*16)
		saved := make([]float64, T*s.SavedPerToken())
		b.Run(name(s)+"/fwd", func(b *testing.B) {
			for b.Loop() {
				s.ForwardBatch(h, logits, 16, T, saved, bws)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/T, "ns/token")
		})
		b.Run(name(s)+"/bwd-recompute", func(b *testing.B) {
			for b.Loop() {
				s.BackwardBatch(g, 16, h, logits, 16, T, nil, bws)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/T, "ns/token")
		})
		b.Run(name(s)+"/fwd-nosave", func(b *testing.B) {
			for b.Loop() {
				s.ForwardBatch(h, logits, 16, T, nil, bws)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/T, "ns/token")
		})
		b.Run(name(s)+"/bwd", func(b *testing.B) {
			for b.Loop() {
				s.BackwardBatch(g, 16, h, logits, 16, T, saved, bws)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/T, "ns/token")
		})
	}
}
