package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/param"
	"github.com/mhc-go/mhc/safetensors"
)

// VerifyReport describes a checkpoint that Verify found intact.
type VerifyReport struct {
	Dir    string
	Format int   // state.json's format; 0 when there is no state.json
	Step   int   // optimizer steps done; -1 when there is no state.json
	Params int64 // parameters in model.safetensors
	// Files are the files checked, in the order config.json,
	// model.safetensors, optimizer.safetensors (if present), state.json (if
	// present).
	Files []VerifiedFile
	// Notes say, one line each, what could not be verified: files without
	// checksums (written by another tool or an older mhc), or an unfinished
	// save that is staged but not yet moved into place.
	Notes []string
}

// VerifiedFile is one file of a verified checkpoint.
type VerifiedFile struct {
	Name        string
	Size        int64
	Tensors     int  // tensors in a safetensors file; 0 for JSON files
	Checksummed bool // every byte was covered by a checksum that matched
}

// Verify checks the checkpoint in dir without building a model: every
// checksum (of state.json itself, of config.json, of each safetensors file
// as a whole and of each tensor in it), the step in the tensor files'
// metadata against state.json, config.json's validity, that
// model.safetensors holds exactly the number of parameters config.json
// describes (and wte.weight has the shape [vocab, d_model]), that
// optimizer.safetensors holds an m. and a v. tensor of the same shape for
// every weight, that the tokenizer's vocabulary matches, and that the
// options and loader state parse. A directory without state.json (inference
// only, such as one written by PyTorch) is checked as far as its files
// allow. It returns the first problem as an error of one line naming the
// file (and tensor), wrapping ErrDamaged or ErrMixed where that applies.
func Verify(dir string) (*VerifyReport, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("checkpoint %s: not a directory", dir)
	}
	defer lockDirShared(dir)()
	st, err := stateIfAny(dir)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Dir: dir, Step: -1}
	covered := st != nil && st.Checksummed()
	if st == nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("no %s: config.json is not covered by a checksum (an inference-only directory; it cannot be resumed)", StateFile))
	} else {
		rep.Format, rep.Step = st.Format, st.Step
		if !covered {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s is format %d, from an mhc without checksums: its files are not verified", StateFile, st.Format))
		}
	}
	if hint := pendingHint(dir); hint != "" {
		rep.Notes = append(rep.Notes, "an interrupted save is staged in "+StagingDir+"; resuming the run completes it")
	} else if _, err := os.Lstat(filepath.Join(dir, StagingDir)); err == nil {
		rep.Notes = append(rep.Notes, "an incomplete save (a crash while saving) left "+StagingDir+"; it is not part of the checkpoint, and resuming the run removes it")
	}
	cfg, err := readConfig(dir, st)
	if err != nil {
		return nil, err
	}
	rep.add(dir, ConfigFile, 0, covered)

	f, err := readTensorFile(dir, ModelFile, st)
	if err != nil {
		return nil, err
	}
	if !f.Checksummed && !covered {
		rep.Notes = append(rep.Notes, ModelFile+" has no checksums (written by another tool): its data is not verified")
	}
	var n int64
	for _, t := range f.Tensors {
		if t.DType != "F32" && t.DType != "BF16" && t.DType != "F16" {
			return nil, fmt.Errorf("checkpoint %s: %s: tensor %s is %s, not a float type mhc loads (F32, BF16, F16)", dir, ModelFile, t.Name, t.DType)
		}
		n += int64(t.Numel())
	}
	if want := ParamCount(cfg); n != want {
		return nil, mixed("checkpoint %s: %s holds %d parameters, %s describes a model of %d", dir, ModelFile, n, ConfigFile, want)
	}
	if wte, ok := f.Get("wte.weight"); !ok || param.ShapeString(wte.Shape) != param.ShapeString([]int{cfg.Vocab, cfg.D}) {
		return nil, mixed("checkpoint %s: %s has no wte.weight of shape [%d %d] (vocab_size, d_model of %s)", dir, ModelFile, cfg.Vocab, cfg.D, ConfigFile)
	}
	rep.Params = n
	rep.add(dir, ModelFile, len(f.Tensors), covered || f.Checksummed)

	_, listed := st.filesEntry(OptimizerFile)
	_, statErr := os.Stat(filepath.Join(dir, OptimizerFile))
	if listed || (!covered && statErr == nil) {
		of, err := readTensorFile(dir, OptimizerFile, st)
		if err != nil {
			return nil, err
		}
		if err := checkMoments(f, of); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %s: %w", dir, OptimizerFile, err)
		}
		if s, err := strconv.Atoi(of.Metadata["adam_step"]); err != nil || s < 0 {
			return nil, fmt.Errorf("checkpoint %s: %s: bad adam_step metadata %q", dir, OptimizerFile, of.Metadata["adam_step"])
		}
		if !of.Checksummed && !covered {
			rep.Notes = append(rep.Notes, OptimizerFile+" has no checksums: its data is not verified")
		}
		rep.add(dir, OptimizerFile, len(of.Tensors), covered || of.Checksummed)
	} else if covered && statErr == nil {
		return nil, mixed("checkpoint %s: %s is not part of the checkpoint of step %d (state.json does not list it)", dir, OptimizerFile, st.Step)
	}

	if st != nil {
		if err := checkState(*st, cfg.Vocab, cfg.Seq); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %s: %w", dir, StateFile, err)
		}
		rep.add(dir, StateFile, 0, covered)
	}
	return rep, nil
}

// filesEntry is st.Files[name] for a checksummed state (false otherwise).
func (st *State) filesEntry(name string) (FileSum, bool) {
	if st == nil || !st.Checksummed() {
		return FileSum{}, false
	}
	f, ok := st.Files[name]
	return f, ok
}

func (r *VerifyReport) add(dir, name string, tensors int, checksummed bool) {
	var size int64
	if info, err := os.Stat(filepath.Join(dir, name)); err == nil {
		size = info.Size()
	}
	r.Files = append(r.Files, VerifiedFile{Name: name, Size: size, Tensors: tensors, Checksummed: checksummed})
}

// checkMoments checks that opt holds exactly m.NAME and v.NAME, of NAME's
// shape, for every tensor NAME of weights.
func checkMoments(weights, opt *safetensors.File) error {
	if len(opt.Tensors) != 2*len(weights.Tensors) {
		return fmt.Errorf("%d tensors, want %d (m. and v. for each of the %d weights)", len(opt.Tensors), 2*len(weights.Tensors), len(weights.Tensors))
	}
	for _, w := range weights.Tensors {
		for _, p := range []string{"m.", "v."} {
			t, ok := opt.Get(p + w.Name)
			if !ok {
				return fmt.Errorf("missing tensor %s", p+w.Name)
			}
			if param.ShapeString(t.Shape) != param.ShapeString(w.Shape) {
				return fmt.Errorf("tensor %s has shape %s, the weight has %s", p+w.Name, param.ShapeString(t.Shape), param.ShapeString(w.Shape))
			}
		}
	}
	return nil
}

// checkState checks the parts of state.json that loading interprets: the
// tokenizer against the vocabulary, the options, the loader state.
func checkState(st State, vocab, seq int) error {
	want := map[string]int{data.TokenizerByte: 256, data.TokenizerGPT2: data.GPT2VocabSize}
	v, ok := want[st.Tokenizer]
	if !ok {
		return fmt.Errorf("unknown tokenizer %q", st.Tokenizer)
	}
	if v != vocab {
		return mixed("tokenizer %s has vocabulary %d, config.json says %d", st.Tokenizer, v, vocab)
	}
	if err := st.Options.Validate(); err != nil {
		return err
	}
	if st.Step < 0 || st.TokensSeen < 0 {
		return fmt.Errorf("negative step %d or tokens_seen %d", st.Step, st.TokensSeen)
	}
	var ls data.LoaderState
	if err := json.Unmarshal(st.Loader, &ls); err != nil {
		return fmt.Errorf("loader state: %w", err)
	}
	if ls.Seq != seq {
		return mixed("loader state is for sequences of %d tokens, config.json says %d", ls.Seq, seq)
	}
	return nil
}
