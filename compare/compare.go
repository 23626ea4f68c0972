// Package compare answers "does mHC help, at what cost, at my scale?": it
// runs a grid of training runs (connection kinds and their ablations, init
// schemes, depths, seeds) one after another in one directory, with the same
// data order per seed for every variant, and writes a report of figures and a
// results table with confidence intervals over seeds.
//
// A compare directory holds
//
//	compare.json            the Plan: the grid and every run it expands to
//	runs/NAME/              one train run directory per run (see package train)
//	runs/NAME/result.json   the Result, written when the run has finished
//	report.md, report.html  the report (see Report), figures/ its figures
//
// Train is resumable: a killed compare, run again with the same plan, keeps the
// finished runs, resumes the interrupted one exactly from its last checkpoint
// (package train's bit-identical resume) and goes on.
package compare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/safetensors"
	"github.com/mhc-go/mhc/train"
)

// Grid is what to compare. Every combination of Presets × Depths ×
// BaseInits × Conns (× Inits, for mhc and mhc-lite items that do not name
// their own init) is one variant; every variant is trained once per seed
// 1..Seeds with the same Options, data and batches.
type Grid struct {
	// Conns are the connection variants, each KIND[:KEY=VALUE]... with KIND
	// residual, hc, mhc or mhc-lite and keys n (streams), fixed (a
	// +-separated subset of pre, post, res: the paper's Table 1 ablation)
	// and init (the connection init, see hyper.Inits); e.g. "mhc",
	// "mhc:fixed=res", "mhc:init=identity", "hc:n=2".
	Conns []string `json:"conns"`
	// Inits are the connection init schemes tried for mhc and mhc-lite
	// items without init= (default: uniform).
	Inits []string `json:"inits"`
	// BaseInits are the init schemes of the non-connection weights (see
	// model.BaseInits; default model.DefaultBaseInit).
	BaseInits []string `json:"base_inits"`
	// Presets are model sizes (model.Presets; default tiny).
	Presets []string `json:"presets"`
	// Depths override the preset's block count (n_layers); empty keeps it.
	Depths []int `json:"depths,omitempty"`
	// D overrides the preset's width (0 keeps it); the SwiGLU width
	// follows (model.DefaultMLPHidden).
	D int `json:"d_model,omitempty"`
	// Seeds is the number of seeds, 1..Seeds.
	Seeds int `json:"seeds"`
	// Data and Tokenizer: the corpus and tokenizer (see train.Spec).
	Data      string `json:"data"`
	Tokenizer string `json:"tokenizer"`
	// Options are every run's options; Seed is set per run. Batch 0 takes
	// the (first) preset's batch.
	Options train.Options `json:"options"`
	// ValWindows is the number of validation windows of the final
	// evaluation; 0 (the default) scores the whole validation split.
	ValWindows int `json:"val_windows,omitempty"`
}

// Plan is a Grid expanded into runs, in the order they are trained: seed
// by seed, so that a compare stopped early has every variant on the same
// seeds. It is saved as compare.json.
type Plan struct {
	Version int       `json:"version"`
	Grid    Grid      `json:"grid"`
	Runs    []RunPlan `json:"runs"`
}

// RunPlan is one run of a Plan.
type RunPlan struct {
	Name    string       `json:"name"`    // its directory under runs/
	Variant string       `json:"variant"` // the variant label (see Labels)
	Seed    uint64       `json:"seed"`
	Config  model.Config `json:"config"`
}

// planVersion is the compare.json format version.
const planVersion = 1

// Error is a problem with a grid or a compare directory: bad input that a
// command line reports in one line.
type Error struct{ Msg string }

func (e *Error) Error() string { return "compare: " + e.Msg }

func badf(format string, args ...any) error { return &Error{fmt.Sprintf(format, args...)} }

// NewPlan validates g and expands it. Errors are *Error.
func NewPlan(g Grid) (*Plan, error) {
	if g.Seeds < 1 {
		return nil, badf("seeds %d: want at least 1", g.Seeds)
	}
	if len(g.Conns) == 0 {
		return nil, badf("no connections to compare")
	}
	if len(g.Inits) == 0 {
		g.Inits = []string{hyper.InitUniform}
	}
	if len(g.BaseInits) == 0 {
		g.BaseInits = []string{model.DefaultBaseInit}
	}
	if len(g.Presets) == 0 {
		g.Presets = []string{"tiny"}
	}
	if g.Tokenizer == "" {
		g.Tokenizer = "byte"
	}
	if g.Data == "" {
		g.Data = data.DefaultCorpus
	}
	for _, in := range g.Inits {
		if !slices.Contains(hyper.Inits, in) {
			return nil, badf("init %q: want %s", in, strings.Join(hyper.Inits, ", "))
		}
	}
	for _, b := range g.BaseInits {
		if !slices.Contains(model.BaseInits, b) {
			return nil, badf("base init %q: want %s", b, strings.Join(model.BaseInits, ", "))
		}
	}
	if g.ValWindows < 0 {
		return nil, badf("val windows %d: must not be negative", g.ValWindows)
	}
	tok, err := data.NewTokenizer(g.Tokenizer)
	if err != nil {
		return nil, &Error{err.Error()}
	}
	var vars []model.Config // the grid's architectures, before seeds
	for _, pn := range g.Presets {
		p, ok := model.Presets[pn]
		if !ok {
			return nil, badf("preset %q: want tiny, small or base", pn)
		}
		if g.Options.Batch == 0 {
			g.Options.Batch = p.Batch
		}
		depths := g.Depths
		if len(depths) == 0 {
			depths = []int{0}
		}
		for _, L := range depths {
			for _, bi := range g.BaseInits {
				for _, item := range g.Conns {
					vs, err := expand(item, p.Config, g, L, bi)
					if err != nil {
						return nil, err
					}
					for _, v := range vs {
						v.Vocab = tok.VocabSize()
						if err := v.Validate(); err != nil {
							return nil, badf("%s: %v", item, err)
						}
						vars = append(vars, v)
					}
				}
			}
		}
	}
	// Drop repeated variants (e.g. residual under several inits).
	var uniq []model.Config
	seen := map[string]bool{}
	for _, v := range vars {
		b, _ := json.Marshal(v)
		if !seen[string(b)] {
			seen[string(b)] = true
			uniq = append(uniq, v)
		}
	}
	if err := g.Options.Validate(); err != nil {
		return nil, &Error{err.Error()}
	}
	labels := Labels(uniq)
	names := map[string]bool{}
	plan := &Plan{Version: planVersion, Grid: g}
	for s := 1; s <= g.Seeds; s++ {
		for i, v := range uniq {
			name := dirName(labels[i]) + "-s" + strconv.Itoa(s)
			if names[name] {
				return nil, badf("two variants are both labelled %q", labels[i])
			}
			names[name] = true
			plan.Runs = append(plan.Runs, RunPlan{Name: name, Variant: labels[i], Seed: uint64(s), Config: v})
		}
	}
	return plan, nil
}

// expand turns one Conns item into its variants for preset config base,
// depth L (0: the preset's) and base init bi.
func expand(item string, base model.Config, g Grid, L int, bi string) ([]model.Config, error) {
	parts := strings.Split(item, ":")
	kind, err := hyper.ParseKind(parts[0])
	if err != nil {
		return nil, badf("connection %q: want residual, hc, mhc or mhc-lite (with :n=N, :fixed=pre+post+res, :init=I)", item)
	}
	cfg := base
	if g.D > 0 {
		cfg.D, cfg.MLPHidden = g.D, model.DefaultMLPHidden(g.D)
	}
	if L > 0 {
		cfg.Layers = L
	}
	cfg.BaseInit = bi
	if bi == model.BaseGPT2 {
		cfg.BaseInit = ""
	}
	cfg.Kind, cfg.Streams = kind, 4
	if kind == hyper.Residual {
		cfg.Streams = 1
	}
	var inits []string
	for _, kv := range parts[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, badf("connection %q: %q is not KEY=VALUE", item, kv)
		}
		switch k {
		case "n":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, badf("connection %q: n=%s is not a number", item, v)
			}
			cfg.Streams = n
		case "fixed":
			f, err := hyper.ParseFixed(strings.ReplaceAll(v, "+", ","))
			if err != nil {
				return nil, badf("connection %q: %v", item, err)
			}
			cfg.Fixed = f
		case "init":
			if !slices.Contains(hyper.Inits, v) {
				return nil, badf("connection %q: init %q: want %s", item, v, strings.Join(hyper.Inits, ", "))
			}
			inits = []string{v}
		default:
			return nil, badf("connection %q: unknown key %q (want n, fixed or init)", item, k)
		}
	}
	if kind != hyper.MHC && kind != hyper.MHCLite {
		if len(inits) > 0 && inits[0] != hyper.InitUniform {
			return nil, badf("connection %q: only mhc and mhc-lite have connection init schemes", item)
		}
		return []model.Config{cfg}, nil
	}
	if inits == nil {
		inits = g.Inits
	}
	var vs []model.Config
	for _, in := range inits {
		c := cfg
		c.Init = in
		if in == hyper.InitUniform {
			c.Init = ""
		}
		vs = append(vs, c)
	}
	return vs, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._=+-]+`)

// dirName makes a label a directory name: "mhc fixed=res" → "mhc_fixed=res".
func dirName(label string) string { return unsafeName.ReplaceAllString(label, "_") }

// Hooks receive a compare's progress; any may be nil.
type Hooks struct {
	// OnRun is called before run i of the plan: how is "start", "resume"
	// or "done" (finished earlier: kept, not trained).
	OnRun func(i int, rp RunPlan, how string)
	// Train returns the training hooks of run i (progress lines).
	Train func(i int, rp RunPlan) train.Hooks
	// OnEval is called before run i's final evaluation (windows of seq
	// tokens).
	OnEval func(i int, windows int)
	// OnDone is called with run i's result.
	OnDone func(i int, res Result)
}

// Open prepares dir for plan: it creates dir and compare.json, or checks
// that an existing compare.json holds the same plan (a directory with
// another compare, or something else, is refused with an *Error).
func Open(dir string, plan *Plan) error {
	want, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		return err
	}
	want = append(want, '\n')
	path := filepath.Join(dir, SpecFile)
	have, err := os.ReadFile(path)
	switch {
	case err == nil:
		if string(have) == string(want) {
			return nil
		}
		var old Plan
		if err := json.Unmarshal(have, &old); err != nil {
			return badf("%s: %v", path, err)
		}
		return badf("%s holds a different compare (%s); use another --out or the same settings", dir, planDiff(&old, plan))
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("compare: %w", err)
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return badf("%s is not empty and holds no %s: choose a new directory", dir, SpecFile)
	}
	if err := os.MkdirAll(filepath.Join(dir, RunsDir), 0o755); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	return writeAtomic(path, want)
}

// planDiff names the first grid settings that differ between two plans.
func planDiff(a, b *Plan) string {
	fa, fb := flatten(a.Grid), flatten(b.Grid)
	var diffs []string
	for k, x := range fa {
		if y := fb[k]; x != y {
			diffs = append(diffs, fmt.Sprintf("%s %s there, %s here", k, x, orNone(y)))
		}
	}
	for k, y := range fb {
		if _, ok := fa[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s none there, %s here", k, y))
		}
	}
	sort.Strings(diffs)
	if len(diffs) == 0 {
		return fmt.Sprintf("format version %d there, %d here", a.Version, b.Version)
	}
	if len(diffs) > 3 {
		diffs = append(diffs[:3], "…")
	}
	return strings.Join(diffs, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// flatten maps the JSON of g to "key" or "options.key" → JSON value.
func flatten(g Grid) map[string]string {
	var m map[string]json.RawMessage
	b, _ := json.Marshal(g)
	_ = json.Unmarshal(b, &m)
	out := map[string]string{}
	for k, v := range m {
		var sub map[string]json.RawMessage
		if json.Unmarshal(v, &sub) == nil {
			for k2, v2 := range sub {
				out[k+"."+k2] = string(v2)
			}
			continue
		}
		out[k] = string(v)
	}
	return out
}

// Train trains every run of plan in dir (see Open) that has no result yet,
// in order, and returns all results. Cancelling ctx stops the current run
// after its step, saves it and returns ctx's error; running again resumes.
func Train(ctx context.Context, dir string, plan *Plan, hooks Hooks) ([]Result, error) {
	if err := Open(dir, plan); err != nil {
		return nil, err
	}
	results := make([]Result, len(plan.Runs))
	for i, rp := range plan.Runs {
		res, err := runOne(ctx, dir, plan, i, rp, hooks)
		if err != nil {
			return nil, err
		}
		results[i] = res
		if hooks.OnDone != nil {
			hooks.OnDone(i, res)
		}
	}
	return results, nil
}

// ReadResult reads RUN/result.json.
func ReadResult(runDir string) (Result, error) {
	var r Result
	b, err := os.ReadFile(filepath.Join(runDir, ResultFile))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("compare: %s: %w", filepath.Join(runDir, ResultFile), err)
	}
	return r, nil
}

func runOne(ctx context.Context, dir string, plan *Plan, i int, rp RunPlan, hooks Hooks) (Result, error) {
	rdir := filepath.Join(dir, RunsDir, rp.Name)
	if res, err := ReadResult(rdir); err == nil {
		if hooks.OnRun != nil {
			hooks.OnRun(i, rp, "done")
		}
		return res, nil
	}
	train.ResetPeakRSS()
	var run *train.Run
	var err error
	_, serr := os.Stat(filepath.Join(rdir, train.StateFile))
	switch {
	case serr == nil:
		if hooks.OnRun != nil {
			hooks.OnRun(i, rp, "resume")
		}
		run, err = train.Resume(rdir, train.Continue{})
		if errors.Is(err, train.ErrRunDone) {
			run, err = nil, nil // trained; only the evaluation is missing
		}
	default:
		// Killed before its first checkpoint: nothing worth keeping.
		if err := os.RemoveAll(rdir); err != nil {
			return Result{}, fmt.Errorf("compare: %w", err)
		}
		if hooks.OnRun != nil {
			hooks.OnRun(i, rp, "start")
		}
		opts := plan.Grid.Options
		opts.Seed = rp.Seed
		run, err = train.Start(train.Spec{Dir: rdir, Config: rp.Config, Options: opts,
			Data: plan.Grid.Data, Tokenizer: plan.Grid.Tokenizer})
	}
	if err != nil {
		return Result{}, fmt.Errorf("compare: run %s: %w", rp.Name, err)
	}
	var peak int64
	var net *model.Model
	var val []int32
	if run != nil {
		var th train.Hooks
		if hooks.Train != nil {
			th = hooks.Train(i, rp)
		}
		err := run.Train(ctx, th)
		peak = train.PeakRSS()
		if errors.Is(err, train.ErrDiverged) {
			run.Close()
			return finish(rdir, plan, rp, Result{Diverged: err.Error(), PeakRSS: peak, Params: run.Model().NumParams()})
		}
		if err != nil {
			run.Close()
			return Result{}, fmt.Errorf("compare: run %s: %w", rp.Name, err)
		}
		net, val = run.Model(), run.Data().Val
		defer run.Close()
	} else {
		ck, err := train.OpenCheckpoint(rdir, plan.Grid.Options.Batch)
		if err != nil {
			return Result{}, fmt.Errorf("compare: run %s: %w", rp.Name, err)
		}
		d, err := train.LoadData(ck.State.Data, ck.Tokenizer)
		if err != nil {
			return Result{}, fmt.Errorf("compare: run %s: %w", rp.Name, err)
		}
		net, val = ck.Model, d.Val
	}
	offs, err := data.EvalWindows(val, net.Cfg.Seq, plan.Grid.ValWindows)
	if err != nil {
		return Result{}, fmt.Errorf("compare: run %s: validation split: %w", rp.Name, err)
	}
	if hooks.OnEval != nil {
		hooks.OnEval(i, len(offs))
	}
	T, B := net.Cfg.Seq, net.MaxBatch()
	inputs, targets := make([]int32, B*T), make([]int32, B*T)
	valLoss := train.Evaluate(net, val, offs, inputs, targets)
	return finish(rdir, plan, rp, Result{ValLoss: valLoss, ValTokens: int64(len(offs) * T), PeakRSS: peak, Params: net.NumParams()})
}

// finish completes res (measured: ValLoss, ValTokens, PeakRSS, Params, or
// Diverged) from the plan and the run's metrics and writes result.json.
func finish(rdir string, plan *Plan, rp RunPlan, res Result) (Result, error) {
	log, err := train.ReadMetrics(rdir)
	if err != nil {
		return Result{}, fmt.Errorf("compare: run %s: %w", rp.Name, err)
	}
	res.Variant, res.Seed, res.Steps = rp.Variant, rp.Seed, plan.Grid.Options.Steps
	res.EstMemory = train.EstimateMemory(rp.Config, plan.Grid.Options.Batch, true).Total()
	res.Conn, res.Streams, res.Fixed = string(rp.Config.Kind), rp.Config.Streams, rp.Config.Fixed.String()
	res.Init, res.BaseInit, res.D, res.Layers = rp.Config.InitScheme(), rp.Config.BaseInit, rp.Config.D, rp.Config.Layers
	if res.BaseInit == "" {
		res.BaseInit = model.BaseGPT2
	}
	var prev int64
	var tps []float64
	for _, s := range log.Steps {
		if s.TokPerS > 0 {
			res.TrainSeconds += float64(s.Tokens-prev) / s.TokPerS
			tps = append(tps, s.TokPerS)
		}
		prev = s.Tokens
	}
	res.Tokens = prev
	if len(tps) > 0 {
		slices.Sort(tps)
		res.TokPerSec = tps[len(tps)/2]
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return Result{}, err
	}
	if err := writeAtomic(filepath.Join(rdir, ResultFile), append(b, '\n')); err != nil {
		return Result{}, err
	}
	return res, nil
}

// writeAtomic writes b to path through safetensors.WriteAtomic (a synced
// temporary file and a rename), so a crash leaves the old file or the new.
func writeAtomic(path string, b []byte) error {
	err := safetensors.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	return nil
}
