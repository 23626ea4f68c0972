package train

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/model"
)

// Spec describes a new run.
type Spec struct {
	// Dir is the run directory: checkpoints and metrics.jsonl. It is created
	// if needed and must not hold a run already (see UnusedDir).
	Dir string
	// Config is the architecture. Vocab is taken from the tokenizer.
	Config model.Config
	// Options are the optimisation settings (see DefaultOptions).
	Options Options
	// Data is the corpus: gostd, english, a file or a directory (see
	// data.LoadCorpus). Its train split is sampled by a data.Loader seeded
	// with Options.Seed; its validation split is used for evaluation and the
	// gain probe.
	Data string
	// Tokenizer is "byte" or "gpt2" (see data.NewTokenizer).
	Tokenizer string
	// Group, if set, trains data-parallel: every worker calls Start with the
	// same Spec; the global batch is Group.Size() × Accum × Batch sequences.
	// Rank 0 alone writes metrics and checkpoints.
	Group Group
}

// Continue are the settings a resumed run may change.
type Continue struct {
	// Steps is the new total step count (0: the saved one). It must exceed
	// the steps already done.
	Steps int
	// Data, if set, must name the corpus the run was started on: an exact
	// resume needs the same token stream.
	Data string
	// Group: the data-parallel workers, as many as the run was trained with.
	Group Group
}

// Errors of Start and Resume that callers may want to tell apart.
var (
	// ErrRunExists: Start was given a directory that holds a run.
	ErrRunExists = errors.New("already holds a run")
	// ErrRunDone: Resume was asked for no more steps than the run has done.
	ErrRunDone = errors.New("run already done")
)

// Data is a loaded, tokenized corpus.
type Data struct {
	Spec       string // as given: gostd, english, a path
	Corpus     *data.Corpus
	Tokenizer  data.Tokenizer
	Train, Val []int32       // token streams of the train and validation splits
	Took       time.Duration // loading and tokenization time
	Cached     bool          // the tokens came from the token cache (see data.TokenCache)
}

// LoadData loads the corpus spec (see data.LoadCorpus) and tokenizes it,
// through the per-user token cache (see data.Corpus.CachedTokens). A spec
// that names a file or directory is made absolute (Data.Spec), so that a
// run's state.json finds its corpus from any working directory.
func LoadData(spec string, tok data.Tokenizer) (*Data, error) {
	t0 := time.Now()
	spec = absCorpus(spec)
	corpus, err := data.LoadCorpus(spec)
	if err != nil {
		return nil, err
	}
	trainTok, valTok, cached, err := corpus.CachedTokens(tok)
	if err != nil {
		return nil, err
	}
	return &Data{Spec: spec, Corpus: corpus, Tokenizer: tok, Train: trainTok, Val: valTok, Took: time.Since(t0), Cached: cached}, nil
}

// absCorpus makes a corpus spec that names a file or directory absolute;
// the built-in names (gostd, english) and specs it cannot resolve are
// returned as they are.
func absCorpus(spec string) string {
	if spec == "" || spec == data.CorpusGoStd || spec == data.CorpusEnglish {
		return spec
	}
	if _, err := os.Stat(spec); err != nil {
		return spec
	}
	if abs, err := filepath.Abs(spec); err == nil {
		return abs
	}
	return spec
}

// Run is one training run bound to its directory: model, optimizer, data,
// metrics file and checkpoints. Start makes a new one, Resume continues one
// from its last checkpoint bit-identically. A Run is used by one goroutine.
type Run struct {
	dir     string
	model   *model.Model
	data    *Data
	trainer *Trainer
	metrics *Metrics
	resumed bool
	lock    *DirLock // rank 0's lock on dir: one writer per run (see LockDir)
}

// Start prepares a new run: it validates the spec, loads and tokenizes the
// data, builds and initialises the model (seed Options.Seed), and opens
// Dir/metrics.jsonl. Nothing is trained until Train; the first checkpoint is
// written by Train (or Save).
func Start(spec Spec) (r *Run, err error) {
	if spec.Dir == "" {
		return nil, errors.New("train: no run directory")
	}
	if _, err := os.Stat(filepath.Join(spec.Dir, StateFile)); err == nil {
		return nil, fmt.Errorf("train: %s %w", spec.Dir, ErrRunExists)
	}
	opts, cfg := spec.Options, spec.Config
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	tok, err := data.NewTokenizer(spec.Tokenizer)
	if err != nil {
		return nil, err
	}
	cfg.Vocab = tok.VocabSize()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := CheckMemory(cfg, opts.Batch, true); err != nil {
		return nil, err
	}
	d, err := LoadData(spec.Data, tok)
	if err != nil {
		return nil, err
	}
	m, err := model.New(cfg, opts.Batch)
	if err != nil {
		return nil, err
	}
	m.Params.Initialize(opts.Seed)
	lock, err := lockNewRun(spec.Dir, spec.Group)
	if err != nil {
		return nil, err
	}
	defer func() { r, err = keepLock(r, err, lock) }()
	return open(spec.Dir, m, d, opts, nil, spec.Group)
}

// Resume reopens the run in dir at its last checkpoint: weights, optimizer
// moments, data position and options, so that training continues exactly as
// if it had not stopped. c may extend the run.
func Resume(dir string, c Continue) (r *Run, err error) {
	lock, err := lockRun(dir, c.Group)
	if err != nil {
		return nil, err
	}
	defer func() { r, err = keepLock(r, err, lock) }()
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	opts := st.Options
	if c.Steps > 0 {
		opts.Steps = c.Steps
	}
	if opts.Steps <= st.Step {
		return nil, fmt.Errorf("train: %s: %w (%d of %d steps)", dir, ErrRunDone, st.Step, opts.Steps)
	}
	if was, now := max(1, st.Ranks), groupSize(c.Group); was != now {
		return nil, fmt.Errorf("train: %s: the run was trained by %d data-parallel workers, not %d: resume it with as many", dir, was, now)
	}
	if c.Data != "" && absCorpus(c.Data) != absCorpus(st.Data) {
		return nil, fmt.Errorf("train: %s: data %s differs from the run's data %s (an exact resume needs the same corpus)", dir, c.Data, st.Data)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := checkpointMemory(dir, opts.Batch); err != nil {
		return nil, err
	}
	m, tok, err := openModel(dir, st, opts.Batch)
	if err != nil {
		return nil, err
	}
	d, err := LoadData(st.Data, tok)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", dir, err)
	}
	return open(dir, m, d, opts, &st, c.Group)
}

func groupSize(g Group) int {
	if g == nil {
		return 1
	}
	return g.Size()
}

// open builds the trainer (restoring st when resuming) and the metrics file.
// With a group, the workers first check that they agree on everything that
// decides the result.
func open(dir string, m *model.Model, d *Data, opts Options, st *State, g Group) (*Run, error) {
	if g != nil {
		if err := agree(g, m.Cfg, opts, d, st); err != nil {
			return nil, err
		}
	}
	loader, err := data.NewLoader(d.Train, opts.Batch, m.Cfg.Seq, opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("train: data %s: %w", d.Spec, err)
	}
	tr, err := NewTrainer(m, loader, d.Val, opts)
	if err != nil {
		return nil, err
	}
	if st != nil {
		if err := LoadOptimizer(dir, tr.Opt, m.Params); err != nil {
			return nil, err
		}
		if err := tr.Restore(*st); err != nil {
			return nil, fmt.Errorf("train: %s: %w", dir, err)
		}
	}
	tr.Group = g
	r := &Run{dir: dir, model: m, data: d, trainer: tr, resumed: st != nil}
	if r.Rank() != 0 {
		return r, nil // rank 0 writes the run directory
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if r.metrics, err = OpenMetrics(filepath.Join(dir, MetricsFile)); err != nil {
		return nil, err
	}
	return r, nil
}

// Train trains until Options().Steps steps are done or ctx is cancelled,
// writing metrics, evaluating, probing gains and saving checkpoints as the
// options say (see Trainer.Run). On cancellation it saves and returns
// ctx.Err().
func (r *Run) Train(ctx context.Context, hooks Hooks) error {
	return r.trainer.Run(ctx, r.trainer.Opts.Steps, r.metrics, r.Save, hooks)
}

// TrainSteps is Train for at most n more steps; it saves at their end. The
// learning-rate schedule is that of the whole run (Options().Steps), so a
// run trained in pieces equals one trained in one go.
func (r *Run) TrainSteps(ctx context.Context, n int, hooks Hooks) error {
	return r.trainer.Run(ctx, r.trainer.Step+n, r.metrics, r.Save, hooks)
}

// Save writes a checkpoint of the current step into the run directory (on
// rank 0 only; other workers return nil).
func (r *Run) Save() error {
	if r.Rank() != 0 {
		return nil
	}
	st, err := r.trainer.State(r.data.Tokenizer.Name(), r.data.Spec)
	if err != nil {
		return err
	}
	return SaveCheckpoint(r.dir, r.model, r.trainer.Opt, st)
}

// Close closes the metrics file and releases the run directory's lock. It
// does not save.
func (r *Run) Close() error {
	err := r.metrics.Close()
	if uerr := r.lock.Unlock(); err == nil {
		err = uerr
	}
	return err
}

// Rank is this worker's rank (0 without a Group); rank 0 logs and saves.
func (r *Run) Rank() int {
	rank, _ := r.trainer.rank()
	return rank
}

// Dir is the run directory.
func (r *Run) Dir() string { return r.dir }

// Model is the network being trained (built for Options().Batch sequences).
func (r *Run) Model() *model.Model { return r.model }

// Tokenizer is the run's tokenizer.
func (r *Run) Tokenizer() data.Tokenizer { return r.data.Tokenizer }

// Data is the loaded corpus.
func (r *Run) Data() *Data { return r.data }

// Trainer is the run's trainer (optimizer, loader, step count).
func (r *Run) Trainer() *Trainer { return r.trainer }

// Step is the number of optimizer steps done.
func (r *Run) Step() int { return r.trainer.Step }

// Options are the run's options (after Continue for a resumed run).
func (r *Run) Options() Options { return r.trainer.Opts }

// Resumed reports whether the run was continued from a checkpoint.
func (r *Run) Resumed() bool { return r.resumed }

// UnusedDir returns base if no file or directory of that name exists, else
// base-2, base-3, ...: a fresh run directory that never overwrites a run.
func UnusedDir(base string) string {
	dir := base
	for i := 2; ; i++ {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return dir
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
}

// Checkpoint is a saved model opened for inference: sample, eval, gains.
type Checkpoint struct {
	Dir       string
	Model     *model.Model // built for up to the maxB given to OpenCheckpoint
	Tokenizer data.Tokenizer
	State     State
}

// OpenCheckpoint loads the model (for batches of up to maxB sequences),
// tokenizer and state of the checkpoint in dir.
func OpenCheckpoint(dir string, maxB int) (*Checkpoint, error) {
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	m, tok, err := openModel(dir, st, maxB)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Dir: dir, Model: m, Tokenizer: tok, State: st}, nil
}

// openModel loads the weights of dir and the tokenizer named by st, and
// checks that they agree on the vocabulary.
func openModel(dir string, st State, maxB int) (*model.Model, data.Tokenizer, error) {
	tok, err := data.NewTokenizer(st.Tokenizer)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	m, err := LoadModel(dir, maxB)
	if err != nil {
		return nil, nil, err
	}
	if m.Cfg.Vocab != tok.VocabSize() {
		return nil, nil, fmt.Errorf("checkpoint %s: vocab %d does not match tokenizer %s (%d)", dir, m.Cfg.Vocab, tok.Name(), tok.VocabSize())
	}
	return m, tok, nil
}
