package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/mhc-go/mhc/compare"
	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

// runCompare trains a grid of runs into one directory and writes its report.
func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", stderr)
	var g compare.Grid
	d := train.DefaultOptions()
	o := &g.Options
	conns := fs.String("conns", "residual,hc,mhc", "connection variants, comma-separated: residual, hc, mhc, mhc-lite, each with optional :n=N, :fixed=pre+post+res (Table 1 ablation), :init=I; e.g. mhc:fixed=res")
	inits := fs.String("inits", hyper.InitUniform, "connection init schemes tried for mhc/mhc-lite variants without :init= (uniform, identity, split)")
	baseInits := fs.String("base-inits", model.DefaultBaseInit, "init schemes of the non-connection weights (neox, gpt2, torch), comma-separated")
	presets := fs.String("preset", "tiny", "model sizes, comma-separated: tiny, small, base")
	depths := fs.String("depths", "", "block counts to sweep (n_layers), comma-separated, e.g. 4,8,16 (default: the preset's)")
	fs.IntVar(&g.D, "d-model", 0, "override the model width")
	fs.IntVar(&g.Seeds, "seeds", 3, "seeds per variant (1..N); every variant sees the same batches for a seed")
	fs.StringVar(&g.Data, "data", data.DefaultCorpus, "corpus: gostd, english (mhc data fetch english), a file or a directory")
	fs.StringVar(&g.Tokenizer, "tokenizer", "byte", "byte or gpt2")
	fs.IntVar(&g.ValWindows, "val-windows", 0, "validation windows of the final evaluation (0 = the whole validation split)")
	optionFlags(fs, o, d) // every run's options; the seeds come from --seeds
	fs.IntVar(&o.EvalEvery, "eval-every", 50, "validate every N steps (the validation curve)")
	fs.IntVar(&o.CkptEvery, "ckpt-every", 100, "checkpoint every N steps (a killed compare resumes from there)")
	out := fs.String("out", "", "compare directory (required): runs, results and the report")
	noProgress := fs.Bool("no-progress", false, "plain progress lines instead of a progress bar")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *out == "" {
		return bad("--out: the compare directory is required (rerun with the same --out to resume)")
	}
	o.Eps = d.Eps
	g.Conns, g.Inits, g.BaseInits, g.Presets = splitList(*conns), splitList(*inits), splitList(*baseInits), splitList(*presets)
	for _, s := range splitList(*depths) {
		L, err := strconv.Atoi(s)
		if err != nil || L < 1 {
			return bad("--depths: %q is not a block count ≥ 1", s)
		}
		g.Depths = append(g.Depths, L)
	}
	plan, err := compare.NewPlan(g)
	if err != nil {
		return compareErr(err)
	}
	if err := compare.Open(*out, plan); err != nil {
		return compareErr(err)
	}
	fmt.Fprintf(stderr, "compare: %d runs (%d variants × %d seeds) in %s; kernels %s\n",
		len(plan.Runs), len(plan.Runs)/g.Seeds, g.Seeds, *out, kernels.Path())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	plain := *noProgress || stderr != io.Writer(os.Stderr) || !term.IsTerminal(int(os.Stderr.Fd()))
	eta := newETA(plan)
	var prog *progress
	_, err = compare.Train(ctx, *out, plan, compare.Hooks{
		OnRun: func(i int, rp compare.RunPlan, how string) {
			if how == "done" {
				fmt.Fprintf(stderr, "[%d/%d] %s: done earlier, kept\n", i+1, len(plan.Runs), rp.Name)
				eta.skip(i)
				return
			}
			fmt.Fprintf(stderr, "[%d/%d] %s (%s, seed %d): %s%s\n", i+1, len(plan.Runs), rp.Name, rp.Variant, rp.Seed, how, eta.String())
			eta.start(i)
		},
		Train: func(i int, rp compare.RunPlan) train.Hooks {
			prog = newProgress(stderr, plan.Grid.Options.Steps, 0, plain, kernels.PeakGFLOPS(), rp.Config.FLOPsPerToken())
			return train.Hooks{OnStep: prog.step, OnEval: prog.eval, OnGains: prog.gains}
		},
		OnEval: func(i int, windows int) {
			if prog != nil {
				prog.finish()
				prog = nil
			}
			fmt.Fprintf(stderr, "    final evaluation: %d validation windows\n", windows)
		},
		OnDone: func(i int, res compare.Result) {
			eta.finish(i)
			if res.Diverged != "" {
				fmt.Fprintf(stderr, "    %s seed %d: %s; kept as a result, the compare goes on\n", res.Variant, res.Seed, res.Diverged)
				return
			}
			fmt.Fprintf(stderr, "    %s seed %d: val loss %.4f over %d tokens, %.0f tok/s, %.0fs training\n",
				res.Variant, res.Seed, res.ValLoss, res.ValTokens, res.TokPerSec, res.TrainSeconds)
		},
	})
	if prog != nil {
		prog.finish()
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w; rerun the same command to continue", errInterrupted)
	}
	if err != nil {
		return compareErr(err)
	}
	return reportCompare(stdout, *out)
}

// compareErr makes the package's input errors usage errors (exit 2).
func compareErr(err error) error {
	var ce *compare.Error
	if errors.As(err, &ce) {
		return bad("%s", ce.Msg)
	}
	return err
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// eta estimates the compare's remaining time from training FLOPs: each run
// costs FLOPsPerToken × tokens, and the rate is the FLOP/s measured so far.
type eta struct {
	cost       []float64 // FLOPs per run
	done       []bool
	flops, sec float64 // finished work and the time it took
	t0         time.Time
}

func newETA(p *compare.Plan) *eta {
	o := p.Grid.Options
	e := &eta{cost: make([]float64, len(p.Runs)), done: make([]bool, len(p.Runs))}
	for i, rp := range p.Runs {
		e.cost[i] = rp.Config.FLOPsPerToken() * float64(o.Steps*o.Accum*o.Batch*rp.Config.Seq)
	}
	return e
}

func (e *eta) skip(i int) { e.done[i] = true }
func (e *eta) start(int)  { e.t0 = time.Now() }

func (e *eta) finish(i int) {
	if e.done[i] { // kept from an earlier compare: no time measured
		return
	}
	e.done[i] = true
	e.flops += e.cost[i]
	e.sec += time.Since(e.t0).Seconds()
}

func (e *eta) String() string {
	if e.sec == 0 {
		return ""
	}
	var left float64
	for i, c := range e.cost {
		if !e.done[i] {
			left += c
		}
	}
	return fmt.Sprintf("; about %s left", time.Duration(left/(e.flops/e.sec)*1e9).Round(time.Second))
}
