package manifold_test

import (
	"fmt"
	"math"

	"github.com/mhc-go/mhc/manifold"
)

// One token, n = 2, a single Sinkhorn round, by hand: exp(L) = [[1 3] [1 1]];
// normalising columns gives [[.5 .75] [.5 .25]]; normalising rows gives H.
func ExampleSinkhorn() {
	s := manifold.Sinkhorn{N: 2, Iters: 1, Variant: manifold.Paper}
	ws := manifold.NewWorkspace(s) // once per goroutine
	logits := []float32{0, float32(math.Log(3)), 0, 0}
	h := make([]float32, 4)
	s.Forward(h, logits, ws)
	fmt.Printf("%.4f\n%.4f\n", h[:2], h[2:])
	// Output:
	// [0.4000 0.6000]
	// [0.6667 0.3333]
}

// Backward maps dLoss/dH to dLoss/dlogits, recomputing the forward pass
// from the logits. A gradient that is constant along each row of H is
// invisible, because every row of H sums to 1.
func ExampleSinkhorn_Backward() {
	s := manifold.Sinkhorn{N: 2} // 20 rounds
	ws := manifold.NewWorkspace(s)
	logits := []float32{1, 0, 0, 0}
	dh := []float32{1, 1, 5, 5} // constant per row
	dlogits := make([]float32, 4)
	s.Backward(dlogits, dh, logits, ws)
	fmt.Printf("%.6f\n", dlogits)
	// Output:
	// [0.000000 0.000000 0.000000 0.000000]
}

// The mHC-lite variant weighs the n! permutation matrices; logit k belongs
// to the permutation Permutation(·, n, k).
func ExamplePermutation() {
	p := make([]int, 3)
	for k := 0; k < 6; k++ {
		manifold.Permutation(p, 3, k)
		fmt.Println(k, p)
	}
	s := manifold.Sinkhorn{N: 3, Variant: manifold.Lite}
	w := []float32{0, 0, 0, 0, 0, 50} // almost all weight on the reversal
	h := make([]float32, 9)
	s.Forward(h, w, manifold.NewWorkspace(s))
	fmt.Printf("%.2f\n", h)
	// Output:
	// 0 [0 1 2]
	// 1 [0 2 1]
	// 2 [1 0 2]
	// 3 [1 2 0]
	// 4 [2 0 1]
	// 5 [2 1 0]
	// [0.00 0.00 1.00 0.00 1.00 0.00 1.00 0.00 0.00]
}

// The Amax gains of the HC matrix H_res_1 of the paper's Fig. 8.
func ExampleForwardGain() {
	a := []float64{
		5.43, 4.43, 4.43, 4.43,
		-4.07, -3.07, -4.07, -4.07,
		-3.95, -3.95, -2.95, -3.95,
		-4.22, -4.22, -4.22, -3.22,
	}
	fmt.Printf("forward %.2f backward %.2f log-col %v\n",
		manifold.ForwardGain(a, 4), manifold.BackwardGain(a, 4), manifold.MaxLogColSum(a, 4))
	// Output:
	// forward 18.72 backward 6.81 log-col +Inf
}

// Analyze reports single-layer and composite gains over a stack of maps.
func ExampleAnalyze() {
	// Two sublayers: a stream swap, then a matrix whose second column sums to 1.5.
	h1 := []float64{0, 1, 1, 0}
	h2 := []float64{0.5, 0.5, 0, 1}
	r := manifold.Analyze([][]float64{h1, h2}, 2)
	fmt.Println("single backward:", r.Single.Bwd)
	fmt.Println("forward composite, forward gain:", r.FwdComposite.Fwd)
	fmt.Println("backward composite, backward gain:", r.BwdComposite.Bwd)
	// Output:
	// single backward: [1 1.5]
	// forward composite, forward gain: [1 1]
	// backward composite, backward gain: [1.5 1.5]
}
