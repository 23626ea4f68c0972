package data

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzLoadCorpus loads arbitrary bytes as a file corpus and, cut into up to
// five files, as a directory corpus:
//
//	go test ./data -run '^$' -fuzz '^FuzzLoadCorpus$' -fuzztime 5m -parallel 1
//
// An empty file, or a directory with no non-empty text file, is refused with
// one line; otherwise the documents are the files' bytes (binary and empty
// files skipped, sorted by name), Split cuts each document (fewer than 20)
// into a training head and a validation tail that concatenate to it, and
// Tokens gives each side's bytes plus one separator per document, for the
// byte tokenizer and, as Encode of each document plus the end-of-text
// token, for gpt2.
func FuzzLoadCorpus(f *testing.F) {
	f.Add([]byte("package main\n\nfunc main() {}\n"), uint8(0))
	f.Add([]byte("line one\nline two\nline three\n\n\nlast"), uint8(3))
	f.Add([]byte("\x00binary\n"), uint8(1))
	f.Add([]byte(strings.Repeat("The quick brown fox.\n", 40)), uint8(4))
	f.Add([]byte{}, uint8(2))
	byteTok, _ := NewTokenizer(TokenizerByte)
	gpt2, err := NewTokenizer(TokenizerGPT2)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content []byte, cuts uint8) {
		dir := t.TempDir()
		file := filepath.Join(dir, "corpus.txt")
		if err := os.WriteFile(file, content, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadCorpus(file)
		if len(content) == 0 {
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("empty file: %v", err)
			}
		} else {
			if err != nil {
				t.Fatalf("LoadCorpus of a %d-byte file: %v", len(content), err)
			}
			checkCorpus(t, c, [][]byte{content}, byteTok, gpt2)
		}

		// A directory of k files cut from content.
		k := int(cuts%5) + 1
		sub := filepath.Join(dir, "docs")
		os.Mkdir(sub, 0o755)
		var kept [][]byte
		for i := range k {
			part := content[i*len(content)/k : (i+1)*len(content)/k]
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d.txt", i)), part, 0o644); err != nil {
				t.Fatal(err)
			}
			if len(part) > 0 && !bytes.Contains(part[:min(len(part), 8<<10)], []byte{0}) {
				kept = append(kept, part)
			}
		}
		c, err = LoadCorpus(sub)
		if len(kept) == 0 {
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("directory without text files: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("LoadCorpus of a directory with %d text files: %v", len(kept), err)
		}
		checkCorpus(t, c, kept, byteTok, gpt2)
	})
}

func checkCorpus(t *testing.T, c *Corpus, want [][]byte, byteTok, gpt2 Tokenizer) {
	t.Helper()
	if len(c.Docs) != len(want) {
		t.Fatalf("%d documents, want %d", len(c.Docs), len(want))
	}
	var size int64
	for i, d := range c.Docs {
		if d.Text != string(want[i]) {
			t.Fatalf("document %d is %q, want %q", i, d.Text, want[i])
		}
		size += int64(len(want[i]))
	}
	if c.Size() != size {
		t.Fatalf("Size %d, want %d", c.Size(), size)
	}
	train, val := c.Split()
	if len(train) != len(want) || len(val) > len(want) {
		t.Fatalf("split into %d train and %d val documents, from %d", len(train), len(val), len(want))
	}
	vi := 0
	for i, d := range train {
		text := d.Text
		if vi < len(val) && val[vi].Name == d.Name {
			text += val[vi].Text
			vi++
		}
		if text != string(want[i]) {
			t.Fatalf("document %d: train %q + val does not give it back", i, d.Text)
		}
	}
	encode := func(tok Tokenizer, docs []Document, sep []int32) []int32 {
		out := []int32{}
		for _, d := range docs {
			out = append(append(out, tok.Encode(d.Text)...), sep...)
		}
		return out
	}
	for _, tok := range []Tokenizer{byteTok, gpt2} {
		sep := []int32{tok.EOT()}
		if sep[0] < 0 {
			sep = tok.Encode("\n")
		}
		tt, vt, err := c.Tokens(tok)
		if err != nil {
			t.Fatalf("%s Tokens: %v", tok.Name(), err)
		}
		if !slices.Equal(tt, encode(tok, train, sep)) || !slices.Equal(vt, encode(tok, val, sep)) {
			t.Fatalf("%s Tokens differ from encoding each document", tok.Name())
		}
	}
}

// FuzzTokenCache puts arbitrary bytes where the token cache file of a corpus
// belongs: the cache must never return other tokens than Corpus.Tokens.
//
//	go test ./data -run '^$' -fuzz '^FuzzTokenCache$' -fuzztime 5m -parallel 1
func FuzzTokenCache(f *testing.F) {
	f.Add([]byte("not a cache file"))
	f.Add([]byte{})
	old := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler)) // damaged files are reported with slog.Warn
	f.Cleanup(func() { slog.SetDefault(old) })
	dir := f.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(corpus, []byte(strings.Repeat("token cache test.\n", 50)), 0o644); err != nil {
		f.Fatal(err)
	}
	c, err := LoadCorpus(corpus)
	if err != nil {
		f.Fatal(err)
	}
	tok, _ := NewTokenizer(TokenizerByte)
	wantTrain, wantVal, err := c.Tokens(tok)
	if err != nil {
		f.Fatal(err)
	}
	tc := &TokenCache{Dir: filepath.Join(dir, "cache")}
	// The cache's own valid file is a seed.
	if _, _, _, err := tc.Tokens(c, tok); err != nil {
		f.Fatal(err)
	}
	if b, err := os.ReadFile(tc.Path(c, tok)); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(tc.Path(c, tok), b, 0o644); err != nil {
			t.Fatal(err)
		}
		train, val, _, err := tc.Tokens(c, tok)
		if err != nil {
			t.Fatalf("Tokens with a damaged cache file: %v", err)
		}
		if !slices.Equal(train, wantTrain) || !slices.Equal(val, wantVal) {
			t.Fatalf("the cache returned other tokens")
		}
	})
}
