package compare

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/train"
)

// smallGrid is a grid that trains in about a second per run.
func smallGrid(conns ...string) Grid {
	o := train.DefaultOptions()
	o.Steps, o.Batch, o.Warmup, o.EvalEvery, o.EvalWindows, o.GainsEvery, o.CkptEvery = 12, 4, 2, 4, 4, 4, 4
	return Grid{Conns: conns, Seeds: 2, D: 32, Depths: []int{2}, Options: o, ValWindows: 16}
}

func TestNewPlan(t *testing.T) {
	for _, tc := range []struct {
		name  string
		grid  func(g *Grid)
		names []string
	}{
		{"conns", func(g *Grid) {}, []string{"residual-s1", "hc-s1", "mhc-s1", "residual-s2", "hc-s2", "mhc-s2"}},
		{"inits apply to mhc only", func(g *Grid) { g.Inits = []string{"uniform", "identity"}; g.Seeds = 1 },
			[]string{"residual-s1", "hc-s1", "mhc-s1", "mhc_init=identity-s1"}},
		{"ablation and explicit init", func(g *Grid) {
			g.Conns = []string{"mhc", "mhc:fixed=res", "mhc:fixed=pre+post:init=split"}
			g.Seeds = 1
		}, []string{"mhc-s1", "mhc_fixed=res-s1", "mhc_fixed=pre_post_init=split-s1"}},
		{"depths and base inits", func(g *Grid) {
			g.Conns, g.Depths, g.BaseInits, g.Seeds = []string{"residual"}, []int{2, 3}, []string{"neox", "torch"}, 1
		}, []string{"residual_L=2-s1", "residual_base=torch_L=2-s1", "residual_L=3-s1", "residual_base=torch_L=3-s1"}},
		{"duplicates dropped", func(g *Grid) { g.Conns = []string{"residual", "residual", "hc"}; g.Seeds = 1 },
			[]string{"residual-s1", "hc-s1"}},
	} {
		g := smallGrid("residual", "hc", "mhc")
		tc.grid(&g)
		p, err := NewPlan(g)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var names []string
		for _, r := range p.Runs {
			names = append(names, r.Name)
		}
		if strings.Join(names, " ") != strings.Join(tc.names, " ") {
			t.Errorf("%s: runs %v, want %v", tc.name, names, tc.names)
		}
	}
}

func TestNewPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		grid func(g *Grid)
		want string
	}{
		{func(g *Grid) { g.Seeds = 0 }, "seeds 0"},
		{func(g *Grid) { g.Conns = []string{"mhc", "hyper"} }, `connection "hyper"`},
		{func(g *Grid) { g.Conns = nil }, "no connections"},
		{func(g *Grid) { g.Inits = []string{"zero"} }, `init "zero"`},
		{func(g *Grid) { g.Conns = []string{"hc:init=identity"} }, "only mhc and mhc-lite"},
		{func(g *Grid) { g.Conns = []string{"mhc:fixed=all"} }, `"mhc:fixed=all"`},
		{func(g *Grid) { g.Conns = []string{"mhc:n"} }, "not KEY=VALUE"},
		{func(g *Grid) { g.Conns = []string{"mhc:m=2"} }, `unknown key "m"`},
		{func(g *Grid) { g.Conns = []string{"mhc-lite:n=5"} }, "n ≤ 4"},
		{func(g *Grid) { g.BaseInits = []string{"xavier"} }, `base init "xavier"`},
		{func(g *Grid) { g.Presets = []string{"huge"} }, `preset "huge"`},
		{func(g *Grid) { g.Options.LR = -1 }, "lr"},
	} {
		g := smallGrid("residual", "mhc")
		tc.grid(&g)
		_, err := NewPlan(g)
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want a compare.Error with %q", err, tc.want)
		}
	}
}

func TestOpenRefusesOtherDirs(t *testing.T) {
	dir := t.TempDir()
	p1, _ := NewPlan(smallGrid("residual", "mhc"))
	if err := Open(dir, p1); err != nil {
		t.Fatal(err)
	}
	if err := Open(dir, p1); err != nil {
		t.Fatalf("reopening with the same plan: %v", err)
	}
	g := smallGrid("residual", "mhc")
	g.Options.Steps = 20
	p2, _ := NewPlan(g)
	err := Open(dir, p2)
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "different compare (options.steps 12 there, 20 here)") {
		t.Errorf("other plan: %v", err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o644)
	if err := Open(other, p1); !errors.As(err, &ce) || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-empty directory: %v", err)
	}
}

// TestResumeAfterInterrupt stops a compare in the middle of its second run
// and again in its fourth, reruns it each time, and checks that finished
// runs are kept and every number and weight equals an uninterrupted
// compare's.
func TestResumeAfterInterrupt(t *testing.T) {
	plan, err := NewPlan(smallGrid("residual", "mhc"))
	if err != nil {
		t.Fatal(err)
	}
	whole := t.TempDir()
	want, err := Train(context.Background(), whole, plan, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	cut := t.TempDir()
	for _, stop := range []struct{ run, step int }{{1, 6}, {3, 9}} {
		ctx, cancel := context.WithCancel(context.Background())
		_, err := Train(ctx, cut, plan, Hooks{Train: func(i int, rp RunPlan) train.Hooks {
			return train.Hooks{OnStep: func(r train.StepRecord) {
				if i == stop.run && r.Step == stop.step {
					cancel()
				}
			}}
		}})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted compare: %v", err)
		}
	}
	var how []string
	got, err := Train(context.Background(), cut, plan, Hooks{OnRun: func(i int, rp RunPlan, h string) { how = append(how, h) }})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(how, " ") != "done done done resume" {
		t.Errorf("last rerun: %v, want the first three kept and the fourth resumed", how)
	}
	for i := range want {
		if got[i].ValLoss != want[i].ValLoss || got[i].Tokens != want[i].Tokens || got[i].Variant != want[i].Variant {
			t.Errorf("run %s: val %v tokens %d, uninterrupted %v %d", plan.Runs[i].Name, got[i].ValLoss, got[i].Tokens, want[i].ValLoss, want[i].Tokens)
		}
		a, _ := os.ReadFile(filepath.Join(whole, RunsDir, plan.Runs[i].Name, train.ModelFile))
		b, _ := os.ReadFile(filepath.Join(cut, RunsDir, plan.Runs[i].Name, train.ModelFile))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("run %s: weights differ from the uninterrupted compare's", plan.Runs[i].Name)
		}
	}
	if want[1].PeakRSS < 0 || want[1].TokPerSec <= 0 || want[1].TrainSeconds <= 0 || want[1].ValTokens != 16*128 {
		t.Errorf("result measurements: %+v", want[1])
	}
}

// A run that diverges is a result, not the end of the compare: it is kept
// with its reason, the other runs go on, and the report names it.
func TestDivergedRunIsAResult(t *testing.T) {
	g := smallGrid("residual")
	g.Seeds, g.Options.LR, g.Options.Clip, g.Options.Warmup, g.Options.MaxBadSteps = 1, 1e30, 0, 0, 0
	g.Options.CkptEvery = 1 // step 1 is saved; the step-1 update makes step 2's loss non-finite
	plan, err := NewPlan(g)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := Train(context.Background(), dir, plan, Hooks{})
	if err != nil {
		t.Fatalf("a diverged run stopped the compare: %v", err)
	}
	if !strings.Contains(res[0].Diverged, "diverged") || res[0].ValLoss != 0 {
		t.Fatalf("result %+v, want a diverged run without a final loss", res[0])
	}
	again, err := Train(context.Background(), dir, plan, Hooks{})
	if err != nil || again[0].Diverged != res[0].Diverged {
		t.Fatalf("rerun: %v, %+v: the diverged run should be kept", err, again[0])
	}
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Report(t.TempDir(), set)
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(sum.Notes, "\n"); !strings.Contains(notes, "residual-s1 (residual, seed 1) diverged") {
		t.Errorf("report notes %q do not name the diverged run", notes)
	}
}
