package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

// openCheckpoint opens the checkpoint named by --checkpoint for batches of
// up to maxB sequences; every failure is bad input.
func openCheckpoint(dir string, maxB int) (*train.Checkpoint, error) {
	if dir == "" {
		return nil, bad("--checkpoint is required")
	}
	ck, err := train.OpenCheckpoint(dir, maxB)
	return ck, badErr(err)
}

// loadData loads the corpus spec (default: the checkpoint's) and tokenizes it.
func loadData(spec string, ck *train.Checkpoint) (*train.Data, error) {
	if spec == "" {
		spec = ck.State.Data
	}
	d, err := train.LoadData(spec, ck.Tokenizer)
	if err != nil {
		return nil, bad("--data: %w", err)
	}
	return d, nil
}

func runSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sample", stderr)
	ckpt := fs.String("checkpoint", "", "run directory written by mhc train")
	prompt := fs.String("prompt", "\n", "text to continue")
	n := fs.Int("tokens", 256, "tokens to generate")
	temp := fs.Float64("temperature", 0.8, "sampling temperature (0 = greedy)")
	topK := fs.Int("top-k", 40, "sample among the K most likely tokens (0 = all)")
	seed := fs.Uint64("seed", 1, "sampling seed")
	count := fs.Int("n", 1, "number of samples")
	noCache := fs.Bool("no-cache", false, "re-run the model over the whole window for every token instead of using the KV cache (slow; for comparison)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	switch {
	case *n < 1:
		return bad("--tokens %d: must be at least 1", *n)
	case *temp < 0 || math.IsNaN(*temp) || math.IsInf(*temp, 0):
		return bad("--temperature %v: must be a finite number ≥ 0", *temp)
	case *topK < 0:
		return bad("--top-k %d: must not be negative", *topK)
	case *count < 1:
		return bad("--n %d: must be at least 1", *count)
	}
	ck, err := openCheckpoint(*ckpt, 1)
	if err != nil {
		return err
	}
	noteUnverified(stderr, ck)
	m, tok := ck.Model, ck.Tokenizer
	ids := tok.Encode(*prompt)
	if len(ids) == 0 {
		return bad("--prompt: empty after tokenization")
	}
	s := &model.Sampler{Temperature: *temp, TopK: *topK, Rng: rand.New(rand.NewPCG(*seed, 99)), NoCache: *noCache}
	how := "KV cache"
	if *noCache {
		how = "no cache: whole window per token"
	}
	for i := range *count {
		if i > 0 {
			fmt.Fprintln(stdout, "---")
		}
		t0 := time.Now()
		out := s.Generate(m, ids, *n)
		dt := time.Since(t0)
		fmt.Fprintln(stdout, tok.Decode(out))
		fmt.Fprintf(stderr, "sample: %d tokens in %.3f s: %.0f tokens/s (%s)\n", *n, dt.Seconds(), float64(*n)/dt.Seconds(), how)
	}
	return nil
}
