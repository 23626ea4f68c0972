package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ckptArgs are the flags of a tiny, fast run.
var ckptArgs = []string{"--d-model", "32", "--layers", "1", "--heads", "2", "--seq", "16", "--batch", "2",
	"--eval-every", "0", "--sample-tokens", "0", "--no-progress", "--schedule", "constant", "--warmup", "2"}

// ckptCorpus writes a small repetitive corpus into dir.
func ckptCorpus(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(p, []byte(strings.Repeat("hello world, hello mhc.\n", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// ckptTrain trains a tiny run of steps steps into dir/name in this process.
func ckptTrain(t *testing.T, dir, name string, steps string) string {
	t.Helper()
	run := filepath.Join(dir, name)
	args := append([]string{"train", "--data", ckptCorpus(t, dir), "--out", run, "--steps", steps}, ckptArgs...)
	if code, _, stderr := runCLI(args...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	return run
}

// mhc verify says OK on a good checkpoint; truncated, bit-flipped (in the
// data and in the header) and mismatched checkpoints make verify, eval,
// sample and train --resume exit 2 with one line naming the problem.
func TestVerifyAndDamagedCheckpoints(t *testing.T) {
	t.Setenv("MHC_CACHE", t.TempDir())
	dir := t.TempDir()
	run := ckptTrain(t, dir, "run", "6")
	other := ckptTrain(t, dir, "other", "4")
	corpus := filepath.Join(dir, "corpus.txt")

	code, stdout, stderr := runCLI("verify", run)
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, run+": OK: step 6, format 2") || !strings.Contains(stdout, "every CRC-32C checksum matches") {
		t.Fatalf("verify of a good checkpoint: exit %d, out %q, err %q", code, stdout, stderr)
	}

	read := func(d, name string) []byte {
		b, err := os.ReadFile(filepath.Join(d, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := map[string][]byte{}
	for _, name := range []string{"config.json", "model.safetensors", "optimizer.safetensors", "state.json"} {
		good[name] = read(run, name)
	}
	model := good["model.safetensors"]
	hdr := 8 + int(binary.LittleEndian.Uint64(model))
	flipped := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x10
		return c
	}
	cases := []struct {
		name, file string
		bytes      []byte
		want       string
	}{
		{"truncated", "model.safetensors", model[:len(model)-100], "model.safetensors is"},
		{"bit flip in the data", "model.safetensors", flipped(model, hdr+10), `model.safetensors: tensor "wte.weight": data does not match its checksum`},
		{"bit flip in the header", "model.safetensors", flipped(model, hdr-20), "model.safetensors"},
		{"bit flip in config.json", "config.json", flipped(good["config.json"], 30), "config.json"},
		{"bit flip in state.json", "state.json", flipped(good["state.json"], 40), "state.json"},
		{"model of another run", "model.safetensors", read(other, "model.safetensors"), "model.safetensors holds step 4 but state.json step 6"},
		{"state of another run", "state.json", read(other, "state.json"), "holds step 6 but state.json step 4"},
	}
	for _, c := range cases {
		for name, b := range good {
			os.WriteFile(filepath.Join(run, name), b, 0o644)
		}
		os.WriteFile(filepath.Join(run, c.file), c.bytes, 0o644)
		for _, args := range [][]string{
			{"verify", run},
			{"eval", "--checkpoint", run, "--data", corpus},
			{"sample", "--checkpoint", run, "--tokens", "4"},
			{"train", "--resume", run, "--steps", "8", "--no-progress", "--sample-tokens", "0"},
		} {
			code, stdout, stderr := runCLI(args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) || !strings.Contains(lines[0], run) {
				t.Errorf("%s: mhc %s: exit %d, stderr %q, stdout %q; want exit 2 and one line naming %q", c.name, args[0], code, stderr, stdout, c.want)
			}
		}
	}
	for name, b := range good {
		os.WriteFile(filepath.Join(run, name), b, 0o644)
	}
	if code, _, stderr := runCLI("verify", run); code != 0 {
		t.Fatalf("restored checkpoint: exit %d: %s", code, stderr)
	}

	// A checkpoint from before checksums (format 1) still loads, with a note.
	st := good["state.json"]
	old := append(bytes.Replace(st[:bytes.Index(st, []byte(",\n  \"files\""))], []byte(`"format": 2`), []byte(`"format": 1`), 1), "\n}\n"...)
	os.WriteFile(filepath.Join(run, "state.json"), old, 0o644)
	code, stdout, stderr = runCLI("sample", "--checkpoint", run, "--tokens", "4", "--prompt", "hello")
	if code != 0 || !strings.HasPrefix(stdout, "hello") || !strings.Contains(stderr, "note: checkpoint "+run+" has no checksums (format 1") {
		t.Errorf("format 1 checkpoint: exit %d, out %q, err %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI("verify", run)
	if code != 0 || !strings.Contains(stdout, "OK") || !strings.Contains(stderr, "note:") {
		t.Errorf("verify of a format 1 checkpoint: exit %d, out %q, err %q", code, stdout, stderr)
	}
}

// verify's own bad input: one line, exit 2; -h exits 0.
func TestVerifyBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"verify"}, "want one checkpoint directory, got 0"},
		{[]string{"verify", dir, dir}, "got 2"},
		{[]string{"verify", filepath.Join(dir, "missing")}, "missing"},
		{[]string{"verify", dir}, "config.json"},
		{[]string{"verify", "--bogus", dir}, "bogus"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", c.args, code, stderr, c.want)
		}
	}
	if code, stdout, stderr := runCLI("verify", "-h"); code != 0 || stdout != "" || !strings.Contains(stderr, "Usage of mhc verify") {
		t.Errorf("verify -h: exit %d, out %q, err %q", code, stdout, stderr)
	}
}

// A configuration that will not fit in memory is refused before anything is
// allocated or loaded, with the estimate and the memory available.
func TestMemoryRefused(t *testing.T) {
	t.Setenv("MHC_CACHE", t.TempDir())
	dir := t.TempDir()
	run := ckptTrain(t, dir, "run", "2")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--d-model", "16384", "--layers", "64", "--out", filepath.Join(dir, "huge")}, "d_model 16384, 64 layers, batch 16"},
		{[]string{"train", "--batch", "10000000", "--out", filepath.Join(dir, "wide")}, "batch 10000000 × seq 128"},
		{[]string{"eval", "--checkpoint", run, "--batch", "1000000000"}, "batch 1000000000"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) || !strings.Contains(lines[0], "is available (") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q and the memory available", c.args, code, stderr, c.want)
		}
	}
	for _, name := range []string{"huge", "wide"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("a refused run left its directory %s", name)
		}
	}
}
