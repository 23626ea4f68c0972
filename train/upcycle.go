package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// UpcycleFile is the provenance record Upcycle writes next to the checkpoint.
const UpcycleFile = "upcycle.json"

// ErrNotResidual: the checkpoint given to Upcycle does not use the plain
// residual connection.
var ErrNotResidual = errors.New("is not a residual checkpoint")

// UpcycleModel returns a new model (for batches of up to maxB sequences)
// with connection conn (Kind, Streams, Contract, ResBias, Sinkhorn options)
// that computes the same logits as the residual model src, up to float32
// rounding for the symmetric and split inits (see hyper.Upcycle). Every
// tensor of src is copied by name — embedding, sublayer weights and norms,
// final norm, LM head — and the connection tensors are set by u.SetConn and
// u.SetHead. When u.EmbedScale is not 1 (HC with a sum contraction) the
// embedding is multiplied by it; with tied embeddings the LM head is that
// embedding, so norm_f.weight is divided by it and the logits are unchanged.
// Every other field of the target config is src's; a residual target keeps
// src's connection config entirely (a copy).
func UpcycleModel(src *model.Model, conn hyper.Config, u hyper.Upcycle, maxB int) (*model.Model, error) {
	if src.Cfg.Kind != hyper.Residual {
		return nil, fmt.Errorf("train: upcycle: connection %s: %w", src.Cfg.Kind, ErrNotResidual)
	}
	cfg := src.Cfg
	if conn.Kind == hyper.Residual { // a restart: the source's connection as it is
		conn = src.Cfg.Config
	}
	cfg.Config = conn
	if err := u.Validate(cfg.Config); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := model.New(cfg, maxB)
	if err != nil {
		return nil, err
	}
	for _, t := range src.Params.Tensors {
		dst := m.Params.Get(t.Name)
		if dst == nil || dst.Numel() != t.Numel() {
			return nil, fmt.Errorf("train: upcycle: tensor %s has no counterpart in the %s model", t.Name, cfg.Kind)
		}
		copy(dst.Data, t.Data)
	}
	for l := range 2 * cfg.Layers {
		block, kind := model.Sublayer(l)
		if err := u.SetConn(cfg.Config, m.Params, fmt.Sprintf("blocks.%d.%s_conn", block, kind), l); err != nil {
			return nil, err
		}
	}
	if err := u.SetHead(cfg.Config, m.Params); err != nil {
		return nil, err
	}
	if e := u.EmbedScale(cfg.Config); e != 1 {
		scale := func(name string, f float32) {
			for i := range m.Params.Get(name).Data {
				m.Params.Get(name).Data[i] *= f
			}
		}
		scale("wte.weight", e)
		if cfg.Tie { // the LM head is wte: undo e on the logits
			scale("norm_f.weight", 1/e)
		}
	}
	return m, nil
}

// CompareLogits runs a and b on the same windows of random tokens (windows
// × Seq, drawn from seed; both models need MaxBatch ≥ 1 and the same Seq and
// Vocab) and returns the largest |Δlogit| and the largest |logit| of a.
func CompareLogits(a, b *model.Model, windows int, seed uint64) (maxDiff, maxAbs float64) {
	T, V := a.Cfg.Seq, a.Cfg.Vocab
	rng := rand.New(rand.NewPCG(seed, 0x7570))
	in := make([]int32, T)
	for range windows {
		for i := range in {
			in[i] = int32(rng.IntN(V))
		}
		a.Forward(in, 1, T)
		b.Forward(in, 1, T)
		la, lb := a.Logits(), b.Logits()
		for i := range la {
			maxDiff = math.Max(maxDiff, math.Abs(float64(la[i])-float64(lb[i])))
			maxAbs = math.Max(maxAbs, math.Abs(float64(la[i])))
		}
	}
	return maxDiff, maxAbs
}

// UpcycleSpec describes a conversion of a residual run into a run with
// another connection.
type UpcycleSpec struct {
	From string // source run directory: a residual checkpoint
	To   string // new run directory; it must not exist
	// Conn is the target connection. Kind residual is allowed: a restart
	// with the same weights and a fresh optimizer and schedule (the control
	// for comparisons). Zero Sinkhorn fields take the source's.
	Conn   hyper.Config
	Init   hyper.Upcycle
	Steps  int     // optimizer steps of the new run (0: the source run's)
	LR     float64 // peak learning rate (0: the source run's)
	Warmup int     // warmup steps; negative: the source run's (the zero value means none)
}

// UpcycleRecord is upcycle.json: where an upcycled run came from and how
// close its function was to the source at step 0.
type UpcycleRecord struct {
	From         string  `json:"from"`
	FromStep     int     `json:"from_step"`
	FromTokens   int64   `json:"from_tokens"`
	Conn         string  `json:"conn"`
	Streams      int     `json:"streams"`
	Contract     string  `json:"contract"`
	Init         string  `json:"init"`
	Split        float64 `json:"split,omitempty"`
	Noise        float64 `json:"noise,omitempty"`
	Seed         uint64  `json:"seed,omitempty"`
	EmbedScale   float32 `json:"embed_scale"`
	CheckTokens  int     `json:"check_tokens"`       // random tokens the logits were compared on
	MaxLogitDiff float64 `json:"max_abs_logit_diff"` // largest |Δlogit| against the source
	MaxLogit     float64 `json:"max_abs_logit"`      // largest |logit| of the source there
}

// upcycleCheckWindows is the number of random windows Upcycle compares the
// two models on.
const upcycleCheckWindows = 4

// Upcycle converts the residual run in spec.From into a new run directory
// spec.To holding a checkpoint with connection spec.Conn whose logits equal
// the source's (UpcycleModel; exact up to float32 rounding for the symmetric
// and split inits). It checks this on random tokens and fails if an exact
// init differs by more than 1e-5·max(1, max|logit|). The new run:
//
//   - starts at step 0 with fresh (zero) AdamW moments and a fresh
//     learning-rate schedule (warmup and decay over its own Steps);
//   - keeps the source's options (batch, lr, schedule, ...) except Steps,
//     LR and Warmup when given, its tokenizer and data spec, and its data
//     loader position, so it continues on windows the source has not drawn;
//   - counts tokens_seen on from the source's, so metrics line up with a
//     from-scratch run at equal total tokens.
//
// Continue it with Resume (mhc train --resume). upcycle.json records the
// provenance and the measured difference.
func Upcycle(spec UpcycleSpec) (*UpcycleRecord, error) {
	if spec.To == "" {
		return nil, errors.New("train: upcycle: no output directory")
	}
	if _, err := os.Stat(spec.To); err == nil {
		return nil, fmt.Errorf("train: upcycle: output %s already exists", spec.To)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("train: upcycle: %w", err)
	}
	st, err := ReadState(spec.From)
	if err != nil {
		return nil, err
	}
	src, _, err := openModel(spec.From, st, 1)
	if err != nil {
		return nil, err
	}
	if src.Cfg.Kind != hyper.Residual {
		return nil, fmt.Errorf("train: upcycle: %s (connection %s) %w", spec.From, src.Cfg.Kind, ErrNotResidual)
	}
	conn := spec.Conn
	if conn.Sinkhorn == "" {
		conn.Sinkhorn, conn.SinkhornIters, conn.SinkhornEps = src.Cfg.Sinkhorn, src.Cfg.SinkhornIters, src.Cfg.SinkhornEps
	}
	if conn.NormEps == 0 {
		conn.NormEps = src.Cfg.Config.NormEps
	}
	if conn.Contract == "" {
		conn.Contract = "mean"
	}
	m, err := UpcycleModel(src, conn, spec.Init, 1)
	if err != nil {
		return nil, err
	}
	opts := st.Options
	if spec.Steps > 0 {
		opts.Steps = spec.Steps
	}
	if spec.LR > 0 {
		opts.LR = spec.LR
	}
	if spec.Warmup >= 0 {
		opts.Warmup = spec.Warmup
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	diff, maxAbs := CompareLogits(src, m, upcycleCheckWindows, 1)
	u := spec.Init
	if u.Init != hyper.UpcycleNoise && diff > 1e-5*math.Max(1, maxAbs) {
		return nil, fmt.Errorf("train: upcycle: the %s model differs from the source by %.3g in the logits (max |logit| %.3g); this is a bug", m.Cfg.Kind, diff, maxAbs)
	}
	rec := &UpcycleRecord{From: spec.From, FromStep: st.Step, FromTokens: st.TokensSeen,
		Conn: string(m.Cfg.Kind), Streams: m.Cfg.Streams, Contract: m.Cfg.Contract, Init: string(u.Init),
		EmbedScale: u.EmbedScale(m.Cfg.Config), CheckTokens: upcycleCheckWindows * m.Cfg.Seq, MaxLogitDiff: diff, MaxLogit: maxAbs}
	switch {
	case m.Cfg.Kind == hyper.Residual:
		rec.Init = "restart"
	case u.Init == hyper.UpcycleSplit:
		rec.Split = u.Split
	case u.Init == hyper.UpcycleNoise:
		rec.Noise, rec.Seed = u.Noise, u.Seed
	}
	if abs, err := filepath.Abs(spec.From); err == nil {
		rec.From = abs
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(spec.To)), 0o755); err != nil {
		return nil, fmt.Errorf("train: upcycle: %w", err)
	}
	if err := os.Mkdir(spec.To, 0o755); err != nil {
		return nil, fmt.Errorf("train: upcycle: %w", err)
	}
	opt := NewAdamW(m.Params, float32(opts.Beta1), float32(opts.Beta2), float32(opts.Eps), float32(opts.WeightDecay))
	nst := State{Step: 0, Tokenizer: st.Tokenizer, Data: st.Data, Options: opts, Loader: st.Loader, TokensSeen: st.TokensSeen}
	if err := SaveCheckpoint(spec.To, m, opt, nst); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(spec.To, UpcycleFile), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("train: upcycle: %w", err)
	}
	return rec, nil
}
