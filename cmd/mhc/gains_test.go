package main

import (
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// trainTiny trains a 1-block model with the given connection for 2 steps and
// returns its run directory and corpus.
func trainTiny(t *testing.T, conn string, streams string) (run, corpus string) {
	t.Helper()
	dir := t.TempDir()
	corpus = filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(corpus, []byte(strings.Repeat("hello world, hello mhc.\n", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	run = filepath.Join(dir, "run-"+conn)
	code, _, stderr := runCLI("train", "--data", corpus, "--out", run, "--conn", conn, "--streams", streams,
		"--d-model", "32", "--layers", "1", "--heads", "2", "--seq", "16", "--batch", "2", "--steps", "2",
		"--no-progress", "--sample-tokens", "0")
	if code != 0 {
		t.Fatalf("train %s: exit %d: %s", conn, code, stderr)
	}
	return run, corpus
}

func checkPNGFile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 150 {
		t.Errorf("%s: %dx%d, too small", path, b.Dx(), b.Dy())
	}
}

func TestGains(t *testing.T) {
	run, corpus := trainTiny(t, "mhc", "2")
	code, stdout, stderr := runCLI("gains", "--checkpoint", run)
	if code != 0 {
		t.Fatalf("gains: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"gains.png", "hres.png"} {
		path := filepath.Join(run, f)
		checkPNGFile(t, path)
		if !strings.Contains(stdout, path) {
			t.Errorf("output does not name %s:\n%s", path, stdout)
		}
	}
	// The table: one row per sublayer (attn, mlp); mHC rows sum to 1, so the
	// composite forward gain is 1.
	rows := 0
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) != 8 || (f[2] != "attn" && f[2] != "mlp") {
			continue
		}
		rows++
		for i, v := range f[3:] {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				t.Errorf("row %q: column %d: %v", line, i+4, err)
			}
		}
		if g, _ := strconv.ParseFloat(f[6], 64); g < 1-1e-3 || g > 1+1e-3 {
			t.Errorf("row %q: composite fwd gain %v, want 1 ± 1e-3", line, g)
		}
	}
	if rows != 2 || !strings.Contains(stdout, "max composite gain") {
		t.Errorf("want 2 table rows and a summary, got %d:\n%s", rows, stdout)
	}

	// --json, --out, --layers, --data.
	out := t.TempDir()
	code, stdout, stderr = runCLI("gains", "--checkpoint", run, "--json", "--out", out, "--layers", "2,1", "--probe", "1", "--data", corpus)
	if code != 0 {
		t.Fatalf("gains --json: exit %d: %s", code, stderr)
	}
	var rec struct {
		Kind       string      `json:"kind"`
		Step       int         `json:"step"`
		CompFwd    []float64   `json:"comp_fwd"`
		MaxCompFwd float64     `json:"max_comp_fwd"`
		Matrices   [][]float64 `json:"h_res"`
		Composite  []float64   `json:"composite"`
	}
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("gains --json: %v\n%s", err, stdout)
	}
	if rec.Kind != "gains" || rec.Step != 2 || len(rec.CompFwd) != 2 || len(rec.Matrices) != 2 || len(rec.Matrices[0]) != 4 || len(rec.Composite) != 4 {
		t.Errorf("gains --json: unexpected record %+v", rec)
	}
	if rec.MaxCompFwd < 1-1e-3 || rec.MaxCompFwd > 1+1e-3 {
		t.Errorf("max_comp_fwd %v, want 1", rec.MaxCompFwd)
	}
	for _, f := range []string{"gains.png", "hres.png"} {
		checkPNGFile(t, filepath.Join(out, f))
	}
}

func TestGainsBadInput(t *testing.T) {
	run, _ := trainTiny(t, "mhc", "2")
	res, _ := trainTiny(t, "residual", "1")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"residual", []string{"--checkpoint", res}, "--conn hc/mhc/mhc-lite"},
		{"missing checkpoint", []string{"--checkpoint", filepath.Join(t.TempDir(), "nope")}, "nope"},
		{"no checkpoint flag", nil, "--checkpoint"},
		{"layer too big", []string{"--checkpoint", run, "--layers", "1,3"}, "sublayer 3 out of range 1..2"},
		{"layer zero", []string{"--checkpoint", run, "--layers", "0"}, "sublayer 0"},
		{"layer word", []string{"--checkpoint", run, "--layers", "top"}, `"top"`},
		{"probe", []string{"--checkpoint", run, "--probe", "0"}, "--probe"},
		{"out is a file", []string{"--checkpoint", run, "--out", filepath.Join(run, "config.json")}, "--out"},
		{"data", []string{"--checkpoint", run, "--data", filepath.Join(t.TempDir(), "nope.txt")}, "nope.txt"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(append([]string{"gains"}, c.args...)...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line naming %q", c.name, code, stderr, c.want)
		}
	}
}

func TestParseLayers(t *testing.T) {
	cases := []struct {
		s    string
		L    int
		want string // "error" for an error
	}{
		{"1,mid,last", 60, "[1 30 60]"},
		{"1,mid,last", 2, "[1 2]"},
		{"first, 2 ,last", 4, "[1 2 4]"},
		{"3,1,3", 4, "[3 1]"},
		{"", 4, "[]"},
		{"5", 4, "error"},
		{"-1", 4, "error"},
		{"1,,2", 4, "error"},
		{"x", 4, "error"},
	}
	for _, c := range cases {
		got, err := parseLayers(c.s, c.L)
		s := fmt.Sprint(got)
		if err != nil {
			s = "error"
		}
		if s != c.want {
			t.Errorf("parseLayers(%q, %d) = %s, want %s", c.s, c.L, s, c.want)
		}
	}
}
