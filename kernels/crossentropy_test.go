package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/internal/fdcheck"
)

// ce64 returns the float64 loss and gradient scale*(softmax-onehot) of one row.
func ce64(x []float64, t int, scale float64) (float64, []float64) {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp(v - m)
	}
	g := make([]float64, len(x))
	for j, v := range x {
		g[j] = scale * math.Exp(v-m) / s
	}
	g[t] -= scale
	return math.Log(s) + m - x[t], g
}

func TestCrossEntropy(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		for _, V := range oddSizes {
			for _, amp := range []float64{1, 20, 1e4} {
				for _, mode := range []string{"nil", "separate", "alias"} {
					rows := 5
					logits := randVec(rng, rows*V, amp)
					targets := make([]int32, rows)
					for r := range targets {
						targets[r] = int32(rng.IntN(V))
					}
					targets[0], targets[rows-1] = 0, int32(V-1)
					const scale = 0.25
					var wantLoss float64
					var wantG []float64
					for r := 0; r < rows; r++ {
						l, g := ce64(to64(logits[r*V:(r+1)*V]), int(targets[r]), scale)
						wantLoss += l
						wantG = append(wantG, g...)
					}
					var d []float32
					switch mode {
					case "separate":
						d = randVec(rng, rows*V, 1)
					case "alias":
						d = logits
					}
					// Two row sub-ranges, losses summed.
					var loss float64
					if d == nil {
						loss = CrossEntropy(nil, logits, targets, 2, V, scale) +
							CrossEntropy(nil, logits[2*V:], targets[2:], rows-2, V, scale)
					} else {
						loss = CrossEntropy(d, logits, targets, 2, V, scale) +
							CrossEntropy(d[2*V:], logits[2*V:], targets[2:], rows-2, V, scale)
					}
					name := fmt.Sprintf("V=%d amp=%g %s", V, amp, mode)
					if math.IsNaN(loss) || math.IsInf(loss, 0) || math.Abs(loss-wantLoss) > 1e-6*(math.Abs(wantLoss)+1) {
						t.Errorf("%s: loss %v, want %v", name, loss, wantLoss)
					}
					if d != nil {
						checkClose(t, name, d, wantG, 2e-6, 1e-7)
					}
				}
			}
		}
	})
}

// TestCrossEntropyFD checks the analytic gradient against central
// differences of the float64 loss.
func TestCrossEntropyFD(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const V, scale = 33, 1.0
	x := randVec(rng, V, 4)
	d := make([]float32, V)
	CrossEntropy(d, x, []int32{7}, 1, V, scale)
	x64 := to64(x)
	want := fdcheck.Gradient(func() float64 { l, _ := ce64(x64, 7, 1); return l }, x64, 1e-5)
	checkClose(t, "FD", d, want, 1e-5, 1e-7)
}

func TestCrossEntropyHugeLogits(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		const V = 19
		x := make([]float32, 2*V)
		for j := range x {
			x[j] = -1e4
		}
		x[3] = 1e4   // row 0: target 3 is certain → loss 0
		x[V+5] = 1e4 // row 1: target 0 is impossible → loss 2e4
		loss := CrossEntropy(x, x, []int32{3, 0}, 2, V, 1)
		if math.Abs(loss-2e4) > 1e-3 {
			t.Errorf("loss %v, want 2e4", loss)
		}
		for j, v := range x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("dlogits[%d] = %v", j, v)
			}
		}
		if x[3] != 0 || x[V+5] != 1 || x[V] != -1 {
			t.Errorf("gradients %v %v %v, want 0 1 -1", x[3], x[V+5], x[V])
		}
	})
}

func TestCrossEntropyNoAllocs(t *testing.T) {
	const rows, V = 8, 256
	logits, d := make([]float32, rows*V), make([]float32, rows*V)
	targets := make([]int32, rows)
	allocs := testing.AllocsPerRun(10, func() {
		CrossEntropy(d, logits, targets, rows, V, 1)
		CrossEntropy(nil, logits, targets, rows, V, 1)
	})
	if allocs != 0 {
		t.Errorf("CrossEntropy allocates %v times", allocs)
	}
}

func ExampleCrossEntropy() {
	// Two classes with equal logits: loss ln 2, gradient ±0.5.
	logits := []float32{0, 0}
	dlogits := make([]float32, 2)
	loss := CrossEntropy(dlogits, logits, []int32{1}, 1, 2, 1)
	fmt.Printf("%.4f %v\n", loss, dlogits)
	// Output: 0.6931 [0.5 -0.5]
}

func BenchmarkCrossEntropy(b *testing.B) {
	const rows, V = 2048, 256
	rng := rand.New(rand.NewPCG(1, 1))
	logits := randVec(rng, rows*V, 3)
	d := make([]float32, rows*V)
	targets := make([]int32, rows)
	for r := range targets {
		targets[r] = int32(rng.IntN(V))
	}
	b.Run("LossAndGrad", func(b *testing.B) {
		b.SetBytes(rows * V * 8)
		for b.Loop() {
			CrossEntropy(d, logits, targets, rows, V, 1.0/rows)
		}
	})
	b.Run("LossOnly", func(b *testing.B) {
		b.SetBytes(rows * V * 4)
		for b.Loop() {
			CrossEntropy(nil, logits, targets, rows, V, 1)
		}
	})
}
