package compare

// Files of a compare directory.
const (
	// SpecFile is DIR/compare.json: the grid (Plan) the directory was made
	// for. A rerun of `mhc compare` with another grid is refused.
	SpecFile = "compare.json"
	// RunsDir is DIR/runs: one train run directory per grid point, named by
	// RunPlan.Name.
	RunsDir = "runs"
	// ResultFile is RUN/result.json, written when a run has finished (and
	// only then): the run's final measurements. Its presence marks a run as
	// done; a rerun keeps done runs and resumes the others.
	ResultFile = "result.json"
)

// Result is the content of RUN/result.json: what a finished run measured.
// Losses are nats/token.
type Result struct {
	Variant string `json:"variant"` // the variant label (Variant.Label), e.g. "mhc", "mhc fixed=res", "residual L=16"
	Seed    uint64 `json:"seed"`    // init and data-order seed; runs of one seed see the same batches
	Steps   int    `json:"steps"`
	Tokens  int64  `json:"tokens"` // training tokens seen

	// ValLoss is the mean loss over the WHOLE validation split (every
	// non-overlapping window of seq_len tokens), after the last step.
	ValLoss   float64 `json:"val_loss"`
	ValTokens int64   `json:"val_tokens"` // tokens scored for ValLoss

	// Diverged, if set, is why training stopped early: too many steps
	// with a non-finite loss or gradient (train.ErrDiverged). Such a run
	// is done — a compare does not retry it — but has no final loss
	// (ValLoss 0): the report shows its curves and names it.
	Diverged string `json:"diverged,omitempty"`

	TrainSeconds float64 `json:"train_seconds"` // wall time in training steps (evaluations and saves excluded)
	TokPerSec    float64 `json:"tok_per_s"`     // median per-step throughput over the run's steps
	PeakRSS      int64   `json:"peak_rss"`      // peak resident memory of the run in bytes (VmHWM after a reset); 0 if unknown
	EstMemory    int64   `json:"est_memory"`    // train.EstimateMemory total in bytes (training)
	Params       int     `json:"params"`

	// The architecture and init, copied from config.json for the report.
	Conn     string `json:"conn"`
	Streams  int    `json:"streams"`
	Fixed    string `json:"fixed,omitempty"`
	Init     string `json:"init"`      // connection init scheme (hyper.Config.Init)
	BaseInit string `json:"base_init"` // non-connection weights' init (model.Config.BaseInit)
	D        int    `json:"d_model"`
	Layers   int    `json:"n_layers"`
}
