package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/mhc-go/mhc/safetensors"
)

// CacheEnv is the environment variable that overrides CacheDir.
const CacheEnv = "MHC_CACHE"

// CacheDir returns the per-user directory where mhc keeps fetched corpora
// (EnglishCacheDir) and token caches (DefaultTokenCache): $MHC_CACHE if it is
// set (made absolute), else the "mhc" directory in os.UserCacheDir()
// ($XDG_CACHE_HOME/mhc or ~/.cache/mhc on Linux, ~/Library/Caches/mhc on
// macOS, %LocalAppData%\mhc on Windows). It does not create the directory.
// Everything in it can be deleted at any time; it is rebuilt on demand.
func CacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return absPath(d), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set %s): %w", CacheEnv, err)
	}
	return filepath.Join(d, "mhc"), nil
}

// EnglishCacheDir returns CacheDir()/english, where FetchEnglish (`mhc data
// fetch english`) writes the english corpus's train.txt and val.txt.
func EnglishCacheDir() (string, error) {
	d, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, CorpusEnglish), nil
}

// FindEnglish returns the directory that LoadCorpus("english") reads: the
// first of EnglishCacheDir() and EnglishDir (relative to the working
// directory: the old scripts/fetch-corpus.sh location) that holds both
// train.txt and val.txt. If neither does, the error wraps
// ErrEnglishNotFound and names both places.
func FindEnglish() (string, error) {
	var places []string
	if d, err := EnglishCacheDir(); err == nil {
		places = append(places, d)
	}
	places = append(places, EnglishDir)
	for _, d := range places {
		if hasEnglish(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %s)", ErrEnglishNotFound, strings.Join(places, " and "))
}

// hasEnglish reports whether dir holds train.txt and val.txt.
func hasEnglish(dir string) bool {
	for _, n := range []string{"train.txt", "val.txt"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}

// tokenCacheFormat versions the cache files and the key. Bump it whenever
// Corpus.Tokens can give other tokens for the same documents and tokenizer
// (separators, the split rule, the gpt2 chunking).
const tokenCacheFormat = 1

// TokenCache keeps the token streams of corpora on disk, so that a corpus is
// tokenized once per tokenizer rather than before every run.
//
// Each (corpus location, tokenizer) pair has one file in Dir, a safetensors
// file with tensors "train" and "val" (uint16 when every token id fits, else
// int32) and, in its metadata, a key: the
// SHA-256 of the corpus's split documents (their bytes, in order), the
// tokenizer's name, vocabulary, end-of-text token, module version and the
// tokens of a fixed probe text. The file is used only when its key equals the
// current one and the CRC-32C checksums of both token streams match, so an
// edited corpus, a tokenizer change or a damaged file re-tokenizes (and
// rewrites the file) instead of giving stale or wrong tokens. Files are
// written atomically (safetensors.WriteAtomic), so concurrent runs see a
// whole file or none. Computing the key costs one pass over the corpus
// (SHA-256: 35 ms for the 47.5 MB gostd corpus on the 2-core development
// VM, which has SHA-NI).
type TokenCache struct {
	// Dir holds the cache files. It is created when the first file is
	// written.
	Dir string
}

// DefaultTokenCache returns the token cache in CacheDir()/tokens.
func DefaultTokenCache() (*TokenCache, error) {
	d, err := CacheDir()
	if err != nil {
		return nil, err
	}
	return &TokenCache{Dir: filepath.Join(d, "tokens")}, nil
}

// CachedTokens returns the same tokens as c.Tokens(tok), through
// DefaultTokenCache, and reports whether they came from the cache. The byte
// tokenizer is not cached (its encoding is a plain copy, faster than
// reading a cache file), nor is anything when there is no cache directory.
// Cache problems never fail the call: see TokenCache.Tokens.
func (c *Corpus) CachedTokens(tok Tokenizer) (train, val []int32, hit bool, err error) {
	if tok != nil && tok.Name() == TokenizerByte {
		train, val, err = c.Tokens(tok)
		return train, val, false, err
	}
	tc, cerr := DefaultTokenCache()
	if cerr != nil {
		slog.Debug("token cache: not used", "err", cerr)
		train, val, err = c.Tokens(tok)
		return train, val, false, err
	}
	return tc.Tokens(c, tok)
}

// Path returns the file that holds (or would hold) the tokens of c under
// tok: Dir/LABEL.TOKENIZER.HASH.safetensors, where LABEL is the base name of
// the corpus and HASH is derived from where the corpus was loaded from.
func (tc *TokenCache) Path(c *Corpus, tok Tokenizer) string {
	src := c.source
	if src == "" {
		src = c.Name
	}
	sum := sha256.Sum256([]byte(src))
	return filepath.Join(tc.Dir, fmt.Sprintf("%s.%s.%s.safetensors",
		fileLabel(filepath.Base(c.Name)), fileLabel(tok.Name()), hex.EncodeToString(sum[:6])))
}

// Tokens returns c.Tokens(tok), read from the cache file when it is valid
// for c and tok (hit is then true), else computed and stored. A missing,
// stale or damaged cache file is not an error: the corpus is tokenized again
// (a damaged file is reported with slog.Warn), and a file that cannot be
// written is reported with slog.Warn. Only c.Tokens's errors are returned.
func (tc *TokenCache) Tokens(c *Corpus, tok Tokenizer) (train, val []int32, hit bool, err error) {
	if tok == nil || len(c.Docs) == 0 {
		train, val, err = c.Tokens(tok) // reports the problem
		return train, val, false, err
	}
	key := tokenKey(c, tok)
	path := tc.Path(c, tok)
	train, val, err = readTokenCache(path, key)
	switch {
	case err == nil:
		return train, val, true, nil
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, errStaleCache):
		slog.Debug("token cache: corpus or tokenizer changed", "file", path)
	default:
		slog.Warn("token cache: ignoring unreadable file, tokenizing again", "file", path, "err", err)
	}
	train, val, err = c.Tokens(tok)
	if err != nil {
		return nil, nil, false, err
	}
	if werr := writeTokenCache(path, key, c, tok, train, val); werr != nil {
		slog.Warn("token cache: cannot write", "file", path, "err", werr)
	}
	return train, val, false, nil
}

// errStaleCache: the cache file was written for other documents or another
// tokenizer.
var errStaleCache = errors.New("stale token cache")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// readTokenCache reads the token streams in path if its key is key and its
// checksums match.
func readTokenCache(path, key string) (train, val []int32, err error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if f.Metadata["format"] != tokenCacheFormatName() {
		return nil, nil, fmt.Errorf("format %q, want %q", f.Metadata["format"], tokenCacheFormatName())
	}
	if f.Metadata["key"] != key {
		return nil, nil, errStaleCache
	}
	out := make([][]int32, 2)
	for i, name := range []string{"train", "val"} {
		t, ok := f.Get(name)
		if !ok {
			return nil, nil, fmt.Errorf("no tensor %q", name)
		}
		if len(t.Shape) != 1 {
			return nil, nil, fmt.Errorf("tensor %q has shape %v, want one dimension", name, t.Shape)
		}
		want := f.Metadata["crc32c_"+name]
		if got := strconv.FormatUint(uint64(crc32.Checksum(t.Data, castagnoli)), 16); got != want {
			return nil, nil, fmt.Errorf("tensor %q: checksum %s, want %q", name, got, want)
		}
		switch t.DType {
		case "U16":
			v := make([]int32, len(t.Data)/2)
			for j := range v {
				v[j] = int32(binary.LittleEndian.Uint16(t.Data[2*j:]))
			}
			out[i] = v
		default:
			if out[i], err = t.Int32s(); err != nil {
				return nil, nil, err
			}
		}
	}
	return out[0], out[1], nil
}

// tokenTensor stores ids as "U16" when every id fits (GPT-2's vocabulary
// does: half the file of "I32"), else as "I32".
func tokenTensor(name string, ids []int32) safetensors.Tensor {
	for _, id := range ids {
		if id < 0 || id > math.MaxUint16 {
			return safetensors.I32(name, []int{len(ids)}, ids)
		}
	}
	b := make([]byte, 2*len(ids))
	for i, id := range ids {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(id))
	}
	return safetensors.Tensor{Name: name, DType: "U16", Shape: []int{len(ids)}, Data: b}
}

// writeTokenCache stores train and val in path atomically.
func writeTokenCache(path, key string, c *Corpus, tok Tokenizer, train, val []int32) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tt, vt := tokenTensor("train", train), tokenTensor("val", val)
	meta := map[string]string{
		"format":       tokenCacheFormatName(),
		"key":          key,
		"corpus":       c.Name,
		"source":       c.source,
		"tokenizer":    tok.Name(),
		"crc32c_train": strconv.FormatUint(uint64(crc32.Checksum(tt.Data, castagnoli)), 16),
		"crc32c_val":   strconv.FormatUint(uint64(crc32.Checksum(vt.Data, castagnoli)), 16),
	}
	return safetensors.WriteFile(path, []safetensors.Tensor{tt, vt}, meta)
}

func tokenCacheFormatName() string { return "mhc-tokens-" + strconv.Itoa(tokenCacheFormat) }

// tokenKey is the content key of c's tokens under tok (see TokenCache).
func tokenKey(c *Corpus, tok Tokenizer) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", tokenCacheFormatName(), tokenizerID(tok))
	train, val := c.Split()
	var n [8]byte
	buf := make([]byte, 64<<10) // sha256 has no WriteString: copy through buf, not a new []byte per document
	for _, side := range [][]Document{train, val} {
		binary.LittleEndian.PutUint64(n[:], uint64(len(side)))
		h.Write(n[:])
		for _, d := range side {
			binary.LittleEndian.PutUint64(n[:], uint64(len(d.Text)))
			h.Write(n[:])
			for s := d.Text; s != ""; {
				k := copy(buf, s)
				h.Write(buf[:k])
				s = s[k:]
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// tokenProbe is encoded by tokenizerID: a tokenizer whose encoding of it
// changes gets new cache keys even if its version string does not change.
const tokenProbe = "Hello, world! It's 3.14159 — naïve café, 日本語.\n\n\tfunc main() {\n\t\tif err != nil {\n" +
	"\t\t\treturn fmt.Errorf(\"%w\", err)\n\t\t}\n\t}\n    indented   spaces\r\n<|endoftext|>'s 'll 've"

// tokenizerID identifies tok's behaviour: name, vocabulary size, end-of-text
// token, the version of the module implementing it, and a hash of its tokens
// for tokenProbe.
func tokenizerID(tok Tokenizer) string {
	h := sha256.New()
	for _, id := range tok.Encode(tokenProbe) {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(id))
		h.Write(b[:])
	}
	mod := "unknown"
	if tok.Name() == TokenizerGPT2 {
		mod = moduleVersion("github.com/tiktoken-go/tokenizer")
	}
	return fmt.Sprintf("tokenizer %s vocab %d eot %d module %s probe %x",
		tok.Name(), tok.VocabSize(), tok.EOT(), mod, h.Sum(nil)[:8])
}

// moduleVersion returns the version and checksum of module path as built
// into this binary, or "unknown".
func moduleVersion(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			if d.Replace != nil {
				d = d.Replace
			}
			return d.Version + " " + d.Sum
		}
	}
	return "unknown"
}

// fileLabel turns s into a short file-name-safe label.
func fileLabel(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 40 {
		b = b[:40]
	}
	if len(b) == 0 {
		return "corpus"
	}
	return string(b)
}
