package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Corpus specs recognised by LoadCorpus besides file and directory paths.
const (
	// CorpusGoStd is the Go standard library sources; it is the default.
	CorpusGoStd = "gostd"
	// CorpusEnglish is the corpus fetched by FetchEnglish (`mhc data fetch
	// english`) into EnglishCacheDir.
	CorpusEnglish = "english"
	// DefaultCorpus is the corpus used when the spec is empty.
	DefaultCorpus = CorpusGoStd
)

// EnglishDir is the english corpus's old location, relative to the working
// directory, where earlier versions of scripts/fetch-corpus.sh wrote it.
// LoadCorpus("english") looks there when EnglishCacheDir has no corpus.
const EnglishDir = "data/english"

// ErrEnglishNotFound is returned (wrapped, naming the places looked at) by
// FindEnglish and LoadCorpus("english") when neither EnglishCacheDir nor
// EnglishDir holds both train.txt and val.txt.
var ErrEnglishNotFound = errors.New("english corpus not found: run `mhc data fetch english`")

// valEvery is the document split period: document i (0-based, in corpus
// order) is a validation document when i%valEvery == valEvery-1.
const valEvery = 20

// valPercent is the share of bytes (cut at a line boundary) that goes to
// validation when a corpus has fewer than valEvery documents.
const valPercent = 5

// Document is one text of a corpus: a source file, or one of the english
// corpus's two files.
type Document struct {
	// Name is the document's slash-separated path relative to the corpus
	// root (for a single file, its base name).
	Name string
	// Text is the document's contents.
	Text string
}

// corpusKind says how a corpus splits into train and validation.
type corpusKind int

const (
	kindDocs     corpusKind = iota // split by document or by bytes (see Split)
	kindPresplit                   // Docs[0] is train, Docs[1] is val
)

// Corpus is a loaded text corpus: its documents in a fixed order.
type Corpus struct {
	// Name identifies the corpus: "gostd", "english", or the path given to
	// LoadCorpus.
	Name string
	// Docs are the documents in corpus order (sorted by Name for gostd and
	// directories; train.txt then val.txt for english).
	Docs []Document

	kind corpusKind
	// source says where the documents came from ("gostd:" and the source
	// root, "english:" and the directory, or an absolute path); it names the
	// corpus's slot in the token cache.
	source string
}

// LoadCorpus loads the corpus named by spec:
//
//   - "" or "gostd": the Go standard library (see the package doc);
//   - "english": train.txt and val.txt in the directory FindEnglish returns;
//   - otherwise a path: a regular file, or a directory read recursively.
//
// The keywords win over paths of the same name; write "./gostd" to load a
// directory called gostd.
func LoadCorpus(spec string) (*Corpus, error) {
	switch spec {
	case "", CorpusGoStd:
		root, err := goRoot()
		if err != nil {
			return nil, fmt.Errorf("corpus gostd: %w", err)
		}
		return loadGoStd(root)
	case CorpusEnglish:
		dir, err := FindEnglish()
		if err != nil {
			return nil, err
		}
		return loadEnglish(dir)
	}
	info, err := os.Stat(spec)
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", spec, err)
	}
	if info.IsDir() {
		return loadDir(spec)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("corpus %s: not a regular file or directory", spec)
	}
	return loadFile(spec)
}

// goRoot returns the Go root: the output of `go env GOROOT` if the go command
// runs, else runtime.GOROOT() (the root the binary was built with, or
// $GOROOT).
func goRoot() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if root := strings.TrimSpace(string(out)); err == nil && root != "" {
		return root, nil
	}
	//lint:ignore SA1019 documented fallback when the go command is unavailable
	if root := runtime.GOROOT(); root != "" {
		return root, nil
	}
	return "", errors.New("cannot find GOROOT: `go env GOROOT` failed and runtime.GOROOT() is empty")
}

// loadGoStd loads the gostd corpus from root/src.
func loadGoStd(root string) (*Corpus, error) {
	src := filepath.Join(root, "src")
	var names []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == src {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("corpus gostd %s: %w", src, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("corpus gostd %s: no .go files found", src)
	}
	docs, err := readDocs(src, names)
	if err != nil {
		return nil, fmt.Errorf("corpus gostd: %w", err)
	}
	return &Corpus{Name: CorpusGoStd, Docs: docs, source: "gostd:" + src}, nil
}

// loadEnglish loads dir/train.txt and dir/val.txt.
func loadEnglish(dir string) (*Corpus, error) {
	names := []string{"train.txt", "val.txt"}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); errors.Is(err, fs.ErrNotExist) {
			return nil, ErrEnglishNotFound
		}
	}
	docs, err := readDocs(dir, names)
	if err != nil {
		return nil, fmt.Errorf("corpus english: %w", err)
	}
	for _, d := range docs {
		if d.Text == "" {
			return nil, fmt.Errorf("corpus english: %s is empty: run `mhc data fetch english --force`", filepath.Join(dir, d.Name))
		}
	}
	return &Corpus{Name: CorpusEnglish, Docs: docs, kind: kindPresplit, source: "english:" + absPath(dir)}, nil
}

// loadFile loads a single non-empty file.
func loadFile(p string) (*Corpus, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", p, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("corpus %s: file is empty", p)
	}
	return &Corpus{Name: p, Docs: []Document{{Name: filepath.Base(p), Text: string(b)}}, source: absPath(p)}, nil
}

// loadDir loads every regular, non-hidden, non-empty text file under dir.
func loadDir(dir string) (*Corpus, error) {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", dir, err)
	}
	docs, err := readDocs(dir, names)
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", dir, err)
	}
	kept := docs[:0]
	for _, d := range docs {
		if d.Text == "" || isBinary(d.Text) {
			continue
		}
		kept = append(kept, d)
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("corpus %s: no non-empty text files in directory", dir)
	}
	return &Corpus{Name: dir, Docs: kept, source: absPath(dir)}, nil
}

// absPath returns p made absolute, or p itself if that fails.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// isBinary reports whether s looks like a binary file: a NUL byte in its
// first 8 KiB.
func isBinary(s string) bool {
	return strings.IndexByte(s[:min(len(s), 8<<10)], 0) >= 0
}

// readDocs sorts names (slash paths relative to dir) and reads them, on
// up to 2·GOMAXPROCS goroutines (reading thousands of small files is
// dominated by system-call time, which overlaps). The first error in name
// order is returned.
func readDocs(dir string, names []string) ([]Document, error) {
	sort.Strings(names)
	docs := make([]Document, len(names))
	errs := make([]error, len(names))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(2*runtime.GOMAXPROCS(0), len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) {
					return
				}
				p := filepath.Join(dir, filepath.FromSlash(names[i]))
				text, err := readString(p, buf)
				if err != nil {
					errs[i] = fmt.Errorf("read %s: %w", p, err)
					continue
				}
				docs[i] = Document{Name: names[i], Text: text}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return docs, nil
}

// readString returns the contents of the file at p, copied through buf into
// a string of the file's size (os.ReadFile and a conversion would hold the
// text twice).
func readString(p string, buf []byte) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	if info, err := f.Stat(); err == nil && info.Size() < 1<<40 {
		b.Grow(int(info.Size()))
	}
	if _, err := io.CopyBuffer(&b, struct{ io.Reader }{f}, buf); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Size returns the total length of the documents in bytes.
func (c *Corpus) Size() int64 {
	var n int64
	for _, d := range c.Docs {
		n += int64(len(d.Text))
	}
	return n
}

// Split divides the corpus into training and validation documents,
// deterministically (see the package doc for the rule). The returned
// documents share text with c.
func (c *Corpus) Split() (train, val []Document) {
	if c.kind == kindPresplit && len(c.Docs) == 2 {
		return c.Docs[:1], c.Docs[1:]
	}
	if len(c.Docs) >= valEvery {
		for i, d := range c.Docs {
			if i%valEvery == valEvery-1 {
				val = append(val, d)
			} else {
				train = append(train, d)
			}
		}
		return train, val
	}
	for _, d := range c.Docs {
		cut := splitPoint(d.Text)
		train = append(train, Document{Name: d.Name, Text: d.Text[:cut]})
		if cut < len(d.Text) {
			val = append(val, Document{Name: d.Name, Text: d.Text[cut:]})
		}
	}
	return train, val
}

// splitPoint returns the byte offset where s's validation tail starts: the
// first line start at or after 95 % of s; if that leaves no tail, the last
// line start before 95 %; if neither exists (no usable newline), 95 % itself,
// moved back to the start of a UTF-8 character. A result of 0 becomes
// len(s): a document too short to split stays whole on the training side.
func splitPoint(s string) int {
	target := len(s) * (100 - valPercent) / 100
	if target == 0 {
		return len(s)
	}
	if i := strings.IndexByte(s[target-1:], '\n'); i >= 0 && target+i < len(s) {
		return target + i
	}
	if i := strings.LastIndexByte(s[:target-1], '\n'); i >= 0 {
		return i + 1
	}
	for target > 0 && !utf8.RuneStart(s[target]) {
		target--
	}
	if target == 0 {
		return len(s)
	}
	return target
}

// Tokens splits the corpus (see Split) and encodes each side with tok. Every
// document is encoded separately and followed by a separator: tok's
// end-of-text token if it has one (gpt2), else the encoding of "\n" (byte).
// Documents are encoded in parallel on GOMAXPROCS goroutines; the result does
// not depend on the parallelism.
func (c *Corpus) Tokens(tok Tokenizer) (train, val []int32, err error) {
	if tok == nil {
		return nil, nil, fmt.Errorf("corpus %s: nil tokenizer", c.Name)
	}
	if len(c.Docs) == 0 {
		return nil, nil, fmt.Errorf("corpus %s: no documents", c.Name)
	}
	trainDocs, valDocs := c.Split()
	sep := []int32{tok.EOT()}
	if sep[0] < 0 {
		sep = tok.Encode("\n")
	}
	return encodeDocs(tok, trainDocs, sep), encodeDocs(tok, valDocs, sep), nil
}

// encodeDocs encodes docs with tok, each followed by sep, concatenated.
func encodeDocs(tok Tokenizer, docs []Document, sep []int32) []int32 {
	if len(docs) == 0 {
		return []int32{}
	}
	if _, ok := tok.(byteTokenizer); ok && len(sep) == 1 {
		n := 0
		for _, d := range docs {
			n += len(d.Text) + 1
		}
		out := make([]int32, 0, n)
		for _, d := range docs {
			for i := 0; i < len(d.Text); i++ {
				out = append(out, int32(d.Text[i]))
			}
			out = append(out, sep[0])
		}
		return out
	}
	// Work items are chunks of documents; for gpt2, large documents are cut
	// at points where the byte-pair pre-tokenizer splits anyway (see
	// bpeChunks), so encoding the chunks gives the same tokens as encoding
	// the whole document, and one long document still uses every core.
	type item struct {
		doc  int
		text string
	}
	var items []item
	_, isGPT2 := tok.(*gpt2Tokenizer)
	for i, d := range docs {
		if !isGPT2 {
			items = append(items, item{i, d.Text})
			continue
		}
		for _, c := range bpeChunks(d.Text, bpeChunkSize) {
			items = append(items, item{i, c})
		}
	}
	parts := make([][]int32, len(items))
	var next atomic.Int64
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(items))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					return
				}
				parts[i] = tok.Encode(items[i].text)
			}
		}()
	}
	wg.Wait()
	n := len(docs) * len(sep)
	for _, p := range parts {
		n += len(p)
	}
	out := make([]int32, 0, n)
	for i, p := range parts {
		out = append(out, p...)
		if i == len(items)-1 || items[i+1].doc != items[i].doc {
			out = append(out, sep...)
		}
	}
	return out
}

// String describes the corpus: name, document count and size.
func (c *Corpus) String() string {
	return fmt.Sprintf("%s (%d documents, %d bytes)", c.Name, len(c.Docs), c.Size())
}
