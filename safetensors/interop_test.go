package safetensors

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTorchInterop round-trips a checkpoint through bench/torch_gpt.py:
// Python writes a random model and reference logits, Go reads and rewrites
// them, and the PyTorch model must load the Go files strictly and reproduce
// the logits. It needs /usr/bin/python3 with torch, so it runs only when
// MHC_TORCH_INTEROP=1.
func TestTorchInterop(t *testing.T) {
	if os.Getenv("MHC_TORCH_INTEROP") != "1" {
		t.Skip("set MHC_TORCH_INTEROP=1 to run (needs python3-torch)")
	}
	script, err := filepath.Abs("../bench/torch_gpt.py")
	if err != nil {
		t.Fatal(err)
	}
	py := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("/usr/bin/python3", append([]string{script}, args...)...)
		cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY=PASSIVE", "OPENBLAS_NUM_THREADS=2")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("torch_gpt.py %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	src, dst := t.TempDir(), t.TempDir()
	py("--write-random", src)
	for _, name := range []string{"model.safetensors", "logits.safetensors"} {
		f, err := ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(filepath.Join(dst, name), f.Tensors, f.Metadata); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log(py("--check", dst, "--logits", filepath.Join(dst, "logits.safetensors")))
}
