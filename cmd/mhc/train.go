package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mhc-go/mhc/cost"
	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/dist"
	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

// archFlags are the flags that change the architecture: refused with --resume.
var archFlags = []string{"preset", "d-model", "layers", "heads", "seq", "mlp-hidden", "tie", "tokenizer",
	"conn", "streams", "contract", "sinkhorn-iters", "sinkhorn", "sinkhorn-eps", "res-bias", "fixed",
	"init", "base-init", "recompute", "recompute-scope"}

type trainFlags struct {
	preset, out, resume, conn, sinkhorn string
	recompute                           string
	sinkhornEps, resBias                float64
	d, layers, heads, seq, mlpHidden    int
	noProgress                          bool
	sampleTokens                        int
	spec                                train.Spec
	dist                                string
	distTimeout                         time.Duration
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	var f trainFlags
	d, o := train.DefaultOptions(), &f.spec.Options
	c := &f.spec.Config
	fs.StringVar(&f.preset, "preset", "tiny", "model size: tiny, small or base")
	fs.StringVar(&f.spec.Data, "data", data.DefaultCorpus, "corpus: gostd (Go standard library sources), english (mhc data fetch english), a file or a directory")
	fs.StringVar(&f.spec.Tokenizer, "tokenizer", "byte", "byte (vocab 256) or gpt2 (BPE, vocab 50257)")
	fs.StringVar(&f.out, "out", "", "run directory for checkpoints and metrics (default runs/PRESET-CONN, with -2, -3, ... appended if taken)")
	fs.StringVar(&f.resume, "resume", "", "continue the run in this directory exactly where it stopped")
	fs.IntVar(&f.d, "d-model", 0, "override the model width")
	fs.IntVar(&f.layers, "layers", 0, "override the number of blocks")
	fs.IntVar(&f.heads, "heads", 0, "override the number of attention heads")
	fs.IntVar(&f.seq, "seq", 0, "override the context length")
	fs.IntVar(&f.mlpHidden, "mlp-hidden", 0, "override the SwiGLU hidden width (default 8d/3 rounded up to 64)")
	fs.BoolVar(&c.Tie, "tie", false, "tie the LM head to the token embedding")
	fs.StringVar(&f.conn, "conn", "residual", "residual connection: residual, hc, mhc or mhc-lite")
	fs.IntVar(&c.Streams, "streams", 0, "number of residual streams n (default 1 for residual, 4 otherwise)")
	fs.StringVar(&c.Contract, "contract", "sum", "how streams merge before the final norm: sum, mean or learned")
	fs.IntVar(&c.SinkhornIters, "sinkhorn-iters", 20, "mhc: Sinkhorn-Knopp iterations t_max")
	fs.StringVar(&f.sinkhorn, "sinkhorn", "paper", "mhc: Sinkhorn order: paper (exp, then column/row rounds) or deepseek (DeepSeek's released code, eps in every denominator)")
	fs.Float64Var(&f.sinkhornEps, "sinkhorn-eps", -1, "mhc: eps added to Sinkhorn denominators (default 0 for paper, 1e-6 for deepseek)")
	fs.Float64Var(&f.resBias, "res-bias", 0, "mhc: init H_res bias as res-bias·I (0 = uniform H_res at init, Megatron's choice; ≤ 8)")
	fs.TextVar(&c.Fixed, "fixed", hyper.Fixed{}, "hold maps fixed (paper Table 1 ablation): comma list of pre (=1/n), post (=1), res (=I)")
	fs.StringVar(&c.Init, "init", hyper.InitUniform, "mhc/mhc-lite connection init: uniform (b = 0, Megatron), identity (step 0 a plain residual, H_res ≈ I) or split (H_post spread over the streams); see docs/FORMAT.md")
	fs.StringVar(&c.BaseInit, "base-init", model.DefaultBaseInit, "init of the non-connection weights: neox (small init + wang init, the default: the strongest in docs/RESULTS.md), gpt2 (N(0, 0.02), out projections /√(2L)) or torch (PyTorch defaults); see docs/FORMAT.md")
	fs.StringVar(&f.recompute, "recompute", "0", "keep the residual state only every N sublayers and recompute the rest during backward (mHC paper §4.3.2; less memory, bit-identical gradients): N, auto (the paper's L_r*, as mhc plan prints) or 0 (off)")
	fs.StringVar(&c.RecomputeScope, "recompute-scope", model.RecomputeStreams, "with --recompute: streams (the paper's: rebuild only the residual states from the kept sublayer outputs, a few % of time) or all (also the sublayers' activations: least memory, ~1 more forward)")
	optionFlags(fs, o, d)
	fs.Uint64Var(&o.Seed, "seed", d.Seed, "seed for initialisation and data order")
	fs.IntVar(&o.EvalEvery, "eval-every", d.EvalEvery, "validate every N steps (0 = never)")
	fs.IntVar(&o.CkptEvery, "ckpt-every", d.CkptEvery, "checkpoint every N steps (and always at the end)")
	fs.IntVar(&f.sampleTokens, "sample-tokens", 240, "tokens to sample at the end (0 = none)")
	fs.BoolVar(&f.noProgress, "no-progress", false, "plain log lines instead of a progress bar (automatic when stderr is not a terminal)")
	fs.StringVar(&f.dist, "dist", "auto", "data-parallel training: mpi (one process per rank, under mpirun), none, or auto (mpi when mpirun started more than one rank)")
	fs.DurationVar(&f.distTimeout, "dist-timeout", 5*time.Minute, "with --dist mpi: abort the job when a collective takes longer (a rank died or hangs)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	set := setFlags(fs)
	o.Eps = d.Eps

	group, err := f.openGroup()
	if err != nil {
		return err
	}
	if group != nil {
		defer group.Close()
		f.spec.Group = group
		if group.Rank() != 0 { // rank 0 alone reports
			stderr, stdout, f.sampleTokens = io.Discard, io.Discard, 0
		}
	}
	r, err := f.open(set)
	if err != nil {
		return flagErr(fs, err)
	}
	defer r.Close()
	dt, m, opts := r.Data(), r.Model(), r.Options()
	cfg := m.Cfg
	fmt.Fprintf(stderr, "data: %s, %s tokenizer: %d train / %d val tokens (%.1fs)\n",
		dt.Corpus.Name, dt.Tokenizer.Name(), len(dt.Train), len(dt.Val), dt.Took.Seconds())
	peak, flopsTok := kernels.PeakGFLOPS(), cfg.FLOPsPerToken()
	name := f.preset
	if r.Resumed() {
		name = "resumed"
	}
	recompute := ""
	if cfg.Recompute > 0 {
		scope := cfg.RecomputeScope
		if scope == "" {
			scope = model.RecomputeAll
		}
		recompute = fmt.Sprintf(", recompute blocks of %d sublayers (%s)", cfg.Recompute, scope)
	}
	fmt.Fprintf(stderr, "model: %s d=%d L=%d H=%d T=%d h=%d, conn %s n=%d, %.2fM params, %.1f MFLOP/token; %d accum × batch %d%s; kernels %s, peak %.0f GFLOP/s\n",
		name, cfg.D, cfg.Layers, cfg.Heads, cfg.Seq, cfg.MLPHidden, cfg.Kind, cfg.Streams,
		float64(m.NumParams())/1e6, flopsTok/1e6, opts.Accum, opts.Batch, recompute, kernels.Path(), peak)
	if group != nil {
		fmt.Fprintf(stderr, "data-parallel: %d ranks over MPI, global batch %d × %d × %d sequences\n",
			group.Size(), group.Size(), opts.Accum, opts.Batch)
	}
	if r.Resumed() {
		fmt.Fprintf(stderr, "resuming %s at step %d of %d\n", r.Dir(), r.Step(), opts.Steps)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A progress bar only makes sense on a terminal; logs and pipes get plain lines.
	plain := f.noProgress || stderr != io.Writer(os.Stderr) || !term.IsTerminal(int(os.Stderr.Fd()))
	prog := newProgress(stderr, opts.Steps, r.Step(), plain, peak, flopsTok)
	err = r.Train(ctx, train.Hooks{OnStep: prog.step, OnEval: prog.eval, OnGains: prog.gains})
	prog.finish()
	if errors.Is(err, context.Canceled) {
		return errInterrupted
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "checkpoint: %s (step %d)\n", r.Dir(), r.Step())
	if f.sampleTokens > 0 {
		printSamples(stdout, m, dt.Tokenizer, dt.Train, f.sampleTokens, opts.Seed)
	}
	return nil
}

// open starts the run the flags describe, or resumes one.
func (f *trainFlags) open(set map[string]bool) (*train.Run, error) {
	if f.resume != "" {
		for _, name := range archFlags {
			if set[name] {
				return nil, bad("--%s cannot be combined with --resume (the architecture comes from the checkpoint)", name)
			}
		}
		if set["out"] && filepath.Clean(f.out) != filepath.Clean(f.resume) {
			return nil, bad("--out %s differs from --resume %s: a resumed run continues in its own directory", f.out, f.resume)
		}
		var c train.Continue
		if set["steps"] {
			c.Steps = f.spec.Options.Steps
		}
		if set["data"] {
			c.Data = f.spec.Data
		}
		c.Group = f.spec.Group
		r, err := train.Resume(f.resume, c)
		if errors.Is(err, train.ErrRunDone) {
			return nil, bad("--resume: %v; pass --steps N with a larger N to continue", err)
		}
		return r, err
	}
	p, err := model.LookupPreset(f.preset)
	if err != nil {
		return nil, bad("--preset: %v", err)
	}
	if err := f.apply(p, set); err != nil {
		return nil, err
	}
	s := &f.spec
	if f.out == "" { // never overwrite a run
		f.out = train.UnusedDir(filepath.Join("runs", f.preset+"-"+string(s.Config.Kind)))
	}
	s.Dir = f.out
	r, err := train.Start(*s)
	if errors.Is(err, train.ErrRunExists) {
		return nil, bad("--out %s already holds a run: continue it with --resume %s, or choose another --out", f.out, f.out)
	}
	return r, err
}

// openGroup joins MPI when --dist asks for it (or, with auto, when mpirun
// started more than one rank); nil for a single process.
func (f *trainFlags) openGroup() (*dist.MPI, error) {
	ranks := dist.Launched()
	switch f.dist {
	case "none":
		if ranks > 1 {
			return nil, bad("--dist none: started by an MPI launcher with %d ranks; each would train alone into the same directory", ranks)
		}
		return nil, nil
	case "auto":
		if ranks <= 1 {
			return nil, nil
		}
	case "mpi":
	default:
		return nil, bad("--dist %q: want mpi, none or auto", f.dist)
	}
	if f.distTimeout < 0 {
		return nil, bad("--dist-timeout %v: must not be negative", f.distTimeout)
	}
	g, err := dist.Open(f.distTimeout)
	if err != nil {
		return nil, badErr(err)
	}
	return g, nil
}

// optionFlags binds the optimisation flags that train and compare share to
// o, with d's defaults (batch 0: the preset's).
func optionFlags(fs *flag.FlagSet, o *train.Options, d train.Options) {
	fs.IntVar(&o.Steps, "steps", d.Steps, "optimizer steps")
	fs.IntVar(&o.Batch, "batch", 0, "sequences per micro-batch (default: the preset's)")
	fs.IntVar(&o.Accum, "accum", d.Accum, "micro-batches per optimizer step (gradient accumulation)")
	fs.Float64Var(&o.LR, "lr", d.LR, "peak learning rate")
	fs.IntVar(&o.Warmup, "warmup", d.Warmup, "linear warmup steps")
	fs.TextVar(&o.Schedule, "schedule", d.Schedule, "decay after warmup: step (mHC paper: ×0.316 at 80%, ×0.1 at 90%), cosine or constant")
	fs.Float64Var(&o.WeightDecay, "weight-decay", d.WeightDecay, "AdamW weight decay (matrices only)")
	fs.Float64Var(&o.Beta1, "beta1", d.Beta1, "AdamW β1")
	fs.Float64Var(&o.Beta2, "beta2", d.Beta2, "AdamW β2")
	fs.Float64Var(&o.Clip, "clip", d.Clip, "global gradient-norm clip (0 = off)")
	fs.IntVar(&o.EvalWindows, "eval-windows", d.EvalWindows, "validation windows per evaluation")
	fs.IntVar(&o.GainsEvery, "gains-every", d.GainsEvery, "measure the Amax gains of H_res on a fixed probe batch every N steps (hc/mhc; 0 = never)")
	fs.IntVar(&o.MaxBadSteps, "max-bad-steps", d.MaxBadSteps, "consecutive steps with a non-finite loss or gradient to skip (no update) before stopping")
}

// apply fills the spec's architecture from preset p and the overrides.
func (f *trainFlags) apply(p model.Preset, set map[string]bool) error {
	cfg := &f.spec.Config
	flagged := *cfg // the connection fields bound to flags
	*cfg = p.Config
	if f.spec.Options.Batch == 0 {
		f.spec.Options.Batch = p.Batch
	}
	if set["d-model"] {
		cfg.D = f.d
		if !set["mlp-hidden"] {
			cfg.MLPHidden = model.DefaultMLPHidden(f.d)
		}
	}
	if set["layers"] {
		cfg.Layers = f.layers
	}
	if set["heads"] {
		cfg.Heads = f.heads
	}
	if set["seq"] {
		cfg.Seq = f.seq
	}
	if set["mlp-hidden"] {
		cfg.MLPHidden = f.mlpHidden
	}
	k, err := hyper.ParseKind(f.conn)
	if err != nil {
		return bad("--conn: %v", err)
	}
	cfg.Tie, cfg.Kind, cfg.Contract, cfg.Fixed = flagged.Tie, k, flagged.Contract, flagged.Fixed
	cfg.SinkhornIters, cfg.Sinkhorn = flagged.SinkhornIters, f.sinkhorn
	cfg.Streams = flagged.Streams
	if !set["streams"] {
		cfg.Streams = 4
		if k == hyper.Residual {
			cfg.Streams = 1
		}
	}
	cfg.ResBias = float32(f.resBias)
	cfg.Init, cfg.BaseInit, cfg.RecomputeScope = flagged.Init, flagged.BaseInit, flagged.RecomputeScope
	if cfg.Init == hyper.InitUniform {
		cfg.Init = "" // the default: config.json stays as before
	}
	if cfg.BaseInit == model.BaseGPT2 {
		cfg.BaseInit = ""
	}
	cfg.SinkhornEps = float32(f.sinkhornEps)
	if f.sinkhornEps < 0 {
		cfg.SinkhornEps = 0
		if f.sinkhorn == "deepseek" {
			cfg.SinkhornEps = 1e-6
		}
	}
	return f.applyRecompute(cfg)
}

// applyRecompute sets cfg.Recompute from --recompute (see recomputeBlock)
// and drops the scope when recomputation is off.
func (f *trainFlags) applyRecompute(cfg *model.Config) error {
	rc, err := recomputeBlock(f.recompute, *cfg)
	if err != nil {
		return err
	}
	cfg.Recompute = rc
	if rc == 0 {
		cfg.RecomputeScope = "" // config.json stays as before
	}
	return nil
}

// recomputeBlock parses a --recompute value for cfg: a block of N
// sublayers, 0 for none, or auto: cost.OptimalRecompute's L_r* for the
// model's streams and sublayers (≈ √(nL/(n+2)) with L = 2·layers).
func recomputeBlock(s string, cfg model.Config) (int, error) {
	if s == "auto" {
		return cost.OptimalRecompute(cfg.Streams, []int{2 * cfg.Layers}).Lr, nil
	}
	rc, err := strconv.Atoi(s)
	if err != nil || rc < 0 {
		return 0, bad("--recompute %q: want a block size in sublayers (0 = off) or auto", s)
	}
	return rc, nil
}

// progress renders the training progress bar (or plain lines).
type progress struct {
	bar        *progressbar.ProgressBar
	w          io.Writer
	plain      bool
	total      int
	peak, fpt  float64 // FMA peak GFLOP/s; training FLOPs per token
	lastVal    float64
	amax       string
	emaTok     float64
	lastTokens int64
	lastLogged time.Time
}

func newProgress(w io.Writer, total, done int, plain bool, peak, flopsPerToken float64) *progress {
	p := &progress{w: w, plain: plain, total: total, peak: peak, fpt: flopsPerToken, lastVal: -1}
	if !plain {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(20),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(250*time.Millisecond),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionClearOnFinish(),
		)
		_ = p.bar.Set(done)
	}
	return p
}

func (p *progress) step(r train.StepRecord) {
	now := time.Now()
	if !p.lastLogged.IsZero() { // wall-clock throughput, smoothed
		tps := float64(r.Tokens-p.lastTokens) / now.Sub(p.lastLogged).Seconds()
		if p.emaTok == 0 {
			p.emaTok = tps
		} else {
			p.emaTok = 0.9*p.emaTok + 0.1*tps
		}
	}
	p.lastLogged, p.lastTokens = now, r.Tokens
	desc := fmt.Sprintf("loss %.4f", r.Loss)
	if p.lastVal >= 0 {
		desc += fmt.Sprintf(" val %.4f", p.lastVal)
	}
	desc += p.amax
	if p.emaTok > 0 {
		gf := p.emaTok * p.fpt / 1e9
		desc += fmt.Sprintf(" | %.0f tok/s %.0f GFLOP/s MFU %.0f%%", p.emaTok, gf, 100*gf/p.peak)
	}
	if p.plain {
		if r.Step%10 == 0 || r.Step == p.total {
			fmt.Fprintf(p.w, "step %d/%d %s lr %.2e gnorm %.3f\n", r.Step, p.total, desc, r.LR, r.GradNorm)
		}
		return
	}
	p.bar.Describe(desc)
	_ = p.bar.Add(1)
}

func (p *progress) eval(e train.EvalRecord) {
	p.lastVal = e.ValLoss
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintf(p.w, "step %d: val loss %.4f (%.3f bits/token)\n", e.Step, e.ValLoss, e.ValLoss/math.Ln2)
}

func (p *progress) gains(g train.Gains) {
	p.amax = fmt.Sprintf(" | Amax comp fwd %.3f bwd %.3f", g.MaxCompFwd, g.MaxCompBwd)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// printSamples writes a few sampled continuations of prompts drawn from the
// start of training documents. It reuses the trained model (any batch ≥ 1
// serves the one-sequence sampler).
func printSamples(w io.Writer, m *model.Model, tok data.Tokenizer, trainTok []int32, n int, seed uint64) {
	s := &model.Sampler{Temperature: 0.8, TopK: 40, Rng: rand.New(rand.NewPCG(seed, 99))}
	fmt.Fprintln(w, "--- samples (temperature 0.8, top-k 40) ---")
	for i := range 3 {
		off := (len(trainTok) / 3) * i
		prompt := trainTok[off : off+min(16, len(trainTok)-off)]
		out := s.Generate(m, prompt, n)
		text := tok.Decode(out)
		fmt.Fprintf(w, "[%d] %s\n", i+1, strings.TrimRight(text, "\n"))
		fmt.Fprintln(w, "---")
	}
}
