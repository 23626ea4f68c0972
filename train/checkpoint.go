package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

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
)

// FormatVersion is written to every checkpoint and checked on load.
const FormatVersion = 1

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
}

// SaveCheckpoint writes config.json, model.safetensors, optimizer.safetensors
// (when opt != nil) and state.json into dir, each file atomically (temp file
// + rename). state.json is written last and model.safetensors carries the
// same step in its metadata, so a checkpoint torn by a crash is detected on
// load instead of silently resumed.
func SaveCheckpoint(dir string, net Network, opt *AdamW, st State) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	st.Format = FormatVersion
	meta := map[string]string{"format": "mhc", "version": strconv.Itoa(FormatVersion), "step": strconv.Itoa(st.Step)}
	params := net.Parameters()
	cfg, err := json.MarshalIndent(net.Config(), "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, ConfigFile), append(cfg, '\n')); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, ModelFile), storeTensors(params, "", params.Data), meta); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if opt != nil {
		ts := append(storeTensors(params, "m.", opt.M), storeTensors(params, "v.", opt.V)...)
		meta2 := map[string]string{"format": "mhc-adamw", "version": strconv.Itoa(FormatVersion),
			"step": strconv.Itoa(st.Step), "adam_step": strconv.Itoa(opt.Step)}
		if err := safetensors.WriteFile(filepath.Join(dir, OptimizerFile), ts, meta2); err != nil {
			return fmt.Errorf("checkpoint %s: %w", dir, err)
		}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, StateFile), append(b, '\n')); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return nil
}

func storeTensors(s *param.Store, prefix string, buf []float32) []safetensors.Tensor {
	out := make([]safetensors.Tensor, 0, len(s.Tensors))
	for _, t := range s.Tensors {
		out = append(out, safetensors.F32(prefix+t.Name, t.Shape, buf[t.Offset:t.Offset+t.Numel()]))
	}
	return out
}

// writeFileAtomic writes data to path with safetensors.WriteAtomic (temp
// file, fsync, rename, directory sync).
func writeFileAtomic(path string, data []byte) error {
	return safetensors.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// ReadConfig reads dir/config.json.
func ReadConfig(dir string) (model.Config, error) {
	var cfg model.Config
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return cfg, fmt.Errorf("checkpoint %s: no %s (not a checkpoint directory)", dir, ConfigFile)
		}
		return cfg, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("checkpoint %s: %s: %w", dir, ConfigFile, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("checkpoint %s: %s: %w", dir, ConfigFile, err)
	}
	return cfg, nil
}

// ReadState reads dir/state.json.
func ReadState(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return st, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("checkpoint %s: %s: %w", dir, StateFile, err)
	}
	if st.Format != FormatVersion {
		return st, fmt.Errorf("checkpoint %s: format %d, this mhc reads format %d", dir, st.Format, FormatVersion)
	}
	return st, nil
}

// LoadModel builds a model for batches of up to maxB sequences from the
// checkpoint in dir and loads its weights. Every tensor must be present with
// the exact shape; extra tensors are an error.
func LoadModel(dir string, maxB int) (*model.Model, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	m, err := model.New(cfg, maxB)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if _, err := loadInto(filepath.Join(dir, ModelFile), m.Params, "", m.Params.Data); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadOptimizer loads the moments and step of opt from dir.
func LoadOptimizer(dir string, opt *AdamW, s *param.Store) error {
	p := filepath.Join(dir, OptimizerFile)
	f, err := loadInto(p, s, "m.", opt.M)
	if err != nil {
		return err
	}
	if _, err := loadFrom(f, p, s, "v.", opt.V); err != nil {
		return err
	}
	step, err := strconv.Atoi(f.Metadata["adam_step"])
	if err != nil {
		return fmt.Errorf("checkpoint %s: bad adam_step metadata", p)
	}
	opt.Step = step
	return nil
}

func loadInto(path string, s *param.Store, prefix string, buf []float32) (*safetensors.File, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return loadFrom(f, path, s, prefix, buf)
}

func loadFrom(f *safetensors.File, path string, s *param.Store, prefix string, buf []float32) (*safetensors.File, error) {
	want := 0
	for _, t := range s.Tensors {
		st, ok := f.Get(prefix + t.Name)
		if !ok {
			return nil, fmt.Errorf("checkpoint %s: missing tensor %s", path, prefix+t.Name)
		}
		if param.ShapeString(st.Shape) != param.ShapeString(t.Shape) {
			return nil, fmt.Errorf("checkpoint %s: tensor %s has shape %s, model expects %s",
				path, prefix+t.Name, param.ShapeString(st.Shape), param.ShapeString(t.Shape))
		}
		v, err := st.Float32s()
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: tensor %s: %w", path, prefix+t.Name, err)
		}
		copy(buf[t.Offset:t.Offset+t.Numel()], v)
		want++
	}
	n := 0
	for _, t := range f.Tensors {
		if len(t.Name) >= len(prefix) && t.Name[:len(prefix)] == prefix {
			n++
		}
	}
	if n != want {
		return nil, fmt.Errorf("checkpoint %s: %d tensors, model expects %d (unexpected extra tensors)", path, n, want)
	}
	return f, nil
}
