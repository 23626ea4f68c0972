package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/param"
	"github.com/mhc-go/mhc/safetensors"
)

// Checkpoint file names inside a run directory (see docs/FORMAT.md).
const (
	ConfigFile    = "config.json"
	ModelFile     = "model.safetensors"
	OptimizerFile = "optimizer.safetensors"
	StateFile     = "state.json"
	MetricsFile   = "metrics.jsonl"
	// StagingDir is the directory inside a run directory where
	// SaveCheckpoint assembles a new checkpoint before moving its files into
	// place. It exists only while a save is in progress or after one was
	// interrupted.
	StagingDir = ".checkpoint-next"
)

// FormatVersion is the checkpoint format this mhc writes. Format 2 adds
// checksums: CRC-32C per tensor in the safetensors headers, and in
// state.json the size and CRC-32C of every other file plus a checksum of
// state.json itself. Format 1 checkpoints (before checksums) are still read,
// unverified (State.Checksummed).
const FormatVersion = 2

// Errors wrapped by the load and verification errors of a checkpoint, for
// callers that want to tell the problems apart. Every such error is one line
// naming the directory, the file and, for tensor data, the tensor.
var (
	// ErrDamaged: a file does not match its checksum, is truncated, or is
	// not valid (the bytes on disk are not the bytes that were written).
	ErrDamaged = errors.New("checkpoint damaged")
	// ErrMixed: the files are intact but come from different saves (a torn
	// or interrupted save, or a file copied from another checkpoint).
	ErrMixed = errors.New("checkpoint files from different saves")
)

// ckptError is a one-line checkpoint error that wraps its kind (ErrDamaged,
// ErrMixed) and its cause.
type ckptError struct {
	msg  string
	errs []error
}

func (e *ckptError) Error() string   { return e.msg }
func (e *ckptError) Unwrap() []error { return e.errs }

// damaged is an ErrDamaged error; cause may be nil.
func damaged(cause error, format string, args ...any) error {
	errs := []error{ErrDamaged}
	if cause != nil {
		errs = append(errs, cause)
	}
	return &ckptError{msg: fmt.Sprintf(format, args...), errs: errs}
}

func mixed(format string, args ...any) error {
	return &ckptError{msg: fmt.Sprintf(format, args...), errs: []error{ErrMixed}}
}

// State is the non-tensor training state saved in state.json: with the
// weights and the optimizer moments it is everything --resume needs to
// continue bit-identically.
type State struct {
	Format     int             `json:"format"`
	Step       int             `json:"step"` // optimizer steps completed
	Tokenizer  string          `json:"tokenizer"`
	Data       string          `json:"data"`
	Options    Options         `json:"options"`
	Loader     json.RawMessage `json:"loader"` // data.Loader state: RNG and position
	TokensSeen int64           `json:"tokens_seen"`
	// Ranks is the number of data-parallel workers that trained the run
	// (omitted for one); a resume needs as many.
	Ranks int `json:"ranks,omitempty"`
	// Files lists the size and checksum of every other file of the
	// checkpoint, by name (format 2).
	Files map[string]FileSum `json:"files,omitempty"`
	// CRC32C is the checksum of state.json itself: the CRC-32C of the
	// file's bytes before this member, which is always the last one
	// (format 2; see docs/FORMAT.md). SaveCheckpoint sets it.
	CRC32C string `json:"crc32c,omitempty"`
}

// FileSum is the recorded size and CRC-32C (8 lowercase hex digits) of a
// checkpoint file.
type FileSum struct {
	Size   int64  `json:"size"`
	CRC32C string `json:"crc32c"`
}

// Checksummed reports whether the checkpoint carries checksums (format 2 or
// later), so that loading it verified every byte. Format 1 checkpoints load
// unverified.
func (s State) Checksummed() bool { return s.Format >= 2 }

// checkpointWriter writes checkpoints. Its fields are fault-injection seams
// for tests; the zero value is what SaveCheckpoint uses.
type checkpointWriter struct {
	// wrap, if set, wraps the writer of each staged file (by name), between
	// the encoder and the temporary file.
	wrap func(name string, w io.Writer) io.Writer
	// rename, if set, replaces os.Rename when files move into place.
	rename func(oldpath, newpath string) error
}

// SaveCheckpoint writes a checkpoint of net, opt (unless nil) and st into
// dir such that, whatever happens (a crash, a full disk, an I/O error), dir
// holds the previous checkpoint or the new one, complete, and never a mix
// that loads:
//
//  1. A save that an earlier process left unfinished is completed or
//     discarded (as by Resume).
//  2. config.json, model.safetensors, optimizer.safetensors (when opt is not
//     nil) and, last, state.json are written into dir/.checkpoint-next, each
//     atomically and synced (safetensors.WriteAtomic). state.json records
//     the step, the size and CRC-32C of each other file, and its own
//     checksum; its presence marks the staged checkpoint complete.
//  3. The files are renamed into dir, state.json last (an optimizer file
//     that is no longer part of the checkpoint is removed), and the staging
//     directory is removed.
//
// A failure in step 2 (ENOSPC, EIO, a read-only directory, ...) removes the
// staging directory, leaves dir's previous checkpoint untouched, and returns
// one line naming the file, the cause and the step kept. A failure in step 3
// (a rename that fails) leaves the rest of the new checkpoint staged: loading
// refuses the mixed directory (ErrMixed) until Resume or the next save
// completes the move. The model and optimizer files carry the step in their
// metadata, which loading checks against state.json. Staging needs room for
// a second copy of the checkpoint while the first still exists.
func SaveCheckpoint(dir string, net Network, opt *AdamW, st State) error {
	return checkpointWriter{}.save(dir, net, opt, st)
}

func (cw checkpointWriter) save(dir string, net Network, opt *AdamW, st State) (err error) {
	rename := cw.rename
	if rename == nil {
		rename = os.Rename
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := recoverCheckpoint(dir, rename); err != nil {
		return err
	}
	stage := filepath.Join(dir, StagingDir)
	notSaved := func(what string, err error) error {
		return &ckptError{msg: fmt.Sprintf("checkpoint %s: step %d not saved (%s: %s); %s", dir, st.Step, what, cause(err), previous(dir)),
			errs: []error{err}}
	}
	if err := os.Mkdir(stage, 0o755); err != nil {
		return notSaved(StagingDir, err)
	}
	staging := true // until the staged checkpoint is complete, a failure discards it
	defer func() {
		if staging {
			os.RemoveAll(stage)
		}
	}()

	st.Format, st.Files, st.CRC32C = FormatVersion, map[string]FileSum{}, ""
	put := func(name string, write func(w io.Writer) error) error {
		var sum FileSum
		err := safetensors.WriteAtomic(filepath.Join(stage, name), func(w io.Writer) error {
			if cw.wrap != nil {
				w = cw.wrap(name, w)
			}
			sw := &sumWriter{w: w}
			if err := write(sw); err != nil {
				return err
			}
			sum = FileSum{Size: sw.n, CRC32C: hex32(sw.crc)}
			return nil
		})
		if err != nil {
			return notSaved(name, err)
		}
		if name != StateFile {
			st.Files[name] = sum
		}
		return nil
	}
	cfg, err := json.MarshalIndent(net.Config(), "", "  ")
	if err != nil {
		return err
	}
	if err := put(ConfigFile, writeBytes(append(cfg, '\n'))); err != nil {
		return err
	}
	params := net.Parameters()
	step := strconv.Itoa(st.Step)
	meta := map[string]string{"format": "mhc", "version": strconv.Itoa(FormatVersion), "step": step}
	if err := put(ModelFile, func(w io.Writer) error {
		return writeParams(w, params, []string{""}, [][]float32{params.Data}, meta)
	}); err != nil {
		return err
	}
	if opt != nil {
		meta := map[string]string{"format": "mhc-adamw", "version": strconv.Itoa(FormatVersion),
			"step": step, "adam_step": strconv.Itoa(opt.Step)}
		if err := put(OptimizerFile, func(w io.Writer) error {
			return writeParams(w, params, []string{"m.", "v."}, [][]float32{opt.M, opt.V}, meta)
		}); err != nil {
			return err
		}
	}
	b, err := encodeState(st)
	if err != nil {
		return err
	}
	if err := put(StateFile, writeBytes(b)); err != nil {
		return err
	}
	staging = false // complete: from here on it is moved into place, never discarded
	unlock := lockDirExclusive(dir)
	defer unlock()
	if err := moveStaged(dir, rename, st); err != nil {
		return &ckptError{msg: fmt.Sprintf("checkpoint %s: step %d saved in %s but not all moved into place (%s); loading refuses the directory until the run is resumed, which completes the move",
			dir, st.Step, StagingDir, cause(err)), errs: []error{err}}
	}
	return nil
}

// moveStaged renames the staged files of checkpoint st into dir, state.json
// last, removes an optimizer file that st does not list, and removes the
// staging directory. Files already moved (by an interrupted earlier call)
// are skipped, so it can be repeated.
func moveStaged(dir string, rename func(oldpath, newpath string) error, st State) error {
	stage := filepath.Join(dir, StagingDir)
	for _, name := range []string{ConfigFile, ModelFile, OptimizerFile} {
		src := filepath.Join(stage, name)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := rename(src, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	if _, ok := st.Files[OptimizerFile]; !ok {
		if err := os.Remove(filepath.Join(dir, OptimizerFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := rename(filepath.Join(stage, StateFile), filepath.Join(dir, StateFile)); err != nil {
		return err
	}
	syncDir(dir)
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// recoverCheckpoint finishes or discards a save left unfinished in dir: a
// staged checkpoint that is complete (its state.json exists) is moved into
// place; an incomplete one is removed.
func recoverCheckpoint(dir string, rename func(oldpath, newpath string) error) error {
	stage := filepath.Join(dir, StagingDir)
	if _, err := os.Lstat(stage); errors.Is(err, fs.ErrNotExist) {
		return nil // the usual case: no save was interrupted
	}
	b, err := os.ReadFile(filepath.Join(stage, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.RemoveAll(stage); err != nil {
			return fmt.Errorf("checkpoint %s: removing an unfinished save: %w", dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	st, err := parseState(b)
	if err != nil {
		return fmt.Errorf("checkpoint %s: the save staged in %s cannot be completed: %s: %w (remove %s to fall back to the previous checkpoint)",
			dir, StagingDir, StateFile, err, stage)
	}
	unlock := lockDirExclusive(dir)
	defer unlock()
	if err := moveStaged(dir, rename, st); err != nil {
		return fmt.Errorf("checkpoint %s: completing the save of step %d staged in %s: %w", dir, st.Step, StagingDir, err)
	}
	return nil
}

// previous describes the checkpoint a failed save leaves in dir.
func previous(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return "there is no earlier checkpoint"
	}
	var st State
	if json.Unmarshal(b, &st) != nil {
		return "the previous checkpoint is unchanged"
	}
	return fmt.Sprintf("the previous checkpoint, step %d, is unchanged", st.Step)
}

// cause is the operation and system error of err, without the long paths of
// temporary files: "write: no space left on device".
func cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Op + ": " + le.Err.Error()
	}
	return err.Error()
}

// syncDir makes renames in dir durable where the platform can sync a
// directory; failures are ignored, as in safetensors.WriteAtomic.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// sumWriter counts and checksums the bytes written through it.
type sumWriter struct {
	w   io.Writer
	n   int64
	crc uint32
}

func (s *sumWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.n += int64(n)
	s.crc = safetensors.UpdateChecksum(s.crc, p[:n])
	return n, err
}

// writeFileAtomic writes data to path with safetensors.WriteAtomic (temp
// file, fsync, rename, directory sync).
func writeFileAtomic(path string, data []byte) error {
	return safetensors.WriteAtomic(path, writeBytes(data))
}

func writeBytes(b []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}
}

// writeParams streams the tensors of s, once per prefix from the matching
// buffer, as float32 safetensors with their checksums.
func writeParams(w io.Writer, s *param.Store, prefixes []string, bufs [][]float32, meta map[string]string) error {
	infos := make([]safetensors.Info, 0, len(prefixes)*len(s.Tensors))
	for k, prefix := range prefixes {
		for _, t := range s.Tensors {
			v := bufs[k][t.Offset : t.Offset+t.Numel()]
			infos = append(infos, safetensors.Info{Name: prefix + t.Name, DType: "F32", Shape: t.Shape, CRC32C: safetensors.ChecksumFloat32s(v)})
		}
	}
	e, err := safetensors.NewEncoder(w, infos, meta)
	if err != nil {
		return err
	}
	for k := range prefixes {
		for _, t := range s.Tensors {
			if err := e.WriteFloat32s(bufs[k][t.Offset : t.Offset+t.Numel()]); err != nil {
				return err
			}
		}
	}
	return e.Close()
}

func hex32(v uint32) string { return fmt.Sprintf("%08x", v) }

// stateSum matches the last member of a format 2 state.json.
var stateSum = regexp.MustCompile(`,\n  "crc32c": "([0-9a-f]{8})"\n}\n?$`)

// encodeState renders st as state.json: indented JSON whose last member is
// "crc32c", the CRC-32C of the bytes before it (up to the "," that opens it).
func encodeState(st State) ([]byte, error) {
	st.CRC32C = ""
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	body := b[:len(b)-2] // without the closing "\n}"
	return fmt.Appendf(body, ",\n  \"crc32c\": \"%s\"\n}\n", hex32(safetensors.Checksum(body))), nil
}

// parseState parses and checks the bytes of a state.json: its format and,
// for format 2, its own checksum and its file list.
func parseState(b []byte) (State, error) {
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return st, damaged(err, "not valid JSON (damaged?): %v", err)
	}
	switch st.Format {
	case 1:
		return st, nil
	case FormatVersion:
	default:
		return st, damaged(nil, "format %d, this mhc reads formats 1 and %d", st.Format, FormatVersion)
	}
	m := stateSum.FindSubmatchIndex(b)
	if m == nil {
		return st, damaged(nil, "format %d without its checksum as the last member (damaged, or edited)", st.Format)
	}
	if got, rec := hex32(safetensors.Checksum(b[:m[0]])), string(b[m[2]:m[3]]); got != rec || st.CRC32C != rec {
		return st, damaged(nil, "does not match its checksum (crc32c %s, recorded %s): the file is damaged", got, rec)
	}
	for _, name := range []string{ConfigFile, ModelFile} {
		if _, ok := st.Files[name]; !ok {
			return st, damaged(nil, "lists no %s", name)
		}
	}
	for name, f := range st.Files {
		if _, err := strconv.ParseUint(f.CRC32C, 16, 32); err != nil || len(f.CRC32C) != 8 || f.Size < 0 {
			return st, damaged(nil, "bad entry for %s: size %d, crc32c %q", name, f.Size, f.CRC32C)
		}
	}
	return st, nil
}

// parseConfig parses and validates the bytes of a config.json. The
// connection must be spelled as mhc writes it (docs/FORMAT.md: residual,
// hc, mhc or mhc-lite): the model is built from the exact name.
func parseConfig(b []byte) (model.Config, error) {
	var cfg model.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, err
	}
	if k, err := hyper.ParseKind(string(cfg.Kind)); err == nil && k != cfg.Kind {
		return cfg, fmt.Errorf("conn %q: write it %q", cfg.Kind, k)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// ReadState reads and checks dir/state.json: its format (1 or 2) and, for
// format 2, its checksum. It does not read the other files.
func ReadState(dir string) (State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return State{}, &ckptError{msg: fmt.Sprintf("checkpoint %s: no %s (not a checkpoint directory, or nothing saved yet)%s", dir, StateFile, pendingHint(dir)),
				errs: []error{err}}
		}
		return State{}, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	st, err := parseState(b)
	if err != nil {
		return st, fmt.Errorf("checkpoint %s: %s: %w", dir, StateFile, err)
	}
	return st, nil
}

// stateIfAny is ReadState for a directory that may have no state.json (an
// inference-only directory, such as one written by PyTorch): nil, nil then.
func stateIfAny(dir string) (*State, error) {
	if _, err := os.Stat(filepath.Join(dir, StateFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// pendingHint mentions a complete save staged in dir but not moved into
// place (an interrupted save).
func pendingHint(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, StagingDir, StateFile)); err == nil {
		return fmt.Sprintf(" (an interrupted save is staged in %s; resuming the run completes it)", StagingDir)
	}
	return ""
}

// checkFileSum checks the bytes b of dir/name against the size and checksum
// that state.json (format 2) records for it.
func checkFileSum(dir, name string, b []byte, st *State) error {
	if st == nil || !st.Checksummed() {
		return nil
	}
	want, ok := st.Files[name]
	if !ok {
		return mixed("checkpoint %s: %s is not part of the checkpoint of step %d (state.json does not list it)", dir, name, st.Step)
	}
	if int64(len(b)) != want.Size {
		return damaged(nil, "checkpoint %s: %s is %d bytes, state.json records %d: truncated or replaced%s", dir, name, len(b), want.Size, pendingHint(dir))
	}
	if got := hex32(safetensors.Checksum(b)); got != want.CRC32C {
		return damaged(nil, "checkpoint %s: %s does not match its checksum in state.json (crc32c %s, recorded %s): damaged, or from another save%s",
			dir, name, got, want.CRC32C, pendingHint(dir))
	}
	return nil
}

// readTensorFile reads and verifies the safetensors file dir/name: its size
// against state.json, every tensor against the file's own checksums, the
// step in its metadata against state.json, and the whole file against the
// checksum in state.json (which covers the header).
func readTensorFile(dir, name string, st *State) (*safetensors.File, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &ckptError{msg: fmt.Sprintf("checkpoint %s: no %s%s", dir, name, pendingHint(dir)), errs: []error{err}}
		}
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return checkTensorFile(dir, name, b, st)
}

// checkTensorFile is readTensorFile on the bytes b of dir/name.
func checkTensorFile(dir, name string, b []byte, st *State) (*safetensors.File, error) {
	if st != nil && st.Checksummed() {
		if want, ok := st.Files[name]; ok && int64(len(b)) != want.Size {
			return nil, damaged(nil, "checkpoint %s: %s is %d bytes, state.json records %d: truncated or replaced%s", dir, name, len(b), want.Size, pendingHint(dir))
		}
	}
	f, err := safetensors.Parse(b)
	if err != nil {
		return nil, damaged(err, "checkpoint %s: %s: %s", dir, name, strings.TrimPrefix(err.Error(), "safetensors: "))
	}
	if st != nil {
		if s, ok := f.Metadata["step"]; ok && s != strconv.Itoa(st.Step) {
			return nil, mixed("checkpoint %s: %s holds step %s but state.json step %d: files from different saves%s", dir, name, s, st.Step, pendingHint(dir))
		}
	}
	if err := checkFileSum(dir, name, b, st); err != nil {
		if f.Checksummed && errors.Is(err, ErrDamaged) {
			return nil, damaged(nil, "checkpoint %s: %s: the header does not match the checksum in state.json (the tensor data checks out): damaged header, or a file from another save", dir, name)
		}
		return nil, err
	}
	return f, nil
}

// ReadConfig reads dir/config.json and, when dir has a format 2 state.json,
// checks it against the checksum recorded there.
func ReadConfig(dir string) (model.Config, error) {
	st, err := stateIfAny(dir)
	if err != nil {
		return model.Config{}, err
	}
	return readConfig(dir, st)
}

func readConfig(dir string, st *State) (model.Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return model.Config{}, &ckptError{msg: fmt.Sprintf("checkpoint %s: no %s (not a checkpoint directory)", dir, ConfigFile), errs: []error{err}}
		}
		return model.Config{}, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := checkFileSum(dir, ConfigFile, b, st); err != nil {
		return model.Config{}, err
	}
	cfg, err := parseConfig(b)
	if err != nil {
		return cfg, fmt.Errorf("checkpoint %s: %s: %w", dir, ConfigFile, err)
	}
	return cfg, nil
}

// LoadModel builds a model for batches of up to maxB sequences from the
// checkpoint in dir and loads its weights, verifying them: the tensors
// against the checksums in model.safetensors, and, when dir has a
// state.json, the step and the checksums of config.json and
// model.safetensors recorded there (a directory without state.json, such as
// one written by PyTorch, loads with only what its files carry). Every
// tensor must be present with the exact shape; extra tensors are an error.
// It refuses a model that does not fit in memory (CheckMemory) before
// allocating it.
func LoadModel(dir string, maxB int) (*model.Model, error) {
	defer lockDirShared(dir)()
	st, err := stateIfAny(dir)
	if err != nil {
		return nil, err
	}
	cfg, err := readConfig(dir, st)
	if err != nil {
		return nil, err
	}
	if err := CheckMemory(cfg, maxB, false); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	m, err := model.New(cfg, maxB)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	f, err := readTensorFile(dir, ModelFile, st)
	if err != nil {
		return nil, err
	}
	if err := loadFrom(f, filepath.Join(dir, ModelFile), m.Params, "", m.Params.Data); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadOptimizer loads the moments and step of opt from dir, verified like
// LoadModel's weights.
func LoadOptimizer(dir string, opt *AdamW, s *param.Store) error {
	defer lockDirShared(dir)()
	st, err := stateIfAny(dir)
	if err != nil {
		return err
	}
	if st != nil && st.Checksummed() {
		if _, ok := st.Files[OptimizerFile]; !ok {
			return mixed("checkpoint %s: saved without optimizer state (state.json lists no %s)", dir, OptimizerFile)
		}
	}
	f, err := readTensorFile(dir, OptimizerFile, st)
	if err != nil {
		return err
	}
	p := filepath.Join(dir, OptimizerFile)
	if err := loadFrom(f, p, s, "m.", opt.M); err != nil {
		return err
	}
	if err := loadFrom(f, p, s, "v.", opt.V); err != nil {
		return err
	}
	step, err := strconv.Atoi(f.Metadata["adam_step"])
	if err != nil || step < 0 {
		return fmt.Errorf("checkpoint %s: bad adam_step metadata %q", p, f.Metadata["adam_step"])
	}
	opt.Step = step
	return nil
}

// loadFrom copies the tensors prefix+name of f into buf at the offsets of
// s's tensors, requiring exactly those tensors with those shapes.
func loadFrom(f *safetensors.File, path string, s *param.Store, prefix string, buf []float32) error {
	want := 0
	for _, t := range s.Tensors {
		st, ok := f.Get(prefix + t.Name)
		if !ok {
			return fmt.Errorf("checkpoint %s: missing tensor %s", path, prefix+t.Name)
		}
		if param.ShapeString(st.Shape) != param.ShapeString(t.Shape) {
			return fmt.Errorf("checkpoint %s: tensor %s has shape %s, model expects %s",
				path, prefix+t.Name, param.ShapeString(st.Shape), param.ShapeString(t.Shape))
		}
		v, err := st.Float32s()
		if err != nil {
			return fmt.Errorf("checkpoint %s: tensor %s: %w", path, prefix+t.Name, err)
		}
		copy(buf[t.Offset:t.Offset+t.Numel()], v)
		want++
	}
	n := 0
	for _, t := range f.Tensors {
		if strings.HasPrefix(t.Name, prefix) {
			n++
		}
	}
	if n != want {
		return fmt.Errorf("checkpoint %s: %d tensors, model expects %d (unexpected extra tensors)", path, n, want)
	}
	return nil
}
