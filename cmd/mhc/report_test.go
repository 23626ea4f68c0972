package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/compare"
	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

// reportRun trains a tiny run of conn for 4 steps (eval and gains every 2)
// into dir and writes a result.json, as mhc compare would.
func reportRun(t *testing.T, dir, corpus, conn string, seed uint64) {
	t.Helper()
	cfg := model.Presets["tiny"].Config
	cfg.D, cfg.Layers, cfg.Heads, cfg.Seq, cfg.MLPHidden = 32, 2, 2, 16, 64
	if conn != "residual" {
		cfg.Kind, cfg.Streams = hyper.Kind(conn), 4
	}
	opts := train.DefaultOptions()
	opts.Steps, opts.Batch, opts.Warmup, opts.EvalEvery, opts.EvalWindows, opts.GainsEvery, opts.Seed = 4, 2, 1, 2, 2, 2, seed
	r, err := train.Start(train.Spec{Dir: dir, Config: cfg, Options: opts, Data: corpus, Tokenizer: "byte"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background(), train.Hooks{}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	lg, err := train.ReadMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	last := lg.Steps[len(lg.Steps)-1]
	res := compare.Result{Seed: seed, Steps: last.Step, Tokens: last.Tokens, ValLoss: lg.Evals[len(lg.Evals)-1].ValLoss,
		TokPerSec: last.TokPerS, Conn: conn, D: cfg.D, Layers: cfg.Layers, Params: 1000}
	b, _ := train.AppendJSON(nil, res)
	if err := os.WriteFile(filepath.Join(dir, compare.ResultFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("The report shows what the runs measured. ", 200)), 0o644)
	cmp := filepath.Join(dir, "cmp")
	os.MkdirAll(filepath.Join(cmp, compare.RunsDir), 0o755)
	os.WriteFile(filepath.Join(cmp, compare.SpecFile), []byte("{}\n"), 0o644)
	for _, conn := range []string{"residual", "mhc"} {
		for _, seed := range []uint64{1, 2} {
			reportRun(t, filepath.Join(cmp, compare.RunsDir, conn+"-s"+string(rune('0'+seed))), corpus, conn, seed)
		}
	}

	// A compare directory: the report goes into it.
	var stdout, stderr bytes.Buffer
	if err := runReport([]string{cmp}, &stdout, &stderr); err != nil {
		t.Fatalf("runReport: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{filepath.Join(cmp, "report.html"), "variant", "residual", "mhc", "baseline (neox)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"report.html", "report.md", "figures/loss-train.png", "figures/gain-end.svg", "figures/hres-mhc.png"} {
		if _, err := os.Stat(filepath.Join(cmp, f)); err != nil {
			t.Error(err)
		}
	}

	// Run directories, flags after the paths.
	other := filepath.Join(dir, "other")
	stdout.Reset()
	err := runReport([]string{filepath.Join(cmp, "runs", "residual-s1"), filepath.Join(cmp, "runs", "mhc-s1"), "--out", other}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(other, "report.html")); err != nil {
		t.Error(err)
	}
	if !strings.Contains(stdout.String(), "one seed: no confidence interval") {
		t.Errorf("one seed: output\n%s", stdout.String())
	}

	// Bad input: one line, a usage error (exit 2).
	notRun := t.TempDir()
	file := filepath.Join(dir, "corpus.txt")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no PATH"},
		{[]string{notRun, "--out", other}, "no metrics (not a run directory?)"},
		{[]string{file, "--out", other}, "not a directory"},
		{[]string{filepath.Join(cmp, "runs", "mhc-s1")}, "--out DIR is required"},
		{[]string{cmp, "--out", file}, "not a directory"},
		{[]string{"--bogus", cmp}, "flag provided but not defined"},
	} {
		err := runReport(c.args, &stdout, &stderr)
		var ue usageError
		if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("runReport(%q) = %v, want a one-line usage error containing %q", c.args, err, c.want)
		}
	}
}
