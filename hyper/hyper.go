// Package hyper provides the residual connections of the mhc transformer: the
// plain Pre-Norm residual, Hyper-Connections (HC, arXiv 2409.19606) and
// Manifold-Constrained Hyper-Connections (mHC, arXiv 2512.24880).
//
// A model keeps its residual state as n parallel streams per token: x is
// (N, n, C) row-major (N tokens, n streams, C channels); the plain residual is
// the case n = 1. Every sublayer F (attention or MLP, each with its own
// RMSNorm inside) is wrapped by a Connection:
//
//	u  = Pre(x)              read-in:  (N, n, C) → (N, C)
//	y  = F(u)                the sublayer, untouched by the connection
//	x' = Post(x, y)          write-out and stream mixing: → (N, n, C)
//
// and backward runs PostBackward, F's backward, then PreBackward. Streams
// expands the embedding into n streams at the bottom of the network and
// contracts them back to one at the top.
//
// Between two sublayers l and l+1 a network runs Post_l then Pre_{l+1}, and
// backward PreBackward_{l+1} then PostBackward_l. PostPre and BackwardSeam
// run such a seam as one pass over blocks of tokens, the backward with the
// state gradient updated in place, where both connections support it (mHC,
// mHC-lite and HC pairs; see seam.go), with the separate calls' results bit
// for bit; other pairs fall back to the separate calls.
package hyper

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mhc-go/mhc/param"
)

// Connection is the residual path around one sublayer. It is built for a
// maximum token count and keeps whatever per-token state its backward needs
// (coefficients, norms) from the last Pre/Post call; callers must run
// PostBackward and PreBackward for the same x before the next forward.
//
// All slices are caller-owned: x and xOut are (N, n, C), u, y, du, dy are
// (N, C). Parameter gradients are accumulated (+=) into the param.Tensors the
// connection registered.
type Connection interface {
	// Pre writes the sublayer input u from the state x (overwrites u).
	Pre(x, u []float32, N int)
	// Post writes the next state xOut from x and the sublayer output y
	// (overwrites xOut; xOut must not alias x).
	Post(x, y, xOut []float32, N int)
	// PostBackward takes dxOut = dL/dxOut and OVERWRITES dy = dL/dy and
	// dx = the part of dL/dx that flows through Post.
	PostBackward(x, y, dxOut, dy, dx []float32, N int)
	// PreBackward takes du = dL/du and ACCUMULATES the part of dL/dx that
	// flows through Pre (and through any coefficients computed from x) into dx.
	PreBackward(x, du, dx []float32, N int)
}

// Kind names a connection type.
type Kind string

// The connection kinds.
const (
	Residual Kind = "residual"
	HC       Kind = "hc"
	MHC      Kind = "mhc"
	MHCLite  Kind = "mhc-lite"
)

// Config selects and parameterises the connection used by every sublayer.
// It is embedded in model.Config; the JSON names are config.json's.
type Config struct {
	Kind     Kind   `json:"conn"`     // residual | hc | mhc | mhc-lite
	Streams  int    `json:"streams"`  // n, the expansion rate; 1 for residual
	Contract string `json:"contract"` // how streams merge at the top: "sum", "mean" or "learned"

	// mHC options (ignored by residual and HC).
	SinkhornIters int     `json:"sinkhorn_iters"` // t_max, Sinkhorn-Knopp rounds (paper: 20)
	Sinkhorn      string  `json:"sinkhorn"`       // "paper" (exp, then (column, row) rounds) or "deepseek" (DeepSeek's released code order with eps)
	SinkhornEps   float32 `json:"sinkhorn_eps"`   // eps added to every Sinkhorn denominator (paper: 0; DeepSeek code: 1e-6)
	NormEps       float32 `json:"conn_norm_eps"`  // eps inside the sqrt of the coefficient RMS over the flattened n·C state
	ResBias       float32 `json:"res_bias"`       // init of the H_res bias: b_res = ResBias·I (0 = Megatron's b = 0, uniform H_res)
	// Init is the mHC/mHC-lite connection init scheme: "uniform" (also "",
	// config.json omits it), "identity" or "split"; see Inits. HC keeps
	// its paper init and takes only "uniform".
	Init string `json:"init,omitempty"`

	// Fixed holds maps fixed (paper Table 1 ablation; HC and mHC).
	Fixed Fixed `json:"fixed,omitzero"`
}

// Fixed names the maps held at a fixed value (mHC paper Table 1): H_pre =
// 1/n, H_post = 1, H_res = I (HC: its own static init, see newHC). As text it
// is a comma-separated subset of pre,post,res ("" for none), the form of the
// --fixed flag and of config.json.
type Fixed struct{ Pre, Post, Res bool }

// ParseFixed parses a comma-separated subset of pre,post,res.
func ParseFixed(s string) (Fixed, error) {
	var f Fixed
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	for _, m := range strings.Split(s, ",") {
		switch strings.TrimSpace(m) {
		case "pre":
			f.Pre = true
		case "post":
			f.Post = true
		case "res":
			f.Res = true
		default:
			return Fixed{}, &FieldError{"fixed", fmt.Sprintf("%q: want a comma-separated subset of pre,post,res", s)}
		}
	}
	return f, nil
}

// String is the canonical text: the held maps in the order pre,post,res.
func (f Fixed) String() string {
	var parts []string
	for _, m := range []struct {
		on   bool
		name string
	}{{f.Pre, "pre"}, {f.Post, "post"}, {f.Res, "res"}} {
		if m.on {
			parts = append(parts, m.name)
		}
	}
	return strings.Join(parts, ",")
}

// MarshalText implements encoding.TextMarshaler.
func (f Fixed) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (and so flag.TextVar).
func (f *Fixed) UnmarshalText(b []byte) error {
	v, err := ParseFixed(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// FieldError reports an invalid configuration value. Field is its name in
// config.json, so that a command line can name the flag that set it.
type FieldError struct{ Field, Problem string }

func (e *FieldError) Error() string { return "hyper: " + e.Field + " " + e.Problem }

// ResMixer is implemented by connections that mix streams with an n×n
// matrix H_res (HC, mHC). It feeds the Amax gain instruments.
type ResMixer interface {
	// MeanRes OVERWRITES dst (n·n) with H_res of the last forward averaged
	// over its N tokens, in the mHC paper's orientation: dst[i·n+j] is the
	// weight of input stream j in output stream i (row sums = forward gain,
	// column sums = backward gain).
	MeanRes(dst []float64, N int)
}

// ParseKind validates a connection name.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(s)); k {
	case Residual, HC, MHC, MHCLite:
		return k, nil
	}
	return "", fmt.Errorf("hyper: unknown connection %q (want residual, hc, mhc or mhc-lite)", s)
}

// Validate checks the configuration. Errors are *FieldError.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{field, fmt.Sprintf(format, args...)}
	}
	switch c.Kind { // exactly as written (ParseKind accepts any case for flags)
	case Residual, HC, MHC, MHCLite:
	default:
		return bad("conn", "%q: want residual, hc, mhc or mhc-lite", c.Kind)
	}
	if c.Kind == Residual && c.Streams != 1 {
		return bad("streams", "%d: the residual connection has exactly 1 stream", c.Streams)
	}
	if c.Streams < 1 || c.Streams > 16 {
		return bad("streams", "%d: want 1..16", c.Streams)
	}
	if c.Kind == MHCLite && c.Streams > 4 {
		return bad("streams", "%d: mhc-lite enumerates n! permutations and supports n ≤ 4", c.Streams)
	}
	if c.Kind == MHC || c.Kind == MHCLite {
		switch {
		case c.SinkhornIters < 1 && c.Kind == MHC:
			return bad("sinkhorn_iters", "%d: must be at least 1", c.SinkhornIters)
		case c.Sinkhorn != "paper" && c.Sinkhorn != "deepseek":
			return bad("sinkhorn", "%q: want paper or deepseek", c.Sinkhorn)
		case c.SinkhornEps < 0:
			return bad("sinkhorn_eps", "%v: must not be negative", c.SinkhornEps)
		case !(c.NormEps > 0):
			return bad("conn_norm_eps", "%v: must be positive", c.NormEps)
		case c.ResBias < 0 || c.ResBias > 8:
			return bad("res_bias", "%v: want 0..8 (larger saturates Sinkhorn and kills the H_res gradient)", c.ResBias)
		}
	}
	switch init := c.InitScheme(); {
	case !slices.Contains(Inits, init):
		return bad("init", "%q: want uniform, identity or split", c.Init)
	case init != InitUniform && c.Kind != MHC && c.Kind != MHCLite:
		return bad("init", "%q: only mhc and mhc-lite have connection init schemes (%s keeps its own)", c.Init, c.Kind)
	}
	switch c.Contract {
	case "sum", "mean", "learned":
	default:
		return bad("contract", "%q: want sum, mean or learned", c.Contract)
	}
	return nil
}

// The connection init schemes of mHC and mHC-lite (Config.Init). Sublayer l's
// "home" stream is l mod n.
//
//	uniform   φ ~ N(0, 2/(nC+p)), α = 0.01, b = 0 except b_res = ResBias·I:
//	          Megatron's init; with ResBias 0, H_pre = 1/2, H_post = 1 and
//	          H_res uniform (every stream reads the stream mean)
//	identity  step 0 is a plain residual with H_res ≈ I: φ = 0, α = 0.01,
//	          b_pre = +3 on the home stream and −3 elsewhere, b_post = 0,
//	          b_res = 6·I − 3 (lite: +3 on the identity permutation, −3 on
//	          the others); reported for the paper's final version, unverified
//	split     uniform, but the write-out is spread over the streams so that
//	          they differ from step 0: H_post_i = 1 + s·(2i − (n−1))/(n−1)
//	          with s = 0.5 (b_post_i = logit(H_post_i/2)), the exact
//	          symmetry break that made upcycled mixing learn (docs/RESULTS.md)
const (
	InitUniform  = "uniform"
	InitIdentity = "identity"
	InitSplit    = "split"
)

// Inits lists the connection init schemes.
var Inits = []string{InitUniform, InitIdentity, InitSplit}

// InitScheme is Init with the empty default resolved.
func (c Config) InitScheme() string {
	if c.Init == "" {
		return InitUniform
	}
	return c.Init
}

// Builder creates the connections of one model. Sublayers are numbered
// 0..2L-1 in forward order (attention of block 0, MLP of block 0, ...).
type Builder struct {
	Cfg    Config
	C      int // model width
	MaxN   int // maximum tokens per forward
	Store  *param.Store
	Layers int // sublayer count 2L, for init schemes that depend on depth
}

// New returns the connection for sublayer index l, registering its parameters
// in b.Store under the given name prefix (e.g. "blocks.3.attn_conn").
func (b Builder) New(prefix string, l int) (Connection, error) {
	switch b.Cfg.Kind {
	case Residual:
		return residual{c: b.C}, nil
	case HC:
		return newHC(b, prefix, l)
	case MHC, MHCLite:
		c, err := newMHC(b, prefix, l, b.Cfg.Kind == MHCLite)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("connection %q is not implemented", b.Cfg.Kind)
}
