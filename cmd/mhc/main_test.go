package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// Bad input: one line naming the problem, exit status 2, no panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, nil, 0o644)
	short := filepath.Join(dir, "short.txt")
	os.WriteFile(short, []byte("too short for a sequence"), 0o644)
	emptyDir := filepath.Join(dir, "nothing")
	os.Mkdir(emptyDir, 0o755)
	notCkpt := t.TempDir()
	badCkpt := t.TempDir()
	os.WriteFile(filepath.Join(badCkpt, "config.json"), []byte("{not json"), 0o644)
	os.WriteFile(filepath.Join(badCkpt, "state.json"), []byte(`{"format":1,"tokenizer":"byte"}`), 0o644)
	out := filepath.Join(dir, "run")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown preset", []string{"train", "--preset", "huge"}, "huge"},
		{"heads", []string{"train", "--d-model", "100", "--heads", "3"}, "divisible"},
		{"heads names the flag", []string{"train", "--d-model", "130", "--heads", "4"}, "--d-model: model: d_model 130 is not divisible by n_heads 4"},
		{"streams", []string{"train", "--conn", "mhc", "--streams", "17"}, "--streams: hyper: streams 17"},
		{"accum", []string{"train", "--accum", "0"}, "--accum: train: accum 0"},
		{"fixed", []string{"train", "--fixed", "pre,bogus"}, "fixed"},
		{"schedule", []string{"train", "--schedule", "linear"}, "linear"},
		{"seq", []string{"train", "--seq", "1"}, "--seq"},
		{"lr", []string{"train", "--lr", "-1"}, "--lr"},
		{"missing corpus", []string{"train", "--data", filepath.Join(dir, "nope.txt"), "--out", out}, "nope.txt"},
		{"empty corpus", []string{"train", "--data", empty, "--out", out}, "empty"},
		{"short corpus", []string{"train", "--data", short, "--out", out}, "too short"},
		{"empty dir", []string{"train", "--data", emptyDir, "--out", out}, "nothing"},
		{"unknown conn", []string{"train", "--conn", "magic"}, "magic"},
		{"unknown flag", []string{"train", "--bogus"}, "bogus"},
		{"unknown command", []string{"fly"}, "fly"},
		{"no checkpoint", []string{"sample", "--checkpoint", notCkpt}, notCkpt},
		{"bad checkpoint", []string{"eval", "--checkpoint", badCkpt}, "config.json"},
		{"sample without flag", []string{"sample"}, "--checkpoint"},
		{"bench", []string{"bench", "fly"}, "fly"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 {
			t.Errorf("%s: exit %d, want 2 (stderr %q)", c.name, code, stderr)
			continue
		}
		if !strings.Contains(lines[0], c.want) {
			t.Errorf("%s: first line %q does not name %q", c.name, lines[0], c.want)
		}
		if c.name != "unknown command" && len(lines) != 1 {
			t.Errorf("%s: %d lines of error output, want 1: %q", c.name, len(lines), stderr)
		}
	}
}

// A whole small run through the CLI: train, resume, sample, eval, and a
// mismatched checkpoint refused with exit 2.
func TestTrainResumeSampleEval(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("hello world, hello mhc.\n", 400)), 0o644)
	run := filepath.Join(dir, "run")
	small := []string{"--d-model", "32", "--layers", "1", "--heads", "2", "--seq", "16", "--batch", "2"}
	args := append([]string{"train", "--data", corpus, "--out", run, "--steps", "3", "--eval-every", "2",
		"--no-progress", "--sample-tokens", "8"}, small...)
	if code, _, stderr := runCLI(args...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(args...); code != 2 || !strings.Contains(stderr, "--resume") {
		t.Fatalf("training into an existing run: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI("train", "--resume", run, "--steps", "5", "--no-progress", "--sample-tokens", "0"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI("train", "--resume", run, "--layers", "3"); code != 2 {
		t.Fatalf("resume with arch flag: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI("sample", "--checkpoint", run, "--prompt", "hello", "--tokens", "10", "--seed", "3")
	if code != 0 || !strings.HasPrefix(stdout, "hello") {
		t.Fatalf("sample: exit %d, out %q, err %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI("eval", "--checkpoint", run, "--data", corpus, "--json")
	if code != 0 || !strings.Contains(stdout, `"bits_per_byte"`) {
		t.Fatalf("eval: exit %d, out %q, err %s", code, stdout, stderr)
	}
	metrics, err := os.ReadFile(filepath.Join(run, "metrics.jsonl"))
	if err != nil || strings.Count(string(metrics), `"kind":"train"`) != 5 {
		t.Fatalf("metrics.jsonl: %v\n%s", err, metrics)
	}
	// Corrupt the weights: a clear error, exit 2.
	os.WriteFile(filepath.Join(run, "model.safetensors"), []byte("xx"), 0o644)
	if code, _, stderr := runCLI("sample", "--checkpoint", run); code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("corrupt checkpoint: exit %d: %q", code, stderr)
	}
}

// -h prints the flags to the injected writer and exits 0.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"train", "sample", "eval", "bench", "gains"} {
		code, stdout, stderr := runCLI(cmd, "-h")
		if code != 0 || stdout != "" || !strings.Contains(stderr, "Usage of mhc "+cmd) || !strings.Contains(stderr, "-") {
			t.Errorf("%s -h: exit %d, stdout %q, stderr %q", cmd, code, stdout, stderr)
		}
	}
}
