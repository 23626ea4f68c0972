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

	"github.com/mhc-go/mhc/hyper"
)

// Config describes the architecture. It is saved as config.json next to
// every checkpoint.
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

	Conn          hyper.Kind `json:"conn"`
	Streams       int        `json:"streams"`
	Contract      string     `json:"contract"`
	SinkhornIters int        `json:"sinkhorn_iters"`
	Sinkhorn      string     `json:"sinkhorn"`
	SinkhornEps   float32    `json:"sinkhorn_eps"`
	ConnNormEps   float32    `json:"conn_norm_eps"`
	ResBias       float32    `json:"res_bias"`
	Fixed         string     `json:"fixed,omitempty"`
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
		RopeTheta: 10000, NormEps: 1e-5, InitStd: 0.02,
		Conn: hyper.Residual, Streams: 1, Contract: "sum",
		SinkhornIters: 20, Sinkhorn: "paper", ConnNormEps: 1e-6,
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

// ConnConfig is the connection configuration of the model.
func (c Config) ConnConfig() hyper.Config {
	return hyper.Config{Kind: c.Conn, Streams: c.Streams, Contract: c.Contract,
		SinkhornIters: c.SinkhornIters, Sinkhorn: c.Sinkhorn, SinkhornEps: c.SinkhornEps,
		NormEps: c.ConnNormEps, ResBias: c.ResBias, Fixed: c.Fixed}
}

// Validate reports the first problem with the configuration, naming the flag.
func (c Config) Validate() error {
	switch {
	case c.Vocab < 2:
		return fmt.Errorf("vocabulary size %d: need at least 2", c.Vocab)
	case c.D < 2:
		return fmt.Errorf("--d-model %d: must be at least 2", c.D)
	case c.Layers < 1:
		return fmt.Errorf("--layers %d: must be at least 1", c.Layers)
	case c.Heads < 1:
		return fmt.Errorf("--heads %d: must be at least 1", c.Heads)
	case c.D%c.Heads != 0:
		return fmt.Errorf("--d-model %d is not divisible by --heads %d", c.D, c.Heads)
	case c.HeadDim()%2 != 0:
		return fmt.Errorf("head dimension %d (--d-model/--heads) must be even for RoPE", c.HeadDim())
	case c.MLPHidden < 1:
		return fmt.Errorf("--mlp-hidden %d: must be at least 1", c.MLPHidden)
	case c.Seq < 2:
		return fmt.Errorf("--seq %d: must be at least 2", c.Seq)
	case !(c.RopeTheta > 0):
		return fmt.Errorf("rope theta %v: must be positive", c.RopeTheta)
	case !(c.NormEps > 0):
		return fmt.Errorf("norm eps %v: must be positive", c.NormEps)
	}
	return c.ConnConfig().Validate()
}

// FLOPsPerToken estimates training FLOPs per token (forward + backward):
// 6 per weight-matrix parameter plus attention's 6·L·T·C (QKᵀ and PV, full
// T×T as computed, three passes).
func (c Config) FLOPsPerToken() float64 {
	d, h, L := float64(c.D), float64(c.MLPHidden), float64(c.Layers)
	matrix := L*(4*d*d+3*d*h) + float64(c.Vocab)*d
	attn := 2 * 2 * L * float64(c.Seq) * d // forward: QKᵀ and PV per token
	return 6*matrix + 3*attn
}

// outStd is the init std of the projections that write into the residual
// stream (attention out, MLP down): InitStd/sqrt(2·Layers), as in GPT-2.
func (c Config) outStd() float32 {
	return c.InitStd / float32(math.Sqrt(2*float64(c.Layers)))
}
