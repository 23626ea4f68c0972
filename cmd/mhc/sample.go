package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/safetensors"
	"github.com/mhc-go/mhc/train"
)

// openCheckpoint loads the model (for batches of maxB) and tokenizer of a checkpoint.
func openCheckpoint(dir string, maxB int) (*model.Model, data.Tokenizer, train.State, error) {
	if dir == "" {
		return nil, nil, train.State{}, bad("--checkpoint is required")
	}
	st, err := train.ReadState(dir)
	if err != nil {
		return nil, nil, st, badErr(err)
	}
	m, err := train.LoadModel(dir, maxB)
	if err != nil {
		return nil, nil, st, badErr(err)
	}
	tok, err := data.NewTokenizer(st.Tokenizer)
	if err != nil {
		return nil, nil, st, badErr(fmt.Errorf("checkpoint %s: %w", dir, err))
	}
	if tok.VocabSize() != m.Cfg.Vocab {
		return nil, nil, st, bad("checkpoint %s: vocab %d does not match tokenizer %s", dir, m.Cfg.Vocab, tok.Name())
	}
	return m, tok, st, nil
}

// loadTokens loads the corpus spec (default: the checkpoint's) and tokenizes
// it, returning the spec used, the corpus, and its train and val tokens.
func loadTokens(spec string, st train.State, tok data.Tokenizer) (string, *data.Corpus, []int32, []int32, error) {
	if spec == "" {
		spec = st.Data
	}
	corpus, err := data.LoadCorpus(spec)
	if err != nil {
		return spec, nil, nil, nil, badErr(fmt.Errorf("--data: %w", err))
	}
	trainTok, valTok, err := corpus.Tokens(tok)
	if err != nil {
		return spec, nil, nil, nil, badErr(fmt.Errorf("--data: %w", err))
	}
	return spec, corpus, trainTok, valTok, nil
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
	m, tok, _, err := openCheckpoint(*ckpt, 1)
	if err != nil {
		return err
	}
	ids := tok.Encode(*prompt)
	if len(ids) == 0 {
		return bad("--prompt: empty after tokenization")
	}
	s := &model.Sampler{Temperature: *temp, TopK: *topK, Rng: rand.New(rand.NewPCG(*seed, 99))}
	for i := range *count {
		if i > 0 {
			fmt.Fprintln(stdout, "---")
		}
		fmt.Fprintln(stdout, tok.Decode(s.Generate(m, ids, *n)))
	}
	return nil
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", stderr)
	ckpt := fs.String("checkpoint", "", "run directory written by mhc train")
	spec := fs.String("data", "", "corpus to evaluate: a file or directory (all of it), or gostd/english (their validation split); default: the checkpoint's corpus, validation split")
	windows := fs.Int("windows", 0, "evaluate at most N windows of seq tokens, spread evenly (0 = all)")
	batch := fs.Int("batch", 8, "windows per forward pass")
	dump := fs.String("dump-logits", "", "also write the first window's tokens and logits to this safetensors file (for cross-checks with PyTorch)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *batch < 1 || *windows < 0 {
		return bad("--batch must be ≥ 1 and --windows ≥ 0")
	}
	m, tok, st, err := openCheckpoint(*ckpt, *batch)
	if err != nil {
		return err
	}
	name, corpus, trainTok, valTok, err := loadTokens(*spec, st, tok)
	if err != nil {
		return err
	}
	tokens, split := valTok, "val"
	if *spec != "" && *spec != data.CorpusGoStd && *spec != data.CorpusEnglish {
		tokens, split = append(append([]int32(nil), trainTok...), valTok...), "all"
	}
	offs, err := data.EvalWindows(tokens, m.Cfg.Seq, *windows)
	if err != nil {
		return badErr(fmt.Errorf("--data %s: %w", name, err))
	}
	T := m.Cfg.Seq
	in, tg := make([]int32, *batch*T), make([]int32, *batch*T)
	loss := train.Evaluate(m, tokens, offs, in, tg)
	// bits per byte: total nats over the evaluated targets / their byte length.
	var bytes int
	for _, o := range offs {
		_, t := data.Window(tokens, o, T)
		bytes += len(tok.Decode(t))
	}
	bpb := loss * float64(len(offs)*T) / float64(bytes) / math.Ln2
	if *dump != "" {
		in0, _ := data.Window(tokens, offs[0], T)
		m.Forward(in0, 1, T)
		err := safetensors.WriteFile(*dump, []safetensors.Tensor{
			safetensors.I32("tokens", []int{1, T}, in0),
			safetensors.F32("logits", []int{1, T, m.Cfg.Vocab}, m.Logits()),
		}, map[string]string{"checkpoint": *ckpt})
		if err != nil {
			return err
		}
	}
	if *asJSON {
		fmt.Fprintf(stdout, `{"data":%q,"split":%q,"windows":%d,"tokens":%d,"loss":%.6f,"bits_per_byte":%.6f}`+"\n",
			corpus.Name, split, len(offs), len(offs)*T, loss, bpb)
		return nil
	}
	fmt.Fprintf(stdout, "%s (%s split): %d windows × %d tokens: loss %.4f nats/token, %.4f bits/byte\n",
		corpus.Name, split, len(offs), T, loss, bpb)
	return nil
}
