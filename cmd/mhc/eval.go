package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/safetensors"
	"github.com/mhc-go/mhc/train"
)

// runEval scores a checkpoint: mean loss (nats/token) and bits/byte over
// evaluation windows of a corpus.
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
	ck, err := openCheckpoint(*ckpt, *batch)
	if err != nil {
		return err
	}
	noteUnverified(stderr, ck)
	if err := dumpDir(*dump); err != nil {
		return err
	}
	m, tok := ck.Model, ck.Tokenizer
	d, err := loadData(*spec, ck)
	if err != nil {
		return err
	}
	tokens, split := d.Val, "val"
	if *spec != "" && *spec != data.CorpusGoStd && *spec != data.CorpusEnglish {
		tokens, split = append(append([]int32(nil), d.Train...), d.Val...), "all"
	}
	offs, err := data.EvalWindows(tokens, m.Cfg.Seq, *windows)
	if err != nil {
		return bad("--data %s: %w", d.Spec, err)
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
			d.Corpus.Name, split, len(offs), len(offs)*T, loss, bpb)
		return nil
	}
	fmt.Fprintf(stdout, "%s (%s split): %d windows × %d tokens: loss %.4f nats/token, %.4f bits/byte\n",
		d.Corpus.Name, split, len(offs), T, loss, bpb)
	return nil
}

// dumpDir checks, before the evaluation, that --dump-logits FILE can be
// written: it creates FILE's directory (like train --out) and refuses a FILE
// that is a directory.
func dumpDir(file string) error {
	if file == "" {
		return nil
	}
	if info, err := os.Stat(file); err == nil && info.IsDir() {
		return bad("--dump-logits %s: is a directory", file)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return bad("--dump-logits %s: %v", file, err)
	}
	return nil
}
