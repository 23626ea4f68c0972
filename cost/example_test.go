package cost_test

import (
	"fmt"

	"github.com/mhc-go/mhc/cost"
	"github.com/mhc-go/mhc/hyper"
)

// Parameters of the mHC paper's 27B model (Table 5: 27.0 B total, 4.14 B
// active) and what mHC with n = 4 adds.
func ExampleArch_Params() {
	a := cost.Paper["27b"]
	p := a.Params()
	fmt.Println("total", cost.Human(float64(p.Residual)), "active", cost.Human(float64(p.Active-p.Connection)))
	fmt.Println("mHC adds", cost.Human(float64(p.Connection)), "=", a.Sublayers(), "×", p.PerSublayer)
	// Output:
	// total 27.0 B active 4.12 B
	// mHC adds 14.7 M = 60 × 245787
}

// The residual-stream I/O of one sublayer per token (mHC paper Table 2) at
// n = 4, in units of C = 1000: 21C + 24 read, 13C + 24 written unfused.
func ExampleConnIO() {
	for _, fused := range []bool{false, true} {
		io := cost.ConnIO(hyper.MHC, 4, 1000, fused)
		fmt.Printf("fused=%v read %s = %d, write %s = %d\n", fused, io.ReadFormula, io.Read, io.WriteFormula, io.Write)
	}
	// Output:
	// fused=false read (5n+1)C + n² + 2n = 21024, write (3n+1)C + n² + 2n = 13024
	// fused=true read (3n+1)C + n² + 2n = 13024, write (n+1)C + n² + 2n = 5024
}

// The recomputation block length of mHC paper §4.3.2 for n = 4 and L = 60
// sublayers, and with 5 pipeline stages of 12 sublayers.
func ExampleOptimalRecompute() {
	r := cost.OptimalRecompute(4, []int{60})
	fmt.Printf("L_r* = %d (√(nL/(n+2)) = %.2f), %vC per token\n", r.Lr, r.Approx, r.Objective)
	st, _ := cost.StageSublayers(30, 5)
	fmt.Println("aligned to", st, "→ L_r =", cost.OptimalRecompute(4, st).Lr)
	// Output:
	// L_r* = 6 (√(nL/(n+2)) = 6.32), 76C per token
	// aligned to [12 12 12 12 12] → L_r = 6
}

// The α–β model of a ring all-reduce: 1 GB of gradients over 8 workers on
// 50 GB/s links with 5 µs latency.
func ExampleRingAllReduce() {
	t := cost.RingAllReduce(1e9, 8, 5e-6, 50e9)
	fmt.Printf("%.2f ms, %.0f MB sent per worker\n", t*1e3, cost.RingAllReduceBytes(1e9, 8)/1e6)
	// Output:
	// 35.07 ms, 1750 MB sent per worker
}

// A roofline estimate of the 27B model's step on one H200, residual against
// mHC with the paper's fused kernels and recomputation.
func ExampleArch_Roofline() {
	a := cost.Paper["27b"]
	base := a.AsResidual().Roofline(cost.H200, cost.Variant{})
	mhc := a.Roofline(cost.H200, cost.Variant{Fused: true, Recompute: true})
	fmt.Printf("%s: %+.1f%% step time\n", mhc.Name, 100*(mhc.Step/base.Step-1))
	for _, p := range mhc.Parts {
		if p.Part == cost.PartConnection {
			fmt.Println("connection is", p.Bound+"-bound")
		}
	}
	// Output:
	// mhc n=4 fused+recompute: +10.1% step time
	// connection is memory-bound
}

// The whole report for the 27B model in 5 pipeline stages on H200s, as
// `mhc plan --config 27b --pp-stages 5 --json` prints it.
func ExamplePlan() {
	r, err := cost.Plan(cost.Paper["27b"], cost.H200, cost.Options{Stages: 5, Workers: []int{8}})
	if err != nil {
		panic(err)
	}
	s := r.Steps[r.Selected]
	fmt.Printf("%s: %+.1f%% over residual; L_r = %d in stages of %d sublayers\n", s.Name, 100*s.Overhead, r.Memory.Aligned.Lr, r.Memory.StageLr.Lr)
	fmt.Printf("pipeline: %.1f MB per boundary per micro-batch each way\n", r.Pipeline.BytesEach/1e6)
	fmt.Printf("8 workers: all-reduce %.2f s\n", r.DataParallel[0].AllReduce)
	// Output:
	// mhc n=4 fused+recompute: +10.1% over residual; L_r = 6 in stages of 12 sublayers
	// pipeline: 83.9 MB per boundary per micro-batch each way
	// 8 workers: all-reduce 3.79 s
}
