package cost

import (
	"fmt"
	"math"

	"github.com/mhc-go/mhc/hyper"
)

// Parts of a training step, as Ops and PartTimes name them.
const (
	PartAttention  = "attention"
	PartFFN        = "ffn"
	PartConnection = "connection"
	PartEmbedHead  = "embed+head"
	PartOptimizer  = "optimizer"
)

// Op is one kernel of a training step. FLOPs and Bytes are per token and
// per instance, forward pass; Count is the instances per token (e.g. the
// number of sublayers); Passes is forward-equivalents per step: 3 for
// forward + backward (backward costs 2× forward in FLOPs and in bytes), 4
// when the connection is recomputed in the backward pass, 1 for an op that
// runs once (the loss, the optimizer, amortised over the step's tokens).
type Op struct {
	Name   string  `json:"name"`
	Part   string  `json:"part"`
	Count  float64 `json:"count"`
	FLOPs  float64 `json:"flops"`
	Bytes  float64 `json:"bytes"`
	Passes float64 `json:"passes"`
}

// Time is the op's roofline time per token on d, all instances and passes:
// Count·Passes·max(FLOPs/d.FLOPS, Bytes/d.MemBW).
func (o Op) Time(d Device) float64 {
	return o.Count * o.Passes * math.Max(o.FLOPs/d.FLOPS, o.Bytes/d.MemBW)
}

// Variant selects how the HC/mHC connection is executed.
type Variant struct {
	Fused     bool `json:"fused"`     // the paper's fused kernels (3 per sublayer) instead of Table 2's 5
	Recompute bool `json:"recompute"` // connection re-run in the backward pass (§4.3.2)
}

// coefBytes is the width of connection coefficients and of φ (fp32).
const coefBytes = 4

// Ops lists a's kernels per token (see Op) with the connection executed as
// v says. The byte counts assume each kernel streams its operands once from
// memory: activations at ActBytes, weights at ActBytes read once per
// micro-batch (so per token W·ActBytes/MicroTokens), connection
// coefficients and φ at 4 bytes. Attention with FullSquare materialises the
// H·T scores once per token; otherwise it is flash attention (Q, K, V, O
// only). docs/PLAN.md lists every formula.
func (a Arch) Ops(v Variant) []Op {
	C, T, V := float64(a.D), float64(a.Seq), float64(a.Vocab)
	ab, M := float64(a.ActBytes), float64(a.MicroTokens())
	w := func(params float64) float64 { return params * ab / M } // weight bytes per token
	blocks := float64(a.Layers)
	var ops []Op
	add := func(name, part string, count, flops, bytes, passes float64) {
		if count > 0 {
			ops = append(ops, Op{name, part, count, flops, bytes, passes})
		}
	}

	// Attention.
	at := a.Attention
	H := float64(at.Heads)
	ctx := (T + 1) / 2
	if at.FullSquare {
		ctx = T
	}
	add("attn.norm", PartAttention, blocks, 4*C, 2*C*ab, 3)
	if at.Kind == MHA {
		add("attn.qkv", PartAttention, blocks, 6*C*C, 4*C*ab+w(3*C*C), 3)
		add("attn.rope", PartAttention, blocks, 6*C, 4*C*ab, 3)
		core := 4 * C * ab
		if at.FullSquare {
			core += H * ctx * ab
		}
		add("attn.core", PartAttention, blocks, 4*ctx*C+5*H*ctx, core, 3)
		add("attn.out", PartAttention, blocks, 2*C*C, 2*C*ab+w(C*C), 3)
	} else {
		d, r, k, vd, q := float64(at.HeadDim), float64(at.RopeDim), float64(at.KVRank), float64(a.vDim()), float64(at.QRank)
		qk := H * (d + r)
		if q > 0 {
			add("attn.q", PartAttention, blocks, 2*C*q+4*q+2*q*qk, (C+2*q+qk)*ab+w(C*q+q*qk), 3)
		} else {
			add("attn.q", PartAttention, blocks, 2*C*qk, (C+qk)*ab+w(C*qk), 3)
		}
		add("attn.kv_a", PartAttention, blocks, 2*C*(k+r), (C+k+r)*ab+w(C*(k+r)), 3)
		add("attn.kv_norm", PartAttention, blocks, 4*k, 2*k*ab, 3)
		add("attn.kv_b", PartAttention, blocks, 2*k*H*(d+vd), (k+H*(d+vd))*ab+w(k*H*(d+vd)), 3)
		add("attn.rope", PartAttention, blocks, 3*(H+1)*r, 2*(H+1)*r*ab, 3)
		add("attn.core", PartAttention, blocks, 2*ctx*qk+2*ctx*H*vd+5*H*ctx, (2*qk+2*H*vd)*ab, 3)
		add("attn.out", PartAttention, blocks, 2*H*vd*C, (H*vd+C)*ab+w(H*vd*C), 3)
	}

	// FFN.
	f := a.FFN
	moe := float64(a.moeLayers())
	dense := blocks - moe
	h := float64(f.Hidden)
	add("ffn.norm", PartFFN, blocks, 4*C, 2*C*ab, 3)
	add("ffn.gate_up", PartFFN, dense, 4*C*h, (C+2*h)*ab+w(2*C*h), 3)
	add("ffn.swiglu", PartFFN, dense, 6*h, 3*h*ab, 3)
	add("ffn.down", PartFFN, dense, 2*h*C, (h+C)*ab+w(h*C), 3)
	if moe > 0 {
		E, k, e := float64(f.Experts), float64(f.Active), float64(f.Active+f.Shared)
		eh, all := float64(f.ExpertHidden), float64(f.Experts+f.Shared)
		add("ffn.router", PartFFN, moe, 2*C*E+3*E, (C+E)*ab+w(C*E), 3)
		add("ffn.dispatch", PartFFN, moe, 2*k*C, 2*(k+1)*C*ab, 3)
		add("ffn.experts.gate_up", PartFFN, moe, e*4*C*eh, e*(C+2*eh)*ab+w(all*2*C*eh), 3)
		add("ffn.experts.swiglu", PartFFN, moe, e*6*eh, e*3*eh*ab, 3)
		add("ffn.experts.down", PartFFN, moe, e*2*eh*C, e*(eh+C)*ab+w(all*eh*C), 3)
	}

	// Connection.
	ops = append(ops, a.connOps(v)...)

	// Embedding, stream expansion and contraction, final norm, LM head, loss.
	n := float64(a.Conn.Streams)
	add("embed", PartEmbedHead, 1, 0, (1+n)*C*ab, 3)
	contract := n * C
	if a.Conn.Contract == "learned" {
		contract += 2*n*n*C + 2*n*C
	}
	add("contract", PartEmbedHead, 1, contract, (n+1)*C*ab, 3)
	add("final_norm", PartEmbedHead, 1, 4*C, 2*C*ab, 3)
	add("lm_head", PartEmbedHead, 1, 2*V*C, (C+V)*ab+w(V*C), 3)
	add("loss", PartEmbedHead, 1, 5*V, 2*V*ab, 1)

	// Optimizer, once per step: AdamW on fp32 parameters and moments (read
	// p, g, m, v; write p, m, v; zero g) and the gradient norm for clipping.
	P := float64(a.Params().Total)
	S := float64(a.StepTokens())
	add("adamw", PartOptimizer, 1, 12*P/S, 32*P/S, 1)
	add("grad_norm", PartOptimizer, 1, 2*P/S, 4*P/S, 1)
	return ops
}

// connOps is the connection's kernels: L instances each.
func (a Arch) connOps(v Variant) []Op {
	C, ab, M := float64(a.D), float64(a.ActBytes), float64(a.MicroTokens())
	L := float64(a.Sublayers())
	kind, n := a.Conn.Kind, float64(a.Conn.Streams)
	op := func(name string, flops, bytes float64) Op {
		passes := 3.0
		if v.Recompute && kind != hyper.Residual {
			passes = 4
		}
		return Op{name, PartConnection, L, flops, bytes, passes}
	}
	if kind == hyper.Residual {
		ops := []Op{op("conn.merge", C, 3*C*ab)}
		if a.Engine() { // the engine's residual Pre copies x into the sublayer input
			ops = append(ops, op("conn.copy", 0, 2*C*ab))
		}
		return ops
	}
	nC := n * C
	maps := n*n + 2*n // coefficients written by the maps kernel
	var mapsFLOPs, mapsW float64
	switch kind {
	case hyper.HC: // per-stream LayerNorm, C → n+2 projection per stream, tanh, gates
		mapsFLOPs = 5*nC + 2*nC*(n+2) + 10*n*(n+2)
		mapsW = (n + 2) * C * ab / M
	default: // RMS of the nC vector, φ: nC → P, gates, sigmoids, Sinkhorn / permutation mix
		P := float64(connLogits(kind, a.Conn.Streams))
		mapsFLOPs = 2*nC*P + 2*nC + 10*P
		if kind == hyper.MHCLite {
			mapsFLOPs += 2 * (P - 2*n) * n * n
		} else {
			mapsFLOPs += 4 * n * n * float64(a.Conn.SinkhornIters)
		}
		mapsW = P * nC * coefBytes / M
	}
	ops := []Op{
		op("conn.maps", mapsFLOPs, nC*ab+maps*coefBytes+mapsW),
		op("conn.pre", 2*nC, (nC+C)*ab+n*coefBytes),
	}
	if v.Fused {
		return append(ops, op("conn.post_res", 2*n*nC+2*nC, ((n+1)*C+nC)*ab+(n*n+n)*coefBytes))
	}
	return append(ops,
		op("conn.post", nC, (C+nC)*ab+n*coefBytes),
		op("conn.res", 2*n*nC, 2*nC*ab+n*n*coefBytes),
		op("conn.merge", nC, 3*nC*ab),
	)
}

// FLOPs is the arithmetic per token: Forward sums every op's forward FLOPs
// once (the optimizer's amortised share included), Backward is 2× forward
// for ops with a backward pass; Connection and ConnShare are the
// connection's part and its share of Forward+Backward (no recomputation).
type FLOPs struct {
	Forward    float64 `json:"forward"`
	Backward   float64 `json:"backward"`
	Connection float64 `json:"connection"`
	ConnShare  float64 `json:"connection_share"`
}

// FLOPs counts a's arithmetic per token with the given variant's kernels.
func (a Arch) FLOPs(v Variant) FLOPs {
	var f FLOPs
	for _, o := range a.Ops(Variant{Fused: v.Fused}) {
		fwd := o.Count * o.FLOPs
		total := fwd * o.Passes
		f.Forward += fwd
		f.Backward += total - fwd
		if o.Part == PartConnection {
			f.Connection += total
		}
	}
	f.ConnShare = f.Connection / (f.Forward + f.Backward)
	return f
}

// PartTime is one part's share of a step on a device, per token.
type PartTime struct {
	Part    string  `json:"part"`
	FLOPs   float64 `json:"flops"`   // all passes
	Bytes   float64 `json:"bytes"`   // all passes
	Seconds float64 `json:"seconds"` // Σ over its ops of Op.Time
	// Bound is "compute" when the part's ops spend more time against the
	// compute roof than against the memory roof, else "memory".
	Bound string `json:"bound"`
}

// StepTime is a roofline estimate of one optimizer step on one device.
type StepTime struct {
	Name     string     `json:"name"`
	Variant  Variant    `json:"variant"`
	Parts    []PartTime `json:"parts"`
	PerToken float64    `json:"seconds_per_token"`
	Step     float64    `json:"seconds_per_step"` // PerToken · StepTokens
	// Overhead is Step / (the residual model's Step) − 1.
	Overhead float64 `json:"overhead"`
}

// Roofline estimates a's step time on d with the connection run as v: each
// op takes max(FLOPs/d.FLOPS, Bytes/d.MemBW); nothing overlaps.
func (a Arch) Roofline(d Device, v Variant) StepTime {
	st := StepTime{Name: a.variantName(v), Variant: v}
	idx := map[string]int{}
	var cTime, mTime []float64
	for _, o := range a.Ops(v) {
		i, ok := idx[o.Part]
		if !ok {
			i = len(st.Parts)
			idx[o.Part] = i
			st.Parts = append(st.Parts, PartTime{Part: o.Part})
			cTime, mTime = append(cTime, 0), append(mTime, 0)
		}
		k := o.Count * o.Passes
		p := &st.Parts[i]
		p.FLOPs += k * o.FLOPs
		p.Bytes += k * o.Bytes
		t := o.Time(d)
		p.Seconds += t
		if o.FLOPs/d.FLOPS >= o.Bytes/d.MemBW {
			cTime[i] += t
		} else {
			mTime[i] += t
		}
		st.PerToken += t
	}
	for i := range st.Parts {
		st.Parts[i].Bound = "memory"
		if cTime[i] >= mTime[i] {
			st.Parts[i].Bound = "compute"
		}
	}
	st.Step = st.PerToken * float64(a.StepTokens())
	return st
}

func (a Arch) variantName(v Variant) string {
	if a.Conn.Kind == hyper.Residual {
		return "residual"
	}
	s := fmt.Sprintf("%s n=%d", a.Conn.Kind, a.Conn.Streams)
	switch {
	case v.Fused && v.Recompute:
		return s + " fused+recompute"
	case v.Fused:
		return s + " fused"
	case v.Recompute:
		return s + " recompute"
	}
	return s + " unfused"
}

// AsResidual is a with a plain residual connection (n = 1, sum contraction):
// the baseline that overheads are measured against.
func (a Arch) AsResidual() Arch {
	a.Conn.Kind, a.Conn.Streams, a.Conn.Contract = hyper.Residual, 1, "sum"
	return a
}
