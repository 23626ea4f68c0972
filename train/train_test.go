package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/model"
)

func smallConfig() model.Config {
	c := model.Presets["tiny"].Config
	c.D, c.Layers, c.Heads, c.Seq, c.MLPHidden = 32, 2, 2, 16, 64
	return c
}

func corpusTokens() []int32 {
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 200)
	out := make([]int32, len(text))
	for i := range text {
		out[i] = int32(text[i])
	}
	return out
}

func newRun(t *testing.T, opts Options) *Trainer {
	t.Helper()
	cfg := smallConfig()
	m, err := model.New(cfg, opts.Batch)
	if err != nil {
		t.Fatal(err)
	}
	m.Params.Initialize(opts.Seed)
	toks := corpusTokens()
	loader, err := data.NewLoader(toks, opts.Batch, cfg.Seq, opts.Seed)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, loader, toks[:600], opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func testOptions() Options {
	o := DefaultOptions()
	o.Steps, o.Batch, o.Warmup, o.LR, o.EvalWindows = 8, 4, 2, 3e-3, 8
	return o
}

func trainSteps(t *testing.T, tr *Trainer, n int) []float64 {
	t.Helper()
	var out []float64
	for range n {
		r, err := tr.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Loss)
	}
	return out
}

// testSpec is a small run on a repetitive text file in a fresh directory.
func testSpec(t *testing.T, opts Options) Spec {
	t.Helper()
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 400)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return Spec{Dir: filepath.Join(dir, "run"), Config: smallConfig(), Options: opts, Data: corpus, Tokenizer: "byte"}
}

// train runs r for n steps (or until stop returns true after a step) and
// returns the losses of the steps it did.
func train(t *testing.T, r *Run, n int, stop func(step int) bool) []float64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var losses []float64
	err := r.TrainSteps(ctx, n, Hooks{OnStep: func(s StepRecord) {
		losses = append(losses, s.Loss)
		if stop != nil && stop(s.Step) {
			cancel()
		}
	}})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	return losses
}

// Same seed → bit-identical losses and weights; a run stopped (by reaching
// its step count, or cancelled) and resumed continues bit-identically.
func TestDeterminismAndExactResume(t *testing.T) {
	opts := testOptions()
	opts.Accum, opts.GainsEvery = 2, 3
	run := func(spec Spec) ([]float64, []float32) {
		r, err := Start(spec)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		return train(t, r, 100, nil), r.Model().Params.Data
	}
	a, wa := run(testSpec(t, opts))
	b, wb := run(testSpec(t, opts))
	if !slices.Equal(a, b) || !slices.Equal(wa, wb) {
		t.Fatalf("same seed, different runs:\n%v\n%v", a, b)
	}
	for _, how := range []string{"steps", "cancel"} {
		spec := testSpec(t, opts)
		r, err := Start(spec)
		if err != nil {
			t.Fatal(err)
		}
		var got []float64
		if how == "steps" {
			got = train(t, r, 3, nil)
		} else {
			got = train(t, r, 100, func(step int) bool { return step == 3 })
		}
		r.Close()
		r, err = Resume(spec.Dir, Continue{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Step() != 3 || !r.Resumed() {
			t.Fatalf("%s: resumed at step %d", how, r.Step())
		}
		got = append(got, train(t, r, 100, nil)...)
		r.Close()
		if !slices.Equal(a, got) || !slices.Equal(wa, r.Model().Params.Data) {
			t.Fatalf("%s: resumed run differs:\n got %v\nwant %v", how, got, a)
		}
		// The metrics read back as one uninterrupted run.
		lg, err := ReadMetrics(spec.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(lg.Steps) != opts.Steps || lg.Steps[opts.Steps-1].Tokens != int64(opts.Steps*opts.Accum*opts.Batch*smallConfig().Seq) {
			t.Fatalf("%s: metrics %+v", how, lg.Steps)
		}
		for i, s := range lg.Steps {
			if s.Step != i+1 || s.Loss != a[i] {
				t.Fatalf("%s: metrics step %d: %+v, want loss %v", how, i+1, s, a[i])
			}
		}
	}
}

// Start and Resume refuse what cannot work, naming the problem.
func TestRunErrors(t *testing.T) {
	opts := testOptions()
	opts.Steps = 2
	spec := testSpec(t, opts)
	r, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	train(t, r, 100, nil)
	r.Close()
	if _, err := Start(spec); !errors.Is(err, ErrRunExists) {
		t.Errorf("Start on an existing run: %v", err)
	}
	if _, err := Resume(spec.Dir, Continue{}); !errors.Is(err, ErrRunDone) {
		t.Errorf("Resume of a finished run: %v", err)
	}
	if _, err := Resume(spec.Dir, Continue{Steps: 4, Data: "gostd"}); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("Resume on other data: %v", err)
	}
	if _, err := Resume(t.TempDir(), Continue{}); err == nil {
		t.Error("Resume of an empty directory succeeded")
	}
	bad := testSpec(t, opts)
	bad.Config.Heads = 3
	var fe *model.FieldError
	if _, err := Start(bad); !errors.As(err, &fe) || fe.Field != "d_model" {
		t.Errorf("Start with d_model 32, heads 3: %v", err)
	}
	bad = testSpec(t, opts)
	bad.Options.LR = -1
	var oe *FieldError
	if _, err := Start(bad); !errors.As(err, &oe) || oe.Field != "lr" {
		t.Errorf("Start with lr -1: %v", err)
	}
	bad = testSpec(t, opts)
	bad.Data = filepath.Join(t.TempDir(), "missing.txt")
	if _, err := Start(bad); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("Start on a missing corpus: %v", err)
	}
}

func TestLossDecreases(t *testing.T) {
	opts := testOptions()
	opts.Steps, opts.Warmup = 60, 5
	tr := newRun(t, opts)
	v0 := tr.Evaluate()
	l := trainSteps(t, tr, 60)
	v1 := tr.Evaluate()
	if !(l[len(l)-1] < 0.6*l[0]) || !(v1 < 0.6*v0) {
		t.Fatalf("loss did not drop: train %.3f → %.3f, val %.3f → %.3f", l[0], l[len(l)-1], v0, v1)
	}
	if math.Abs(v0-math.Log(256)) > 0.5 {
		t.Errorf("initial val loss %.3f, expected near ln(256) = %.3f", v0, math.Log(256))
	}
}

func TestCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadModel(dir, 1); err == nil || !strings.Contains(err.Error(), "not a checkpoint") {
		t.Fatalf("empty dir: %v", err)
	}
	opts := testOptions()
	tr := newRun(t, opts)
	st, _ := tr.State("byte", "test")
	if err := SaveCheckpoint(dir, tr.Net, tr.Opt, st); err != nil {
		t.Fatal(err)
	}
	// A config that does not match the weights: its checksum in state.json
	// refuses it; without state.json (an inference-only directory) the
	// shapes do.
	cfgPath := filepath.Join(dir, ConfigFile)
	b, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, []byte(strings.Replace(string(b), `"d_model": 32`, `"d_model": 64`, 1)), 0o644)
	if _, err := LoadModel(dir, 1); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "config.json") {
		t.Fatalf("mismatched config: %v", err)
	}
	stBytes, _ := os.ReadFile(filepath.Join(dir, StateFile))
	os.Remove(filepath.Join(dir, StateFile))
	if _, err := LoadModel(dir, 1); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("mismatched config without state.json: %v", err)
	}
	os.WriteFile(filepath.Join(dir, StateFile), stBytes, 0o644)
	os.WriteFile(filepath.Join(dir, ModelFile), []byte("garbage"), 0o644)
	os.WriteFile(cfgPath, b, 0o644)
	if _, err := LoadModel(dir, 1); err == nil {
		t.Fatal("garbage weights accepted")
	}
}

func TestSchedule(t *testing.T) {
	cases := []struct {
		s          Schedule
		step, want int // want in per-mille of peak
	}{
		{StepDecay, 0, 100}, {StepDecay, 9, 1000}, {StepDecay, 79, 1000}, {StepDecay, 80, 316}, {StepDecay, 90, 100},
		{Cosine, 10, 1000}, {Cosine, 100, 100}, {Constant, 99, 1000},
	}
	for _, c := range cases {
		got := LR(c.s, 1, c.step, 10, 100)
		if math.Abs(got*1000-float64(c.want)) > 1e-9*1000+0.5 && c.s != Cosine {
			t.Errorf("%s step %d: %v, want %v‰", c.s, c.step, got, c.want)
		}
		if c.s == Cosine && math.Abs(got*1000-float64(c.want)) > 10 {
			t.Errorf("%s step %d: %v, want ≈%v‰", c.s, c.step, got, c.want)
		}
	}
}
