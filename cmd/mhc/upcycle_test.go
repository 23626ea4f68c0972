package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// trainSmall trains a 3-step residual run on a small text file.
func trainSmall(t *testing.T) (run, corpus string) {
	t.Helper()
	dir := t.TempDir()
	corpus = filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("upcycled streams carry the residual. ", 300)), 0o644)
	run = filepath.Join(dir, "res")
	code, _, stderr := runCLI("train", "--data", corpus, "--out", run, "--steps", "3", "--eval-every", "0",
		"--no-progress", "--sample-tokens", "0", "--d-model", "32", "--layers", "2", "--heads", "2", "--seq", "16", "--batch", "2")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	return run, corpus
}

func evalJSON(t *testing.T, ckpt, corpus string) float64 {
	t.Helper()
	code, stdout, stderr := runCLI("eval", "--checkpoint", ckpt, "--data", corpus, "--json")
	if code != 0 {
		t.Fatalf("eval %s: exit %d: %s", ckpt, code, stderr)
	}
	var r struct{ Loss float64 }
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("eval %s: %v: %q", ckpt, err, stdout)
	}
	return r.Loss
}

// residual → upcycle → eval gives the source's loss for each kind; the
// upcycled run resumes and samples.
func TestUpcycleCLI(t *testing.T) {
	src, corpus := trainSmall(t)
	want := evalJSON(t, src, corpus)
	for _, conn := range []string{"mhc", "hc", "mhc-lite"} {
		out := filepath.Join(t.TempDir(), conn)
		code, stdout, stderr := runCLI("upcycle", "--from", src, "--conn", conn, "--streams", "4", "--out", out, "--steps", "5")
		if code != 0 || !strings.Contains(stdout, "--resume "+out) || !strings.Contains(stdout, conn+" n=4") {
			t.Fatalf("upcycle %s: exit %d, out %q, err %q", conn, code, stdout, stderr)
		}
		if got := evalJSON(t, out, corpus); math.Abs(got-want) > 1e-5*want {
			t.Errorf("%s: upcycled loss %.7f, source %.7f", conn, got, want)
		}
		if code, _, stderr := runCLI("train", "--resume", out, "--no-progress", "--sample-tokens", "0"); code != 0 {
			t.Fatalf("resume %s: exit %d: %s", conn, code, stderr)
		}
	}
	// Sampling reports tokens/s on stderr, with and without the cache.
	for _, extra := range []string{"", "--no-cache"} {
		args := []string{"sample", "--checkpoint", filepath.Join(filepath.Dir(src), "res"), "--prompt", "up", "--tokens", "20"}
		if extra != "" {
			args = append(args, extra)
		}
		code, stdout, stderr := runCLI(args...)
		if code != 0 || !strings.HasPrefix(stdout, "up") || !regexp.MustCompile(`20 tokens in [0-9.]+ s: [0-9]+ tokens/s`).MatchString(stderr) {
			t.Errorf("sample %s: exit %d, out %q, err %q", extra, code, stdout, stderr)
		}
	}
}

// Bad input to upcycle: one line naming the problem, exit status 2.
func TestUpcycleBadInput(t *testing.T) {
	src, _ := trainSmall(t)
	upcycled := filepath.Join(t.TempDir(), "up")
	if code, _, stderr := runCLI("upcycle", "--from", src, "--conn", "mhc", "--out", upcycled); code != 0 {
		t.Fatalf("upcycle: exit %d: %s", code, stderr)
	}
	fresh := func() string { return filepath.Join(t.TempDir(), "new") }
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no from", []string{"--conn", "mhc", "--out", fresh()}, "--from"},
		{"no out", []string{"--from", src, "--conn", "mhc"}, "--out"},
		{"no conn", []string{"--from", src, "--out", fresh()}, "--conn"},
		{"unknown conn", []string{"--from", src, "--conn", "magic", "--out", fresh()}, "magic"},
		{"not residual", []string{"--from", upcycled, "--conn", "hc", "--out", fresh()}, "not a residual checkpoint"},
		{"not a checkpoint", []string{"--from", t.TempDir(), "--conn", "mhc", "--out", fresh()}, "checkpoint"},
		{"out exists", []string{"--from", src, "--conn", "mhc", "--out", upcycled}, "already exists"},
		{"one stream", []string{"--from", src, "--conn", "mhc", "--streams", "1", "--out", fresh()}, "--streams"},
		{"too many streams", []string{"--from", src, "--conn", "hc", "--streams", "17", "--out", fresh()}, "--streams"},
		{"lite streams", []string{"--from", src, "--conn", "mhc-lite", "--streams", "5", "--out", fresh()}, "--streams"},
		{"residual streams", []string{"--from", src, "--conn", "residual", "--streams", "4", "--out", fresh()}, "--streams"},
		{"sum for mhc", []string{"--from", src, "--conn", "mhc", "--contract", "sum", "--out", fresh()}, "--contract"},
		{"bad contract", []string{"--from", src, "--conn", "hc", "--contract", "max", "--out", fresh()}, "--contract"},
		{"bad init", []string{"--from", src, "--conn", "mhc", "--init", "zero", "--out", fresh()}, "--init"},
		{"bad split", []string{"--from", src, "--conn", "mhc", "--split", "1.5", "--out", fresh()}, "--split"},
		{"bad noise", []string{"--from", src, "--conn", "mhc", "--init", "noise", "--noise", "0", "--out", fresh()}, "--noise"},
		{"bad res-bias", []string{"--from", src, "--conn", "mhc", "--res-bias", "9", "--out", fresh()}, "--res-bias"},
		{"bad steps", []string{"--from", src, "--conn", "mhc", "--steps", "-3", "--out", fresh()}, "--steps"},
		{"positional", []string{"--from", src, "--conn", "mhc", "--out", fresh(), "extra"}, "extra"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(append([]string{"upcycle"}, c.args...)...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%s: exit %d, stderr %q: want exit 2 and one line naming %q", c.name, code, stderr, c.want)
		}
		if strings.Contains(c.name, "exists") {
			continue
		}
		if out := c.args[len(c.args)-1]; strings.HasSuffix(out, "new") {
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s: output directory created despite the error", c.name)
			}
		}
	}
}

// upcycle -h lists its flags on stderr and exits 0.
func TestUpcycleHelp(t *testing.T) {
	code, stdout, stderr := runCLI("upcycle", "-h")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "Usage of mhc upcycle") || !strings.Contains(stderr, "-init") {
		t.Errorf("upcycle -h: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
