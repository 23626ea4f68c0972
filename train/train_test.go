package train

import (
	"math"
	"os"
	"path/filepath"
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

func steps(t *testing.T, tr *Trainer, n int) []float64 {
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

// Same seed → bit-identical loss sequence; stopping, checkpointing and
// resuming continues bit-identically.
func TestDeterminismAndExactResume(t *testing.T) {
	opts := testOptions()
	opts.Accum = 2
	a := steps(t, newRun(t, opts), 8)
	b := steps(t, newRun(t, opts), 8)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, step %d: loss %v vs %v", i+1, a[i], b[i])
		}
	}

	dir := t.TempDir()
	tr := newRun(t, opts)
	first := steps(t, tr, 4)
	st, err := tr.State("byte", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveCheckpoint(dir, tr.Model, tr.Opt, st); err != nil {
		t.Fatal(err)
	}
	m2, err := LoadModel(dir, opts.Batch)
	if err != nil {
		t.Fatal(err)
	}
	st2, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	toks := corpusTokens()
	loader, _ := data.NewLoader(toks, opts.Batch, m2.Cfg.Seq, 12345) // seed is overwritten by Restore
	tr2, err := NewTrainer(m2, loader, toks[:600], st2.Options)
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadOptimizer(dir, tr2.Opt, m2.Params); err != nil {
		t.Fatal(err)
	}
	if err := tr2.Restore(st2); err != nil {
		t.Fatal(err)
	}
	rest := steps(t, tr2, 4)
	got := append(first, rest...)
	for i := range a {
		if a[i] != got[i] {
			t.Fatalf("resumed run, step %d: loss %v, uninterrupted %v", i+1, got[i], a[i])
		}
	}
}

func TestLossDecreases(t *testing.T) {
	opts := testOptions()
	opts.Steps, opts.Warmup = 60, 5
	tr := newRun(t, opts)
	v0 := tr.Evaluate()
	l := steps(t, tr, 60)
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
	if err := SaveCheckpoint(dir, tr.Model, tr.Opt, st); err != nil {
		t.Fatal(err)
	}
	// A config that does not match the weights.
	cfgPath := filepath.Join(dir, ConfigFile)
	b, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, []byte(strings.Replace(string(b), `"d_model": 32`, `"d_model": 64`, 1)), 0o644)
	if _, err := LoadModel(dir, 1); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("mismatched config: %v", err)
	}
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
