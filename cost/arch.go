// Package cost answers, from closed-form arithmetic, what a decoder-only
// language model with a plain residual, Hyper-Connections (HC) or
// Manifold-Constrained Hyper-Connections (mHC) costs at any scale, before any
// of it is trained: parameters (total and active, and what the connection
// adds), residual-stream I/O per token, activation memory with and without
// block recomputation, FLOPs, pipeline traffic, a roofline step time on a
// named accelerator or on this CPU, and data-parallel all-reduce time from an
// α–β model.
//
// An [Arch] describes the model: the mhc engine's own layout (fused-QKV
// multi-head attention and a SwiGLU MLP, [FromModel]) or a DeepSeek-V3-style
// MoE with Multi-head Latent Attention (the mHC paper's 3B / 9B / 27B models,
// [Paper]). Every formula is in docs/PLAN.md; the figures of the mHC paper
// (arXiv 2512.24880: Table 2, Table 3 and L_r*, Table 5) are reproduced by
// this package's tests, and for the engine's presets the predicted parameter
// count equals model.New(cfg, 1).NumParams() exactly.
package cost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// Attention kinds.
const (
	MHA = "mha" // multi-head attention with one fused QKV projection (the mhc engine)
	MLA = "mla" // DeepSeek's Multi-head Latent Attention
)

// FFN kinds.
const (
	Dense = "dense" // one SwiGLU MLP in every block
	MoE   = "moe"   // DeepSeekMoE: leading dense blocks, then routed + shared SwiGLU experts
)

// Attention describes the attention sublayer. JSON names are the config
// file's (docs/PLAN.md).
type Attention struct {
	Kind    string `json:"kind"`     // MHA or MLA
	Heads   int    `json:"heads"`    // H
	HeadDim int    `json:"head_dim"` // per-head query/key (MLA: the non-RoPE part) and value width

	// FullSquare: the attention core computes all T×T scores per head
	// (causal masking by zeroing, no skipped work). Otherwise it skips the
	// masked half, as flash attention and the mhc engine do: (T+1)/2 keys
	// per query on average.
	FullSquare bool `json:"full_square,omitempty"`

	// MLA only (DeepSeek-V3 names in brackets).
	QRank    int `json:"q_rank,omitempty"`     // query compression rank [q_lora_rank]; 0: a direct C → H·(HeadDim+RopeDim) projection
	KVRank   int `json:"kv_rank,omitempty"`    // key-value compression rank [kv_lora_rank]
	RopeDim  int `json:"rope_dim,omitempty"`   // decoupled RoPE query/key width per head [qk_rope_head_dim]
	VHeadDim int `json:"v_head_dim,omitempty"` // value width per head [v_head_dim]; 0: HeadDim
}

// FFN describes the feed-forward sublayer.
type FFN struct {
	Kind   string `json:"kind"`   // Dense or MoE
	Hidden int    `json:"hidden"` // SwiGLU width of a dense block [intermediate_size]

	// MoE only.
	DenseLayers  int `json:"dense_layers,omitempty"`  // leading dense blocks [first_k_dense_replace]
	Experts      int `json:"experts,omitempty"`       // routed experts [n_routed_experts]
	Active       int `json:"active,omitempty"`        // routed experts per token [num_experts_per_tok]
	Shared       int `json:"shared,omitempty"`        // shared experts, always active [n_shared_experts]
	ExpertHidden int `json:"expert_hidden,omitempty"` // SwiGLU width of one expert [moe_intermediate_size]
}

// Conn is the residual connection of every sublayer.
type Conn struct {
	Kind          hyper.Kind `json:"kind"`           // residual, hc, mhc or mhc-lite
	Streams       int        `json:"streams"`        // n; 1 for residual
	Contract      string     `json:"contract"`       // stream merge at the top: sum, mean or learned
	SinkhornIters int        `json:"sinkhorn_iters"` // t_max (mhc), for the FLOP count
}

// Arch is a model and its training shape. It is the schema of a
// `mhc plan --config FILE` file (docs/PLAN.md); Layers counts blocks, each
// with an attention and an FFN sublayer, so L = 2·Layers sublayers.
type Arch struct {
	Name       string    `json:"name,omitempty"`
	Vocab      int       `json:"vocab_size"`
	D          int       `json:"d_model"` // C
	Layers     int       `json:"n_layers"`
	Tie        bool      `json:"tie_embeddings"` // the LM head reuses the embedding
	Seq        int       `json:"seq_len"`        // T
	Batch      int       `json:"batch"`          // sequences per optimizer step
	MicroBatch int       `json:"micro_batch"`    // sequences per forward/backward (and pipeline micro-batch)
	ActBytes   int       `json:"act_bytes"`      // bytes per activation element: 2 (bf16) or 4 (float32)
	Attention  Attention `json:"attention"`
	FFN        FFN       `json:"ffn"`
	Conn       Conn      `json:"conn"`
}

// Sublayers is L = 2·Layers.
func (a Arch) Sublayers() int { return 2 * a.Layers }

// MicroTokens is the tokens of one micro-batch, MicroBatch·Seq.
func (a Arch) MicroTokens() int { return a.MicroBatch * a.Seq }

// StepTokens is the tokens of one optimizer step, Batch·Seq.
func (a Arch) StepTokens() int { return a.Batch * a.Seq }

// MaxStreams bounds n (hc, mhc); mhc-lite enumerates n! permutations and
// allows n ≤ 4.
const MaxStreams = 64

// FieldError reports an invalid configuration value; Field is its name in
// the config file (nested fields joined by dots: "conn.streams").
type FieldError struct{ Field, Problem string }

func (e *FieldError) Error() string { return "cost: " + e.Field + " " + e.Problem }

// Validate reports the first problem with a as a *FieldError.
func (a Arch) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{field, fmt.Sprintf(format, args...)}
	}
	pos := []struct {
		name string
		v    int
	}{{"vocab_size", a.Vocab}, {"d_model", a.D}, {"n_layers", a.Layers}, {"seq_len", a.Seq},
		{"batch", a.Batch}, {"micro_batch", a.MicroBatch}, {"attention.heads", a.Attention.Heads},
		{"attention.head_dim", a.Attention.HeadDim}, {"conn.streams", a.Conn.Streams}}
	for _, p := range pos {
		if p.v < 1 {
			return bad(p.name, "%d: must be at least 1", p.v)
		}
	}
	if a.MicroBatch > a.Batch {
		return bad("micro_batch", "%d: larger than batch %d", a.MicroBatch, a.Batch)
	}
	if a.ActBytes != 2 && a.ActBytes != 4 {
		return bad("act_bytes", "%d: want 2 (bf16) or 4 (float32)", a.ActBytes)
	}
	at := a.Attention
	switch at.Kind {
	case MHA:
		if at.Heads*at.HeadDim != a.D {
			return bad("attention.head_dim", "%d × heads %d ≠ d_model %d (mha)", at.HeadDim, at.Heads, a.D)
		}
	case MLA:
		if at.KVRank < 1 || at.RopeDim < 1 || at.QRank < 0 || at.VHeadDim < 0 {
			return bad("attention", "mla needs kv_rank ≥ 1, rope_dim ≥ 1, q_rank ≥ 0 and v_head_dim ≥ 0")
		}
	default:
		return bad("attention.kind", "%q: want mha or mla", at.Kind)
	}
	f := a.FFN
	switch f.Kind {
	case Dense:
		if f.Hidden < 1 {
			return bad("ffn.hidden", "%d: must be at least 1", f.Hidden)
		}
	case MoE:
		switch {
		case f.Experts < 1 || f.Active < 1 || f.Active > f.Experts:
			return bad("ffn", "moe needs 1 ≤ active (%d) ≤ experts (%d)", f.Active, f.Experts)
		case f.ExpertHidden < 1 || f.Shared < 0:
			return bad("ffn", "moe needs expert_hidden ≥ 1 and shared ≥ 0")
		case f.DenseLayers < 0 || f.DenseLayers > a.Layers:
			return bad("ffn.dense_layers", "%d: want 0..n_layers (%d)", f.DenseLayers, a.Layers)
		case f.DenseLayers > 0 && f.Hidden < 1:
			return bad("ffn.hidden", "%d: dense layers need a width", f.Hidden)
		}
	default:
		return bad("ffn.kind", "%q: want dense or moe", f.Kind)
	}
	c := a.Conn
	if _, err := hyper.ParseKind(string(c.Kind)); err != nil {
		return bad("conn.kind", "%q: want residual, hc, mhc or mhc-lite", c.Kind)
	}
	switch {
	case c.Kind == hyper.Residual && c.Streams != 1:
		return bad("conn.streams", "%d: the residual connection has exactly 1 stream", c.Streams)
	case c.Streams > MaxStreams:
		return bad("conn.streams", "%d: want 1..%d", c.Streams, MaxStreams)
	case c.Kind == hyper.MHCLite && c.Streams > 4:
		return bad("conn.streams", "%d: mhc-lite enumerates n! permutations and supports n ≤ 4", c.Streams)
	case c.Kind == hyper.MHC && c.SinkhornIters < 1:
		return bad("conn.sinkhorn_iters", "%d: must be at least 1", c.SinkhornIters)
	}
	switch c.Contract {
	case "sum", "mean", "learned":
	default:
		return bad("conn.contract", "%q: want sum, mean or learned", c.Contract)
	}
	return nil
}

// FromModel is the Arch of an mhc engine configuration, with batch sequences
// per step (and per micro-batch): fused-QKV multi-head causal attention (the
// engine skips the masked upper triangle), a dense SwiGLU MLP, float32
// activations.
func FromModel(cfg model.Config, batch int) Arch {
	return Arch{
		Vocab: cfg.Vocab, D: cfg.D, Layers: cfg.Layers, Tie: cfg.Tie, Seq: cfg.Seq,
		Batch: batch, MicroBatch: batch, ActBytes: 4,
		Attention: Attention{Kind: MHA, Heads: cfg.Heads, HeadDim: cfg.HeadDim()},
		FFN:       FFN{Kind: Dense, Hidden: cfg.MLPHidden},
		Conn: Conn{Kind: cfg.Kind, Streams: cfg.Streams, Contract: cfg.Contract,
			SinkhornIters: cfg.SinkhornIters},
	}
}

// Engine reports whether a has the mhc engine's layout (what FromModel
// returns): the only layout the CPU trainer runs.
func (a Arch) Engine() bool {
	return a.Attention.Kind == MHA && a.FFN.Kind == Dense && a.ActBytes == 4
}

// paper builds one of the mHC paper's Table 5 models. Table 5 gives C,
// blocks, heads, head dim 128, KV rank 512, RoPE dim 64, 1 leading dense
// block, routed / active (6) / shared (2) experts and their width, vocabulary
// 129280, sequence 4096 and batch. Not in the table, and taken from
// DeepSeek's conventions (docs/PLAN.md): no query compression (DeepSeek-V2-Lite,
// the small MLA model), value head dim = head dim, untied LM head (Table 5's
// vocab params are 2·V·C), and a dense block as wide as the active experts:
// hidden = (active + shared)·expert width (DeepSeek-V2: 12288 = 8·1536).
func paper(name string, d, layers, heads, experts, expertHidden, batch int) Arch {
	return Arch{
		Name: name, Vocab: 129280, D: d, Layers: layers, Seq: 4096, Batch: batch, MicroBatch: 1, ActBytes: 2,
		Attention: Attention{Kind: MLA, Heads: heads, HeadDim: 128, KVRank: 512, RopeDim: 64, VHeadDim: 128},
		FFN: FFN{Kind: MoE, Hidden: 8 * expertHidden, DenseLayers: 1, Experts: experts, Active: 6, Shared: 2,
			ExpertHidden: expertHidden},
		Conn: Conn{Kind: hyper.MHC, Streams: 4, Contract: "sum", SinkhornIters: 20},
	}
}

// Paper holds the mHC paper's Table 5 models (mHC, n = 4), with the
// paper's printed total and active parameter counts in PaperTotal and
// PaperActive.
var Paper = map[string]Arch{
	"3b":  paper("3b", 1280, 12, 16, 64, 896, 320),
	"9b":  paper("9b", 1920, 18, 24, 64, 1280, 512),
	"27b": paper("27b", 2560, 30, 32, 72, 1536, 1280),
}

// PaperTotal and PaperActive are Table 5's total and active parameters.
var (
	PaperTotal  = map[string]float64{"3b": 2.97e9, "9b": 9.18e9, "27b": 27.0e9}
	PaperActive = map[string]float64{"3b": 612e6, "9b": 1.66e9, "27b": 4.14e9}
)

// Lookup returns the named built-in configuration: a paper model (3b, 9b,
// 27b) or an engine preset (tiny, small, base) at its default batch.
func Lookup(name string) (Arch, error) {
	if a, ok := Paper[strings.ToLower(name)]; ok {
		return a, nil
	}
	if p, ok := model.Presets[name]; ok {
		a := FromModel(p.Config, p.Batch)
		a.Name = name
		return a, nil
	}
	return Arch{}, fmt.Errorf("unknown config %q (want %s, a config file or a run directory)", name, strings.Join(Names(), ", "))
}

// Names lists the built-in configurations, paper models first.
func Names() []string {
	var p, e []string
	for k := range Paper {
		p = append(p, k)
	}
	for k := range model.Presets {
		e = append(e, k)
	}
	sort.Slice(p, func(i, j int) bool { return Paper[p[i]].D < Paper[p[j]].D })
	sort.Slice(e, func(i, j int) bool { return model.Presets[e[i]].D < model.Presets[e[j]].D })
	return append(p, e...)
}

// Parse reads a configuration file's bytes: an Arch (the schema of
// docs/PLAN.md, recognised by its "attention" object) or an mhc engine
// config.json (a model.Config, recognised by "mlp_hidden"), which becomes
// FromModel(cfg, batch). Unknown fields are errors; the result is validated.
func Parse(b []byte, batch int) (Arch, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return Arch{}, fmt.Errorf("want a JSON object: %w", err)
	}
	strict := func(v any) error {
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		return d.Decode(v)
	}
	_, isArch := keys["attention"]
	_, isModel := keys["mlp_hidden"]
	switch {
	case isArch:
		var a Arch
		if err := strict(&a); err != nil {
			return Arch{}, err
		}
		return a, a.Validate()
	case isModel:
		var cfg model.Config
		if err := strict(&cfg); err != nil {
			return Arch{}, err
		}
		if err := cfg.Validate(); err != nil {
			return Arch{}, err
		}
		return FromModel(cfg, batch), nil
	}
	return Arch{}, errors.New(`neither a plan config (no "attention") nor an mhc config.json (no "mlp_hidden")`)
}

// Read reads and parses a configuration file (see Parse).
func Read(path string, batch int) (Arch, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Arch{}, err
	}
	a, err := Parse(b, batch)
	if err != nil {
		return Arch{}, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}
