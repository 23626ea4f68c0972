package train

import (
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/param"
)

// Network is what a Trainer drives: forward and backward passes, the loss,
// and one contiguous buffer each of parameters and gradients. *model.Model
// implements it; another backend (or a wrapper that splits work across
// devices) can plug in without touching the training loop.
type Network interface {
	// Config is the architecture (what config.json holds).
	Config() model.Config
	// Parameters holds the weights (Data) and their gradients (Grad), each
	// one contiguous buffer in the same layout.
	Parameters() *param.Store
	// MaxBatch is the most sequences one pass may take.
	MaxBatch() int
	// ForwardBackward ACCUMULATES into Parameters().Grad the gradient of
	// lossScale × the mean cross-entropy of inputs against targets (each B·T
	// token ids) and returns that mean cross-entropy.
	ForwardBackward(inputs, targets []int32, B, T int, lossScale float32) float64
	// Forward runs inference on tokens (B·T ids); Loss then returns the mean
	// cross-entropy (nats/token) of that pass against targets.
	Forward(tokens []int32, B, T int)
	Loss(targets []int32) float64
	// MeanRes runs a forward pass and OVERWRITES dst[l] (n·n) with sublayer
	// l's H_res averaged over the tokens, for the gain probe; false (dst
	// untouched) when the network has no stream-mixing matrix.
	MeanRes(tokens []int32, B, T int, dst [][]float64) bool
}

var _ Network = (*model.Model)(nil)

// Group is the set of data-parallel workers a Trainer trains with (package
// dist provides one over MPI). Every worker (rank) holds the whole model and
// trains on its own share of every global batch; at the gradient-sync point
// the group sums the workers' gradients, so that clipping and AdamW then run
// identically everywhere. Rank 0 logs and saves. A nil Group is a single
// process. Every method is a collective: all workers call it, in the same
// order.
type Group interface {
	Rank() int // this worker, 0 ≤ Rank < Size
	Size() int // number of workers
	// SyncGrads is the gradient-sync point: it replaces grad, element by
	// element, by its sum over the workers, and returns the sum of loss over
	// the workers.
	SyncGrads(grad []float32, loss float64) (float64, error)
	// AnyStop returns true on every worker if stop is true on any of them.
	AnyStop(stop bool) (bool, error)
	// Agree returns an error on every worker unless all passed the same
	// digest (the startup check that config, data and code agree); what is
	// the description of the digest for the error message.
	Agree(digest []byte, what string) error
}
