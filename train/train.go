// Package train runs mhc training: the AdamW optimizer over a param.Store,
// learning-rate schedules, gradient clipping and accumulation, evaluation,
// checkpoints (safetensors + JSON, exact resume) and JSONL metrics.
package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
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
	// MaxBadSteps is how many consecutive steps with a non-finite loss or
	// gradient are skipped (no update) before training stops; 0 stops at
	// the first.
	MaxBadSteps int `json:"max_bad_steps"`
}

// DefaultOptions are the defaults of `mhc train`.
func DefaultOptions() Options {
	return Options{Steps: 1000, Batch: 16, Accum: 1, LR: 2e-3, Warmup: 100, Schedule: StepDecay,
		WeightDecay: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Clip: 1.0, Seed: 1,
		EvalEvery: 200, EvalWindows: 64, CkptEvery: 500, GainsEvery: 25, MaxBadSteps: 5}
}

// FieldError reports an invalid option. Field is its name in state.json's
// options, so that a command line can name the flag that set it.
type FieldError struct{ Field, Problem string }

func (e *FieldError) Error() string { return "train: " + e.Field + " " + e.Problem }

// Validate reports the first bad option as a *FieldError.
func (o Options) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{field, fmt.Sprintf(format, args...)}
	}
	switch {
	case o.Steps < 1:
		return bad("steps", "%d: must be at least 1", o.Steps)
	case o.Batch < 1:
		return bad("batch", "%d: must be at least 1", o.Batch)
	case o.Accum < 1:
		return bad("accum", "%d: must be at least 1", o.Accum)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return bad("lr", "%v: must be a positive number", o.LR)
	case o.Warmup < 0:
		return bad("warmup", "%d: must not be negative", o.Warmup)
	case !(o.WeightDecay >= 0):
		return bad("weight_decay", "%v: must not be negative", o.WeightDecay)
	case !(o.Beta1 >= 0 && o.Beta1 < 1):
		return bad("beta1", "%v: must be in [0, 1)", o.Beta1)
	case !(o.Beta2 >= 0 && o.Beta2 < 1):
		return bad("beta2", "%v: must be in [0, 1)", o.Beta2)
	case !(o.Eps > 0):
		return bad("eps", "%v: must be positive", o.Eps)
	case !(o.Clip >= 0):
		return bad("clip", "%v: must not be negative", o.Clip)
	case o.EvalEvery < 0:
		return bad("eval_every", "%d: must not be negative", o.EvalEvery)
	case o.EvalWindows < 0:
		return bad("eval_windows", "%d: must not be negative", o.EvalWindows)
	case o.CkptEvery < 0:
		return bad("ckpt_every", "%d: must not be negative", o.CkptEvery)
	case o.GainsEvery < 0:
		return bad("gains_every", "%d: must not be negative", o.GainsEvery)
	case o.MaxBadSteps < 0:
		return bad("max_bad_steps", "%d: must not be negative", o.MaxBadSteps)
	}
	_, err := ParseSchedule(string(o.Schedule))
	return err
}

// Trainer owns one training run's mutable state: the network, the
// optimizer, the data stream and the step count. Run (the run API) builds
// one; use a Trainer directly to drive a Network of your own.
type Trainer struct {
	Net        Network
	Opt        *AdamW
	Opts       Options
	Loader     *data.Loader
	Val        []int32 // validation token stream (may be nil)
	Group      Group   // data-parallel workers; nil: a single process
	Step       int     // optimizer steps completed
	TokensSeen int64   // training tokens of all workers, all micro-batches of all steps
	BadSteps   int     // consecutive steps skipped for a non-finite loss or gradient

	inputs, targets []int32
	acc             []float32    // the step's gradient so far (Accum > 1)
	accStage        int          // what accumulate does: see TrainStep
	accTask         kernels.Task // runs accumulate
	evalOffs        []int
	probe           *Probe
}

// NewTrainer prepares a run. The network must take at least opts.Batch
// sequences and the loader must yield (opts.Batch, Seq) batches.
func NewTrainer(net Network, loader *data.Loader, val []int32, opts Options) (*Trainer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cfg := net.Config()
	if loader.Batch() != opts.Batch || loader.Seq() != cfg.Seq || opts.Batch > net.MaxBatch() {
		return nil, fmt.Errorf("train: loader %dx%d does not match batch %d, seq %d (network takes up to %d sequences)",
			loader.Batch(), loader.Seq(), opts.Batch, cfg.Seq, net.MaxBatch())
	}
	params := net.Parameters()
	t := &Trainer{Net: net, Opts: opts, Loader: loader, Val: val,
		Opt:    NewAdamW(params, float32(opts.Beta1), float32(opts.Beta2), float32(opts.Eps), float32(opts.WeightDecay)),
		inputs: make([]int32, opts.Batch*cfg.Seq), targets: make([]int32, opts.Batch*cfg.Seq)}
	if opts.Accum > 1 {
		t.acc = make([]float32, len(params.Grad))
		t.accTask = kernels.TaskFunc(t.accumulate)
	}
	if len(val) > cfg.Seq && opts.EvalWindows > 0 {
		offs, err := data.EvalWindows(val, cfg.Seq, opts.EvalWindows)
		if err != nil {
			return nil, fmt.Errorf("train: validation split: %w", err)
		}
		t.evalOffs = offs
	}
	if opts.GainsEvery > 0 {
		src := val
		if len(src) <= cfg.Seq {
			src = nil
		}
		t.probe = NewProbe(net, src, 4)
	}
	return t, nil
}

// rank returns this worker's rank and the number of workers.
func (t *Trainer) rank() (rank, size int) {
	if t.Group == nil {
		return 0, 1
	}
	return t.Group.Rank(), t.Group.Size()
}

// TrainStep runs one optimizer step. The global batch is Size × Accum
// micro-batches drawn in order from the loader (which every worker runs in
// step); worker r trains on micro-batches [r·Accum, (r+1)·Accum). Each
// micro-batch's gradient is computed on its own and added to the step's
// gradient, so a step's gradient is the same sum whether its micro-batches
// ran in one process (Accum) or on several workers (for two terms, float
// addition commutes: two workers with Accum 1 give exactly one process with
// Accum 2). Then come the gradient-sync point (Group.SyncGrads), the
// non-finite guard, global-norm clipping and the AdamW update.
//
// A step whose loss or gradient is not finite is skipped: weights and
// optimizer moments stay as they were, the record says Skipped and names the
// first parameter with a non-finite gradient, and the step counts as done.
// After more than Opts.MaxBadSteps consecutive skipped steps TrainStep
// returns ErrDiverged. TokPerS is left 0 (Run times steps).
func (t *Trainer) TrainStep() (StepRecord, error) {
	o, T, params := t.Opts, t.Net.Config().Seq, t.Net.Parameters()
	rank, size := t.rank()
	scale := 1 / float32(size*o.Accum) // the step's gradient is the mean over the global batch
	var loss float64
	for i := range size * o.Accum {
		if err := t.Loader.Next(t.inputs, t.targets); err != nil {
			return StepRecord{}, err
		}
		if i/o.Accum != rank {
			continue // another worker's share of the global batch
		}
		params.ZeroGrad()
		loss += t.Net.ForwardBackward(t.inputs, t.targets, o.Batch, T, scale)
		if o.Accum > 1 {
			switch j := i % o.Accum; {
			case j == 0:
				t.accStage = 0 // acc = g
			case j < o.Accum-1:
				t.accStage = 1 // acc += g
			default:
				t.accStage = 2 // g += acc: the step's gradient, where clipping and AdamW read it
			}
			kernels.ParallelForGrain(len(t.acc), 4096, t.accTask)
		}
	}
	var syncS float64
	if t.Group != nil { // the gradient-sync point
		t0 := time.Now()
		var err error
		if loss, err = t.Group.SyncGrads(params.Grad, loss); err != nil {
			return StepRecord{}, fmt.Errorf("train: step %d: gradient sync: %w", t.Step+1, err)
		}
		syncS = time.Since(t0).Seconds()
	}
	loss /= float64(size * o.Accum)
	lr := LR(o.Schedule, o.LR, t.Step, o.Warmup, o.Steps)
	norm := t.Opt.GradNorm()
	t.Step++
	t.TokensSeen += int64(size * o.Accum * o.Batch * T)
	r := StepRecord{Step: t.Step, Loss: loss, LR: lr, GradNorm: norm, Tokens: t.TokensSeen, SyncS: syncS}
	if !finite(loss) || !finite(norm) {
		r.Skipped, r.NonFinite = true, firstNonFinite(params)
		t.BadSteps++
		if t.BadSteps > o.MaxBadSteps {
			return r, fmt.Errorf("train: step %d: %w: %d consecutive steps with a non-finite loss or gradient (first: %s); lower the learning rate or lengthen the warmup",
				t.Step, ErrDiverged, t.BadSteps, r.NonFinite)
		}
		return r, nil
	}
	t.BadSteps = 0
	t.Opt.clip(norm, o.Clip)
	t.Opt.Update(lr)
	return r, nil
}

// accumulate runs one stage of gradient accumulation on [lo, hi): 0 copies
// the first micro-batch's gradient into acc, 1 adds a middle one to acc, 2
// adds acc to the last one in params.Grad (where clipping and AdamW read it).
func (t *Trainer) accumulate(lo, hi int) {
	g, acc := t.Net.Parameters().Grad[lo:hi], t.acc[lo:hi]
	switch t.accStage {
	case 0:
		copy(acc, g)
	case 1:
		kernels.Add(acc, acc, g)
	default:
		kernels.Add(g, acc, g)
	}
}

// ErrDiverged: training stopped after too many non-finite steps.
var ErrDiverged = errors.New("diverged")

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// firstNonFinite names the first parameter (in checkpoint order) whose
// gradient holds a NaN or ±Inf, or "loss" when every gradient is finite.
func firstNonFinite(s *param.Store) string {
	for _, t := range s.Tensors {
		for _, g := range s.Grad[t.Offset : t.Offset+t.Numel()] {
			if g-g != 0 { // NaN or ±Inf
				return t.Name
			}
		}
	}
	return "loss"
}

// Evaluate returns the mean validation loss (nats/token) over the evaluation
// windows, or NaN when there is no validation data.
func (t *Trainer) Evaluate() float64 {
	return Evaluate(t.Net, t.Val, t.evalOffs, t.inputs, t.targets)
}

// Evaluate computes the mean loss of net over the windows of tokens starting
// at offs (see data.EvalWindows), batching up to MaxBatch windows per
// forward. inputs and targets are scratch of at least MaxBatch·Seq tokens.
// NaN if offs is empty.
func Evaluate(net Network, tokens []int32, offs []int, inputs, targets []int32) float64 {
	if len(offs) == 0 {
		return math.NaN()
	}
	T, maxB := net.Config().Seq, net.MaxBatch()
	var sum float64
	for i := 0; i < len(offs); i += maxB {
		B := min(maxB, len(offs)-i)
		for b := range B {
			in, tg := data.Window(tokens, offs[i+b], T)
			copy(inputs[b*T:], in)
			copy(targets[b*T:], tg)
		}
		net.Forward(inputs, B, T)
		sum += net.Loss(targets[:B*T]) * float64(B)
	}
	return sum / float64(len(offs))
}

// State captures the trainer for a checkpoint.
func (t *Trainer) State(tokenizer, dataSpec string) (State, error) {
	ls, err := json.Marshal(t.Loader.State())
	if err != nil {
		return State{}, err
	}
	st := State{Step: t.Step, Tokenizer: tokenizer, Data: dataSpec, Options: t.Opts, Loader: ls, TokensSeen: t.TokensSeen}
	if _, size := t.rank(); size > 1 {
		st.Ranks = size
	}
	return st, nil
}

// Restore reinstates a checkpoint's trainer state (weights and optimizer
// moments are loaded separately by LoadModel/LoadOptimizer).
func (t *Trainer) Restore(st State) error {
	var ls data.LoaderState
	if err := json.Unmarshal(st.Loader, &ls); err != nil {
		return fmt.Errorf("train: loader state: %w", err)
	}
	if err := t.Loader.Restore(ls); err != nil {
		return err
	}
	t.Step, t.TokensSeen = st.Step, st.TokensSeen
	return nil
}

// Hooks receive progress from Run. Any may be nil.
type Hooks struct {
	OnStep  func(r StepRecord)
	OnEval  func(r EvalRecord)
	OnGains func(g Gains)
}

// Run trains until step until (at most Opts.Steps) is done or ctx is cancelled, appending
// records to metrics (nil: none), evaluating every EvalEvery steps, probing
// the gains every GainsEvery steps, and calling save every CkptEvery steps,
// at the end and on cancellation (so no work is lost). On divergence it
// returns the error without saving, so the last good checkpoint stays.
func (t *Trainer) Run(ctx context.Context, until int, metrics *Metrics, save func() error, hooks Hooks) error {
	o := t.Opts
	until = min(until, o.Steps)
	last := time.Now()
	rank, _ := t.rank()
	for t.Step < until {
		stop := ctx.Err() != nil
		if t.Group != nil { // every worker stops after the same step
			var err error
			if stop, err = t.Group.AnyStop(stop); err != nil {
				return fmt.Errorf("train: %w", err)
			}
		}
		if stop {
			if err := save(); err != nil {
				return err
			}
			return context.Canceled
		}
		r, err := t.TrainStep()
		now := time.Now()
		_, size := t.rank()
		r.TokPerS = float64(size*o.Accum*o.Batch*t.Net.Config().Seq) / now.Sub(last).Seconds() // all workers' tokens
		last = now
		if merr := metrics.Write(r); merr != nil {
			return merr
		}
		if err != nil {
			return err // diverged: the last checkpoint stays as it was
		}
		if hooks.OnStep != nil {
			hooks.OnStep(r)
		}
		if rank == 0 && o.EvalEvery > 0 && (t.Step%o.EvalEvery == 0 || t.Step == o.Steps) && len(t.evalOffs) > 0 {
			e := EvalRecord{Step: t.Step, Tokens: t.TokensSeen, ValLoss: t.Evaluate()}
			if err := metrics.Write(e); err != nil {
				return err
			}
			if hooks.OnEval != nil {
				hooks.OnEval(e)
			}
		}
		if rank == 0 && t.probe != nil && (t.Step%o.GainsEvery == 0 || t.Step == o.Steps || t.Step == 1) {
			g := t.probe.Measure(t.Step)
			g.Tokens = t.TokensSeen
			if err := metrics.Write(g); err != nil {
				return err
			}
			if hooks.OnGains != nil {
				hooks.OnGains(g)
			}
		}
		if o.CkptEvery > 0 && t.Step%o.CkptEvery == 0 && t.Step < until {
			if err := save(); err != nil {
				return err
			}
		}
		last = time.Now() // evaluation and checkpoints are not training time
	}
	return save()
}
