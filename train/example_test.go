package train_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

// The mHC paper's step schedule: warmup, then ×0.316 at 80 % and ×0.1 at 90 % of the steps.
func ExampleLR() {
	for _, step := range []int{0, 9, 50, 80, 95} {
		fmt.Printf("step %2d: %.4f\n", step, train.LR(train.StepDecay, 1e-3, step, 10, 100))
	}
	// Output:
	// step  0: 0.0001
	// step  9: 0.0010
	// step 50: 0.0010
	// step 80: 0.0003
	// step 95: 0.0001
}

// Start a run, train 5 steps, save; resume it in a new value and train 5
// more: the losses equal those of one uninterrupted 10-step run, bit for bit.
func Example_resume() {
	dir, _ := os.MkdirTemp("", "mhc-example")
	defer os.RemoveAll(dir)
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("Manifold-constrained hyper-connections. ", 300)), 0o644)

	cfg := model.Presets["tiny"].Config
	cfg.D, cfg.Layers, cfg.Heads, cfg.Seq, cfg.MLPHidden = 32, 2, 2, 32, 64
	cfg.Kind, cfg.Streams = hyper.MHC, 4
	opts := train.DefaultOptions()
	opts.Steps, opts.Batch, opts.Warmup, opts.EvalEvery = 10, 4, 2, 0

	trainSteps := func(r *train.Run, n int) (losses []float64) {
		err := r.TrainSteps(context.Background(), n, train.Hooks{OnStep: func(s train.StepRecord) { losses = append(losses, s.Loss) }})
		if err != nil {
			panic(err)
		}
		return losses
	}
	spec := train.Spec{Dir: filepath.Join(dir, "whole"), Config: cfg, Options: opts, Data: corpus, Tokenizer: "byte"}
	whole, err := train.Start(spec)
	if err != nil {
		panic(err)
	}
	want := trainSteps(whole, 10)
	whole.Close()

	spec.Dir = filepath.Join(dir, "split")
	first, _ := train.Start(spec)
	got := trainSteps(first, 5) // saves a checkpoint after step 5
	first.Close()
	second, err := train.Resume(spec.Dir, train.Continue{})
	if err != nil {
		panic(err)
	}
	got = append(got, trainSteps(second, 5)...)
	second.Close()
	fmt.Println("steps:", len(got), "identical:", slices.Equal(got, want))
	// Output: steps: 10 identical: true
}
