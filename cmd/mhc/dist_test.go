package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mpiBinary builds mhc for mpirun, or skips when Open MPI is not installed.
func mpiBinary(t *testing.T) (bin, corpus string) {
	t.Helper()
	if _, err := exec.LookPath("mpirun"); err != nil {
		t.Skip("mpirun not installed (apt-get install openmpi-bin): skipping the data-parallel test")
	}
	if testing.Short() {
		t.Skip("-short: skipping the data-parallel test")
	}
	dir := t.TempDir()
	bin = filepath.Join(dir, "mhc")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	corpus = filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("Sinkhorn-Knopp projects H_res onto the Birkhoff polytope.\n", 300)), 0o644)
	return bin, corpus
}

func mpirun(bin string, np int, args ...string) *exec.Cmd {
	cmd := exec.Command("mpirun", append([]string{"--allow-run-as-root", "--oversubscribe", "-np", strconv.Itoa(np), bin}, args...)...)
	return cmd
}

// Two ranks with --batch 4 train exactly as one process with --accum 2
// --batch 4: byte-identical weights and optimizer moments, also across a
// data-parallel checkpoint and resume; resuming with another rank count is
// refused; workers that disagree on the options refuse to start.
func TestDataParallelMPI(t *testing.T) {
	bin, corpus := mpiBinary(t)
	dir := t.TempDir()
	small := []string{"--d-model", "32", "--layers", "1", "--heads", "2", "--seq", "16", "--conn", "mhc",
		"--data", corpus, "--no-progress", "--sample-tokens", "0", "--eval-every", "0", "--batch", "4"}
	one, two := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	run := func(cmd *exec.Cmd) string {
		t.Helper()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		}
		return string(out)
	}
	run(exec.Command(bin, append([]string{"train", "--steps", "8", "--accum", "2", "--out", one}, small...)...))
	// Two ranks: 5 steps, then a data-parallel resume to 8.
	out := run(mpirun(bin, 2, append([]string{"train", "--steps", "5", "--dist", "mpi", "--out", two}, small...)...))
	if !strings.Contains(out, "data-parallel: 2 ranks") || strings.Count(out, "checkpoint: ") != 1 {
		t.Fatalf("rank 0 alone should report:\n%s", out)
	}
	run(mpirun(bin, 2, "train", "--resume", two, "--steps", "8", "--dist", "mpi", "--no-progress", "--sample-tokens", "0"))
	for _, f := range []string{"model.safetensors", "optimizer.safetensors"} {
		a, _ := os.ReadFile(filepath.Join(one, f))
		b, _ := os.ReadFile(filepath.Join(two, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Fatalf("%s: 2 ranks differ from 1 process with --accum 2", f)
		}
	}
	// Another rank count is refused with one line.
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "train", "--resume", two, "--steps", "9", "--no-progress")
	cmd.Stderr = &stderr
	err := cmd.Run()
	if code := exitCode(err); code != 2 || !strings.Contains(stderr.String(), "2 data-parallel workers") {
		t.Fatalf("resume of a 2-rank run in one process: exit %d: %s", code, stderr.String())
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// A rank killed mid-run ends the whole job promptly with a message, and the
// last checkpoint stays complete and loadable.
func TestDataParallelRankDies(t *testing.T) {
	bin, corpus := mpiBinary(t)
	run := filepath.Join(t.TempDir(), "run")
	cmd := mpirun(bin, 2, "train", "--d-model", "32", "--layers", "1", "--heads", "2", "--seq", "16", "--batch", "4",
		"--data", corpus, "--steps", "100000", "--ckpt-every", "5", "--eval-every", "0", "--no-progress",
		"--dist", "mpi", "--dist-timeout", "20s", "--out", run)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for a checkpoint, then kill rank 1.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(run, "state.json")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no checkpoint after 2 minutes:\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	pid := rankPID(t, bin, 1)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("job exited 0 after a rank was killed:\n%s", out.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("job still running 60 s after rank 1 was killed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "signal 9") && !strings.Contains(out.String(), "did not complete within") {
		t.Errorf("no message naming the failure:\n%s", out.String())
	}
	if code, _, stderr := runCLI("eval", "--checkpoint", run, "--windows", "2"); code != 0 {
		t.Fatalf("last checkpoint does not load: exit %d: %s", code, stderr)
	}
}

// rankPID finds the process of bin whose Open MPI rank is rank.
func rankPID(t *testing.T, bin string, rank int) int {
	t.Helper()
	want := "OMPI_COMM_WORLD_RANK=" + strconv.Itoa(rank)
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		exe, err := os.Readlink(filepath.Join(p, "exe"))
		if err != nil || exe != bin {
			continue
		}
		env, _ := os.ReadFile(filepath.Join(p, "environ"))
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == want {
				pid, _ := strconv.Atoi(filepath.Base(p))
				return pid
			}
		}
	}
	t.Fatalf("no process of %s with %s", bin, want)
	return 0
}
