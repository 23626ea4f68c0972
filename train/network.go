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

// GradSync is the gradient-sync point of data-parallel training. The trainer
// calls SyncGrads once per optimizer step, after the last micro-batch's
// backward and before clipping, with the accumulated gradient buffer and the
// step's mean loss on this worker. It must leave in grad the gradient that
// every worker's update will use (for example the mean over workers, so that
// clipping and AdamW then run identically everywhere) and return the loss to
// report (for example the mean over workers).
type GradSync interface {
	SyncGrads(grad []float32, loss float64) (float64, error)
}
