package data

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCacheDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "xdg"))
	user, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env, want string
	}{
		{env: "", want: filepath.Join(user, "mhc")},
		{env: "/somewhere/cache", want: "/somewhere/cache"},
		{env: "rel/cache", want: filepath.Join(cwd, "rel/cache")},
	}
	for _, tt := range tests {
		t.Setenv(CacheEnv, tt.env)
		got, err := CacheDir()
		if err != nil || got != tt.want {
			t.Errorf("%s=%q: CacheDir() = %q, %v; want %q", CacheEnv, tt.env, got, err, tt.want)
		}
		eng, err := EnglishCacheDir()
		if err != nil || eng != filepath.Join(tt.want, "english") {
			t.Errorf("%s=%q: EnglishCacheDir() = %q, %v", CacheEnv, tt.env, eng, err)
		}
	}
}

func TestFindEnglish(t *testing.T) {
	english := map[string]string{"train.txt": "cached train\n", "val.txt": "cached val\n"}
	legacy := map[string]string{"data/english/train.txt": "legacy train\n", "data/english/val.txt": "legacy val\n"}
	tests := []struct {
		name          string
		cache, cwd    map[string]string // files under the cache's english directory, under the working directory
		wantTrain     string            // "" means not found
		wantLegacyDir bool
	}{
		{name: "cache", cache: english, wantTrain: "cached train\n"},
		{name: "legacy ./data/english", cwd: legacy, wantTrain: "legacy train\n", wantLegacyDir: true},
		{name: "cache wins over legacy", cache: english, cwd: legacy, wantTrain: "cached train\n"},
		{name: "cache without val.txt", cache: map[string]string{"train.txt": "x\n"}, cwd: legacy, wantTrain: "legacy train\n", wantLegacyDir: true},
		{name: "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := t.TempDir()
			t.Setenv(CacheEnv, cache)
			writeFiles(t, filepath.Join(cache, "english"), tt.cache)
			cwd := t.TempDir()
			writeFiles(t, cwd, tt.cwd)
			t.Chdir(cwd)
			dir, err := FindEnglish()
			c, lerr := LoadCorpus(CorpusEnglish)
			if tt.wantTrain == "" {
				if !errors.Is(err, ErrEnglishNotFound) || !errors.Is(lerr, ErrEnglishNotFound) {
					t.Fatalf("FindEnglish: %q, %v; LoadCorpus: %v; want ErrEnglishNotFound", dir, err, lerr)
				}
				for _, place := range []string{filepath.Join(cache, "english"), EnglishDir, "mhc data fetch english"} {
					if !strings.Contains(err.Error(), place) {
						t.Errorf("error %q does not name %s", err, place)
					}
				}
				return
			}
			if err != nil || lerr != nil {
				t.Fatalf("FindEnglish: %v; LoadCorpus: %v", err, lerr)
			}
			if want := filepath.Join(cache, "english"); tt.wantLegacyDir {
				if dir != EnglishDir {
					t.Errorf("FindEnglish() = %q, want %q", dir, EnglishDir)
				}
			} else if dir != want {
				t.Errorf("FindEnglish() = %q, want %q", dir, want)
			}
			if train, _ := c.Split(); train[0].Text != tt.wantTrain {
				t.Errorf("train text %q, want %q", train[0].Text, tt.wantTrain)
			}
		})
	}
}

// testCorpus writes a small directory corpus and loads it.
func testCorpus(t *testing.T, dir string, files map[string]string) *Corpus {
	t.Helper()
	writeFiles(t, dir, files)
	c, err := LoadCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var cacheFiles = map[string]string{
	"a.txt": "The quick brown fox jumps over the lazy dog.\nIt's 3.14 — naïve café.\n\nfunc main() {}\n",
	"b.txt": "Second document, a little shorter.\nWith two lines.\n",
}

func TestTokenCache(t *testing.T) {
	tok, err := NewTokenizer(TokenizerGPT2)
	if err != nil {
		t.Fatal(err)
	}
	// Each case damages the cache (or the corpus) after a first, filling
	// call; the next call must miss, give the right tokens, and leave a file
	// that the call after it hits.
	tests := []struct {
		name   string
		damage func(t *testing.T, path, corpusDir string)
	}{
		{"missing file", func(t *testing.T, path, _ string) { os.Remove(path) }},
		{"truncated file", func(t *testing.T, path, _ string) {
			if err := os.Truncate(path, 40); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage file", func(t *testing.T, path, _ string) { os.WriteFile(path, []byte("not a safetensors file"), 0o644) }},
		{"flipped token byte", func(t *testing.T, path, _ string) {
			b, _ := os.ReadFile(path)
			b[len(b)-3] ^= 0x40 // inside the last tensor's data
			os.WriteFile(path, b, 0o644)
		}},
		{"edited corpus", func(t *testing.T, _, dir string) {
			writeFiles(t, dir, map[string]string{"b.txt": "Second document, edited.\n"})
		}},
		{"added document", func(t *testing.T, _, dir string) {
			writeFiles(t, dir, map[string]string{"c.txt": "A third one.\n"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := &TokenCache{Dir: filepath.Join(t.TempDir(), "tokens")}
			dir := t.TempDir()
			c := testCorpus(t, dir, cacheFiles)
			path := tc.Path(c, tok)
			load := func(wantHit bool) {
				t.Helper()
				c := testCorpus(t, dir, nil) // reload: the corpus may have changed
				train, val, hit, err := tc.Tokens(c, tok)
				if err != nil {
					t.Fatal(err)
				}
				if hit != wantHit {
					t.Errorf("hit = %v, want %v", hit, wantHit)
				}
				wantTrain, wantVal, _ := c.Tokens(tok)
				if !slices.Equal(train, wantTrain) || !slices.Equal(val, wantVal) {
					t.Errorf("tokens differ from Corpus.Tokens: train %d vs %d, val %d vs %d", len(train), len(wantTrain), len(val), len(wantVal))
				}
				if _, err := os.Stat(path); err != nil {
					t.Errorf("cache file: %v", err)
				}
			}
			load(false)
			load(true)
			tt.damage(t, path, dir)
			load(false)
			load(true)
		})
	}
}

func TestTokenCacheUnwritable(t *testing.T) {
	tok, _ := NewTokenizer(TokenizerGPT2)
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, []byte("x"), 0o644)
	tc := &TokenCache{Dir: filepath.Join(blocker, "tokens")} // cannot be created
	c := testCorpus(t, t.TempDir(), cacheFiles)
	for range 2 {
		train, val, hit, err := tc.Tokens(c, tok)
		wantTrain, wantVal, _ := c.Tokens(tok)
		if err != nil || hit || !slices.Equal(train, wantTrain) || !slices.Equal(val, wantVal) {
			t.Errorf("unwritable cache: hit %v, err %v, tokens equal %v", hit, err, slices.Equal(train, wantTrain) && slices.Equal(val, wantVal))
		}
	}
}

func TestCachedTokens(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(CacheEnv, cache)
	c := testCorpus(t, t.TempDir(), cacheFiles)
	tests := []struct {
		tok       string
		wantHit   bool // on the second call
		wantFiles int
	}{
		{tok: TokenizerByte, wantHit: false, wantFiles: 0}, // not cached: a plain copy is faster
		{tok: TokenizerGPT2, wantHit: true, wantFiles: 1},
	}
	for _, tt := range tests {
		tok, _ := NewTokenizer(tt.tok)
		for i := range 2 {
			train, val, hit, err := c.CachedTokens(tok)
			wantTrain, wantVal, _ := c.Tokens(tok)
			if err != nil || hit != (i == 1 && tt.wantHit) || !slices.Equal(train, wantTrain) || !slices.Equal(val, wantVal) {
				t.Errorf("%s call %d: hit %v, err %v", tt.tok, i, hit, err)
			}
		}
		files, _ := filepath.Glob(filepath.Join(cache, "tokens", "*."+tt.tok+".*.safetensors"))
		if len(files) != tt.wantFiles {
			t.Errorf("%s: cache files %v, want %d", tt.tok, files, tt.wantFiles)
		}
	}
}

// shiftTokenizer is the byte tokenizer with every id moved up by shift: a
// stand-in for a changed tokenizer, or (shift ≥ 65536) for a vocabulary
// larger than uint16.
type shiftTokenizer struct {
	name  string
	shift int32
}

func (s shiftTokenizer) Name() string   { return s.name }
func (s shiftTokenizer) VocabSize() int { return 256 + int(s.shift) }
func (s shiftTokenizer) EOT() int32     { return -1 }
func (s shiftTokenizer) Encode(x string) []int32 {
	ids := byteTokenizer{}.Encode(x)
	for i := range ids {
		ids[i] += s.shift
	}
	return ids
}
func (s shiftTokenizer) Decode(ids []int32) string { return "" }

func TestTokenCacheKey(t *testing.T) {
	c := testCorpus(t, t.TempDir(), cacheFiles)
	same := testCorpus(t, t.TempDir(), cacheFiles)
	edited := testCorpus(t, t.TempDir(), map[string]string{"a.txt": cacheFiles["a.txt"], "b.txt": "other\n"})
	base := tokenKey(c, shiftTokenizer{"t", 0})
	tests := []struct {
		name    string
		c       *Corpus
		tok     Tokenizer
		wantNew bool
	}{
		{"same documents elsewhere", same, shiftTokenizer{"t", 0}, false},
		{"edited document", edited, shiftTokenizer{"t", 0}, true},
		{"tokenizer encodes differently", c, shiftTokenizer{"t", 1}, true},
		{"other tokenizer name", c, shiftTokenizer{"u", 0}, true},
	}
	for _, tt := range tests {
		if got := tokenKey(tt.c, tt.tok) != base; got != tt.wantNew {
			t.Errorf("%s: new key %v, want %v", tt.name, got, tt.wantNew)
		}
	}
}

func TestTokenCacheWideIDs(t *testing.T) {
	tc := &TokenCache{Dir: t.TempDir()}
	c := testCorpus(t, t.TempDir(), cacheFiles)
	for _, tok := range []shiftTokenizer{{"narrow", 1000}, {"wide", 70000}} {
		want, wantVal, _ := c.Tokens(tok)
		for i := range 2 {
			train, val, hit, err := tc.Tokens(c, tok)
			if err != nil || hit != (i == 1) || !slices.Equal(train, want) || !slices.Equal(val, wantVal) {
				t.Errorf("%s call %d: hit %v, err %v, equal %v", tok.name, i, hit, err, slices.Equal(train, want))
			}
		}
	}
}
