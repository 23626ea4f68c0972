package data_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mhc-go/mhc/data"
)

func ExampleNewTokenizer() {
	tok, err := data.NewTokenizer("gpt2")
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("Hello world")
	fmt.Println(tok.VocabSize(), ids)
	fmt.Println(tok.Decode(append(ids, tok.EOT())))
	// Output:
	// 50257 [15496 995]
	// Hello world<|endoftext|>
}

func ExampleLoadCorpus() {
	dir, err := os.MkdirTemp("", "corpus")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "poem.txt")
	text := ""
	for i := 1; i <= 40; i++ {
		text += fmt.Sprintf("line %02d\n", i)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		log.Fatal(err)
	}

	c, err := data.LoadCorpus(path)
	if err != nil {
		log.Fatal(err)
	}
	tok, _ := data.NewTokenizer("byte")
	train, val, err := c.Tokens(tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(train), len(val))
	fmt.Printf("%q\n", tok.Decode(val))
	// Output:
	// 305 17
	// "line 39\nline 40\n\n"
}

func ExampleNewLoader() {
	tokens := make([]int32, 100)
	for i := range tokens {
		tokens[i] = int32(i)
	}
	const batch, seq = 2, 4
	l, err := data.NewLoader(tokens, batch, seq, 1234)
	if err != nil {
		log.Fatal(err)
	}
	inputs, targets := make([]int32, batch*seq), make([]int32, batch*seq)

	state := l.State() // checkpoint before the step
	if err := l.Next(inputs, targets); err != nil {
		log.Fatal(err)
	}
	first := fmt.Sprint(inputs, targets)

	if err := l.Restore(state); err != nil { // resume from the checkpoint
		log.Fatal(err)
	}
	if err := l.Next(inputs, targets); err != nil {
		log.Fatal(err)
	}
	fmt.Println(first == fmt.Sprint(inputs, targets))
	fmt.Println(targets[0] == inputs[0]+1)

	_, err = data.NewLoader(tokens[:4], batch, seq, 1)
	fmt.Println(err)
	// Output:
	// true
	// true
	// data: corpus too short: 4 tokens, need at least 5 for sequences of 4
}

func ExampleEvalWindows() {
	tokens := make([]int32, 1001)
	offsets, err := data.EvalWindows(tokens, 100, 4)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(offsets)
	inputs, targets := data.Window(tokens, offsets[1], 100)
	fmt.Println(len(inputs), len(targets))
	// Output:
	// [0 200 500 700]
	// 100 100
}
