//go:build unix

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mhc-go/mhc/train"
)

// These tests run the real binary: signals, kill -9 and a second process
// are only real with a process of its own.

// buildMHC builds the mhc binary into a temporary directory.
func buildMHC(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the mhc binary; skipped with -short")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "mhc")
	out, err := exec.Command(goCmd, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a running mhc whose stderr is read line by line.
type proc struct {
	cmd   *exec.Cmd
	lines chan string // stderr lines; closed at EOF
	mu    sync.Mutex
	all   []string
}

func startMHC(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), lines: make(chan string, 1024)}
	p.cmd.Env = append(os.Environ(), "MHC_CACHE="+t.TempDir())
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.all = append(p.all, sc.Text())
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	return p
}

// waitLine returns the next stderr line that starts with prefix, or "" if
// the process ends first.
func (p *proc) waitLine(prefix string) string {
	for line := range p.lines {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

// wait reads stderr to its end, waits for the process and returns its exit
// status (-1 if a signal killed it) and its whole stderr.
func (p *proc) wait() (int, string) {
	for range p.lines {
	}
	p.cmd.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.ProcessState.ExitCode(), strings.Join(p.all, "\n")
}

// run runs mhc to its end.
func runMHC(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	return startMHC(t, bin, args...).wait()
}

func trainArgs(corpus, out string, steps int, extra ...string) []string {
	args := append([]string{"train", "--data", corpus, "--out", out, "--steps", fmt.Sprint(steps)}, ckptArgs...)
	return append(args, extra...)
}

func sameFiles(t *testing.T, a, b string, names ...string) {
	t.Helper()
	for _, name := range names {
		x, err1 := os.ReadFile(filepath.Join(a, name))
		y, err2 := os.ReadFile(filepath.Join(b, name))
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between %s and %s (%v, %v)", name, a, b, err1, err2)
		}
	}
}

func TestProcess(t *testing.T) {
	bin := buildMHC(t)
	corpus := ckptCorpus(t, t.TempDir())

	// SIGINT and SIGTERM save a checkpoint and exit with status 130; the
	// checkpoint verifies, resumes, and gives the bytes of a run that was
	// never interrupted.
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			run := filepath.Join(dir, "run")
			p := startMHC(t, bin, trainArgs(corpus, run, 1_000_000, "--ckpt-every", "0")...)
			if line := p.waitLine("step "); line == "" {
				code, stderr := p.wait()
				t.Fatalf("no progress line: exit %d\n%s", code, stderr)
			}
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			code, stderr := p.wait()
			if code != 130 || !strings.HasSuffix(stderr, "mhc: interrupted; checkpoint saved") {
				t.Fatalf("after %v: exit %d, want 130\n%s", sig, code, stderr)
			}
			if code, stderr := runMHC(t, bin, "verify", run); code != 0 {
				t.Fatalf("verify after %v: exit %d\n%s", sig, code, stderr)
			}
			st, err := train.ReadState(run)
			if err != nil || st.Step < 10 {
				t.Fatalf("state after %v: step %d, %v", sig, st.Step, err)
			}
			until := st.Step + 5
			if code, stderr := runMHC(t, bin, "train", "--resume", run, "--steps", fmt.Sprint(until), "--no-progress", "--sample-tokens", "0"); code != 0 {
				t.Fatalf("resume: exit %d\n%s", code, stderr)
			}
			ref := filepath.Join(dir, "ref")
			if code, stderr := runMHC(t, bin, trainArgs(corpus, ref, until)...); code != 0 {
				t.Fatalf("reference run: exit %d\n%s", code, stderr)
			}
			sameFiles(t, run, ref, "model.safetensors", "optimizer.safetensors")
		})
	}

	// kill -9 at random moments (during steps and during saves), then
	// --resume, until the run is done: the same bytes as an uninterrupted run.
	t.Run("SIGKILL", func(t *testing.T) {
		dir := t.TempDir()
		const steps = 160
		ref := filepath.Join(dir, "ref")
		if code, stderr := runMHC(t, bin, trainArgs(corpus, ref, steps, "--ckpt-every", "3")...); code != 0 {
			t.Fatalf("reference run: exit %d\n%s", code, stderr)
		}
		run := filepath.Join(dir, "run")
		args := trainArgs(corpus, run, steps, "--ckpt-every", "3")
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
		kills, midSave, midCommit := 0, 0, 0
		for try := 0; try < 8; try++ {
			p := startMHC(t, bin, args...)
			if p.waitLine("step ") != "" && try < 6 {
				// Kill somewhere in the next few milliseconds: a step, an
				// evaluation or a checkpoint being written or committed.
				time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
				p.cmd.Process.Signal(syscall.SIGKILL)
			}
			code, stderr := p.wait()
			if code == 0 {
				break
			}
			if code != -1 {
				t.Fatalf("attempt %d: exit %d\n%s", try, code, stderr)
			}
			kills++
			if _, err := os.Stat(filepath.Join(run, train.StagingDir)); err == nil {
				midSave++
				if _, err := os.Stat(filepath.Join(run, train.StagingDir, train.StateFile)); err == nil {
					midCommit++
				}
			}
			args = []string{"train", "--resume", run, "--no-progress", "--sample-tokens", "0"}
		}
		st, err := train.ReadState(run)
		if err != nil || st.Step != steps {
			t.Fatalf("after %d kills: step %d (%v), want %d", kills, st.Step, err, steps)
		}
		t.Logf("%d kills, %d during a save, %d of them between its commit point and the end of the move", kills, midSave, midCommit)
		sameFiles(t, run, ref, "model.safetensors", "optimizer.safetensors")
	})

	// A second trainer on a run directory in use is refused with one line
	// naming the first; once the first is killed, its lock does not block.
	t.Run("one writer", func(t *testing.T) {
		dir := t.TempDir()
		run := filepath.Join(dir, "run")
		p := startMHC(t, bin, trainArgs(corpus, run, 1_000_000, "--ckpt-every", "5")...)
		if p.waitLine("step ") == "" {
			code, stderr := p.wait()
			t.Fatalf("no progress line: exit %d\n%s", code, stderr)
		}
		holder := fmt.Sprintf("process %d", p.cmd.Process.Pid)
		code, stderr := runMHC(t, bin, "train", "--resume", run, "--steps", "2000000", "--no-progress")
		if lines := strings.Split(stderr, "\n"); code != 2 || len(lines) != 1 || !strings.Contains(stderr, "is being trained by "+holder) {
			t.Errorf("second trainer: exit %d, stderr %q; want exit 2 and one line naming %s", code, stderr, holder)
		}
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.wait()
		st, err := train.ReadState(run)
		if err != nil {
			t.Fatal(err)
		}
		// A kill after a save's commit point leaves it staged, complete:
		// the resume moves it into place and goes on from its step.
		if staged, err := train.ReadState(filepath.Join(run, train.StagingDir)); err == nil {
			st = staged
		}
		if code, stderr := runMHC(t, bin, "train", "--resume", run, "--steps", fmt.Sprint(st.Step+2), "--no-progress", "--sample-tokens", "0"); code != 0 {
			t.Fatalf("resume after the holder was killed: exit %d\n%s", code, stderr)
		}
	})
}
