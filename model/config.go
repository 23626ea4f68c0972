// Package model is the mhc decoder-only transformer: token embedding, blocks
// of [RMSNorm → causal multi-head attention with RoPE] and [RMSNorm → SwiGLU
// MLP], each wrapped by a hyper.Connection (plain residual, HC or mHC), a
// final RMSNorm and an LM head. Every layer has an explicit Forward and
// Backward (llm.c style); all parameters live in one param.Store; all
// activations are allocated once per (batch, sequence) shape and reused.
//
// Activations are (B, T, C) row-major, flattened to N = B·T rows. Linear
// weights are stored (out, in), PyTorch's nn.Linear layout: y = x·Wᵀ.
package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/param"
)

// Config describes the architecture. It is saved as config.json next to
// every checkpoint; the connection fields come from the embedded
// hyper.Config (config.json keeps them flat, after init_std).
type Config struct {
	Vocab     int     `json:"vocab_size"`
	D         int     `json:"d_model"`
	Layers    int     `json:"n_layers"`
	Heads     int     `json:"n_heads"`
	MLPHidden int     `json:"mlp_hidden"` // SwiGLU hidden width h
	Seq       int     `json:"seq_len"`    // maximum context T
	RopeTheta float64 `json:"rope_theta"`
	NormEps   float32 `json:"norm_eps"`
	Tie       bool    `json:"tie_embeddings"` // LM head reuses wte.weight
	InitStd   float32 `json:"init_std"`
	// BaseInit is the init scheme of the non-connection weights: "gpt2"
	// (also "": what config.json files without the key mean), "torch" or
	// "neox" (DefaultBaseInit); see BaseInits. config.json omits it when
	// empty.
	BaseInit string `json:"base_init,omitempty"`
	// Recompute is the recomputation block (mHC paper §4.3.2), in
	// sublayers: 0 keeps every residual state for the backward pass; R > 0
	// keeps the residual state only every R sublayers and rebuilds the
	// states inside one block at a time during the backward pass, with
	// bit-identical gradients. RecomputeScope says what else is rebuilt.
	// It changes memory and time, not the architecture; config.json omits
	// it when 0.
	Recompute int `json:"recompute,omitempty"`
	// RecomputeScope is what a block recomputes (with Recompute > 0):
	// "streams" (RecomputeStreams, the paper's: only the residual states,
	// by re-running the connections' write-out from the block's first
	// state, the stored sublayer outputs and the stored coefficients; the
	// sublayers' own activations are kept) or "all" (RecomputeAll: the
	// states and every sublayer's activations, by re-running the block's
	// forward; less memory, about one more forward of time). "" means
	// "all", what config.json files written before the field meant.
	RecomputeScope string `json:"recompute_scope,omitempty"`

	hyper.Config // the residual connection: Kind, Streams, Contract, Sinkhorn options, Fixed
}

// Preset is a named architecture plus its default batch size.
type Preset struct {
	Config
	Batch int
}

// Presets are the built-in sizes (vocabulary 256, the byte tokenizer).
var Presets = map[string]Preset{
	"tiny":  {Config: base(128, 4, 4, 128), Batch: 16},
	"small": {Config: base(256, 6, 4, 128), Batch: 16},
	"base":  {Config: base(512, 8, 8, 256), Batch: 16},
}

func base(d, layers, heads, seq int) Config {
	return Config{
		Vocab: 256, D: d, Layers: layers, Heads: heads, MLPHidden: DefaultMLPHidden(d), Seq: seq,
		RopeTheta: 10000, NormEps: 1e-5, InitStd: 0.02, BaseInit: DefaultBaseInit,
		Config: hyper.Config{Kind: hyper.Residual, Streams: 1, Contract: "sum",
			SinkhornIters: 20, Sinkhorn: "paper", NormEps: 1e-6},
	}
}

// DefaultMLPHidden is the SwiGLU width for model width d: 8d/3 rounded up to a
// multiple of 64 (the Llama rule), 384 for d = 128.
func DefaultMLPHidden(d int) int {
	h := (8*d + 2) / 3
	return (h + 63) / 64 * 64
}

// LookupPreset returns a copy of the named preset.
func LookupPreset(name string) (Preset, error) {
	p, ok := Presets[name]
	if !ok {
		return Preset{}, fmt.Errorf("unknown preset %q (want tiny, small or base)", name)
	}
	return p, nil
}

// HeadDim is D / Heads.
func (c Config) HeadDim() int { return c.D / c.Heads }

// FieldError reports an invalid configuration value. Field is its name in
// config.json, so that a command line can name the flag that set it.
type FieldError struct{ Field, Problem string }

func (e *FieldError) Error() string { return "model: " + e.Field + " " + e.Problem }

// Validate reports the first problem with the configuration: a *FieldError,
// or a *hyper.FieldError for the connection fields.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{field, fmt.Sprintf(format, args...)}
	}
	switch {
	case c.Vocab < 2:
		return bad("vocab_size", "%d: need at least 2", c.Vocab)
	case c.D < 2:
		return bad("d_model", "%d: must be at least 2", c.D)
	case c.Layers < 1:
		return bad("n_layers", "%d: must be at least 1", c.Layers)
	case c.Heads < 1:
		return bad("n_heads", "%d: must be at least 1", c.Heads)
	case c.D%c.Heads != 0:
		return bad("d_model", "%d is not divisible by n_heads %d", c.D, c.Heads)
	case c.HeadDim()%2 != 0:
		return bad("d_model", "%d / n_heads %d = head dimension %d: must be even for RoPE", c.D, c.Heads, c.HeadDim())
	case c.MLPHidden < 1:
		return bad("mlp_hidden", "%d: must be at least 1", c.MLPHidden)
	case c.Seq < 2:
		return bad("seq_len", "%d: must be at least 2", c.Seq)
	case !(c.RopeTheta > 0):
		return bad("rope_theta", "%v: must be positive", c.RopeTheta)
	case !(c.NormEps > 0):
		return bad("norm_eps", "%v: must be positive", c.NormEps)
	case c.BaseInit != "" && !slices.Contains(BaseInits, c.BaseInit):
		return bad("base_init", "%q: want gpt2, torch or neox", c.BaseInit)
	case c.Recompute < 0:
		return bad("recompute", "%d: must be 0 (off) or a block of at least 1 sublayer", c.Recompute)
	case c.RecomputeScope != "" && c.RecomputeScope != RecomputeStreams && c.RecomputeScope != RecomputeAll:
		return bad("recompute_scope", "%q: want streams or all", c.RecomputeScope)
	}
	return c.Config.Validate()
}

// FLOPsPerToken estimates training FLOPs per token (forward + backward):
// 6 per weight-matrix parameter plus attention's 6·L·ctx·C (QKᵀ and PV,
// three passes) over the causal lower triangle, ctx = (T+1)/2 keys per
// query on average. The attention kernels skip the masked upper triangle
// in row blocks of AttnRowBlock queries, so they compute about
// (T+AttnRowBlock)/2 keys per query: the diagonal blocks' masked halves are
// the only work not counted.
func (c Config) FLOPsPerToken() float64 {
	d, h, L := float64(c.D), float64(c.MLPHidden), float64(c.Layers)
	matrix := L*(4*d*d+3*d*h) + float64(c.Vocab)*d
	ctx := (float64(c.Seq) + 1) / 2
	attn := 2 * 2 * L * ctx * d // forward: QKᵀ and PV per token
	return 6*matrix + 3*attn
}

// The base init schemes: how the non-connection weights (embedding, linear
// layers, LM head) are drawn. RMSNorm weights start at 1 in every scheme;
// the connections have their own init (hyper.Config.Init).
//
//	gpt2   every matrix N(0, InitStd²); the projections that write into the
//	       residual stream (attention out, MLP down) N(0, (InitStd/√(2L))²)
//	       (GPT-2, nanoGPT, llm.c; Megatron's default)
//	torch  PyTorch's defaults: embedding N(0, 1); nn.Linear weights (and an
//	       untied LM head) U(±1/√fan_in), Kaiming-uniform with a = √5
//	neox   GPT-NeoX: "small init" N(0, 2/(5d)) for every matrix (Nguyen &
//	       Salazar 2019) and "wang init" N(0, (2/(L·√d))²) for the
//	       output projections (Wang & Komatsuzaki, GPT-J)
//
// InitStd is used by gpt2 only. With tied embeddings the one matrix gets the
// embedding's init.
const (
	BaseGPT2  = "gpt2"
	BaseTorch = "torch"
	BaseNeoX  = "neox"
)

// DefaultBaseInit is the base init of the presets and of `mhc train`: neox,
// the strongest baseline in docs/RESULTS.md (tiny: −0.105 ± 0.033 nats
// against gpt2 over 3 seeds; small: −0.073, within the noise of torch's
// −0.095, over 2 seeds). A config.json without base_init means gpt2, the
// only scheme before there was a choice.
const DefaultBaseInit = BaseNeoX

// BaseInits lists the base init schemes.
var BaseInits = []string{BaseGPT2, BaseTorch, BaseNeoX}

// baseInit is BaseInit with the empty default resolved.
func (c Config) baseInit() string {
	if c.BaseInit == "" {
		return BaseGPT2
	}
	return c.BaseInit
}

// matrixInit is the init of a linear weight with fan-in fanIn; out marks the
// projections that write into the residual stream.
func (c Config) matrixInit(fanIn int, out bool) param.Init {
	d, L := float64(c.D), float64(c.Layers)
	switch c.baseInit() {
	case BaseTorch:
		return param.Uniform(float32(1 / math.Sqrt(float64(fanIn))))
	case BaseNeoX:
		if out {
			return param.Normal(float32(2 / (L * math.Sqrt(d))))
		}
		return param.Normal(float32(math.Sqrt(2 / (5 * d))))
	}
	if out {
		return param.Normal(c.InitStd / float32(math.Sqrt(2*L)))
	}
	return param.Normal(c.InitStd)
}

// embedInit is the init of the token embedding.
func (c Config) embedInit() param.Init {
	switch c.baseInit() {
	case BaseTorch:
		return param.Normal(1)
	case BaseNeoX:
		return param.Normal(float32(math.Sqrt(2 / (5 * float64(c.D)))))
	}
	return param.Normal(c.InitStd)
}

// headInit is the init of an untied LM head (an nn.Linear from d_model).
func (c Config) headInit() param.Init {
	if c.baseInit() == BaseTorch {
		return param.Uniform(float32(1 / math.Sqrt(float64(c.D))))
	}
	return c.matrixInit(c.D, false)
}

// The recomputation scopes (Config.RecomputeScope).
const (
	RecomputeStreams = "streams"
	RecomputeAll     = "all"
)

// RecomputesAll reports whether a block's recomputation re-runs its
// sublayers (scope "all" or its "" default) rather than only the
// connections' write-out; false without recomputation.
func (c Config) RecomputesAll() bool {
	return c.Recompute > 0 && c.RecomputeScope != RecomputeStreams
}
