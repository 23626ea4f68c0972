package hyper

import (
	"fmt"
	"math"

	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
)

// Constants of the learned contraction head (DeepSeek's hc_head).
const (
	HeadNormEps   = 1e-6 // eps inside rsqrt(mean(x_flat²) + eps)
	HeadWeightEps = 1e-6 // added to every sigmoid weight
	HeadScaleInit = 0.01 // init of head_conn.scale
)

// headGrain is the token grain of the learned head's parallel loops.
const headGrain = 16

// Streams expands a (N, C) embedding into n identical streams (N, n, C) and
// contracts the final streams back to (N, C).
//
// Contraction modes:
//
//   - "sum": Σ_i x_i (HC paper Alg. 1 replicates and sums);
//   - "mean": (1/n)·Σ_i x_i (Megatron's default); the final RMSNorm makes
//     sum and mean equivalent up to its eps;
//   - "learned": DeepSeek's dynamic sigmoid-gated head. Per token, with
//     x_flat the n·C concatenation of the streams,
//     r = 1/sqrt(mean(x_flat²) + HeadNormEps),
//     w_i = sigmoid(scale·r·(x_flat·fn_iᵀ) + base_i) + HeadWeightEps,
//     out = Σ_i w_i·x_i.
//     Parameters: head_conn.fn [n, n·C] (weight decay, init 0),
//     head_conn.base [n] (no decay, init 0), head_conn.scale [1] (no decay,
//     init HeadScaleInit). With fn = 0 the weights start token-independent
//     at w_i = 0.5 + 1e-6 (sigmoid at its steepest; out = (n/2)·mean, which
//     the final RMSNorm normalises like sum and mean).
//
// For n = 1, sum and mean are copies and "learned" is a scalar gate.
type Streams struct {
	N, C int    // streams, channels
	Mode string // "sum", "mean" or "learned"

	// learned head
	maxT              int
	fn, base, scale   *param.Tensor
	q, sig, gz, dz, r []float32 // (maxT, n) ×4 and (maxT): x_flat·fnᵀ, sigmoid, dL/dq·(scale·r) and dL/dz, r
	x, out, dout, dx  []float32 // arguments of the call in progress
	fwdTask, bwdTask  kernels.Task
}

// NewStreams validates the contraction mode and returns a Streams for c
// channels and at most maxN tokens per call. Only "learned" registers
// parameters in s (under "head_conn."); s may be nil otherwise.
func NewStreams(cfg Config, c, maxN int, s *param.Store) (*Streams, error) {
	n := cfg.Streams
	if n < 1 || c < 1 {
		return nil, fmt.Errorf("streams: need n ≥ 1 and C ≥ 1 (got %d, %d)", n, c)
	}
	st := &Streams{N: n, C: c, Mode: cfg.Contract}
	switch cfg.Contract {
	case "sum", "mean":
		return st, nil
	case "learned":
	default:
		return nil, fmt.Errorf("hyper: contract %q: want sum, mean or learned", cfg.Contract)
	}
	if maxN < 1 || s == nil {
		return nil, fmt.Errorf("hyper: contract learned needs a parameter store and maxN ≥ 1 (got %d)", maxN)
	}
	st.maxT = maxN
	st.fn = s.Add("head_conn.fn", true, n, n*c)
	st.base = s.Add("head_conn.base", false, n)
	st.scale = s.Add("head_conn.scale", false, 1)
	st.scale.Init = param.Const(HeadScaleInit)
	st.q, st.sig = make([]float32, maxN*n), make([]float32, maxN*n)
	st.gz, st.dz = make([]float32, maxN*n), make([]float32, maxN*n)
	st.r = make([]float32, maxN)
	st.fwdTask = kernels.TaskFunc(st.headForward)
	st.bwdTask = kernels.TaskFunc(st.headBackward)
	return st, nil
}

// Expand OVERWRITES x (T, n, C) with n copies of each row of emb (T, C).
func (s *Streams) Expand(emb, x []float32, T int) {
	n, c := s.N, s.C
	for t := 0; t < T; t++ {
		src := emb[t*c : (t+1)*c]
		for i := 0; i < n; i++ {
			copy(x[(t*n+i)*c:(t*n+i+1)*c], src)
		}
	}
}

// ExpandBackward OVERWRITES demb (T, C) with the sum over streams of dx (T, n, C).
func (s *Streams) ExpandBackward(dx, demb []float32, T int) {
	s.sum(dx, demb, T, 1)
}

func (s *Streams) scaleFactor() float32 {
	if s.Mode == "mean" {
		return 1 / float32(s.N)
	}
	return 1
}

func (s *Streams) sum(x, out []float32, T int, a float32) {
	n, c := s.N, s.C
	for t := 0; t < T; t++ {
		o := out[t*c : (t+1)*c]
		copy(o, x[t*n*c:t*n*c+c])
		for i := 1; i < n; i++ {
			xi := x[(t*n+i)*c : (t*n+i+1)*c]
			for j := range o {
				o[j] += xi[j]
			}
		}
		if a != 1 {
			for j := range o {
				o[j] *= a
			}
		}
	}
}

// Contract OVERWRITES out (T, C) with the contraction of x (T, n, C). In
// "learned" mode it also keeps the per-token head state for
// ContractBackward, which must then be called with the same x.
func (s *Streams) Contract(x, out []float32, T int) {
	if s.Mode != "learned" {
		s.sum(x, out, T, s.scaleFactor())
		return
	}
	n, nc := s.N, s.N*s.C
	// q (T, n) = x_flat (T, n·C) · fnᵀ
	kernels.GEMM(false, true, T, n, nc, 1, x, nc, s.fn.Data, nc, 0, s.q, n)
	s.x, s.out = x[:T*nc], out[:T*s.C]
	kernels.ParallelForGrain(T, headGrain, s.fwdTask)
	s.x, s.out = nil, nil
}

func (s *Streams) headForward(lo, hi int) {
	n, c := s.N, s.C
	nc := n * c
	sc, base := s.scale.Data[0], s.base.Data
	for t := lo; t < hi; t++ {
		xf := s.x[t*nc : (t+1)*nc]
		r := float32(1 / math.Sqrt(kernels.SumSquares(xf)/float64(nc)+HeadNormEps))
		s.r[t] = r
		o := s.out[t*c : (t+1)*c]
		clear(o)
		for i := 0; i < n; i++ {
			z := sc*r*s.q[t*n+i] + base[i]
			sg := float32(1 / (1 + math.Exp(-float64(z))))
			s.sig[t*n+i] = sg
			kernels.Axpy(sg+HeadWeightEps, xf[i*c:(i+1)*c], o)
		}
	}
}

// ContractBackward OVERWRITES dx (T, n, C) with dL/dx given dout = dL/dout
// (T, C); x must be the input of the last Contract. In "learned" mode it
// also ACCUMULATES the head's parameter gradients (dL/dfn by GEMM over
// tokens; base and scale summed over tokens in order, so the result does not
// depend on the worker count).
func (s *Streams) ContractBackward(x, dout, dx []float32, T int) {
	n, c := s.N, s.C
	if s.Mode != "learned" {
		a := s.scaleFactor()
		for t := 0; t < T; t++ {
			src := dout[t*c : (t+1)*c]
			for i := 0; i < n; i++ {
				d := dx[(t*n+i)*c : (t*n+i+1)*c]
				for j := range d {
					d[j] = a * src[j]
				}
			}
		}
		return
	}
	nc := n * c
	s.x, s.dout, s.dx = x[:T*nc], dout[:T*c], dx[:T*nc]
	kernels.ParallelForGrain(T, headGrain, s.bwdTask)
	s.x, s.dout, s.dx = nil, nil, nil
	// Through q = x_flat·fnᵀ: dx_flat += gz·fn, dfn += gzᵀ·x_flat.
	kernels.GEMM(false, false, T, nc, n, 1, s.gz, n, s.fn.Data, nc, 1, dx, nc)
	kernels.GEMM(true, false, n, nc, T, 1, s.gz, n, x, nc, 1, s.fn.Grad, nc)
	var dsc float64
	for i := 0; i < n; i++ {
		var db float64
		for t := 0; t < T; t++ {
			d := float64(s.dz[t*n+i])
			db += d
			dsc += d * float64(s.r[t]) * float64(s.q[t*n+i])
		}
		s.base.Grad[i] += float32(db)
	}
	s.scale.Grad[0] += float32(dsc)
}

// headBackward writes, for tokens [lo, hi): dx_i = w_i·dout plus the part
// through r; dz = dL/dz; gz = dL/dq = dz·scale·r.
func (s *Streams) headBackward(lo, hi int) {
	n, c := s.N, s.C
	nc := n * c
	sc := s.scale.Data[0]
	for t := lo; t < hi; t++ {
		xf, dxf := s.x[t*nc:(t+1)*nc], s.dx[t*nc:(t+1)*nc]
		g := s.dout[t*c : (t+1)*c]
		r := s.r[t]
		var gr float32 // dL/dr
		for i := 0; i < n; i++ {
			xi, dxi := xf[i*c:(i+1)*c], dxf[i*c:(i+1)*c]
			sg := s.sig[t*n+i]
			dz := kernels.Dot(xi, g) * sg * (1 - sg)
			s.dz[t*n+i] = dz
			s.gz[t*n+i] = dz * sc * r
			gr += dz * sc * s.q[t*n+i]
			clear(dxi)
			kernels.Axpy(sg+HeadWeightEps, g, dxi)
		}
		// r = (Σx²/(nC) + eps)^(-1/2): dr/dx_flat = −r³·x_flat/(nC).
		kernels.Axpy(-gr*r*r*r/float32(nc), xf, dxf)
	}
}
