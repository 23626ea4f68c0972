package model

import (
	"math"

	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
)

// AttnRowBlock is the query-row block of causal attention: row block i
// attends to keys 0 … (i+1)·AttnRowBlock−1 only, so the masked upper
// triangle is skipped except inside each block's own diagonal square (see
// kernels.AttnBlocks); the scores are stored packed, about T²/2 per head.
// 64 measured best among 16 … 256 for head dimensions 32 and 64.
const AttnRowBlock = 64

const attnBlk = AttnRowBlock

// attention is the attention sublayer: RMSNorm → QKV projection → RoPE on q
// and k → causal softmax attention per head → output projection.
//
// Shapes (N = B·T): u, y (N, C); norm (N, C); qkv (N, 3C) with row layout
// [q | k | v], head h at columns h·hd … (h+1)·hd of each part (q and k are
// stored after RoPE); probs (B, H, packed causal blocks, see
// kernels.AttnBlocks); att (N, C) the concatenated head outputs.
type attention struct {
	cfg      Config
	norm     *rmsnorm
	qkv, out linear
	cos, sin []float32 // RoPE tables (Seq, hd/2)

	act *attnActs // the activations of the last forward (may be shared, see recompute)
	// qkvBuf holds q (after RoPE), k (after RoPE) and v of the last forward
	// for the Decoder: act.qkv itself, or with shared activations a private
	// copy of one sequence (B = 1 forwards only).
	qkvBuf []float32
	// backward scratch, shared by all layers through the model
	sc *scratch

	B, T    int
	blocks  kernels.AttnBlocks
	headFwd kernels.ChunkTask
	headBwd kernels.ChunkTask
	ropeF   kernels.Task
	ropeB   kernels.Task
}

// attnActs are the activations an attention sublayer keeps for its backward.
type attnActs struct {
	normed, qkv, probs, att []float32
}

func newAttnActs(cfg Config, maxB int) *attnActs {
	C, N := cfg.D, maxB*cfg.Seq
	return &attnActs{
		normed: make([]float32, N*C),
		qkv:    make([]float32, N*3*C),
		probs:  make([]float32, maxB*cfg.Heads*probsPerHead(cfg.Seq)),
		att:    make([]float32, N*C),
	}
}

// probsPerHead is the packed causal-score size of one (sequence, head) for T
// positions.
func probsPerHead(T int) int { return kernels.AttnBlocks{T: T, Blk: attnBlk}.Size() }

// dprobsSize is the backward score scratch for maxB sequences: one row
// block per chunk of (sequence, head) pairs.
func dprobsSize(cfg Config, maxB int) int {
	return min(kernels.MaxChunks(), maxB*cfg.Heads) * min(attnBlk, cfg.Seq) * cfg.Seq
}

func newAttention(s *param.Store, prefix string, cfg Config, maxB int, sc *scratch, cos, sin []float32) *attention {
	a := newAttentionShared(s, prefix, cfg, maxB, sc, cos, sin)
	a.act = newAttnActs(cfg, maxB)
	a.qkvBuf = a.act.qkv
	return a
}

// newAttentionShared builds an attention sublayer without activations: the
// caller sets act before every forward and backward.
func newAttentionShared(s *param.Store, prefix string, cfg Config, maxB int, sc *scratch, cos, sin []float32) *attention {
	C, N := cfg.D, maxB*cfg.Seq
	a := &attention{
		cfg:  cfg,
		norm: newRMSNorm(s, prefix+".attn_norm.weight", C, N, cfg.NormEps),
		qkv:  newLinear(s, prefix+".attn.qkv.weight", C, 3*C, cfg.matrixInit(C, false)),
		out:  newLinear(s, prefix+".attn.out.weight", C, C, cfg.matrixInit(C, true)),
		cos:  cos,
		sin:  sin,
		sc:   sc,
	}
	a.headFwd = kernels.ChunkFunc(func(_, lo, hi int) { a.headsForward(lo, hi) })
	a.headBwd = kernels.ChunkFunc(a.headsBackward)
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
			x := a.act.qkv[b*T*3*C:]
			kernels.RoPE(x, T, 3*C, 0, H, hd, 0, a.cos, a.sin)
			kernels.RoPE(x, T, 3*C, C, H, hd, 0, a.cos, a.sin)
		}
	}
}

func (a *attention) scale() float32 { return float32(1 / math.Sqrt(float64(a.cfg.HeadDim()))) }

// headsForward computes causal attention for (batch, head) pairs [lo, hi),
// one query row block at a time: S = Q·Kᵀ over the block's keys, the causal
// softmax, O = P·V.
func (a *attention) headsForward(lo, hi int) {
	C, H, hd, T := a.cfg.D, a.cfg.Heads, a.cfg.HeadDim(), a.T
	per, sc := a.blocks.Size(), a.scale()
	for bh := lo; bh < hi; bh++ {
		b, h := bh/H, bh%H
		q := a.act.qkv[b*T*3*C+h*hd:]
		k := q[C:]
		v := q[2*C:]
		ph := a.act.probs[bh*per : (bh+1)*per]
		o := a.act.att[b*T*C+h*hd:]
		for i := range a.blocks.N() {
			r0, rows, w, off := a.blocks.Block(i)
			p := ph[off : off+rows*w]
			kernels.GEMMSerial(false, true, rows, w, hd, 1, q[r0*3*C:], 3*C, k, 3*C, 0, p, w)
			kernels.AttnCausalSoftmax(p, w, r0, rows, sc)
			kernels.GEMMSerial(false, false, rows, hd, w, 1, p, w, v, 3*C, 0, o[r0*C:], C)
		}
	}
}

// headsBackward back-propagates d(att) into dqkv for (batch, head) pairs
// [lo, hi), using chunk's row block of the dprobs scratch. Row blocks run
// from the last (all T keys: it overwrites dK and dV) to the first (which
// accumulate into their leading rows).
func (a *attention) headsBackward(chunk, lo, hi int) {
	C, H, hd, T := a.cfg.D, a.cfg.Heads, a.cfg.HeadDim(), a.T
	per, sc := a.blocks.Size(), a.scale()
	rowsMax := min(attnBlk, T)
	dp := a.sc.dprobs[chunk*rowsMax*T : (chunk+1)*rowsMax*T]
	for bh := lo; bh < hi; bh++ {
		b, h := bh/H, bh%H
		q := a.act.qkv[b*T*3*C+h*hd:]
		k, v := q[C:], q[2*C:]
		dq := a.sc.dqkv[b*T*3*C+h*hd:]
		dk, dv := dq[C:], dq[2*C:]
		do := a.sc.datt[b*T*C+h*hd:]
		ph := a.act.probs[bh*per : (bh+1)*per]
		for i := a.blocks.N() - 1; i >= 0; i-- {
			r0, rows, w, off := a.blocks.Block(i)
			p := ph[off : off+rows*w]
			ds := dp[:rows*w]
			beta := float32(1)
			if w == T {
				beta = 0
			}
			doi := do[r0*C:]
			kernels.GEMMSerial(false, true, rows, w, hd, 1, doi, C, v, 3*C, 0, ds, w)              // dP = dO·Vᵀ
			kernels.GEMMSerial(true, false, w, hd, rows, 1, p, w, doi, C, beta, dv, 3*C)           // dV += Pᵀ·dO
			kernels.AttnCausalSoftmaxBackward(ds, p, ds, w, r0, rows, sc)                          // dS (scaled)
			kernels.GEMMSerial(false, false, rows, hd, w, 1, ds, w, k, 3*C, 0, dq[r0*3*C:], 3*C)   // dQ = dS·K
			kernels.GEMMSerial(true, false, w, hd, rows, 1, ds, w, q[r0*3*C:], 3*C, beta, dk, 3*C) // dK += dSᵀ·Q
		}
	}
}

// forward: u (N, C) → y (N, C), overwriting y.
func (a *attention) forward(u, y []float32, B, T int) {
	N, C := B*T, a.cfg.D
	a.B, a.T = B, T
	a.blocks = kernels.AttnBlocks{T: T, Blk: attnBlk}
	a.norm.forward(u[:N*C], a.act.normed, N)
	a.qkv.forward(a.act.normed, a.act.qkv, N)
	kernels.ParallelFor(B, a.ropeF)
	if a.qkvBuf != nil && &a.qkvBuf[0] != &a.act.qkv[0] && N*3*C <= len(a.qkvBuf) {
		copy(a.qkvBuf, a.act.qkv[:N*3*C]) // the Decoder's copy (B = 1)
	}
	kernels.ParallelChunks(B*a.cfg.Heads, 1, a.headFwd)
	a.out.forward(a.act.att, y, N)
}

// backward: dy (N, C) → du (N, C), ACCUMULATED into du. Uses the activations
// of the last forward.
func (a *attention) backward(u, dy, du []float32) {
	B, T, C := a.B, a.T, a.cfg.D
	N := B * T
	a.out.backward(a.act.att, dy, a.sc.datt, N)
	kernels.ParallelChunks(B*a.cfg.Heads, 1, a.headBwd)
	kernels.ParallelFor(B, a.ropeB)
	a.qkv.backward(a.act.normed, a.sc.dqkv, a.sc.dnorm, N)
	a.norm.backward(u[:N*C], a.sc.dnorm, du, N)
}

func ropeTables(cfg Config) (cos, sin []float32) {
	return kernels.RoPETable(cfg.Seq, cfg.HeadDim(), cfg.RopeTheta)
}
