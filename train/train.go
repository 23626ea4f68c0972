// Package train runs mhc training: the AdamW optimizer over a param.Store,
// learning-rate schedules, gradient clipping and accumulation, evaluation,
// checkpoints (safetensors + JSON, exact resume) and JSONL metrics.
package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/model"
)

// Options are the optimisation hyper-parameters of a run. They are saved in
// state.json and restored by --resume.
type Options struct {
	Steps       int      `json:"steps"`        // optimizer steps in the run
	Batch       int      `json:"batch"`        // sequences per micro-batch
	Accum       int      `json:"accum"`        // micro-batches per step (gradient accumulation)
	LR          float64  `json:"lr"`           // peak learning rate
	Warmup      int      `json:"warmup"`       // linear warmup steps
	Schedule    Schedule `json:"schedule"`     // decay after warmup
	WeightDecay float64  `json:"weight_decay"` // AdamW decay on matrices only
	Beta1       float64  `json:"beta1"`
	Beta2       float64  `json:"beta2"`
	Eps         float64  `json:"eps"`
	Clip        float64  `json:"clip"` // global grad-norm clip; 0 = off
	Seed        uint64   `json:"seed"` // init and data order
	EvalEvery   int      `json:"eval_every"`
	EvalWindows int      `json:"eval_windows"` // validation windows per evaluation
	CkptEvery   int      `json:"ckpt_every"`
	GainsEvery  int      `json:"gains_every"` // Amax gain probe every N steps (0 = never); HC/mHC only
}

// DefaultOptions are the defaults of `mhc train`.
func DefaultOptions() Options {
	return Options{Steps: 1000, Batch: 16, Accum: 1, LR: 2e-3, Warmup: 100, Schedule: StepDecay,
		WeightDecay: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Clip: 1.0, Seed: 1,
		EvalEvery: 200, EvalWindows: 64, CkptEvery: 500, GainsEvery: 25}
}

// Validate reports the first bad option, naming its flag.
func (o Options) Validate() error {
	switch {
	case o.Steps < 1:
		return fmt.Errorf("--steps %d: must be at least 1", o.Steps)
	case o.Batch < 1:
		return fmt.Errorf("--batch %d: must be at least 1", o.Batch)
	case o.Accum < 1:
		return fmt.Errorf("--accum %d: must be at least 1", o.Accum)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("--lr %v: must be a positive number", o.LR)
	case o.Warmup < 0:
		return fmt.Errorf("--warmup %d: must not be negative", o.Warmup)
	case o.WeightDecay < 0:
		return fmt.Errorf("--weight-decay %v: must not be negative", o.WeightDecay)
	case !(o.Beta1 >= 0 && o.Beta1 < 1) || !(o.Beta2 >= 0 && o.Beta2 < 1):
		return fmt.Errorf("--beta1/--beta2: must be in [0, 1)")
	case !(o.Eps > 0):
		return fmt.Errorf("adam eps %v: must be positive", o.Eps)
	case o.Clip < 0:
		return fmt.Errorf("--clip %v: must not be negative", o.Clip)
	case o.EvalEvery < 0 || o.CkptEvery < 0 || o.EvalWindows < 0 || o.GainsEvery < 0:
		return fmt.Errorf("--eval-every, --eval-windows, --ckpt-every and --gains-every must not be negative")
	}
	_, err := ParseSchedule(string(o.Schedule))
	return err
}

// Trainer owns one training run's mutable state.
type Trainer struct {
	Model      *model.Model
	Opt        *AdamW
	Opts       Options
	Loader     *data.Loader
	Val        []int32 // validation token stream (may be nil)
	Step       int     // optimizer steps completed
	TokensSeen int64

	inputs, targets []int32
	evalOffs        []int
	probe           *Probe
}

// StepResult describes one optimizer step.
type StepResult struct {
	Step     int     `json:"step"` // 1-based number of the step just done
	Loss     float64 `json:"loss"` // mean training loss over the step's micro-batches
	LR       float64 `json:"lr"`
	GradNorm float64 `json:"grad_norm"` // before clipping
	Tokens   int     `json:"tokens"`    // tokens processed in this step
}

// NewTrainer prepares a run. The model must be built for at least opts.Batch
// sequences and the loader must yield (opts.Batch, model Seq) batches.
func NewTrainer(m *model.Model, loader *data.Loader, val []int32, opts Options) (*Trainer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if loader.Batch() != opts.Batch || loader.Seq() != m.Cfg.Seq || opts.Batch > m.MaxB {
		return nil, fmt.Errorf("train: loader %dx%d does not match batch %d, seq %d", loader.Batch(), loader.Seq(), opts.Batch, m.Cfg.Seq)
	}
	t := &Trainer{Model: m, Opts: opts, Loader: loader, Val: val,
		Opt:    NewAdamW(m.Params, float32(opts.Beta1), float32(opts.Beta2), float32(opts.Eps), float32(opts.WeightDecay)),
		inputs: make([]int32, opts.Batch*m.Cfg.Seq), targets: make([]int32, opts.Batch*m.Cfg.Seq)}
	if len(val) > m.Cfg.Seq && opts.EvalWindows > 0 {
		offs, err := data.EvalWindows(val, m.Cfg.Seq, opts.EvalWindows)
		if err != nil {
			return nil, fmt.Errorf("validation split: %w", err)
		}
		t.evalOffs = offs
	}
	if opts.GainsEvery > 0 {
		src := val
		if len(src) <= m.Cfg.Seq {
			src = nil
		}
		t.probe = NewProbe(m, src, 4)
	}
	return t, nil
}

// TrainStep runs one optimizer step: Accum micro-batches of forward/backward
// with gradient accumulation, global-norm clipping, and an AdamW update at
// the scheduled learning rate.
func (t *Trainer) TrainStep() (StepResult, error) {
	m, o := t.Model, t.Opts
	m.Params.ZeroGrad()
	var loss float64
	for range o.Accum {
		if err := t.Loader.Next(t.inputs, t.targets); err != nil {
			return StepResult{}, err
		}
		loss += m.ForwardBackward(t.inputs, t.targets, o.Batch, m.Cfg.Seq, 1/float32(o.Accum))
	}
	loss /= float64(o.Accum)
	norm := t.Opt.ClipGrad(o.Clip)
	lr := LR(o.Schedule, o.LR, t.Step, o.Warmup, o.Steps)
	t.Opt.Update(lr)
	t.Step++
	tokens := o.Accum * o.Batch * m.Cfg.Seq
	t.TokensSeen += int64(tokens)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return StepResult{Step: t.Step, Loss: loss, LR: lr, GradNorm: norm, Tokens: tokens},
			fmt.Errorf("step %d: loss is %v (diverged; lower --lr or raise --warmup)", t.Step, loss)
	}
	return StepResult{Step: t.Step, Loss: loss, LR: lr, GradNorm: norm, Tokens: tokens}, nil
}

// Evaluate returns the mean validation loss (nats/token) over the evaluation
// windows, or NaN when there is no validation data.
func (t *Trainer) Evaluate() float64 {
	return Evaluate(t.Model, t.Val, t.evalOffs, t.inputs, t.targets)
}

// Evaluate computes the mean loss of m over the windows of tokens starting at
// offs (see data.EvalWindows), batching up to m.MaxB windows per forward.
// inputs and targets are scratch of at least MaxB·Seq tokens. NaN if offs is empty.
func Evaluate(m *model.Model, tokens []int32, offs []int, inputs, targets []int32) float64 {
	if len(offs) == 0 {
		return math.NaN()
	}
	T := m.Cfg.Seq
	var sum float64
	for i := 0; i < len(offs); i += m.MaxB {
		B := min(m.MaxB, len(offs)-i)
		for b := range B {
			in, tg := data.Window(tokens, offs[i+b], T)
			copy(inputs[b*T:], in)
			copy(targets[b*T:], tg)
		}
		m.Forward(inputs, B, T)
		sum += m.Loss(targets[:B*T]) * float64(B)
	}
	return sum / float64(len(offs))
}

// State captures the trainer for a checkpoint.
func (t *Trainer) State(tokenizer, dataSpec string) (State, error) {
	ls, err := json.Marshal(t.Loader.State())
	if err != nil {
		return State{}, err
	}
	return State{Step: t.Step, Tokenizer: tokenizer, Data: dataSpec, Options: t.Opts, Loader: ls, TokensSeen: t.TokensSeen}, nil
}

// Restore reinstates a checkpoint's trainer state (weights and optimizer
// moments are loaded separately by LoadModel/LoadOptimizer).
func (t *Trainer) Restore(st State) error {
	var ls data.LoaderState
	if err := json.Unmarshal(st.Loader, &ls); err != nil {
		return fmt.Errorf("loader state: %w", err)
	}
	if err := t.Loader.Restore(ls); err != nil {
		return err
	}
	t.Step, t.TokensSeen = st.Step, st.TokensSeen
	return nil
}

// Hooks receive progress from Run. Any may be nil.
type Hooks struct {
	OnStep  func(r StepResult, elapsed time.Duration)
	OnEval  func(step int, valLoss float64)
	OnGains func(g Gains)
}

// Run trains until Opts.Steps steps are done or ctx is cancelled, appending
// metrics to dir/metrics.jsonl, evaluating every EvalEvery steps, and saving a
// checkpoint every CkptEvery steps, at the end, on cancellation and on
// divergence (so no work is lost). save is called to write checkpoints.
func (t *Trainer) Run(ctx context.Context, metrics *Metrics, save func() error, hooks Hooks) error {
	start := time.Now()
	last := start
	for t.Step < t.Opts.Steps {
		if ctx.Err() != nil {
			if err := save(); err != nil {
				return err
			}
			return ctx.Err()
		}
		r, err := t.TrainStep()
		now := time.Now()
		dt := now.Sub(last)
		last = now
		rec := map[string]any{"kind": "train", "step": r.Step, "loss": r.Loss, "lr": r.LR,
			"grad_norm": r.GradNorm, "tokens": t.TokensSeen, "tok_per_s": float64(r.Tokens) / dt.Seconds()}
		if merr := metrics.Write(rec); merr != nil {
			return merr
		}
		if err != nil {
			return err // diverged: do not overwrite the last good checkpoint with NaN weights
		}
		if hooks.OnStep != nil {
			hooks.OnStep(r, now.Sub(start))
		}
		if t.Opts.EvalEvery > 0 && (t.Step%t.Opts.EvalEvery == 0 || t.Step == t.Opts.Steps) && len(t.evalOffs) > 0 {
			v := t.Evaluate()
			if err := metrics.Write(map[string]any{"kind": "eval", "step": t.Step, "val_loss": v}); err != nil {
				return err
			}
			if hooks.OnEval != nil {
				hooks.OnEval(t.Step, v)
			}
		}
		if t.probe != nil && (t.Step%t.Opts.GainsEvery == 0 || t.Step == t.Opts.Steps || t.Step == 1) {
			g := t.probe.Measure(t.Step)
			if err := metrics.Write(g.Record()); err != nil {
				return err
			}
			if hooks.OnGains != nil {
				hooks.OnGains(g)
			}
		}
		if t.Opts.CkptEvery > 0 && t.Step%t.Opts.CkptEvery == 0 && t.Step < t.Opts.Steps {
			if err := save(); err != nil {
				return err
			}
		}
	}
	return save()
}
