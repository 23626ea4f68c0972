package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/cost"
	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// The acceptance case: the paper's 27B model with mHC at n = 4 on an H200,
// as text and as one JSON object with the same figures.
func TestPlan27B(t *testing.T) {
	args := []string{"plan", "--config", "27b", "--conn", "mhc", "--streams", "4", "--device", "h200"}
	code, out, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"total   27.0 B", "active  4.14 B", "mhc     +14.7 M = 60 sublayers × 245787",
		"read (5n+1)C + n² + 2n = 53784", "read (3n+1)C + n² + 2n = 33304", "recompute L_r* = 6",
		"roofline on h200", "mhc n=4 fused+recompute *"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, js, stderr := runCLI(append(args, "--json")...)
	if code != 0 || strings.Count(strings.TrimSpace(js), "\n") != 0 {
		t.Fatalf("--json: exit %d, %d lines: %s", code, strings.Count(js, "\n"), stderr)
	}
	var r cost.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	if e := float64(r.Params.Total)/27.0e9 - 1; math.Abs(e) > 0.02 {
		t.Errorf("total %d: %+.2f%% from 27.0 B", r.Params.Total, 100*e)
	}
	if e := float64(r.Params.Active)/4.14e9 - 1; math.Abs(e) > 0.02 {
		t.Errorf("active %d: %+.2f%% from 4.14 B", r.Params.Active, 100*e)
	}
	s := r.Steps[r.Selected]
	if r.Memory.Recompute.Lr != 6 || r.Params.Connection != 60*245787 || r.Device.Name != "h200" ||
		!(s.Step > 0) || !(s.Overhead > 0) || len(r.Steps) != 4 || r.IO.Fused == nil || r.IO.Fused.Read != 33304 {
		t.Errorf("JSON report: Lr %d, connection %d, device %s, selected %+v, IO %+v", r.Memory.Recompute.Lr,
			r.Params.Connection, r.Device.Name, s, r.IO)
	}
}

// A run directory's config.json (or the file itself) plans the engine
// model: its parameter count is model.New's, and a plan file round-trips.
func TestPlanConfigFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := model.Presets["tiny"].Config
	cfg.Kind, cfg.Streams, cfg.Contract, cfg.Tie = hyper.MHC, 2, "learned", true
	b, _ := json.Marshal(cfg)
	os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	m, err := model.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	plan27 := filepath.Join(t.TempDir(), "27b.json")
	b, _ = json.Marshal(cost.Paper["27b"])
	os.WriteFile(plan27, b, 0o644)
	cases := []struct {
		name, config string
		want         int64
	}{
		{"run directory", dir, int64(m.NumParams())},
		{"config.json", filepath.Join(dir, "config.json"), int64(m.NumParams())},
		{"plan file", plan27, cost.Paper["27b"].Params().Total},
	}
	for _, c := range cases {
		code, js, stderr := runCLI("plan", "--config", c.config, "--device", "h200", "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
		}
		var r cost.Report
		if err := json.Unmarshal([]byte(js), &r); err != nil {
			t.Fatal(err)
		}
		if r.Params.Total != c.want {
			t.Errorf("%s: %d parameters, want %d", c.name, r.Params.Total, c.want)
		}
	}
}

// Flags override the configuration: a residual preset becomes mHC with 4
// streams, --layers changes the depth and the recompute block.
func TestPlanOverrides(t *testing.T) {
	code, js, stderr := runCLI("plan", "--config", "small", "--conn", "mhc", "--layers", "3", "--device", "h200",
		"--pp-stages", "3", "--workers", "1,2", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r cost.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	cfg := model.Presets["small"].Config
	cfg.Kind, cfg.Streams, cfg.Layers = hyper.MHC, 4, 3
	if want := cost.FromModel(cfg, 16).Params().Total; r.Params.Total != want || r.Arch.Conn.Streams != 4 {
		t.Errorf("params %d (want %d), streams %d", r.Params.Total, want, r.Arch.Conn.Streams)
	}
	// 3 stages of 2 sublayers: L_r = 1 → 4·6 + 6 = 30, L_r = 2 → 4·3 + 12 = 24.
	if r.Memory.Aligned == nil || r.Memory.Aligned.Lr != 2 || len(r.DataParallel) != 2 || r.DataParallel[0].AllReduce != 0 {
		t.Errorf("aligned %+v, data parallel %+v", r.Memory.Aligned, r.DataParallel)
	}
}

// Bad input: one line naming the problem, exit status 2.
func TestPlanBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	malformed := write("bad.json", `{"d_model": 128,`)
	unknown := write("unknown.json", `{"attention": {"kind": "mha"}, "colour": "blue"}`)
	neither := write("neither.json", `{"d_model": 128}`)
	invalid := write("invalid.json", strings.Replace(string(mustMarshal(t, cost.Paper["3b"])), `"kv_rank":512`, `"kv_rank":0`, 1))
	emptyDir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown config", []string{"--config", "70b"}, "70b"},
		{"unknown device", []string{"--device", "tpu"}, "tpu"},
		{"zero streams", []string{"--streams", "0"}, "--streams 0"},
		{"negative streams", []string{"--streams", "-3"}, "--streams -3"},
		{"residual streams", []string{"--conn", "residual", "--streams", "4"}, "exactly 1 stream"},
		{"lite streams", []string{"--conn", "mhc-lite", "--streams", "5"}, "n ≤ 4"},
		{"unknown conn", []string{"--conn", "magic"}, "magic"},
		{"malformed file", []string{"--config", malformed}, "bad.json"},
		{"unknown field", []string{"--config", unknown}, "colour"},
		{"neither schema", []string{"--config", neither}, "neither"},
		{"invalid field", []string{"--config", invalid}, "attention"},
		{"not a run dir", []string{"--config", emptyDir}, "config.json"},
		{"layers", []string{"--layers", "0"}, "--layers 0"},
		{"batch", []string{"--batch", "-1"}, "--batch -1"},
		{"stages", []string{"--pp-stages", "31"}, "--pp-stages 31"},
		{"workers", []string{"--workers", "8,x"}, "--workers"},
		{"tflops", []string{"--tflops", "-5"}, "--tflops"},
		{"latency", []string{"--link-latency-us", "-1"}, "--link-latency-us"},
		{"positional", []string{"27b"}, "27b"},
		{"unknown flag", []string{"--gpu", "h100"}, "gpu"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(append([]string{"plan"}, c.args...)...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%s: exit %d, stderr %q: want exit 2 and one line naming %q", c.name, code, stderr, c.want)
		}
	}
	if code, out, stderr := runCLI("plan", "-h"); code != 0 || out != "" || !strings.Contains(stderr, "Usage of mhc plan") {
		t.Errorf("plan -h: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
