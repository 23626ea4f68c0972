package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles creates files (slash paths relative to root) with their contents.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func docNames(docs []Document) []string {
	names := make([]string, len(docs))
	for i, d := range docs {
		names[i] = d.Name
	}
	return names
}

func TestLoadGoStdRule(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"src/z.go":                 "package z\n",
		"src/a/a.go":               "package a\n",
		"src/a/a_test.go":          "package a // test\n",
		"src/a/b/c.go":             "package b\n",
		"src/a/README.md":          "# not go\n",
		"src/a/testdata/x.go":      "package x\n",
		"src/a/b/testdata/d/y.go":  "package y\n",
		"src/vendor/v/v.go":        "package v\n",
		"src/cmd/vendor/w/w.go":    "package w\n",
		"src/cmd/go/main.go":       "package main\n",
		"src/b/_asm/asm.go":        "package asm\n",
		"src/b/b.go":               "package b\n",
		"src/b/.hidden/h.go":       "package h\n",
		"src/b/_ignored.go":        "package b\n",
		"src/a/export_test.go":     "package a\n",
		"src/a/gen.go.txt":         "not go\n",
		"src/a/b/testdata.go":      "package b // a file may be called testdata.go\n",
		"src/archive/tar/tar.go":   "package tar\n",
		"src/archive/tar_test.go":  "package archive\n",
		"test/outside_src_dir.go":  "package test\n",
		"src/errors/errors.go":     "package errors\n",
		"src/errors/wrap_test.go":  "package errors\n",
		"src/errors/testdata/e.go": "package e\n",
	})
	c, err := loadGoStd(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a/a.go", "a/b/c.go", "a/b/testdata.go", "archive/tar/tar.go", "b/b.go",
		"cmd/go/main.go", "errors/errors.go", "z.go",
	}
	if got := docNames(c.Docs); !slices.Equal(got, want) {
		t.Errorf("gostd documents = %q, want %q", got, want)
	}
	if c.Name != "gostd" || c.Docs[0].Text != "package a\n" {
		t.Errorf("corpus name %q, first text %q", c.Name, c.Docs[0].Text)
	}

	empty := t.TempDir()
	writeFiles(t, empty, map[string]string{"src/a/a_test.go": "package a\n"})
	if _, err := loadGoStd(empty); err == nil || !strings.Contains(err.Error(), "no .go files") {
		t.Errorf("gostd with only tests: error %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := loadGoStd(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("gostd with missing root: error %v, want one naming %s", err, missing)
	}
}

func TestGoRoot(t *testing.T) {
	root, err := goRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "src", "runtime")); err != nil {
		t.Errorf("goRoot() = %q has no src/runtime: %v", root, err)
	}
}

func TestLoadCorpusPaths(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"one.txt":            "hello\nworld\n",
		"empty.txt":          "",
		"tree/b.md":          "bee\n",
		"tree/a/x.go":        "package x\n",
		"tree/a/.git/config": "[core]\n",
		"tree/.env":          "SECRET=1\n",
		"tree/empty.txt":     "",
		"tree/bin.dat":       "ab\x00cd",
		"tree/c":             "no extension\n",
		"emptydir/.keep":     "x",
		"blank/empty.txt":    "",
	})
	if err := os.MkdirAll(filepath.Join(dir, "void"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		spec      string
		wantDocs  []string
		wantErr   string
		wantNamed string // path the error must name
	}{
		{name: "file", spec: "one.txt", wantDocs: []string{"one.txt"}},
		{name: "dir", spec: "tree", wantDocs: []string{"a/x.go", "b.md", "c"}},
		{name: "missing", spec: "nope.txt", wantErr: "no such file", wantNamed: "nope.txt"},
		{name: "empty file", spec: "empty.txt", wantErr: "file is empty", wantNamed: "empty.txt"},
		{name: "empty dir", spec: "void", wantErr: "no non-empty text files", wantNamed: "void"},
		{name: "only hidden", spec: "emptydir", wantErr: "no non-empty text files", wantNamed: "emptydir"},
		{name: "only empty", spec: "blank", wantErr: "no non-empty text files", wantNamed: "blank"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := filepath.Join(dir, tt.spec)
			c, err := LoadCorpus(spec)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("LoadCorpus(%s) succeeded, want error %q", spec, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.wantNamed) {
					t.Errorf("LoadCorpus(%s) error %q, want %q naming %s", spec, err, tt.wantErr, tt.wantNamed)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := docNames(c.Docs); !slices.Equal(got, tt.wantDocs) {
				t.Errorf("documents %q, want %q", got, tt.wantDocs)
			}
			if c.Name != spec {
				t.Errorf("corpus name %q, want %q", c.Name, spec)
			}
		})
	}
}

func TestLoadCorpusUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: file permissions are not enforced")
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ok.txt": "fine\n", "locked.txt": "secret\n"})
	locked := filepath.Join(dir, "locked.txt")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{locked, dir} {
		if _, err := LoadCorpus(spec); err == nil || !strings.Contains(err.Error(), locked) {
			t.Errorf("LoadCorpus(%s) error %v, want one naming %s", spec, err, locked)
		}
	}
}

func TestLoadEnglish(t *testing.T) {
	dir := t.TempDir()
	_, err := loadEnglish(dir)
	if !errors.Is(err, ErrEnglishNotFound) || err.Error() != "english corpus not found: run `mhc data fetch english`" {
		t.Fatalf("missing english corpus: error %v", err)
	}
	writeFiles(t, dir, map[string]string{"train.txt": "train text\n"})
	if _, err := loadEnglish(dir); !errors.Is(err, ErrEnglishNotFound) {
		t.Fatalf("english corpus without val.txt: error %v", err)
	}
	writeFiles(t, dir, map[string]string{"val.txt": "val text\n"})
	c, err := loadEnglish(dir)
	if err != nil {
		t.Fatal(err)
	}
	train, val := c.Split()
	if len(train) != 1 || train[0].Text != "train text\n" || len(val) != 1 || val[0].Text != "val text\n" {
		t.Errorf("english split: train %v, val %v", train, val)
	}
	writeFiles(t, dir, map[string]string{"val.txt": ""})
	if _, err := loadEnglish(dir); err == nil || !strings.Contains(err.Error(), "val.txt is empty") {
		t.Errorf("empty val.txt: error %v", err)
	}
}

func TestSplitByDocument(t *testing.T) {
	tests := []struct {
		docs    int
		wantVal []int
	}{
		{20, []int{19}},
		{39, []int{19}},
		{40, []int{19, 39}},
		{65, []int{19, 39, 59}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.docs), func(t *testing.T) {
			c := &Corpus{Name: "t"}
			for i := range tt.docs {
				c.Docs = append(c.Docs, Document{Name: fmt.Sprint(i), Text: fmt.Sprintf("doc %d\n", i)})
			}
			train, val := c.Split()
			var gotVal []int
			for _, d := range val {
				var i int
				fmt.Sscan(d.Name, &i)
				gotVal = append(gotVal, i)
			}
			if !slices.Equal(gotVal, tt.wantVal) || len(train)+len(val) != tt.docs {
				t.Errorf("val documents %v (train %d), want %v", gotVal, len(train), tt.wantVal)
			}
			train2, val2 := c.Split()
			if !slices.Equal(train, train2) || !slices.Equal(val, val2) {
				t.Error("Split is not deterministic")
			}
		})
	}
}

func TestSplitPoint(t *testing.T) {
	lines := strings.Repeat("0123456789012345678\n", 100) // 100 lines of 20 bytes
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"empty", "", 0},
		{"one byte", "x", 1},
		{"short", "abcdefghij", 9},
		{"100 lines", lines, 1900},
		{"cut mid line moves forward", "aaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nc\n", 97},
		{"cut at line start", "aaaaaaaaaaaaaaaaaaa\nb", 20},
		{"only final newline falls back", "aaaa\n" + strings.Repeat("b", 95) + "\n", 5},
		{"no newline", strings.Repeat("x", 100), 95},
		{"no newline, utf8", strings.Repeat("é", 50), 94},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitPoint(tt.in); got != tt.want {
				t.Errorf("splitPoint = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSplitFewDocuments(t *testing.T) {
	lines := strings.Repeat("0123456789012345678\n", 100)
	c := &Corpus{Name: "f", Docs: []Document{{Name: "a", Text: lines}, {Name: "b", Text: "tiny"}}}
	train, val := c.Split()
	if len(train) != 2 || train[0].Text != lines[:1900] || train[1].Text != "tiny"[:splitPoint("tiny")] {
		t.Errorf("train = %q", docNames(train))
	}
	if len(val) == 0 || val[0].Text != lines[1900:] {
		t.Errorf("val = %v", val)
	}
	for _, d := range c.Docs {
		var joined string
		for _, part := range append(slices.Clone(train), val...) {
			if part.Name == d.Name {
				joined += part.Text
			}
		}
		if joined != d.Text {
			t.Errorf("document %s: train+val = %q, want %q", d.Name, joined, d.Text)
		}
	}
}

func TestTokens(t *testing.T) {
	var docs []Document
	for i := range 21 {
		docs = append(docs, Document{Name: fmt.Sprintf("%02d.go", i), Text: fmt.Sprintf("package p%d", i)})
	}
	c := &Corpus{Name: "t", Docs: docs}
	tests := []struct {
		tok     string
		wantSep int32
	}{
		{tok: "byte", wantSep: '\n'},
		{tok: "gpt2", wantSep: GPT2EOT},
	}
	for _, tt := range tests {
		t.Run(tt.tok, func(t *testing.T) {
			tok, err := NewTokenizer(tt.tok)
			if err != nil {
				t.Fatal(err)
			}
			train, val, err := c.Tokens(tok)
			if err != nil {
				t.Fatal(err)
			}
			var wantTrain, wantVal []int32
			for i, d := range docs {
				ids := append(tok.Encode(d.Text), tt.wantSep)
				if i%20 == 19 {
					wantVal = append(wantVal, ids...)
				} else {
					wantTrain = append(wantTrain, ids...)
				}
			}
			if !slices.Equal(train, wantTrain) || !slices.Equal(val, wantVal) {
				t.Errorf("Tokens: train %d ids, val %d ids; want %d and %d", len(train), len(val), len(wantTrain), len(wantVal))
			}
			if got, want := tok.Decode(val), "package p19"+tok.Decode([]int32{tt.wantSep}); got != want {
				t.Errorf("val decodes to %q, want %q", got, want)
			}
		})
	}
	if _, _, err := c.Tokens(nil); err == nil {
		t.Error("Tokens(nil) succeeded")
	}
}
