package prof

import (
	"math"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// st builds a stack, innermost first, prefixing the module path to names
// that start with a package of this module.
func st(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		switch {
		case strings.HasPrefix(n, "runtime."), strings.HasPrefix(n, "main."):
			out[i] = n
		default:
			out[i] = mod + n
		}
	}
	return out
}

var top = []string{"model.(*Model).ForwardBackward", "train.(*Trainer).TrainStep", "main.benchTrain", "runtime.main"}

func with(names ...string) []string { return st(append(names, top...)...) }

// worker is a pool worker's stack below the task.
func worker(names ...string) []string {
	return st(append(names, "kernels.job.run", "kernels.getPool.func1.1")...)
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name  string
		stack []string
		want  string
	}{
		{"linear fwd gemm", with("kernels.sgemmKernelAVX512", "kernels.(*gemmCtx).macro", "kernels.gemm", "kernels.GEMM", "model.linear.forward", "model.(*attention).forward"), GEMM},
		{"lm head", with("kernels.sgemmKernelAVX512", "kernels.gemm", "kernels.GEMM"), GEMM},
		{"worker gemm slice", worker("kernels.sgemmKernelAVX512", "kernels.(*gemmCtx).work", "kernels.(*gemmCompute).Run"), gemmAnon},
		{"worker gemm pack", worker("kernels.packTransposed", "kernels.(*gemmCompute).Run"), gemmAnon},
		{"heads", worker("kernels.sgemmKernelAVX512", "kernels.GEMMSerial", "model.(*attention).headsForward", "kernels.TaskFunc.Run"), Attention},
		{"heads lost frame", with("kernels.panelCopy", "kernels.packStraight", "kernels.GEMMSerial", "kernels.TaskFunc.Run", "kernels.job.run", "kernels.parallel"), Attention},
		{"causal softmax", worker("kernels.expAffineSumAVX2", "kernels.CausalSoftmax", "model.(*attention).headsForward"), Attention},
		{"attn softmax", worker("kernels.AttnCausalSoftmax", "kernels.TaskFunc.Run"), Attention},
		{"rope", worker("kernels.ropeAVX2", "kernels.RoPE", "model.(*attention).rope"), Attention},
		{"rmsnorm", worker("kernels.mulScaledAVX2", "kernels.RMSNorm", "model.newRMSNorm.func1", "kernels.TaskFunc.Run"), NormAct},
		{"swiglu", worker("kernels.swigluAVX2", "kernels.swigluRow", "kernels.SwiGLU", "model.newMLP.func1"), NormAct},
		{"cross-entropy", with("kernels.CrossEntropy", "model.(*Model).crossEntropy", "model.(*Model).loss"), NormAct},
		{"adamw", worker("kernels.adamwAVX2", "kernels.AdamW", "train.(*AdamW).run"), Optimizer},
		{"grad norm", st("train.(*AdamW).GradNorm", "train.(*Trainer).TrainStep"), Optimizer},
		{"sinkhorn fwd", worker("manifold.rowStep4", "manifold.Sinkhorn.trajectory", "manifold.Sinkhorn.Forward", "hyper.(*mhc).coefChunk"), Sinkhorn},
		{"sinkhorn bwd", with("manifold.colStepBack4", "manifold.Sinkhorn.Backward", "hyper.(*mhc).preBackwardChunk", "kernels.ChunkFunc.RunChunk", "hyper.(*mhc).PreBackward"), Sinkhorn},
		{"sinkhorn kernel", worker("kernels.sinkhornFwdAVX512", "kernels.SinkhornForward", "hyper.(*mhc).coefChunk"), Sinkhorn},
		{"coef rms", worker("kernels.sumSquaresAVX2", "kernels.SumSquares", "hyper.(*mhc).coefChunk"), ConnCoef},
		{"coef phi gemm", with("kernels.sgemmKernelAVX512", "kernels.gemm", "kernels.GEMM", "hyper.(*mhc).coefficients", "hyper.(*mhc).Pre"), ConnCoef},
		{"coef phi grad gemm", with("kernels.gemm", "kernels.GEMM", "hyper.(*mhc).PreBackward"), ConnCoef},
		{"coef bwd dot", with("kernels.dotAVX2", "kernels.Dot", "hyper.(*mhc).preBackwardChunk"), ConnCoef},
		{"post apply", worker("kernels.axpyAVX2", "kernels.Axpy", "hyper.(*mhc).postApplyRange", "kernels.TaskFunc.Run"), ConnApply},
		{"post backward", worker("kernels.dotAVX2", "kernels.Dot", "hyper.(*mhc).postBackwardRange"), ConnApply},
		{"pre apply", worker("kernels.scaleAVX2", "hyper.(*mhc).preApplyRange"), ConnApply},
		{"conn kernel", worker("kernels.connPostAVX512", "kernels.ConnPost", "hyper.(*mhc).postApplyRange"), ConnApply},
		{"hc coefficients", worker("hyper.(*hc).normRow", "hyper.(*hc).preChunk"), ConnCoef},
		{"hc apply", worker("kernels.Axpy", "hyper.(*hc).postRange"), ConnApply},
		{"streams", with("hyper.(*Streams).Expand"), ConnApply},
		{"embedding copy", with("runtime.memmove"), Other},
		{"gc", st("runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker"), Other},
		{"truncated worker", worker(), Other},
		{"empty", nil, Other},
	}
	for _, c := range cases {
		if got := Classify(c.stack); got != c.want {
			t.Errorf("%s: Classify = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestSummarize builds a small profile and checks the table: worker GEMM
// slices are shared out by the callers' GEMM time, rows sum to 100 %.
func TestSummarize(t *testing.T) {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}}}
	fns := map[string]*profile.Function{}
	loc := func(name string) *profile.Location {
		f := fns[name]
		if f == nil {
			f = &profile.Function{ID: uint64(len(fns) + 1), Name: name}
			fns[name] = f
			p.Function = append(p.Function, f)
		}
		l := &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: f}}}
		p.Location = append(p.Location, l)
		return l
	}
	add := func(n int64, stack []string) {
		var ls []*profile.Location
		for _, s := range stack {
			ls = append(ls, loc(s))
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: ls, Value: []int64{n, n * 10_000_000}})
	}
	add(30, with("kernels.gemm", "kernels.GEMM", "model.linear.forward"))                       // GEMM, caller known
	add(10, with("kernels.gemm", "kernels.GEMM", "hyper.(*mhc).coefficients"))                  // conn coef GEMM
	add(40, worker("kernels.sgemmKernelAVX512", "kernels.(*gemmCompute).Run"))                  // shared 3:1
	add(20, worker("manifold.rowStep4", "manifold.Sinkhorn.Forward", "hyper.(*mhc).coefChunk")) // Sinkhorn
	add(5, worker("kernels.SumSquares", "hyper.(*mhc).coefChunk"))                              // conn coef, not GEMM
	add(15, st("runtime.gcDrain"))                                                              // other
	tb, err := Summarize(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{GEMM: 60, ConnCoef: 25, Sinkhorn: 20, Other: 15} // samples
	var sum float64
	for _, r := range tb.Rows {
		sum += r.Percent
		w := want[r.Phase]
		if math.Abs(r.Percent-100*w/120) > 1e-9 || math.Abs(r.CPUms-w*10/2) > 1e-9 {
			t.Errorf("%s: %.3f%% %.3f ms/step, want %.3f%% %.3f", r.Phase, r.Percent, r.CPUms, 100*w/120, w*10/2)
		}
	}
	if math.Abs(sum-100) > 1e-9 || tb.Samples != 120 || math.Abs(tb.GEMMAnon-40.0/120) > 1e-12 {
		t.Errorf("sum %v samples %d anon %v", sum, tb.Samples, tb.GEMMAnon)
	}
	for _, r := range tb.Rows {
		if want := map[string]float64{GEMM: 60, ConnCoef: 20}[r.Phase] * 10 / 2; math.Abs(r.GEMMms-want) > 1e-9 {
			t.Errorf("%s: GEMM part %.3f ms/step, want %.3f", r.Phase, r.GEMMms, want)
		}
	}
	if len(tb.Rows) != len(Phases) {
		t.Errorf("%d rows, want %d", len(tb.Rows), len(Phases))
	}
}
