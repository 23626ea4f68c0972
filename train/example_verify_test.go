package train_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

// Verify checks a checkpoint without building the model; one flipped bit in
// the weights is found and named.
func ExampleVerify() {
	dir, _ := os.MkdirTemp("", "mhc-example")
	defer os.RemoveAll(dir)
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("Checkpoints that cannot lie. ", 300)), 0o644)
	cfg := model.Presets["tiny"].Config
	cfg.D, cfg.Layers, cfg.Heads, cfg.Seq, cfg.MLPHidden = 32, 1, 2, 16, 64
	opts := train.DefaultOptions()
	opts.Steps, opts.Batch, opts.EvalEvery = 3, 2, 0
	run := filepath.Join(dir, "run")
	r, err := train.Start(train.Spec{Dir: run, Config: cfg, Options: opts, Data: corpus, Tokenizer: "byte"})
	if err != nil {
		panic(err)
	}
	if err := r.Train(context.Background(), train.Hooks{}); err != nil {
		panic(err)
	}
	r.Close()

	rep, err := train.Verify(run)
	if err != nil {
		panic(err)
	}
	fmt.Println("step", rep.Step, "format", rep.Format, "parameters", rep.Params)
	for _, f := range rep.Files {
		fmt.Println(f.Name, f.Tensors, f.Checksummed)
	}

	path := filepath.Join(run, train.ModelFile)
	b, _ := os.ReadFile(path)
	b[len(b)-1] ^= 1 // the last byte of lm_head.weight
	os.WriteFile(path, b, 0o644)
	_, err = train.Verify(run)
	fmt.Println(errors.Is(err, train.ErrDamaged), strings.Contains(err.Error(), `tensor "lm_head.weight"`))
	// Output:
	// step 3 format 2 parameters 26720
	// config.json 0 true
	// model.safetensors 9 true
	// optimizer.safetensors 18 true
	// state.json 0 true
	// true true
}

// EstimateMemory adds up what a configuration needs before anything is
// allocated; CheckMemory compares it with the memory available.
func ExampleEstimateMemory() {
	cfg := model.Presets["tiny"].Config
	e := train.EstimateMemory(cfg, 16, true)
	fmt.Println("parameters:", e.Params)
	fmt.Println("weights:", train.FormatBytes(e.Weights), "optimizer:", train.FormatBytes(e.Optimizer))
	fmt.Println("activations:", train.FormatBytes(e.Activations))

	cfg.D, cfg.Layers, cfg.MLPHidden = 16384, 64, model.DefaultMLPHidden(16384)
	var me *train.MemoryError
	fmt.Println("d_model 16384 × 64 layers refused:", errors.As(train.CheckMemory(cfg, 16, true), &me))
	// Output:
	// parameters: 918656
	// weights: 3.5 MiB optimizer: 7.0 MiB
	// activations: 120.6 MiB
	// d_model 16384 × 64 layers refused: true
}

// One writer per run directory: a second lock is refused until the first is
// released (or its process ends, however it ends).
func ExampleLockDir() {
	dir, _ := os.MkdirTemp("", "mhc-example")
	defer os.RemoveAll(dir)
	first, err := train.LockDir(dir)
	if err != nil {
		panic(err)
	}
	_, err = train.LockDir(dir)
	fmt.Println("second writer refused:", errors.Is(err, train.ErrLocked))
	first.Unlock()
	second, err := train.LockDir(dir)
	fmt.Println("after Unlock:", err == nil)
	second.Unlock()
	// Output:
	// second writer refused: true
	// after Unlock: true
}
