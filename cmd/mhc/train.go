package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

// archFlags are the flags that change the architecture: refused with --resume.
var archFlags = []string{"preset", "d-model", "layers", "heads", "seq", "mlp-hidden", "tie", "tokenizer",
	"conn", "streams", "contract", "sinkhorn-iters", "sinkhorn", "sinkhorn-eps", "res-bias", "fixed"}

type trainFlags struct {
	preset, dataSpec, out, resume, tokenizer, schedule string
	conn, contract, sinkhorn, fixed                    string
	sinkhornIters                                      int
	sinkhornEps, resBias                               float64
	d, layers, heads, seq, mlpHidden, streams          int
	tie, noProgress                                    bool
	sampleTokens                                       int
	opts                                               train.Options
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	var f trainFlags
	d := train.DefaultOptions()
	fs.StringVar(&f.preset, "preset", "tiny", "model size: tiny, small or base")
	fs.StringVar(&f.dataSpec, "data", data.DefaultCorpus, "corpus: gostd (Go standard library sources), english (scripts/fetch-corpus.sh), a file or a directory")
	fs.StringVar(&f.tokenizer, "tokenizer", "byte", "byte (vocab 256) or gpt2 (BPE, vocab 50257)")
	fs.StringVar(&f.out, "out", "", "run directory for checkpoints and metrics (default runs/PRESET-CONN, with -2, -3, ... appended if taken)")
	fs.StringVar(&f.resume, "resume", "", "continue the run in this directory exactly where it stopped")
	fs.IntVar(&f.d, "d-model", 0, "override the model width")
	fs.IntVar(&f.layers, "layers", 0, "override the number of blocks")
	fs.IntVar(&f.heads, "heads", 0, "override the number of attention heads")
	fs.IntVar(&f.seq, "seq", 0, "override the context length")
	fs.IntVar(&f.mlpHidden, "mlp-hidden", 0, "override the SwiGLU hidden width (default 8d/3 rounded up to 64)")
	fs.BoolVar(&f.tie, "tie", false, "tie the LM head to the token embedding")
	fs.StringVar(&f.conn, "conn", "residual", "residual connection: residual, hc, mhc or mhc-lite")
	fs.IntVar(&f.streams, "streams", 0, "number of residual streams n (default 1 for residual, 4 otherwise)")
	fs.StringVar(&f.contract, "contract", "sum", "how streams merge before the final norm: sum, mean or learned")
	fs.IntVar(&f.sinkhornIters, "sinkhorn-iters", 20, "mhc: Sinkhorn-Knopp iterations t_max")
	fs.StringVar(&f.sinkhorn, "sinkhorn", "paper", "mhc: Sinkhorn order: paper (exp, then column/row rounds) or deepseek (DeepSeek's released code, eps in every denominator)")
	fs.Float64Var(&f.sinkhornEps, "sinkhorn-eps", -1, "mhc: eps added to Sinkhorn denominators (default 0 for paper, 1e-6 for deepseek)")
	fs.Float64Var(&f.resBias, "res-bias", 0, "mhc: init H_res bias as res-bias·I (0 = uniform H_res at init, Megatron's choice; ≤ 8)")
	fs.StringVar(&f.fixed, "fixed", "", "hold maps fixed (paper Table 1 ablation): comma list of pre (=1/n), post (=1), res (=I)")
	fs.IntVar(&f.opts.Steps, "steps", d.Steps, "optimizer steps")
	fs.IntVar(&f.opts.Batch, "batch", 0, "sequences per micro-batch (default: the preset's)")
	fs.IntVar(&f.opts.Accum, "accum", d.Accum, "micro-batches per optimizer step (gradient accumulation)")
	fs.Float64Var(&f.opts.LR, "lr", d.LR, "peak learning rate")
	fs.IntVar(&f.opts.Warmup, "warmup", d.Warmup, "linear warmup steps")
	fs.StringVar(&f.schedule, "schedule", string(d.Schedule), "decay after warmup: step (mHC paper: ×0.316 at 80%, ×0.1 at 90%), cosine or constant")
	fs.Float64Var(&f.opts.WeightDecay, "weight-decay", d.WeightDecay, "AdamW weight decay (matrices only)")
	fs.Float64Var(&f.opts.Beta1, "beta1", d.Beta1, "AdamW β1")
	fs.Float64Var(&f.opts.Beta2, "beta2", d.Beta2, "AdamW β2")
	fs.Float64Var(&f.opts.Clip, "clip", d.Clip, "global gradient-norm clip (0 = off)")
	fs.Uint64Var(&f.opts.Seed, "seed", d.Seed, "seed for initialisation and data order")
	fs.IntVar(&f.opts.EvalEvery, "eval-every", d.EvalEvery, "validate every N steps (0 = never)")
	fs.IntVar(&f.opts.EvalWindows, "eval-windows", d.EvalWindows, "validation windows per evaluation")
	fs.IntVar(&f.opts.CkptEvery, "ckpt-every", d.CkptEvery, "checkpoint every N steps (and always at the end)")
	fs.IntVar(&f.opts.GainsEvery, "gains-every", d.GainsEvery, "measure the Amax gains of H_res on a fixed probe batch every N steps (hc/mhc; 0 = never)")
	fs.IntVar(&f.sampleTokens, "sample-tokens", 240, "tokens to sample at the end (0 = none)")
	fs.BoolVar(&f.noProgress, "no-progress", false, "plain log lines instead of a progress bar (automatic when stderr is not a terminal)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	set := setFlags(fs)
	f.opts.Eps = d.Eps
	sched, err := train.ParseSchedule(f.schedule)
	if err != nil {
		return badErr(err)
	}
	f.opts.Schedule = sched

	var (
		cfg   model.Config
		state *train.State
	)
	if f.resume != "" {
		for _, name := range archFlags {
			if set[name] {
				return bad("--%s cannot be combined with --resume (the architecture comes from the checkpoint)", name)
			}
		}
		if set["out"] && filepath.Clean(f.out) != filepath.Clean(f.resume) {
			return bad("--out %s differs from --resume %s: a resumed run continues in its own directory", f.out, f.resume)
		}
		if cfg, err = train.ReadConfig(f.resume); err != nil {
			return badErr(err)
		}
		st, err := train.ReadState(f.resume)
		if err != nil {
			return badErr(err)
		}
		state = &st
		opts := st.Options
		if set["steps"] {
			opts.Steps = f.opts.Steps
		}
		if opts.Steps <= st.Step {
			return bad("--resume %s: the run already did %d of %d steps; pass --steps N with N > %d to continue", f.resume, st.Step, opts.Steps, st.Step)
		}
		if set["data"] && f.dataSpec != st.Data {
			return bad("--data %s differs from the checkpoint's data %s (exact resume needs the same corpus)", f.dataSpec, st.Data)
		}
		f.opts, f.dataSpec, f.tokenizer, f.out = opts, st.Data, st.Tokenizer, f.resume
	} else {
		p, err := model.LookupPreset(f.preset)
		if err != nil {
			return badErr(fmt.Errorf("--preset: %w", err))
		}
		cfg = p.Config
		if f.opts.Batch == 0 {
			f.opts.Batch = p.Batch
		}
		if err := f.apply(&cfg, set); err != nil {
			return err
		}
		if f.out == "" { // runs/PRESET-CONN, or -2, -3, ... if taken: never overwrite a run
			base := filepath.Join("runs", f.preset+"-"+string(cfg.Conn))
			f.out = base
			for i := 2; ; i++ {
				if _, err := os.Stat(f.out); errors.Is(err, os.ErrNotExist) {
					break
				}
				f.out = fmt.Sprintf("%s-%d", base, i)
			}
		}
		if _, err := os.Stat(filepath.Join(f.out, train.StateFile)); err == nil {
			return bad("--out %s already holds a run: continue it with --resume %s, or choose another --out", f.out, f.out)
		}
	}
	if err := f.opts.Validate(); err != nil {
		return badErr(err)
	}
	tok, err := data.NewTokenizer(f.tokenizer)
	if err != nil {
		return badErr(fmt.Errorf("--tokenizer: %w", err))
	}
	if state == nil {
		cfg.Vocab = tok.VocabSize()
	} else if cfg.Vocab != tok.VocabSize() {
		return bad("checkpoint %s: vocab %d does not match tokenizer %s", f.resume, cfg.Vocab, tok.Name())
	}
	if err := cfg.Validate(); err != nil {
		return badErr(err)
	}

	// Data.
	t0 := time.Now()
	corpus, err := data.LoadCorpus(f.dataSpec)
	if err != nil {
		return badErr(fmt.Errorf("--data: %w", err))
	}
	trainTok, valTok, err := corpus.Tokens(tok)
	if err != nil {
		return badErr(fmt.Errorf("--data: %w", err))
	}
	loader, err := data.NewLoader(trainTok, f.opts.Batch, cfg.Seq, f.opts.Seed)
	if err != nil {
		return badErr(fmt.Errorf("--data %s: %w", f.dataSpec, err))
	}
	fmt.Fprintf(stderr, "data: %s, %s tokenizer: %d train / %d val tokens (%.1fs)\n",
		corpus.Name, tok.Name(), len(trainTok), len(valTok), time.Since(t0).Seconds())

	// Model and trainer.
	var m *model.Model
	if state != nil {
		if m, err = train.LoadModel(f.resume, f.opts.Batch); err != nil {
			return badErr(err)
		}
	} else {
		if m, err = model.New(cfg, f.opts.Batch); err != nil {
			return badErr(err)
		}
		m.Params.Initialize(f.opts.Seed)
	}
	tr, err := train.NewTrainer(m, loader, valTok, f.opts)
	if err != nil {
		return badErr(err)
	}
	if state != nil {
		if err := train.LoadOptimizer(f.resume, tr.Opt, m.Params); err != nil {
			return badErr(err)
		}
		if err := tr.Restore(*state); err != nil {
			return badErr(fmt.Errorf("--resume %s: %w", f.resume, err))
		}
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", f.out, err)
	}
	metrics, err := train.OpenMetrics(filepath.Join(f.out, train.MetricsFile))
	if err != nil {
		return err
	}
	defer metrics.Close()

	peak := kernels.PeakGFLOPS()
	flopsTok := cfg.FLOPsPerToken()
	fmt.Fprintf(stderr, "model: %s d=%d L=%d H=%d T=%d h=%d, conn %s n=%d, %.2fM params, %.1f MFLOP/token; %d accum × batch %d; gemm %s, peak %.0f GFLOP/s\n",
		presetName(f, state), cfg.D, cfg.Layers, cfg.Heads, cfg.Seq, cfg.MLPHidden, cfg.Conn, cfg.Streams,
		float64(m.NumParams())/1e6, flopsTok/1e6, f.opts.Accum, f.opts.Batch, kernels.GEMMPath(), peak)
	if state != nil {
		fmt.Fprintf(stderr, "resuming %s at step %d of %d\n", f.out, tr.Step, f.opts.Steps)
	}

	save := func() error {
		st, err := tr.State(tok.Name(), f.dataSpec)
		if err != nil {
			return err
		}
		return train.SaveCheckpoint(f.out, m, tr.Opt, st)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// A progress bar only makes sense on a terminal; logs and pipes get plain lines.
	plain := f.noProgress || stderr != io.Writer(os.Stderr) || !term.IsTerminal(int(os.Stderr.Fd()))
	prog := newProgress(stderr, f.opts.Steps, tr.Step, plain, peak, flopsTok)
	hooks := train.Hooks{
		OnStep:  prog.step,
		OnEval:  prog.eval,
		OnGains: prog.gains,
	}
	err = tr.Run(ctx, metrics, save, hooks)
	prog.finish()
	if errors.Is(err, context.Canceled) {
		return errInterrupted
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "checkpoint: %s (step %d)\n", f.out, tr.Step)
	if f.sampleTokens > 0 {
		printSamples(stdout, m, tok, trainTok, f.sampleTokens, f.opts.Seed)
	}
	return nil
}

func presetName(f trainFlags, st *train.State) string {
	if st != nil {
		return "resumed"
	}
	return f.preset
}

// apply writes the architecture overrides into cfg.
func (f *trainFlags) apply(cfg *model.Config, set map[string]bool) error {
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
	cfg.Tie = f.tie
	k, err := hyper.ParseKind(f.conn)
	if err != nil {
		return bad("--conn: %v", err)
	}
	cfg.Conn = k
	cfg.Streams = f.streams
	if !set["streams"] {
		cfg.Streams = 4
		if k == hyper.Residual {
			cfg.Streams = 1
		}
	}
	cfg.Contract = f.contract
	cfg.SinkhornIters, cfg.Sinkhorn, cfg.Fixed = f.sinkhornIters, f.sinkhorn, f.fixed
	cfg.ResBias = float32(f.resBias)
	cfg.SinkhornEps = float32(f.sinkhornEps)
	if f.sinkhornEps < 0 {
		cfg.SinkhornEps = 0
		if f.sinkhorn == "deepseek" {
			cfg.SinkhornEps = 1e-6
		}
	}
	return badErr(cfg.Validate())
}

// progress renders the training progress bar (or plain lines).
type progress struct {
	bar        *progressbar.ProgressBar
	w          io.Writer
	plain      bool
	total      int
	peak, fpt  float64
	lastVal    float64
	amax       string
	emaTok     float64
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

func (p *progress) step(r train.StepResult, elapsed time.Duration) {
	_ = elapsed
	now := time.Now()
	if !p.lastLogged.IsZero() {
		tps := float64(r.Tokens) / now.Sub(p.lastLogged).Seconds()
		if p.emaTok == 0 {
			p.emaTok = tps
		} else {
			p.emaTok = 0.9*p.emaTok + 0.1*tps
		}
	}
	p.lastLogged = now
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

func (p *progress) eval(step int, v float64) {
	p.lastVal = v
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintf(p.w, "step %d: val loss %.4f (%.3f bits/token)\n", step, v, v/0.6931471805599453)
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
// start of training documents.
func printSamples(w io.Writer, m *model.Model, tok data.Tokenizer, trainTok []int32, n int, seed uint64) {
	sm, err := model.New(m.Cfg, 1)
	if err != nil {
		return
	}
	if err := sm.Params.Share(m.Params); err != nil {
		return
	}
	s := &model.Sampler{Temperature: 0.8, TopK: 40, Rng: rand.New(rand.NewPCG(seed, 99))}
	fmt.Fprintln(w, "--- samples (temperature 0.8, top-k 40) ---")
	for i := range 3 {
		off := (len(trainTok) / 3) * i
		prompt := trainTok[off : off+min(16, len(trainTok)-off)]
		out := s.Generate(sm, prompt, n)
		text := tok.Decode(out)
		fmt.Fprintf(w, "[%d] %s\n", i+1, strings.TrimRight(text, "\n"))
		fmt.Fprintln(w, "---")
	}
}

var _ = flag.ErrHelp
