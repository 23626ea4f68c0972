package model

import (
	"math"

	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
)

// attention is the attention sublayer: RMSNorm → QKV projection → RoPE on q
// and k → causal softmax attention per head → output projection.
//
// Shapes (N = B·T): u, y (N, C); norm (N, C); qkv (N, 3C) with row layout
// [q | k | v], head h at columns h·hd … (h+1)·hd of each part (q and k are
// stored after RoPE); probs (B, H, T, T) with zeros above the diagonal;
// att (N, C) the concatenated head outputs.
type attention struct {
	cfg      Config
	norm     *rmsnorm
	qkv, out linear
	cos, sin []float32 // RoPE tables (Seq, hd/2)

	normed, qkvBuf, probs, att []float32
	// backward scratch, shared by all layers through the model
	sc *scratch

	B, T    int
	headFwd kernels.Task
	headBwd kernels.Task
	ropeF   kernels.Task
	ropeB   kernels.Task
}

func newAttention(s *param.Store, prefix string, cfg Config, maxB int, sc *scratch, cos, sin []float32) *attention {
	C, N := cfg.D, maxB*cfg.Seq
	a := &attention{
		cfg:    cfg,
		norm:   newRMSNorm(s, prefix+".attn_norm.weight", C, N, cfg.NormEps),
		qkv:    newLinear(s, prefix+".attn.qkv.weight", C, 3*C, cfg.matrixInit(C, false)),
		out:    newLinear(s, prefix+".attn.out.weight", C, C, cfg.matrixInit(C, true)),
		cos:    cos,
		sin:    sin,
		normed: make([]float32, N*C),
		qkvBuf: make([]float32, N*3*C),
		probs:  make([]float32, maxB*cfg.Heads*cfg.Seq*cfg.Seq),
		att:    make([]float32, N*C),
		sc:     sc,
	}
	a.headFwd = kernels.TaskFunc(a.headsForward)
	a.headBwd = kernels.TaskFunc(a.headsBackward)
	a.ropeF = kernels.TaskFunc(func(lo, hi int) { a.rope(lo, hi, false) })
	a.ropeB = kernels.TaskFunc(func(lo, hi int) { a.rope(lo, hi, true) })
	return a
}

// rope rotates q and k of sequences [lo, hi) in qkv (forward) or in dqkv (backward).
func (a *attention) rope(lo, hi int, backward bool) {
	C, H, hd, T := a.cfg.D, a.cfg.Heads, a.cfg.HeadDim(), a.T
	for b := lo; b < hi; b++ {
		if backward {
			x := a.sc.dqkv[b*T*3*C:]
			kernels.RoPEBackward(x, T, 3*C, 0, H, hd, 0, a.cos, a.sin)
			kernels.RoPEBackward(x, T, 3*C, C, H, hd, 0, a.cos, a.sin)
		} else {
			x := a.qkvBuf[b*T*3*C:]
			kernels.RoPE(x, T, 3*C, 0, H, hd, 0, a.cos, a.sin)
			kernels.RoPE(x, T, 3*C, C, H, hd, 0, a.cos, a.sin)
		}
	}
}

func (a *attention) scale() float32 { return float32(1 / math.Sqrt(float64(a.cfg.HeadDim()))) }

// headsForward computes attention for (batch, head) pairs [lo, hi).
func (a *attention) headsForward(lo, hi int) {
	C, H, hd, T := a.cfg.D, a.cfg.Heads, a.cfg.HeadDim(), a.T
	for bh := lo; bh < hi; bh++ {
		b, h := bh/H, bh%H
		q := a.qkvBuf[b*T*3*C+h*hd:]
		k := q[C:]
		v := q[2*C:]
		p := a.probs[bh*T*T : (bh+1)*T*T]
		kernels.GEMMSerial(false, true, T, T, hd, 1, q, 3*C, k, 3*C, 0, p, T)
		kernels.CausalSoftmax(p, T, 0, T, a.scale())
		kernels.GEMMSerial(false, false, T, hd, T, 1, p, T, v, 3*C, 0, a.att[b*T*C+h*hd:], C)
	}
}

// headsBackward back-propagates d(att) into dqkv for (batch, head) pairs [lo, hi).
func (a *attention) headsBackward(lo, hi int) {
	C, H, hd, T := a.cfg.D, a.cfg.Heads, a.cfg.HeadDim(), a.T
	for bh := lo; bh < hi; bh++ {
		b, h := bh/H, bh%H
		q := a.qkvBuf[b*T*3*C+h*hd:]
		k, v := q[C:], q[2*C:]
		dq := a.sc.dqkv[b*T*3*C+h*hd:]
		dk, dv := dq[C:], dq[2*C:]
		do := a.sc.datt[b*T*C+h*hd:]
		p := a.probs[bh*T*T : (bh+1)*T*T]
		dp := a.sc.dprobs[bh*T*T : (bh+1)*T*T]
		kernels.GEMMSerial(false, true, T, T, hd, 1, do, C, v, 3*C, 0, dp, T)    // dP = dO·Vᵀ
		kernels.GEMMSerial(true, false, T, hd, T, 1, p, T, do, C, 0, dv, 3*C)    // dV = Pᵀ·dO
		kernels.CausalSoftmaxBackward(dp, p, dp, T, 0, T, a.scale())             // dS (scaled)
		kernels.GEMMSerial(false, false, T, hd, T, 1, dp, T, k, 3*C, 0, dq, 3*C) // dQ = dS·K
		kernels.GEMMSerial(true, false, T, hd, T, 1, dp, T, q, 3*C, 0, dk, 3*C)  // dK = dSᵀ·Q
	}
}

// forward: u (N, C) → y (N, C), overwriting y.
func (a *attention) forward(u, y []float32, B, T int) {
	N, C := B*T, a.cfg.D
	a.B, a.T = B, T
	a.norm.forward(u[:N*C], a.normed, N)
	a.qkv.forward(a.normed, a.qkvBuf, N)
	kernels.ParallelFor(B, a.ropeF)
	kernels.ParallelFor(B*a.cfg.Heads, a.headFwd)
	a.out.forward(a.att, y, N)
}

// backward: dy (N, C) → du (N, C), ACCUMULATED into du. Uses the activations
// of the last forward.
func (a *attention) backward(u, dy, du []float32) {
	B, T, C := a.B, a.T, a.cfg.D
	N := B * T
	a.out.backward(a.att, dy, a.sc.datt, N)
	kernels.ParallelFor(B*a.cfg.Heads, a.headBwd)
	kernels.ParallelFor(B, a.ropeB)
	a.qkv.backward(a.normed, a.sc.dqkv, a.sc.dnorm, N)
	a.norm.backward(u[:N*C], a.sc.dnorm, du, N)
}

func ropeTables(cfg Config) (cos, sin []float32) {
	return kernels.RoPETable(cfg.Seq, cfg.HeadDim(), cfg.RopeTheta)
}
