package model

import (
	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
)

// linear is y = x·Wᵀ with W (out, in); no bias.
type linear struct {
	w       *param.Tensor
	in, out int
}

func newLinear(s *param.Store, name string, in, out int, init param.Init) linear {
	w := s.Add(name, true, out, in)
	w.Init = init
	return linear{w: w, in: in, out: out}
}

// forward: x (N, in) → y (N, out), overwriting y.
func (l linear) forward(x, y []float32, N int) {
	kernels.GEMM(false, true, N, l.out, l.in, 1, x, l.in, l.w.Data, l.in, 0, y, l.out)
}

// backward: dy (N, out), x (N, in). dx (N, in) is OVERWRITTEN; dW is
// accumulated.
func (l linear) backward(x, dy, dx []float32, N int) {
	kernels.GEMM(false, false, N, l.in, l.out, 1, dy, l.out, l.w.Data, l.in, 0, dx, l.in)
	kernels.GEMM(true, false, l.out, l.in, N, 1, dy, l.out, x, l.in, 1, l.w.Grad, l.in)
}

// rmsnorm is y = x / sqrt(mean(x²) + eps) · w, per row of width dim.
type rmsnorm struct {
	w    *param.Tensor
	dim  int
	eps  float32
	rstd []float32 // (N), saved by forward

	x, y, dy, dx []float32 // current call's buffers, for the tasks
	fwd          kernels.Task
	bwd          kernels.ChunkTask
	dwPart       [][]float32 // per-chunk weight-gradient partials (deterministic reduction)
}

func newRMSNorm(s *param.Store, name string, dim, maxN int, eps float32) *rmsnorm {
	r := &rmsnorm{w: s.Add(name, false, dim), dim: dim, eps: eps, rstd: make([]float32, maxN)}
	r.w.Init = param.Const(1)
	r.fwd = kernels.TaskFunc(func(lo, hi int) {
		d := r.dim
		kernels.RMSNorm(r.y[lo*d:hi*d], r.rstd[lo:hi], r.x[lo*d:hi*d], r.w.Data, hi-lo, d, r.eps)
	})
	r.dwPart = make([][]float32, kernels.MaxChunks())
	for i := range r.dwPart {
		r.dwPart[i] = make([]float32, dim)
	}
	r.bwd = kernels.ChunkFunc(func(chunk, lo, hi int) {
		d := r.dim
		part := r.dwPart[chunk]
		kernels.RMSNormBackward(r.dx[lo*d:hi*d], part, r.dy[lo*d:hi*d], r.x[lo*d:hi*d], r.w.Data, r.rstd[lo:hi], hi-lo, d)
	})
	return r
}

func (r *rmsnorm) forward(x, y []float32, N int) {
	r.x, r.y = x, y
	kernels.ParallelForGrain(N, 16, r.fwd)
}

// backward ACCUMULATES into dx (and into the weight gradient).
func (r *rmsnorm) backward(x, dy, dx []float32, N int) {
	r.x, r.dy, r.dx = x, dy, dx
	for _, p := range r.dwPart {
		clear(p)
	}
	chunks := kernels.ParallelChunks(N, 16, r.bwd)
	for _, p := range r.dwPart[:chunks] { // fixed order: deterministic
		kernels.Axpy(1, p, r.w.Grad)
	}
}
