package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/safetensors"
)

// ckptSpec is a small mHC run (so that every kind of tensor is saved) on a
// repetitive text in a fresh directory; its checkpoint is about 0.5 MB.
func ckptSpec(t *testing.T, seed uint64) Spec {
	t.Helper()
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(corpus, []byte(strings.Repeat("pack my box with five dozen liquor jugs. ", 300)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := model.Presets["tiny"].Config
	cfg.D, cfg.Layers, cfg.Heads, cfg.Seq, cfg.MLPHidden = 32, 2, 2, 16, 64
	cfg.Kind, cfg.Streams = hyper.MHC, 2
	o := DefaultOptions()
	o.Steps, o.Batch, o.Warmup, o.EvalEvery, o.EvalWindows, o.GainsEvery, o.CkptEvery, o.Seed = 8, 2, 2, 0, 0, 0, 0, seed
	return Spec{Dir: filepath.Join(dir, "run"), Config: cfg, Options: o, Data: corpus, Tokenizer: "byte"}
}

// trainTo trains the run in spec.Dir (starting it if needed) until step n
// and closes it; the checkpoint is then at step n.
func trainTo(t *testing.T, spec Spec, n int) {
	t.Helper()
	r, err := Resume(spec.Dir, Continue{})
	if err != nil {
		if r, err = Start(spec); err != nil {
			t.Fatal(err)
		}
	}
	defer r.Close()
	if err := r.TrainSteps(context.Background(), n-r.Step(), Hooks{}); err != nil {
		t.Fatal(err)
	}
}

// readAll returns the checkpoint files of dir by name.
func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range []string{ConfigFile, ModelFile, OptimizerFile, StateFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

func writeAll(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func flip(b []byte, i int, bit uint) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1 << bit
	return c
}

// loadAll loads the checkpoint the ways mhc does: Verify, Resume (train
// --resume) and, unless the damage is in the optimizer file, which inference
// does not read, OpenCheckpoint (sample, eval, gains). It returns their
// errors by name.
func loadAll(dir string, inference bool) map[string]error {
	_, verr := Verify(dir)
	r, rerr := Resume(dir, Continue{Steps: 1000})
	if rerr == nil {
		r.Close()
	}
	errs := map[string]error{"Verify": verr, "Resume": rerr}
	if inference {
		_, errs["OpenCheckpoint"] = OpenCheckpoint(dir, 2)
	}
	return errs
}

// Truncated, bit-flipped (in the data and in the header) and mismatched
// checkpoints are refused by every way of loading them, with one line that
// names the directory and the file (and the tensor, for data), wrapping
// ErrDamaged or ErrMixed.
func TestCheckpointDamage(t *testing.T) {
	spec := ckptSpec(t, 1)
	trainTo(t, spec, 3)
	step3 := readAll(t, spec.Dir)
	trainTo(t, spec, 5)
	good := readAll(t, spec.Dir)
	other := ckptSpec(t, 2) // another run (seed), same architecture and step
	trainTo(t, other, 5)
	otherFiles := readAll(t, other.Dir)

	hdrLen := func(b []byte) int { return 8 + int(binary.LittleEndian.Uint64(b)) }
	model, opt := good[ModelFile], good[OptimizerFile]
	cases := []struct {
		name  string
		file  string
		bytes []byte
		kind  error
		want  string
	}{
		{"model truncated by one byte", ModelFile, model[:len(model)-1], ErrDamaged, "model.safetensors is"},
		{"model truncated to its header", ModelFile, model[:hdrLen(model)], ErrDamaged, "truncated"},
		{"model truncated to 5 bytes", ModelFile, model[:5], ErrDamaged, "truncated"},
		{"model empty", ModelFile, nil, ErrDamaged, "model.safetensors"},
		{"optimizer truncated", OptimizerFile, opt[:len(opt)/2], ErrDamaged, "optimizer.safetensors is"},
		{"config truncated", ConfigFile, good[ConfigFile][:10], ErrDamaged, "config.json"},
		{"state truncated", StateFile, good[StateFile][:len(good[StateFile])-3], ErrDamaged, "state.json"},
		{"bit flip in model data (first tensor)", ModelFile, flip(model, hdrLen(model)+5, 3), ErrDamaged, `tensor "wte.weight"`},
		{"bit flip in model data (last tensor)", ModelFile, flip(model, len(model)-1, 7), ErrDamaged, `tensor "lm_head.weight"`},
		{"bit flip in optimizer data", OptimizerFile, flip(opt, len(opt)-2, 0), ErrDamaged, `tensor "v.lm_head.weight"`},
		{"bit flip in model header", ModelFile, flip(model, hdrLen(model)/2, 1), ErrDamaged, "model.safetensors"},
		{"bit flip in model checksum key", ModelFile, flip(model, bytes.Index(model, []byte("crc32c"))+4, 0), ErrDamaged, "model.safetensors"},
		{"bit flip in adam_step", OptimizerFile, flip(opt, bytes.Index(opt, []byte(`"adam_step":"`))+13, 0), ErrDamaged, "optimizer.safetensors: the header"},
		{"bit flip in config", ConfigFile, flip(good[ConfigFile], 20, 0), ErrDamaged, "config.json"},
		{"bit flip in state step", StateFile, bytes.Replace(good[StateFile], []byte(`"step": 5`), []byte(`"step": 4`), 1), ErrDamaged, "state.json"},
		{"model from an earlier save", ModelFile, step3[ModelFile], ErrMixed, "model.safetensors holds step 3 but state.json step 5"},
		{"optimizer from an earlier save", OptimizerFile, step3[OptimizerFile], ErrMixed, "optimizer.safetensors holds step 3"},
		{"state from an earlier save", StateFile, step3[StateFile], ErrMixed, "holds step 5 but state.json step 3"},
		{"model from another run", ModelFile, otherFiles[ModelFile], ErrDamaged, "model.safetensors: the header does not match"},
		{"optimizer from another run", OptimizerFile, otherFiles[OptimizerFile], ErrDamaged, "optimizer.safetensors: the header does not match"},
		{"config of another architecture", ConfigFile, bytes.Replace(good[ConfigFile], []byte(`"d_model": 32`), []byte(`"d_model": 64`), 1), ErrDamaged, "config.json"},
	}
	for _, c := range cases {
		writeAll(t, spec.Dir, good)
		writeAll(t, spec.Dir, map[string][]byte{c.file: c.bytes})
		for how, err := range loadAll(spec.Dir, c.file != OptimizerFile) {
			if err == nil {
				t.Errorf("%s: %s accepted it", c.name, how)
				continue
			}
			msg := err.Error()
			if !errors.Is(err, c.kind) || !strings.Contains(msg, c.want) || !strings.Contains(msg, spec.Dir) || strings.Contains(msg, "\n") {
				t.Errorf("%s: %s: %q, want one line with %q wrapping %v", c.name, how, msg, c.want, c.kind)
			}
		}
	}
	// A missing file, and the intact checkpoint.
	writeAll(t, spec.Dir, good)
	os.Remove(filepath.Join(spec.Dir, OptimizerFile))
	if _, err := Verify(spec.Dir); err == nil || !strings.Contains(err.Error(), "no optimizer.safetensors") {
		t.Errorf("missing optimizer: %v", err)
	}
	writeAll(t, spec.Dir, good)
	for how, err := range loadAll(spec.Dir, true) {
		if err != nil {
			t.Errorf("intact checkpoint, %s: %v", how, err)
		}
	}
	rep, err := Verify(spec.Dir)
	if err != nil || rep.Step != 5 || rep.Format != FormatVersion || len(rep.Notes) != 0 || len(rep.Files) != 4 || rep.Params != ParamCount(spec.Config) {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
	for _, f := range rep.Files {
		if !f.Checksummed || f.Size != int64(len(good[f.Name])) {
			t.Errorf("verified file %+v", f)
		}
	}
}

// Every single-bit flip anywhere in config.json, state.json or the headers
// of the tensor files, and in a sample of the tensor data, is detected (the
// checks run on the bytes, as loading does after reading them).
func TestCheckpointEveryBitFlip(t *testing.T) {
	spec := ckptSpec(t, 1)
	spec.Config.D, spec.Config.Layers, spec.Config.MLPHidden = 16, 1, 32 // a short header: every bit of it is flipped
	trainTo(t, spec, 2)
	files := readAll(t, spec.Dir)
	st, err := parseState(files[StateFile])
	if err != nil {
		t.Fatal(err)
	}
	check := map[string]func(b []byte) error{
		StateFile: func(b []byte) error { _, err := parseState(b); return err },
		ConfigFile: func(b []byte) error {
			if err := checkFileSum("d", ConfigFile, b, &st); err != nil {
				return err
			}
			_, err := parseConfig(b)
			return err
		},
		ModelFile:     func(b []byte) error { _, err := checkTensorFile("d", ModelFile, b, &st); return err },
		OptimizerFile: func(b []byte) error { _, err := checkTensorFile("d", OptimizerFile, b, &st); return err },
	}
	for name, b := range files {
		if err := check[name](b); err != nil {
			t.Fatalf("%s intact: %v", name, err)
		}
		// Every bit of the JSON files and of the model's header; a sample
		// of the optimizer's header (laid out like the model's) and of
		// the tensor data.
		end, stride := len(b), 1
		switch name {
		case ModelFile:
			end = 8 + int(binary.LittleEndian.Uint64(b))
		case OptimizerFile:
			end, stride = 8+int(binary.LittleEndian.Uint64(b)), 7
		}
		n := 0
		for i := 0; i < len(b); i += stride {
			if i >= end {
				stride = 1021
			}
			for bit := range uint(8) {
				b[i] ^= 1 << bit
				err := check[name](b)
				b[i] ^= 1 << bit
				if err == nil {
					t.Fatalf("%s: flip of bit %d of byte %d (of %d) undetected", name, bit, i, len(b))
				}
				n++
			}
		}
		t.Logf("%s: %d single-bit flips, all detected", name, n)
	}
}

// failAfter fails with EIO once n bytes have passed.
type failAfter struct {
	w io.Writer
	n int
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k, _ := f.w.Write(p[:f.n])
		f.n = 0
		return k, &os.PathError{Op: "write", Path: "injected", Err: syscall.EIO}
	}
	f.n -= len(p)
	return f.w.Write(p)
}

// A save that fails while writing any file, at any point, leaves the
// previous checkpoint complete, unchanged and loadable, leaves no staging
// behind, and says so in one line that names the file and the cause.
func TestSaveWriteFailure(t *testing.T) {
	spec := ckptSpec(t, 1)
	trainTo(t, spec, 2)
	before := readAll(t, spec.Dir)
	r, err := Resume(spec.Dir, Continue{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.TrainSteps(context.Background(), 1, Hooks{}); err != nil { // now at step 3, saved
		t.Fatal(err)
	}
	writeAll(t, spec.Dir, before) // back to the step-2 checkpoint on disk; the run is at step 3
	st, err := r.Trainer().State("byte", spec.Data)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{}
	for name, b := range readAll(t, spec.Dir) {
		sizes[name] = len(b)
	}
	for _, name := range []string{ConfigFile, ModelFile, OptimizerFile, StateFile} {
		for _, at := range []int{0, 1, sizes[name] / 2, sizes[name] - 1} {
			cw := checkpointWriter{wrap: func(n string, w io.Writer) io.Writer {
				if n == name {
					return &failAfter{w: w, n: at}
				}
				return w
			}}
			err := cw.save(spec.Dir, r.Model(), r.Trainer().Opt, st)
			msg := fmt.Sprint(err)
			if !errors.Is(err, syscall.EIO) || strings.Contains(msg, "\n") ||
				!strings.Contains(msg, "step 3 not saved ("+name+": write: input/output error)") ||
				!strings.Contains(msg, "the previous checkpoint, step 2, is unchanged") {
				t.Fatalf("%s fails after %d bytes: %q", name, at, msg)
			}
			if _, err := os.Stat(filepath.Join(spec.Dir, StagingDir)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s fails after %d bytes: staging left behind (%v)", name, at, err)
			}
			for n, b := range readAll(t, spec.Dir) {
				if !bytes.Equal(b, before[n]) {
					t.Fatalf("%s fails after %d bytes: %s changed", name, at, n)
				}
			}
		}
	}
	if rep, err := Verify(spec.Dir); err != nil || rep.Step != 2 || len(rep.Notes) != 0 {
		t.Fatalf("after the failures: %+v, %v", rep, err)
	}
	// What a crash in the middle of staging leaves: noted by Verify, ignored
	// by loading, removed by Resume.
	os.MkdirAll(filepath.Join(spec.Dir, StagingDir), 0o755)
	os.WriteFile(filepath.Join(spec.Dir, StagingDir, ModelFile), []byte("half a file"), 0o644)
	if rep, err := Verify(spec.Dir); err != nil || rep.Step != 2 || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "incomplete save") {
		t.Fatalf("incomplete staging: %+v, %v", rep, err)
	}
	if r2, err := Resume(spec.Dir, Continue{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Resume while r holds the lock: %v", err)
	} else if r2 != nil {
		t.Fatal("Resume returned a run with an error")
	}
	r.Close()
	r2, err := Resume(spec.Dir, Continue{})
	if err != nil {
		t.Fatal(err)
	}
	r2.Close()
	if _, err := os.Stat(filepath.Join(spec.Dir, StagingDir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Resume left the incomplete staging: %v", err)
	}
	// The first save of a run failing leaves no checkpoint, and says so.
	fresh := filepath.Join(t.TempDir(), "fresh")
	cw := checkpointWriter{wrap: func(n string, w io.Writer) io.Writer { return &failAfter{w: w, n: 100} }}
	if err := cw.save(fresh, r.Model(), r.Trainer().Opt, st); err == nil || !strings.Contains(err.Error(), "there is no earlier checkpoint") {
		t.Fatalf("first save failing: %v", err)
	}
	if _, err := ReadState(fresh); err == nil {
		t.Fatal("a failed first save left a state.json")
	}
}

// A save interrupted while moving its files into place (a rename failing,
// or a crash) leaves a directory that loading refuses as mixed, not one
// that loads; Resume (or the next save) completes the move.
func TestSaveCommitInterrupted(t *testing.T) {
	for fail := 1; fail <= 4; fail++ { // config, model, optimizer, state.json
		spec := ckptSpec(t, 1)
		trainTo(t, spec, 2)
		ref := ckptSpec(t, 1) // the same run, saved without a fault
		trainTo(t, ref, 3)
		before := readAll(t, spec.Dir)
		r, err := Resume(spec.Dir, Continue{})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.TrainSteps(context.Background(), 1, Hooks{}); err != nil {
			t.Fatal(err)
		}
		writeAll(t, spec.Dir, before) // the step-2 checkpoint; the run is at step 3
		st, _ := r.Trainer().State("byte", spec.Data)
		calls := 0
		cw := checkpointWriter{rename: func(a, b string) error {
			calls++
			if calls == fail {
				return &os.LinkError{Op: "rename", Old: a, New: b, Err: syscall.EIO}
			}
			return os.Rename(a, b)
		}}
		err = cw.save(spec.Dir, r.Model(), r.Trainer().Opt, st)
		r.Close()
		if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "step 3 saved in .checkpoint-next but not all moved into place (rename: input/output error)") {
			t.Fatalf("rename %d fails: %v", fail, err)
		}
		_, verr := Verify(spec.Dir)
		switch {
		case fail <= 2: // nothing moved yet but config.json, which is the same: still the complete step-2 checkpoint
			if rep, err := Verify(spec.Dir); err != nil || rep.Step != 2 || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "interrupted save") {
				t.Fatalf("rename %d fails: %+v, %v", fail, rep, err)
			}
		case !errors.Is(verr, ErrMixed) && !errors.Is(verr, ErrDamaged):
			t.Fatalf("rename %d fails: the mixed directory verifies: %v", fail, verr)
		case !strings.Contains(verr.Error(), "resuming the run completes it"):
			t.Fatalf("rename %d fails: %v does not say how to recover", fail, verr)
		}
		r, err = Resume(spec.Dir, Continue{})
		if err != nil {
			t.Fatalf("rename %d fails, then Resume: %v", fail, err)
		}
		r.Close()
		if r.Step() != 3 {
			t.Fatalf("rename %d fails: resumed at step %d, want 3", fail, r.Step())
		}
		got, want := readAll(t, spec.Dir), readAll(t, ref.Dir)
		for name := range want {
			if !bytes.Equal(got[name], want[name]) && name != StateFile {
				t.Errorf("rename %d fails: %s after recovery differs from an uninterrupted save", fail, name)
			}
		}
	}
}

// One writer per run directory: a second Start or Resume is refused while a
// run is open, with one line naming the holder; after Close the directory
// is free again.
func TestRunDirectoryLock(t *testing.T) {
	spec := ckptSpec(t, 1)
	trainTo(t, spec, 2)
	r, err := Resume(spec.Dir, Continue{})
	if err != nil {
		t.Fatal(err)
	}
	pid := fmt.Sprintf("process %d", os.Getpid())
	for _, try := range []func() error{
		func() error { _, err := Resume(spec.Dir, Continue{}); return err },
		func() error { _, err := LockDir(spec.Dir); return err },
		func() error { _, err := Start(spec); return err },
	} {
		err := try()
		if err == nil {
			t.Fatal("a second writer was let in")
		}
		if !errors.Is(err, ErrLocked) && !errors.Is(err, ErrRunExists) {
			t.Errorf("second writer: %v", err)
		}
		if errors.Is(err, ErrLocked) && (!strings.Contains(err.Error(), pid) || strings.Contains(err.Error(), "\n")) {
			t.Errorf("second writer: %q does not name %s", err, pid)
		}
	}
	// Readers are not writers.
	if _, err := OpenCheckpoint(spec.Dir, 1); err != nil {
		t.Errorf("OpenCheckpoint while training: %v", err)
	}
	r.Close()
	r, err = Resume(spec.Dir, Continue{})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	r.Close()
	// A new run takes the lock too.
	fresh := ckptSpec(t, 1)
	os.MkdirAll(fresh.Dir, 0o755)
	l2, err := LockDir(fresh.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(fresh); !errors.Is(err, ErrLocked) {
		t.Errorf("Start on a locked directory: %v", err)
	}
	l2.Unlock()
	if l2.Unlock() != nil || (*DirLock)(nil).Unlock() != nil {
		t.Error("Unlock is not idempotent")
	}
	if _, err := LockDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("LockDir of a missing directory succeeded")
	}
}

// Format 1 checkpoints (before checksums) still load, unverified, and say
// so; a directory without state.json (as PyTorch writes) loads its model.
func TestCheckpointFormat1(t *testing.T) {
	spec := ckptSpec(t, 1)
	trainTo(t, spec, 2)
	b, _ := os.ReadFile(filepath.Join(spec.Dir, StateFile))
	old := bytes.Replace(b[:bytes.Index(b, []byte(`,
  "files"`))], []byte(`"format": 2`), []byte(`"format": 1`), 1)
	writeAll(t, spec.Dir, map[string][]byte{StateFile: append(old, "\n}\n"...)})
	rep, err := Verify(spec.Dir)
	if err != nil || rep.Format != 1 || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "format 1") {
		t.Fatalf("format 1: %+v, %v", rep, err)
	}
	ck, err := OpenCheckpoint(spec.Dir, 1)
	if err != nil || ck.State.Checksummed() {
		t.Fatalf("format 1: %v", err)
	}
	r, err := Resume(spec.Dir, Continue{})
	if err != nil {
		t.Fatalf("resume format 1: %v", err)
	}
	r.Close()

	os.Remove(filepath.Join(spec.Dir, StateFile))
	os.Remove(filepath.Join(spec.Dir, OptimizerFile))
	if _, err := LoadModel(spec.Dir, 1); err != nil {
		t.Fatalf("no state.json: %v", err)
	}
	if rep, err := Verify(spec.Dir); err != nil || rep.Step != -1 || len(rep.Notes) == 0 {
		t.Fatalf("no state.json: %+v, %v", rep, err)
	}
	// Unknown formats are refused.
	writeAll(t, spec.Dir, map[string][]byte{StateFile: []byte(`{"format": 3}`)})
	if _, err := ReadState(spec.Dir); err == nil || !strings.Contains(err.Error(), "format 3") {
		t.Errorf("format 3: %v", err)
	}
}

// state.json ends with its own checksum, which covers every byte before it.
func TestStateEncoding(t *testing.T) {
	st := State{Format: FormatVersion, Step: 4, Tokenizer: "byte", Data: "x", Options: DefaultOptions(), Loader: []byte(`{"mode":"random"}`),
		Files: map[string]FileSum{ConfigFile: {1, "00000001"}, ModelFile: {2, "00000002"}}}
	b, err := encodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseState(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Step != 4 || len(got.Files) != 2 || got.CRC32C == "" || !bytes.HasSuffix(b, []byte(`"crc32c": "`+got.CRC32C+"\"\n}\n")) {
		t.Fatalf("round trip: %+v\n%s", got, b)
	}
	if want := hex32(safetensors.Checksum(b[:bytes.LastIndex(b, []byte(`,
  "crc32c"`))])); want != got.CRC32C {
		t.Errorf("checksum %s, want %s", got.CRC32C, want)
	}
	for _, bad := range []string{
		strings.Replace(string(b), `"crc32c": "`+got.CRC32C+`"`, `"crc32c": "00000000"`, 1),
		strings.Replace(string(b), ",\n  \"crc32c\": \""+got.CRC32C+"\"", "", 1),
		strings.Replace(string(b), `"files"`, `"filez"`, 1),
	} {
		if _, err := parseState([]byte(bad)); !errors.Is(err, ErrDamaged) {
			t.Errorf("accepted:\n%s", bad)
		}
	}
}

// A save and a load give back the same weights, and the tensor files carry
// the step, the format version and their checksums.
func TestSaveLoadRoundTrip(t *testing.T) {
	spec := ckptSpec(t, 3)
	trainTo(t, spec, 3)
	r, err := Resume(spec.Dir, Continue{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := LoadModel(spec.Dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Params.Data, r.Model().Params.Data) {
		t.Fatal("weights changed in a save/load round trip")
	}
	for _, name := range []string{ModelFile, OptimizerFile} {
		f, err := readTensorFile(spec.Dir, name, nil)
		if err != nil || f.Metadata["step"] != "3" || f.Metadata["version"] != "2" || !f.Checksummed {
			t.Errorf("%s: metadata %v, %v", name, f.Metadata, err)
		}
	}
}

// The first save of a run interrupted after its commit point (state.json
// staged, not moved): the directory holds no state.json yet, but Start
// completes that save under the lock and refuses to start over the run, and
// Resume continues it.
func TestFirstSaveInterrupted(t *testing.T) {
	spec := ckptSpec(t, 1)
	r, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.TrainSteps(context.Background(), 2, Hooks{}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	for _, name := range []string{ConfigFile, ModelFile, OptimizerFile, StateFile} { // back to "staged, not moved"
		os.Remove(filepath.Join(spec.Dir, name))
	}
	st, _ := r.Trainer().State("byte", spec.Data)
	cw := checkpointWriter{rename: func(a, b string) error {
		return &os.LinkError{Op: "rename", Old: a, New: b, Err: syscall.EIO}
	}}
	if err := cw.save(spec.Dir, r.Model(), r.Trainer().Opt, st); !errors.Is(err, syscall.EIO) {
		t.Fatalf("save with failing renames: %v", err)
	}
	if _, err := ReadState(spec.Dir); err == nil || !strings.Contains(err.Error(), "an interrupted save is staged") {
		t.Fatalf("ReadState of the interrupted first save: %v", err)
	}
	if _, err := Start(spec); !errors.Is(err, ErrRunExists) {
		t.Fatalf("Start over an interrupted first save: %v", err)
	}
	r, err = Resume(spec.Dir, Continue{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Step() != 2 {
		t.Fatalf("resumed at step %d, want 2", r.Step())
	}
}

func TestParseConfig(t *testing.T) {
	good := `{"vocab_size":256,"d_model":8,"n_layers":1,"n_heads":2,"mlp_hidden":4,"seq_len":4,"rope_theta":1,"norm_eps":1,` +
		`"conn":"CONN","streams":2,"contract":"sum","sinkhorn_iters":1,"sinkhorn":"paper","conn_norm_eps":1}`
	cases := []struct {
		conn, want string
	}{
		{"mhc", ""}, {"hc", ""}, {"mhc-lite", ""},
		{"MHC", `conn "MHC": write it "mhc"`},
		{"mhC-lite", `conn "mhC-lite": write it "mhc-lite"`},
		{"magic", "magic"},
	}
	for _, c := range cases {
		cfg, err := parseConfig([]byte(strings.Replace(good, "CONN", c.conn, 1)))
		switch {
		case c.want == "" && (err != nil || string(cfg.Kind) != c.conn):
			t.Errorf("conn %q: %v", c.conn, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("conn %q: %v, want an error with %q", c.conn, err, c.want)
		}
	}
}
