//go:build unix

package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mhc-go/mhc/compare"
)

// compareArgs is the acceptance command of `mhc compare` (residual, hc and
// mhc, 2 seeds, 30 steps), narrowed to d_model 64 and 32 final validation
// windows so that it takes seconds.
func compareArgs(out string) []string {
	return []string{"compare", "--conns", "residual,hc,mhc", "--seeds", "2", "--preset", "tiny", "--steps", "30",
		"--d-model", "64", "--val-windows", "32", "--ckpt-every", "10", "--eval-every", "10", "--gains-every", "10",
		"--no-progress", "--out", out}
}

// TestCompareKillAndResume kills a compare with SIGKILL inside its third
// run, reruns the same command, and checks that the finished runs are kept,
// the killed one resumes, and every result equals an uninterrupted
// compare's; then that the report is complete.
func TestCompareKillAndResume(t *testing.T) {
	bin := buildMHC(t)
	dir := t.TempDir()
	whole, cut := filepath.Join(dir, "whole"), filepath.Join(dir, "cut")
	if code, stderr := runMHC(t, bin, compareArgs(whole)...); code != 0 {
		t.Fatalf("uninterrupted compare: exit %d\n%s", code, stderr)
	}
	p := startMHC(t, bin, compareArgs(cut)...)
	if p.waitLine("[3/6]") == "" || p.waitLine("step 20/30") == "" {
		code, stderr := p.wait()
		t.Fatalf("compare ended before its third run: exit %d\n%s", code, stderr)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait()
	code, stderr := runMHC(t, bin, compareArgs(cut)...)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"[1/6] residual-s1: done earlier, kept", "[2/6] hc-s1: done earlier, kept", "[3/6] mhc-s1 (mhc, seed 1): resume"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("rerun output lacks %q:\n%s", want, stderr)
		}
	}
	for _, name := range []string{"residual-s1", "hc-s1", "mhc-s1", "residual-s2", "hc-s2", "mhc-s2"} {
		a, err1 := compare.ReadResult(filepath.Join(whole, compare.RunsDir, name))
		b, err2 := compare.ReadResult(filepath.Join(cut, compare.RunsDir, name))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", name, err1, err2)
		}
		if a.ValLoss != b.ValLoss || a.Tokens != b.Tokens || a.ValTokens != b.ValTokens {
			t.Errorf("%s: killed and resumed %v over %d tokens, uninterrupted %v over %d", name, b.ValLoss, b.Tokens, a.ValLoss, a.Tokens)
		}
		sameFiles(t, filepath.Join(whole, compare.RunsDir, name), filepath.Join(cut, compare.RunsDir, name), "model.safetensors")
	}
	for _, f := range []string{"report.html", "report.md"} {
		if st, err := os.Stat(filepath.Join(cut, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	pngs, _ := filepath.Glob(filepath.Join(cut, "figures", "*.png"))
	svgs, _ := filepath.Glob(filepath.Join(cut, "figures", "*.svg"))
	if len(pngs) < 5 || len(svgs) < 5 {
		t.Errorf("%d PNG and %d SVG figures, want at least 5 of each", len(pngs), len(svgs))
	}
	for _, f := range pngs {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.DecodeConfig(r); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		r.Close()
	}
}

// TestCompareBadInput: one line naming the problem, exit status 2.
func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	os.Mkdir(other, 0o755)
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	held := filepath.Join(dir, "held")
	g := []string{"compare", "--conns", "residual", "--seeds", "1", "--d-model", "32", "--steps", "2", "--val-windows", "2", "--out", held}
	if code, _, stderr := runCLI(g...); code != 0 {
		t.Fatalf("small compare: exit %d\n%s", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", "--conns", "residual,resnet", "--out", filepath.Join(dir, "a")}, `connection "resnet"`},
		{[]string{"compare", "--inits", "zero", "--out", filepath.Join(dir, "a")}, `init "zero"`},
		{[]string{"compare", "--conns", "hc:init=identity", "--out", filepath.Join(dir, "a")}, "only mhc and mhc-lite"},
		{[]string{"compare", "--base-inits", "xavier", "--out", filepath.Join(dir, "a")}, `base init "xavier"`},
		{[]string{"compare", "--seeds", "0", "--out", filepath.Join(dir, "a")}, "seeds 0"},
		{[]string{"compare", "--depths", "4,x", "--out", filepath.Join(dir, "a")}, `--depths: "x"`},
		{[]string{"compare", "--conns", "residual"}, "--out"},
		{[]string{"compare", "--conns", "residual", "--out", other}, "not empty"},
		{append(g[:len(g)-2:len(g)-2], "--steps", "3", "--out", held), "different compare (options.steps 2 there, 3 here)"},
	} {
		code, _, stderr := runCLI(tc.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", tc.args[1:], code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Error("a refused compare created its directory")
	}
}
