// Package prof attributes the CPU time of training steps to phases (GEMMs,
// attention, norms/activations, connection coefficients, Sinkhorn, connection
// apply, optimizer, other) without touching the engine: the steps run under
// runtime/pprof CPU profiling, and every sample is classified by the function
// names on its stack.
//
// Rule: the innermost frame of this module's model, hyper, manifold or train
// packages (or a kernels entry point that names its phase on its own, such as
// a Sinkhorn or connection kernel) decides the phase; see Classify. GEMM
// samples of pool workers carry no caller frame (the worker runs a slice of a
// GEMM whose caller is on another goroutine); they are shared out over the
// phases in proportion to the GEMM samples whose caller is known (the parallel
// GEMM splits every call into equal static parts, so the caller-side samples
// are an unbiased sample of who calls the GEMM).
package prof

import (
	"bytes"
	"fmt"
	"io"
	"runtime/pprof"
	"strings"

	"github.com/google/pprof/profile"
)

// Phase names, in table order.
const (
	GEMM      = "gemm"          // linear layers and the LM head (matrix multiplies)
	Attention = "attention"     // per-head scores, causal softmax, P·V, RoPE
	NormAct   = "norm/act/loss" // RMSNorm, SwiGLU, cross-entropy
	ConnCoef  = "conn coef"     // connection coefficients: φ projection, RMS, gates, sigmoids (fwd+bwd)
	Sinkhorn  = "conn sinkhorn" // Sinkhorn-Knopp (mHC) / permutation mix (mHC-lite), fwd+bwd
	ConnApply = "conn apply"    // pre-apply (read-in) and post+res apply (write-out), fwd+bwd; stream expand/contract
	Optimizer = "optimizer"     // grad norm, clipping, AdamW
	Other     = "other"         // embedding, data, runtime (GC, scheduler), unclassified
	gemmAnon  = "gemm (worker)" // internal: GEMM slice on a pool worker, shared out later
)

// Phases lists the phases in table order.
var Phases = []string{GEMM, Attention, NormAct, ConnCoef, Sinkhorn, ConnApply, Optimizer, Other}

const mod = "github.com/mhc-go/mhc/"

// rule maps a function-name prefix (module path stripped) to a phase.
type rule struct{ prefix, phase string }

// frameRules classify the innermost project frame. Earlier rules win when
// prefixes overlap.
var frameRules = []rule{
	{"manifold.", Sinkhorn},
	// mHC: coefficient methods vs apply methods.
	{"hyper.(*mhc).coef", ConnCoef},
	{"hyper.(*mhc).PreBackward", ConnCoef},
	{"hyper.(*mhc).preBackward", ConnCoef}, // preBackwardChunk, preBackwardBlock
	{"hyper.(*mhc).coefBack", ConnCoef},
	{"hyper.(*mhc).fixedMaps", ConnCoef},
	{"hyper.(*mhc).", ConnApply},
	// HC: Pre computes the coefficients; everything else applies.
	{"hyper.(*hc).preChunk", ConnCoef},
	{"hyper.(*hc).normRow", ConnCoef},
	{"hyper.(*hc).Pre", ConnCoef},
	{"hyper.(*hc).preBackChunk", ConnCoef},
	{"hyper.(*hc).PreBackward", ConnCoef},
	{"hyper.hcSum", ConnCoef},
	{"hyper.", ConnApply}, // hc apply, Streams, residual
	{"model.linear.", GEMM},
	{"model.(*attention).", Attention},
	{"model.newAttention", Attention},
	{"model.(*rmsnorm).", NormAct},
	{"model.newRMSNorm", NormAct},
	{"model.(*mlp).", NormAct},
	{"model.newMLP", NormAct},
	{"model.(*Model).crossEntropy", NormAct},
	{"model.(*Model).loss", NormAct},
	{"model.New", NormAct}, // closures built by the constructor (loss task)
	{"train.(*AdamW).", Optimizer},
	{"train.NewAdamW", Optimizer},
}

// kernelRules classify kernels entry points that belong to one phase
// wherever they are called from (the innermost one decides). They matter
// when a caller frame is missing from the stack (method values inlined
// into their wrappers lose their name in some profiles).
var kernelRules = []rule{
	{"kernels.Sinkhorn", Sinkhorn},
	{"kernels.sinkhorn", Sinkhorn},
	{"kernels.Conn", ConnApply},
	{"kernels.conn", ConnApply},
	{"kernels.GEMMSerial", Attention}, // only the per-head products use it in training
	{"kernels.CausalSoftmax", Attention},
	{"kernels.Attn", Attention}, // AttnCausalSoftmax, AttnCausalSoftmaxBackward
	{"kernels.RoPE", Attention},
	{"kernels.RMSNorm", NormAct},
	{"kernels.SwiGLU", NormAct},
	{"kernels.CrossEntropy", NormAct},
	{"kernels.Softmax", NormAct},
	{"kernels.AdamW", Optimizer},
}

// leafRules classify samples with no project frame on the stack (pool
// workers running a kernels-internal task).
var leafRules = []rule{
	{"kernels.(*gemmCompute)", gemmAnon},
	{"kernels.gemm", gemmAnon},
	{"kernels.AdamW", Optimizer},
	{"kernels.adamw", Optimizer},
}

// Classify returns the phase of a sample from its stack of function names,
// innermost first (full names as in a pprof profile). The innermost frame of
// this module outside package kernels decides, with two refinements: a GEMM
// called from the model body itself (the LM head) is GEMM, and kernels
// entry points of the connection (kernels.Sinkhorn*, kernels.Conn*) decide
// wherever they are. A GEMM slice with no project frame returns the internal
// worker phase that Table shares out.
func Classify(stack []string) string {
	ph, _ := classify(stack)
	return ph
}

// classify is Classify that also reports whether the sample is inside a
// parallel GEMM (kernels.GEMM; kernels.GEMMSerial never leaves its caller's
// goroutine, so it has no worker slices to share out).
func classify(stack []string) (phase string, inGEMM bool) {
	for _, full := range stack {
		fn, ok := strings.CutPrefix(full, mod)
		if !ok {
			continue
		}
		if fn == "kernels.GEMM" {
			inGEMM = true
		}
		if strings.HasPrefix(fn, "kernels.") {
			for _, r := range kernelRules {
				if strings.HasPrefix(fn, r.prefix) {
					return r.phase, inGEMM
				}
			}
			continue
		}
		for _, r := range frameRules {
			if strings.HasPrefix(fn, r.prefix) {
				return r.phase, inGEMM
			}
		}
		if inGEMM && strings.HasPrefix(fn, "model.(*Model).") {
			return GEMM, true // the LM head's forward and backward products
		}
		return Other, inGEMM
	}
	for _, full := range stack {
		fn, _ := strings.CutPrefix(full, mod)
		for _, r := range leafRules {
			if strings.HasPrefix(fn, r.prefix) {
				return r.phase, inGEMM
			}
		}
	}
	return Other, inGEMM
}

// Row is one phase of a Table.
type Row struct {
	Phase   string
	CPUms   float64 // CPU milliseconds per step (all threads)
	Percent float64 // share of all samples
	GEMMms  float64 // of CPUms, inside parallel GEMMs issued by this phase (conn coef: the φ products)
}

// Table is the phase breakdown of a profiled run.
type Table struct {
	Rows     []Row // Phases order, every phase present
	Samples  int64 // samples classified
	Steps    int
	WallMs   float64 // wall milliseconds per step (median, from the caller)
	GEMMAnon float64 // share of samples that were worker GEMM slices, shared out
}

// Summarize classifies every sample of a CPU profile (sample value index
// "cpu" nanoseconds) of steps training steps.
func Summarize(p *profile.Profile, steps int) (Table, error) {
	vi := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			vi = i
		}
	}
	if vi < 0 {
		return Table{}, fmt.Errorf("prof: profile has no cpu sample type")
	}
	ns, gemmBy := map[string]float64{}, map[string]float64{}
	var count int64
	var stack []string
	for _, s := range p.Sample {
		stack = stack[:0]
		for _, loc := range s.Location {
			// Lines are innermost first within a location (inlining).
			for _, ln := range loc.Line {
				if ln.Function != nil {
					stack = append(stack, ln.Function.Name)
				}
			}
		}
		ph, inGEMM := classify(stack)
		ns[ph] += float64(s.Value[vi])
		if inGEMM && ph != gemmAnon {
			gemmBy[ph] += float64(s.Value[vi])
		}
		count += s.Value[0]
	}
	return tabulate(ns, gemmBy, count, steps), nil
}

// tabulate shares the worker GEMM time (ns[gemmAnon]) out in proportion to
// the GEMM time of known callers (gemmBy, by the caller's phase), then forms
// the rows. ns holds nanoseconds per phase.
func tabulate(ns, gemmBy map[string]float64, count int64, steps int) Table {
	var total float64
	for _, v := range ns {
		total += v
	}
	t := Table{Samples: count, Steps: steps}
	if anon := ns[gemmAnon]; anon > 0 {
		t.GEMMAnon = anon / total
		delete(ns, gemmAnon)
		var known float64
		for _, v := range gemmBy {
			known += v
		}
		if known == 0 {
			ns[GEMM] += anon
			gemmBy[GEMM] += anon
		} else {
			for ph, v := range gemmBy {
				ns[ph] += anon * v / known
				gemmBy[ph] += anon * v / known
			}
		}
	}
	for _, ph := range Phases {
		r := Row{Phase: ph}
		if total > 0 {
			r.Percent = 100 * ns[ph] / total
		}
		if steps > 0 {
			r.CPUms = ns[ph] / 1e6 / float64(steps)
			r.GEMMms = gemmBy[ph] / 1e6 / float64(steps)
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

// Profiler runs a CPU profile into memory.
type Profiler struct{ buf bytes.Buffer }

// Start begins CPU profiling (at the runtime's default 100 Hz).
func Start() (*Profiler, error) {
	p := &Profiler{}
	if err := pprof.StartCPUProfile(&p.buf); err != nil {
		return nil, err
	}
	return p, nil
}

// Stop ends profiling and returns the parsed profile.
func (p *Profiler) Stop() (*profile.Profile, error) {
	pprof.StopCPUProfile()
	return profile.ParseData(p.buf.Bytes())
}

// Raw returns the profile bytes (gzipped protobuf, for go tool pprof) after Stop.
func (p *Profiler) Raw() []byte { return p.buf.Bytes() }

// Write prints the table: per phase CPU ms per step, share of the CPU
// samples and the share of the median wall step it stands for.
func (t Table) Write(w io.Writer) {
	fmt.Fprintf(w, "  %-14s %9s %7s %11s  %s\n", "phase", "cpu ms/st", "share", "≈wall ms/st", "in GEMM")
	var cpu float64
	for _, r := range t.Rows {
		cpu += r.CPUms
		g := ""
		if r.GEMMms > 0 && r.Phase != GEMM {
			g = fmt.Sprintf("%.1f", r.GEMMms)
		}
		fmt.Fprintf(w, "  %-14s %9.1f %6.1f%% %11.1f  %s\n", r.Phase, r.CPUms, r.Percent, r.Percent/100*t.WallMs, g)
	}
	fmt.Fprintf(w, "  %-14s %9.1f %6.1f%% %11.1f  (%d samples over %d steps; %.0f%% were worker GEMM slices, shared out by caller)\n",
		"total", cpu, 100.0, t.WallMs, t.Samples, t.Steps, 100*t.GEMMAnon)
}
