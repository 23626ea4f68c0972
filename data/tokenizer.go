package data

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"
)

// Tokenizer converts text to token ids and back.
//
// Implementations are safe for concurrent use.
type Tokenizer interface {
	// Name returns the tokenizer's name as accepted by NewTokenizer:
	// "byte" or "gpt2".
	Name() string
	// VocabSize returns the number of distinct token ids, including the
	// end-of-text token if there is one: 256 for "byte", 50257 for "gpt2".
	VocabSize() int
	// Encode returns the token ids of s. It never emits the end-of-text
	// token: the literal text "<|endoftext|>" is encoded as ordinary text.
	Encode(s string) []int32
	// Decode returns the text of ids. Ids outside [0, VocabSize()) decode
	// to U+FFFD; the end-of-text token decodes to "<|endoftext|>".
	Decode(ids []int32) string
	// EOT returns the end-of-text token id, or -1 if the tokenizer has none.
	EOT() int32
}

// Tokenizer names accepted by NewTokenizer.
const (
	TokenizerByte = "byte"
	TokenizerGPT2 = "gpt2"
)

// GPT-2 vocabulary constants.
const (
	// GPT2EOT is the id of GPT-2's "<|endoftext|>" token.
	GPT2EOT = 50256
	// GPT2VocabSize is the GPT-2 vocabulary size: 50256 byte-pair tokens
	// plus "<|endoftext|>".
	GPT2VocabSize = 50257
	// eotText is the text that GPT2EOT decodes to.
	eotText = "<|endoftext|>"
)

// NewTokenizer returns the tokenizer called name: "byte" (one token per byte,
// vocabulary 256, no end-of-text token) or "gpt2" (GPT-2's r50k_base
// byte-pair encoding, vocabulary 50257 with "<|endoftext|>" = 50256). The
// GPT-2 vocabulary is compiled into the binary; no network access is needed.
func NewTokenizer(name string) (Tokenizer, error) {
	switch name {
	case TokenizerByte:
		return byteTokenizer{}, nil
	case TokenizerGPT2:
		codec, err := gpt2Codec()
		if err != nil {
			return nil, fmt.Errorf("tokenizer gpt2: %w", err)
		}
		return &gpt2Tokenizer{codec: codec}, nil
	default:
		return nil, fmt.Errorf("unknown tokenizer %q (want %q or %q)", name, TokenizerByte, TokenizerGPT2)
	}
}

// byteTokenizer maps each byte to the token of the same value.
type byteTokenizer struct{}

func (byteTokenizer) Name() string   { return TokenizerByte }
func (byteTokenizer) VocabSize() int { return 256 }
func (byteTokenizer) EOT() int32     { return -1 }

func (byteTokenizer) Encode(s string) []int32 {
	ids := make([]int32, len(s))
	for i := 0; i < len(s); i++ {
		ids[i] = int32(s[i])
	}
	return ids
}

// Decode returns the bytes of ids as they are, valid UTF-8 or not.
func (byteTokenizer) Decode(ids []int32) string {
	var b strings.Builder
	b.Grow(len(ids))
	for _, id := range ids {
		if id < 0 || id > 255 {
			b.WriteRune(utf8.RuneError)
			continue
		}
		b.WriteByte(byte(id))
	}
	return b.String()
}

var (
	gpt2Once  sync.Once
	gpt2Value tokenizer.Codec
	gpt2Err   error
)

// gpt2Codec returns the shared r50k_base codec, building it (about a second
// of vocabulary setup) on first use.
func gpt2Codec() (tokenizer.Codec, error) {
	gpt2Once.Do(func() {
		gpt2Value, gpt2Err = tokenizer.Get(tokenizer.R50kBase)
	})
	return gpt2Value, gpt2Err
}

// gpt2Tokenizer is GPT-2's byte-pair encoding plus the end-of-text token.
type gpt2Tokenizer struct {
	codec tokenizer.Codec
}

func (*gpt2Tokenizer) Name() string   { return TokenizerGPT2 }
func (*gpt2Tokenizer) VocabSize() int { return GPT2VocabSize }
func (*gpt2Tokenizer) EOT() int32     { return GPT2EOT }

// Encode byte-pair encodes s. Invalid UTF-8 in s is replaced by U+FFFD first
// (one per invalid byte), so Decode(Encode(s)) == s only for valid UTF-8.
func (t *gpt2Tokenizer) Encode(s string) []int32 {
	if !utf8.ValidString(s) {
		s = toValidUTF8(s)
	}
	ids, _, err := t.codec.Encode(s)
	if err != nil {
		// The codec only fails on a regexp timeout, which is not set, or on
		// invalid UTF-8 in strict mode, which is not used.
		return nil
	}
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

// Decode returns the text of ids; a window that starts or ends inside a
// multi-byte character yields the raw, invalid UTF-8 bytes.
func (t *gpt2Tokenizer) Decode(ids []int32) string {
	var b strings.Builder
	run := make([]uint, 0, len(ids))
	flush := func() {
		if len(run) == 0 {
			return
		}
		s, err := t.codec.Decode(run)
		if err != nil {
			// Unreachable: every id in run is in the vocabulary.
			s = strings.Repeat(string(utf8.RuneError), len(run))
		}
		b.WriteString(s)
		run = run[:0]
	}
	for _, id := range ids {
		switch {
		case id >= 0 && id < GPT2EOT:
			run = append(run, uint(id))
		case id == GPT2EOT:
			flush()
			b.WriteString(eotText)
		default:
			flush()
			b.WriteRune(utf8.RuneError)
		}
	}
	flush()
	return b.String()
}

// toValidUTF8 replaces every byte of s that is not part of a valid UTF-8
// sequence by U+FFFD.
func toValidUTF8(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		b.WriteRune(r) // ranging over a string yields RuneError per bad byte
	}
	return b.String()
}

// bpeChunkSize is the approximate chunk length, in bytes, that bpeChunks
// aims for.
const bpeChunkSize = 256 << 10

// bpeChunks cuts s into consecutive chunks of at least size bytes (the last
// may be shorter) whose GPT-2 encodings, concatenated, equal the encoding of
// s. A cut is made only between the two newlines of "\n\n" followed by a
// printable non-space ASCII byte: there the GPT-2 pre-tokenizer always ends
// a piece (the whitespace run before the last newline matches
// `\s+(?!\S)`, and that newline is a piece of its own), and the pattern has
// no look-behind, so each side splits into the same pieces on its own.
func bpeChunks(s string, size int) []string {
	var chunks []string
	for len(s) > size {
		cut := -1
		for from := size; from < len(s); {
			i := strings.Index(s[from:], "\n\n")
			if i < 0 {
				break
			}
			q := from + i
			if q+2 < len(s) && s[q+2] > ' ' && s[q+2] < 0x7f {
				cut = q + 1
				break
			}
			from = q + 1
		}
		if cut < 0 {
			break
		}
		chunks = append(chunks, s[:cut])
		s = s[cut:]
	}
	return append(chunks, s)
}
