package cost

import (
	"fmt"
	"math"

	"github.com/mhc-go/mhc/hyper"
)

// IO is the residual-stream memory traffic of one sublayer for one token in
// the forward pass, in elements (the mHC paper's Table 2 accounting: the
// sublayer F's own I/O is excluded; coefficients count one element each).
type IO struct {
	Read         int64  `json:"read"`
	Write        int64  `json:"write"`
	ReadFormula  string `json:"read_formula"`
	WriteFormula string `json:"write_formula"`
}

// ConnIO is the I/O of kind's connection with n streams of width C:
//
//	residual                 read 2C                     write C
//	hc, mhc (Table 2)        read (5n+1)C + n² + 2n      write (3n+1)C + n² + 2n
//	hc, mhc, fused kernels   read (3n+1)C + n² + 2n      write (n+1)C + n² + 2n
//
// Table 2's five kernels are: compute the maps (read nC, write n²+2n), apply
// H_pre (nC+n → C), apply H_post (C+n → nC), apply H_res (nC+n² → nC) and
// the residual merge (2nC → nC). The paper's fused F_post,res kernel (§4.3.1)
// replaces the last three with one that reads (n+1)C + n² + n and writes nC.
// mhc-lite materialises the same n×n H_res, so its I/O is mHC's.
func ConnIO(kind hyper.Kind, n, c int, fused bool) IO {
	N, C := int64(n), int64(c)
	if kind == hyper.Residual {
		return IO{2 * C, C, "2C", "C"}
	}
	if fused {
		return IO{(3*N+1)*C + N*N + 2*N, (N+1)*C + N*N + 2*N, "(3n+1)C + n² + 2n", "(n+1)C + n² + 2n"}
	}
	return IO{(5*N+1)*C + N*N + 2*N, (3*N+1)*C + N*N + 2*N, "(5n+1)C + n² + 2n", "(3n+1)C + n² + 2n"}
}

// Recompute is a block-recomputation plan (mHC paper §4.3.2, Table 3) for n
// streams and L sublayers. Only the first state x_{l0} (nC) of every block
// of Lr sublayers is kept, plus every sublayer output F(·) (C); inside the
// block being back-propagated, x_l, H_pre·x_l and RMSNorm(H_pre·x_l)
// ((n+2)C per sublayer) are recomputed and live transiently. Sizes are in
// units of C per token.
type Recompute struct {
	Lr        int     `json:"lr"`        // sublayers per recompute block
	Blocks    int     `json:"blocks"`    // recompute blocks over the whole model
	Objective float64 `json:"objective"` // n·Blocks + (n+2)·Lr: what Lr minimises
	Resident  float64 `json:"resident"`  // n·Blocks + L
	Transient float64 `json:"transient"` // (n+2)·Lr
	Peak      float64 `json:"peak"`      // Resident + Transient
	Approx    float64 `json:"approx"`    // √(nL/(n+2)), the continuous optimum (whole model)
}

// OptimalRecompute returns the Lr that minimises n·⌈L/Lr⌉ + (n+2)·Lr (the
// smallest such Lr on ties). With stage sublayer counts (pipeline stages; nil
// or one entry for none), recompute blocks may not cross a stage boundary,
// so Blocks = Σ_s ⌈L_s/Lr⌉ and Lr ranges over 1..max L_s. For n = 4, L = 60
// it returns Lr = 6, Objective 76.
func OptimalRecompute(n int, stages []int) Recompute {
	L, most := 0, 0
	for _, s := range stages {
		L += s
		most = max(most, s)
	}
	best := Recompute{Objective: math.Inf(1)}
	for lr := 1; lr <= most; lr++ {
		r := recomputeAt(n, stages, lr)
		if r.Objective < best.Objective {
			best = r
		}
	}
	return best
}

// recomputeAt is the plan with blocks of lr sublayers.
func recomputeAt(n int, stages []int, lr int) Recompute {
	blocks, L := 0, 0
	for _, s := range stages {
		blocks += (s + lr - 1) / lr
		L += s
	}
	nf := float64(n)
	r := Recompute{Lr: lr, Blocks: blocks}
	r.Objective = nf*float64(blocks) + (nf+2)*float64(lr)
	r.Resident = nf*float64(blocks) + float64(L)
	r.Transient = (nf + 2) * float64(lr)
	r.Peak = r.Resident + r.Transient
	r.Approx = math.Sqrt(nf * float64(L) / (nf + 2))
	return r
}

// StageSublayers splits blocks into stages pipeline stages as evenly as
// possible (earlier stages take the remainder) and returns each stage's
// sublayer count, 2 per block.
func StageSublayers(blocks, stages int) ([]int, error) {
	if stages < 1 || stages > blocks {
		return nil, fmt.Errorf("cost: pipeline stages %d: want 1..%d (one block at least per stage)", stages, blocks)
	}
	out := make([]int, stages)
	for i := range out {
		b := blocks / stages
		if i < blocks%stages {
			b++
		}
		out[i] = 2 * b
	}
	return out, nil
}

// Memory is the activation memory of the residual stream per token, in
// units of C and in bytes at the Arch's activation width: what the
// connection keeps for the backward pass (Table 3's tensors; F's internal
// activations are not counted).
type Memory struct {
	// Residual: a Pre-Norm residual stores each sublayer's input x_l and
	// RMSNorm(x_l): 2C·L.
	Residual float64 `json:"residual"`
	// Stored: HC/mHC without recomputation: x_l (nC), H_pre·x_l (C),
	// RMSNorm(H_pre·x_l) (C) and F's output (C) for every sublayer: (n+3)C·L.
	Stored float64 `json:"stored"`
	// Recompute at the whole-model optimum; Aligned at the optimum whose
	// blocks do not cross pipeline stages, and StageLr with one block per
	// stage (the paper's choice), when stages are given.
	Recompute Recompute  `json:"recompute"`
	Aligned   *Recompute `json:"aligned,omitempty"`
	StageLr   *Recompute `json:"stage_lr,omitempty"`
	// BytesPerC converts: C · ActBytes.
	BytesPerC float64 `json:"bytes_per_c"`
}

// ActivationMemory returns the residual-stream activation memory of a (with
// its connection's n) for stages pipeline stages (≤ 1: none).
func (a Arch) ActivationMemory(stages int) (Memory, error) {
	n, L := a.Conn.Streams, a.Sublayers()
	m := Memory{
		Residual:  2 * float64(L),
		Stored:    float64(n+3) * float64(L),
		Recompute: OptimalRecompute(n, []int{L}),
		BytesPerC: float64(a.D * a.ActBytes),
	}
	if stages > 1 {
		st, err := StageSublayers(a.Layers, stages)
		if err != nil {
			return Memory{}, err
		}
		al := OptimalRecompute(n, st)
		sl := recomputeAt(n, st, st[0])
		m.Aligned, m.StageLr = &al, &sl
	}
	return m, nil
}

// Pipeline is the point-to-point traffic at one pipeline-stage boundary per
// micro-batch: the forward activation (MicroTokens·n·C elements) one way and
// its gradient the other way. The n-stream state makes it n× a residual
// model's.
type Pipeline struct {
	Stages      int     `json:"stages"`
	BytesEach   float64 `json:"bytes_each_way"`   // one direction, one boundary, one micro-batch
	ResidualBy  float64 `json:"residual_bytes"`   // the same with n = 1
	SecondsEach float64 `json:"seconds_each_way"` // α + bytes/β on the device's link
	PerStep     float64 `json:"bytes_per_step"`   // 2 directions × (stages−1) boundaries × micro-batches per step
}

// PipelineTraffic is a's stage-boundary traffic on d's link.
func (a Arch) PipelineTraffic(stages int, d Device) Pipeline {
	one := float64(a.MicroTokens()) * float64(a.D*a.ActBytes)
	p := Pipeline{Stages: stages, BytesEach: one * float64(a.Conn.Streams), ResidualBy: one}
	p.SecondsEach = d.LinkLatency + p.BytesEach/d.LinkBW
	if stages > 1 {
		micro := float64(a.Batch) / float64(a.MicroBatch)
		p.PerStep = 2 * float64(stages-1) * micro * p.BytesEach
	}
	return p
}
