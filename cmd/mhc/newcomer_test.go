package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/kernels"
)

func TestVersion(t *testing.T) {
	code, stdout, stderr := runCLI("version")
	if code != 0 || stderr != "" {
		t.Fatalf("version: exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"mhc     ", "module  github.com/mhc-go/mhc\n", "go      go1.", "kernels " + kernels.Path() + " (GEMM), " + kernels.VectorPath() + " (vector kernels)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("version output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestDataBadInput(t *testing.T) {
	t.Setenv(data.CacheEnv, t.TempDir())
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"data"}, "missing subcommand"},
		{[]string{"data", "list"}, `"list"`},
		{[]string{"data", "fetch"}, "missing corpus name"},
		{[]string{"data", "fetch", "gostd"}, "needs no download"},
		{[]string{"data", "fetch", "french"}, `"french"`},
		{[]string{"data", "fetch", "english", "--via", "pigeon"}, "--via"},
		{[]string{"data", "fetch", "--via", "pigeon", "english"}, "--via"},
		{[]string{"data", "fetch", "english", "extra"}, `"extra"`},
		{[]string{"data", "fetch", "english", "--bogus"}, "bogus"},
		{[]string{"data", "info", "extra"}, `"extra"`},
		{[]string{"version", "extra"}, `"extra"`},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("mhc %s: exit %d, stderr %q; want exit 2 and one line naming %s", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}

func TestDataInfo(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(data.CacheEnv, cache)
	t.Chdir(t.TempDir()) // no ./data/english here
	code, stdout, stderr := runCLI("data", "info")
	if code != 0 || !strings.Contains(stdout, "cache:   "+cache+" (from $MHC_CACHE)") ||
		!strings.Contains(stdout, "english: not fetched") || !strings.Contains(stdout, "0 cached token streams") {
		t.Errorf("data info, empty cache: exit %d, stdout:\n%s\nstderr: %s", code, stdout, stderr)
	}
	english := filepath.Join(cache, "english")
	writeFile(t, filepath.Join(english, "train.txt"), "train\n")
	writeFile(t, filepath.Join(english, "val.txt"), "val\n")
	writeFile(t, filepath.Join(cache, "tokens", "x.gpt2.0123.safetensors"), "0123456789")
	code, stdout, _ = runCLI("data", "info")
	if code != 0 || !strings.Contains(stdout, "english: "+english) || !strings.Contains(stdout, "1 cached token streams") ||
		!strings.Contains(stdout, "x.gpt2.0123.safetensors") {
		t.Errorf("data info, filled cache: exit %d, stdout:\n%s", code, stdout)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Commands that write files create the directories they need, as train
// --out does, and refuse a path they cannot use with one line, exit 2.
func TestOutputDirsCreated(t *testing.T) {
	run, _ := trainTiny(t, "mhc", "2")
	dir := t.TempDir()
	plots := filepath.Join(dir, "new", "plots")
	if code, _, stderr := runCLI("gains", "--checkpoint", run, "--out", plots); code != 0 {
		t.Fatalf("gains --out NEWDIR: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"gains.png", "hres.png"} {
		checkPNGFile(t, filepath.Join(plots, f))
	}
	dump := filepath.Join(dir, "dumps", "x", "logits.safetensors")
	if code, _, stderr := runCLI("eval", "--checkpoint", run, "--windows", "1", "--dump-logits", dump); code != 0 {
		t.Fatalf("eval --dump-logits NEWDIR/FILE: exit %d: %s", code, stderr)
	}
	if info, err := os.Stat(dump); err != nil || info.Size() == 0 {
		t.Errorf("dump %s: %v", dump, err)
	}
	file := filepath.Join(run, "config.json")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"gains", "--checkpoint", run, "--out", file}, "--out"},
		{[]string{"gains", "--checkpoint", run, "--out", filepath.Join(file, "sub")}, "--out"},
		{[]string{"eval", "--checkpoint", run, "--dump-logits", dir}, "is a directory"},
		{[]string{"eval", "--checkpoint", run, "--dump-logits", filepath.Join(file, "logits.safetensors")}, "--dump-logits"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("mhc %s: exit %d, stderr %q; want exit 2 and one line naming %s", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}
