package data

import (
	"slices"
	"strings"
	"testing"
)

func TestNewTokenizer(t *testing.T) {
	tests := []struct {
		name      string
		wantVocab int
		wantEOT   int32
		wantErr   string
	}{
		{name: "byte", wantVocab: 256, wantEOT: -1},
		{name: "gpt2", wantVocab: 50257, wantEOT: 50256},
		{name: "GPT2", wantErr: `"GPT2"`},
		{name: "", wantErr: `""`},
		{name: "sentencepiece", wantErr: `"sentencepiece"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := NewTokenizer(tt.name)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewTokenizer(%q) error = %v, want one naming %s", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.Name() != tt.name || tok.VocabSize() != tt.wantVocab || tok.EOT() != tt.wantEOT {
				t.Errorf("got name %q vocab %d eot %d, want %q %d %d",
					tok.Name(), tok.VocabSize(), tok.EOT(), tt.name, tt.wantVocab, tt.wantEOT)
			}
		})
	}
}

func TestByteTokenizerRoundTrip(t *testing.T) {
	tok, err := NewTokenizer("byte")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"ascii", "package main\n\nfunc main() {}\n"},
		{"utf8", "héllo, 世界 🙂"},
		{"invalid utf8", "a\xff\xfe\x80b"},
		{"all bytes", allBytes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := tok.Encode(tt.in)
			if len(ids) != len(tt.in) {
				t.Fatalf("Encode gave %d ids for %d bytes", len(ids), len(tt.in))
			}
			for i, id := range ids {
				if id != int32(tt.in[i]) {
					t.Fatalf("id %d = %d, want byte %d", i, id, tt.in[i])
				}
			}
			if got := tok.Decode(ids); got != tt.in {
				t.Errorf("Decode(Encode(%q)) = %q", tt.in, got)
			}
		})
	}
	if got := tok.Decode([]int32{'a', 256, -1, 'b'}); got != "a\uFFFD\uFFFDb" {
		t.Errorf("Decode with out-of-range ids = %q", got)
	}
}

func allBytes() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}

func TestGPT2RoundTrip(t *testing.T) {
	tok, err := NewTokenizer("gpt2")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want []int32 // nil: only check the round trip
	}{
		{"empty", "", []int32{}},
		{"hello world", "Hello world", []int32{15496, 995}},
		{"go code", "package main\n\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n", nil},
		{"whitespace runs", "a  \n\n\tb   c\n \n", nil},
		{"unicode", "héllo, 世界 🙂 naïve café", nil},
		{"contractions", "I'm sure it's what they'd've said", nil},
		{"literal eot text", "x<|endoftext|>y", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := tok.Encode(tt.in)
			if tt.want != nil && !slices.Equal(ids, tt.want) {
				t.Errorf("Encode(%q) = %v, want %v", tt.in, ids, tt.want)
			}
			for _, id := range ids {
				if id < 0 || id >= GPT2EOT {
					t.Errorf("Encode(%q) produced id %d outside [0, %d)", tt.in, id, GPT2EOT)
				}
			}
			if got := tok.Decode(ids); got != tt.in {
				t.Errorf("Decode(Encode(%q)) = %q", tt.in, got)
			}
		})
	}
}

func TestGPT2EOTAndInvalid(t *testing.T) {
	tok, err := NewTokenizer("gpt2")
	if err != nil {
		t.Fatal(err)
	}
	ids := append(tok.Encode("first doc"), tok.EOT())
	ids = append(ids, tok.Encode("second")...)
	if got, want := tok.Decode(ids), "first doc<|endoftext|>second"; got != want {
		t.Errorf("Decode with EOT = %q, want %q", got, want)
	}
	if got := tok.Decode([]int32{-5, 50257, 1 << 30}); got != "\uFFFD\uFFFD\uFFFD" {
		t.Errorf("Decode of invalid ids = %q", got)
	}
	// Invalid UTF-8 input must not panic; each bad byte becomes U+FFFD.
	if got := tok.Decode(tok.Encode("a\xffb")); got != "a\uFFFDb" {
		t.Errorf("round trip of invalid UTF-8 = %q", got)
	}
	// Every id below the EOT is in the vocabulary, so Decode never needs
	// its replacement fallback.
	codec, err := gpt2Codec()
	if err != nil {
		t.Fatal(err)
	}
	for id := uint(0); id < GPT2EOT; id++ {
		if s, err := codec.Decode([]uint{id}); err != nil || s == "" {
			t.Fatalf("codec.Decode(%d) = %q, %v", id, s, err)
		}
	}
}

func TestBPEChunks(t *testing.T) {
	tok, err := NewTokenizer("gpt2")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	paras := []string{
		"The quick brown fox.\n\nJumps over  \n\n\nthe lazy dog.\n",
		"func f() {\n\treturn 1\n}\n\n// Comment\n\n\n\t\n\nx := 2\n",
		"  \n\n  spaced\n\n\"quoted\"\n\n'tis 12345\n\n",
		"héllo\n\n世界\n\n\n🙂\n\n",
	}
	for i := 0; i < 40; i++ {
		b.WriteString(paras[i%len(paras)])
	}
	text := b.String()
	whole := tok.Encode(text)
	tests := []struct {
		size int
	}{{1}, {7}, {64}, {500}, {len(text)}, {len(text) * 2}}
	for _, tt := range tests {
		chunks := bpeChunks(text, tt.size)
		if strings.Join(chunks, "") != text {
			t.Fatalf("size %d: chunks do not concatenate to the text", tt.size)
		}
		var got []int32
		for _, c := range chunks {
			got = append(got, tok.Encode(c)...)
		}
		if !slices.Equal(got, whole) {
			t.Errorf("size %d (%d chunks): chunked encoding differs from whole encoding", tt.size, len(chunks))
		}
	}
	if n := len(bpeChunks(text, 64)); n < 10 {
		t.Errorf("size 64 gave only %d chunks", n)
	}
}
