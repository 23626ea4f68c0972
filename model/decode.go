package model

import (
	"fmt"

	"github.com/mhc-go/mhc/kernels"
)

// Decoder generates one token at a time with a key/value cache: each new
// token costs one position (its own projections, attention over the cached
// keys and values, its own connection coefficients and MLP) instead of a
// forward pass over the whole window.
//
// Every connection kind fits a cache unchanged: HC and mHC compute their
// coefficients per token from that token's own n streams, so a one-token
// pass through Pre → sublayer → Post needs only the token's stream state
// (n×C, rebuilt from its embedding) and, in attention, the cached K and V of
// the earlier positions. K is cached after RoPE, at the absolute position it
// had when it was computed.
//
// Window: the cache holds at most Cfg.Seq positions, the context the model
// was trained on (RoPE positions 0 … Seq−1). When it is full, the next Step
// slides: it keeps the last Keep tokens, re-encodes them at positions
// 0 … Keep−1 with one batched forward pass (Prefill), and appends the new
// token at position Keep. The logits of every call therefore equal those of
// a full forward pass (Model.Forward) over exactly the tokens in the cache
// (Tokens), up to float32 summation order (tested to 1e-5). Re-encoding is
// needed because a token's keys and values in layers above the first depend
// on everything it attended to; dropping the oldest token changes them all.
// This differs from the cache-free Sampler path, which always re-runs the
// last Seq tokens, only after the window first fills.
//
// Buffers: all activations and the cache ((2·Layers) × H × Seq × hd floats)
// are allocated by NewDecoder; Prefill and Step allocate nothing. The slices
// they return are owned by the Decoder and overwritten by the next call.
//
// A Decoder reads the model's weights at every call (so it sees later
// updates) and shares the model's activation buffers and connection state:
// do not use the model (Forward, ForwardBackward, another Decoder) between a
// model's Forward and its Backward, or concurrently with the Decoder. The
// model must have MaxB ≥ 1 (any model does).
type Decoder struct {
	m *Model
	// Keep is the number of most recent tokens kept when the window slides
	// (1 ≤ Keep < Cfg.Seq); NewDecoder sets Cfg.Seq/2. Smaller values
	// re-encode less often but keep less context.
	Keep int

	pos    int       // tokens in the cache
	hist   []int32   // (Seq) the cached tokens
	k, v   []float32 // per attention layer l: (H, Seq, hd) at l·H·Seq·hd
	scores []float32 // (Seq) one head's attention weights

	x, xNext        []float32 // (n, C) the token's streams
	emb, u, y       []float32 // (C)
	normed, qkv     []float32 // (C), (3C)
	att, gu, act    []float32 // (C), (2h), (h)
	final, normedF  []float32 // (C)
	logits          []float32 // (V)
	rstd            []float32 // (1)
	gw, gx, gy      []float32 // arguments of the running gemv
	gin             int
	gemvTask        kernels.Task
	attns           []*attention
	mlps            []*mlp
	layerOf         []int // sublayer → index into attns or mlps
	cos, sin        []float32
	seq, heads, hd  int
	c, n, vocab, hh int
}

// NewDecoder returns a Decoder for m with an empty cache.
func NewDecoder(m *Model) *Decoder {
	cfg := m.Cfg
	C, n, T, H, hd, h, V := cfg.D, cfg.Streams, cfg.Seq, cfg.Heads, cfg.HeadDim(), cfg.MLPHidden, cfg.Vocab
	d := &Decoder{m: m, Keep: T / 2, seq: T, heads: H, hd: hd, c: C, n: n, vocab: V, hh: h,
		hist: make([]int32, T), scores: make([]float32, T),
		x: make([]float32, n*C), xNext: make([]float32, n*C),
		emb: make([]float32, C), u: make([]float32, C), y: make([]float32, C),
		normed: make([]float32, C), qkv: make([]float32, 3*C), att: make([]float32, C),
		gu: make([]float32, 2*h), act: make([]float32, h),
		final: make([]float32, C), normedF: make([]float32, C), logits: make([]float32, V),
		rstd: make([]float32, 1)}
	for _, s := range m.subs {
		switch s := s.(type) {
		case *attention:
			d.layerOf = append(d.layerOf, len(d.attns))
			d.attns = append(d.attns, s)
			d.cos, d.sin = s.cos, s.sin
		case *mlp:
			d.layerOf = append(d.layerOf, len(d.mlps))
			d.mlps = append(d.mlps, s)
		default:
			panic(fmt.Sprintf("model: Decoder: unknown sublayer %T", s))
		}
	}
	d.k = make([]float32, len(d.attns)*H*T*hd)
	d.v = make([]float32, len(d.attns)*H*T*hd)
	d.gemvTask = kernels.TaskFunc(d.gemvRange)
	return d
}

// Reset empties the cache.
func (d *Decoder) Reset() { d.pos = 0 }

// Len is the number of tokens in the cache (0 … Cfg.Seq).
func (d *Decoder) Len() int { return d.pos }

// Tokens returns the tokens in the cache, oldest first (a view into the
// Decoder's buffer, valid until the next call).
func (d *Decoder) Tokens() []int32 { return d.hist[:d.pos] }

// Streams returns the residual streams of the token of the last Step after
// the last sublayer, before the contraction: (n, C) row-major, stream i at
// [i·C, (i+1)·C). It is a view into the Decoder's buffer, valid until the
// next call, and meaningless before the first Step (Prefill does not fill
// it). It lets a caller see whether the streams have diverged.
func (d *Decoder) Streams() []float32 { return d.x }

// Prefill empties the cache and encodes tokens (at most their last Cfg.Seq,
// at positions 0, 1, …) with one batched forward pass, filling the cache. It
// returns the next-token logits (Vocab) after the last token. tokens must be
// non-empty, with ids in [0, Vocab).
func (d *Decoder) Prefill(tokens []int32) []float32 {
	if len(tokens) == 0 {
		panic("model: Decoder.Prefill needs at least one token")
	}
	tokens = tokens[max(0, len(tokens)-d.seq):]
	T, C, H, hd, S := len(tokens), d.c, d.heads, d.hd, d.seq
	copy(d.hist, tokens) // before Forward: tokens may alias hist (sliding)
	d.m.Forward(d.hist[:T], 1, T)
	for l, a := range d.attns {
		for t := 0; t < T; t++ {
			row := a.qkvBuf[t*3*C : (t+1)*3*C] // q and k after RoPE, v
			for h := 0; h < H; h++ {
				o := ((l*H+h)*S + t) * hd
				copy(d.k[o:o+hd], row[C+h*hd:C+(h+1)*hd])
				copy(d.v[o:o+hd], row[2*C+h*hd:2*C+(h+1)*hd])
			}
		}
	}
	d.pos = T
	copy(d.logits, d.m.Logits()[(T-1)*d.vocab:T*d.vocab])
	return d.logits
}

// Step appends token tok (in [0, Vocab)) at the next position and returns
// the next-token logits (Vocab) given every token in the cache. On a full
// cache it first slides the window (see Decoder). An empty cache is allowed:
// the token then starts a new context.
func (d *Decoder) Step(tok int32) []float32 {
	if tok < 0 || int(tok) >= d.vocab {
		panic(fmt.Sprintf("model: Decoder.Step: token %d outside the vocabulary [0, %d)", tok, d.vocab))
	}
	if d.pos == d.seq {
		keep := d.Keep
		if keep < 1 || keep >= d.seq {
			panic(fmt.Sprintf("model: Decoder.Keep = %d: want 1 … %d", keep, d.seq-1))
		}
		d.Prefill(d.hist[d.seq-keep : d.seq])
	}
	m, C := d.m, d.c
	copy(d.emb, m.wte.Data[int(tok)*C:int(tok+1)*C])
	m.streams.Expand(d.emb, d.x, 1)
	for l, sub := range m.subs {
		m.conns[l].Pre(d.x, d.u, 1)
		if a, ok := sub.(*attention); ok {
			d.attend(d.layerOf[l], a)
		} else {
			d.feed(d.mlps[d.layerOf[l]])
		}
		m.conns[l].Post(d.x, d.y, d.xNext, 1)
		d.x, d.xNext = d.xNext, d.x
	}
	m.streams.Contract(d.x, d.final, 1)
	kernels.RMSNorm(d.normedF, d.rstd, d.final, m.normF.w.Data, 1, C, m.normF.eps)
	d.gemv(m.lmHead.Data, d.normedF, d.logits, C, d.vocab)
	d.hist[d.pos] = tok
	d.pos++
	return d.logits
}

// attend runs attention layer l for the token at position d.pos: u → y.
func (d *Decoder) attend(l int, a *attention) {
	C, H, hd, S, pos := d.c, d.heads, d.hd, d.seq, d.pos
	kernels.RMSNorm(d.normed, d.rstd, d.u, a.norm.w.Data, 1, C, a.norm.eps)
	d.gemv(a.qkv.w.Data, d.normed, d.qkv, C, 3*C)
	kernels.RoPE(d.qkv, 1, 3*C, 0, H, hd, pos, d.cos, d.sin)
	kernels.RoPE(d.qkv, 1, 3*C, C, H, hd, pos, d.cos, d.sin)
	scale := a.scale()
	for h := 0; h < H; h++ {
		base := (l*H + h) * S * hd
		kh, vh := d.k[base:base+S*hd], d.v[base:base+S*hd]
		copy(kh[pos*hd:(pos+1)*hd], d.qkv[C+h*hd:C+(h+1)*hd])
		copy(vh[pos*hd:(pos+1)*hd], d.qkv[2*C+h*hd:2*C+(h+1)*hd])
		q := d.qkv[h*hd : (h+1)*hd]
		s := d.scores[:pos+1]
		for j := range s {
			s[j] = kernels.Dot(q, kh[j*hd:(j+1)*hd]) * scale
		}
		kernels.Softmax(s, 1, pos+1)
		o := d.att[h*hd : (h+1)*hd]
		clear(o)
		for j, p := range s {
			kernels.Axpy(p, vh[j*hd:(j+1)*hd], o)
		}
	}
	d.gemv(a.out.w.Data, d.att, d.y, C, C)
}

// feed runs an MLP sublayer for one token: u → y.
func (d *Decoder) feed(f *mlp) {
	C, h := d.c, d.hh
	kernels.RMSNorm(d.normed, d.rstd, d.u, f.norm.w.Data, 1, C, f.norm.eps)
	d.gemv(f.gateUp.w.Data, d.normed, d.gu, C, 2*h)
	kernels.SwiGLU(d.act, d.gu, 1, h)
	d.gemv(f.down.w.Data, d.act, d.y, h, C)
}

// gemvGrain is the number of output rows below which a matrix-vector
// product runs on the calling goroutine: fork/join costs a few µs, more than
// a whole row-dot pass over the tiny preset's matrices (one token of the
// tiny preset decodes 1.7× faster serially than with 2 workers over 96-row
// blocks). A GPT-2-vocabulary LM head (50257 rows) is split.
const gemvGrain = 4096

// gemv OVERWRITES y (out) with W·x for W (out, in) row-major and x (in).
func (d *Decoder) gemv(w, x, y []float32, in, out int) {
	d.gw, d.gx, d.gy, d.gin = w[:out*in], x[:in], y[:out], in
	kernels.ParallelForGrain(out, gemvGrain, d.gemvTask)
	d.gw, d.gx, d.gy = nil, nil, nil
}

func (d *Decoder) gemvRange(lo, hi int) {
	in := d.gin
	for j := lo; j < hi; j++ {
		d.gy[j] = kernels.Dot(d.gx, d.gw[j*in:(j+1)*in])
	}
}
