package train

import (
	"math"

	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
)

// AdamW is decoupled-weight-decay Adam over a whole param.Store: one loop
// over the contiguous parameter buffer. Weight decay applies to tensors with
// Decay set (matrices and embeddings) and to nothing else (norms, biases,
// gates, static connection parameters) — the one place where the groups
// are decided is param.Tensor.Decay, set by the layer that owns the tensor.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float32
	M, V                           []float32 // first and second moments, Store layout
	Step                           int       // updates done so far

	store        *param.Store
	blocks       []segment // the update's units of parallel work
	lr, bc1, bc2 float32
	update       kernels.Task
	sq           kernels.ChunkTask
	partial      []float64
}

type segment struct {
	lo, hi int
	decay  bool
}

// adamBlock is the size of the update's work units. Blocks start at
// multiples of it from the start of their run of same-decay tensors, so the
// kernel's SIMD body and scalar tail (which may round differently) always
// cover the same elements: the update is bit-identical whatever the number
// of workers, and whether it runs in parallel or serially.
const adamBlock = 4096

// NewAdamW allocates zeroed moments for s.
func NewAdamW(s *param.Store, beta1, beta2, eps, weightDecay float32) *AdamW {
	o := &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay,
		M: make([]float32, len(s.Data)), V: make([]float32, len(s.Data)), store: s}
	var segs []segment
	for _, t := range s.Tensors {
		lo, hi := t.Offset, t.Offset+t.Numel()
		if n := len(segs); n > 0 && segs[n-1].decay == t.Decay && segs[n-1].hi == lo {
			segs[n-1].hi = hi
			continue
		}
		segs = append(segs, segment{lo, hi, t.Decay})
	}
	for _, sg := range segs {
		for lo := sg.lo; lo < sg.hi; lo += adamBlock {
			o.blocks = append(o.blocks, segment{lo, min(lo+adamBlock, sg.hi), sg.decay})
		}
	}
	o.update = kernels.TaskFunc(o.run)
	o.partial = make([]float64, kernels.MaxChunks())
	o.sq = kernels.ChunkFunc(func(chunk, lo, hi int) {
		o.partial[chunk] = kernels.SumSquares(o.store.Grad[lo:hi])
	})
	return o
}

// run updates blocks [lo, hi).
func (o *AdamW) run(lo, hi int) {
	s := o.store
	for _, sg := range o.blocks[lo:hi] {
		a, b := sg.lo, sg.hi
		wd := float32(0)
		if sg.decay {
			wd = o.WeightDecay
		}
		kernels.AdamW(s.Data[a:b], s.Grad[a:b], o.M[a:b], o.V[a:b], o.lr, o.Beta1, o.Beta2, o.Eps, wd, o.bc1, o.bc2)
	}
}

// GradNorm returns the global L2 norm of the gradients (float64 accumulation,
// reduced in a fixed order).
func (o *AdamW) GradNorm() float64 {
	clear(o.partial)
	n := kernels.ParallelChunks(len(o.store.Grad), 4096, o.sq)
	var s float64
	for _, p := range o.partial[:n] {
		s += p
	}
	return math.Sqrt(s)
}

// ClipGrad scales the gradients so their global norm is at most maxNorm
// (no-op when maxNorm <= 0 or the norm is already smaller). It returns the
// norm before clipping.
func (o *AdamW) ClipGrad(maxNorm float64) float64 {
	norm := o.GradNorm()
	o.clip(norm, maxNorm)
	return norm
}

// clip scales the gradients, whose norm is norm, to norm maxNorm if larger.
func (o *AdamW) clip(norm, maxNorm float64) {
	if maxNorm > 0 && norm > maxNorm {
		kernels.Scale(float32(maxNorm/norm), o.store.Grad)
	}
}

// Update applies one AdamW step with learning rate lr to every parameter.
func (o *AdamW) Update(lr float64) {
	o.Step++
	o.lr = float32(lr)
	o.bc1 = float32(1 - math.Pow(float64(o.Beta1), float64(o.Step)))
	o.bc2 = float32(1 - math.Pow(float64(o.Beta2), float64(o.Step)))
	kernels.ParallelFor(len(o.blocks), o.update)
}
