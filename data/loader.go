package data

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
)

// Loader modes, as recorded in LoaderState.Mode.
const (
	// ModeRandom draws every window at a uniformly random offset.
	ModeRandom = "random"
	// ModeSequential walks non-overlapping windows in order, wrapping around.
	ModeSequential = "sequential"
)

// pcgStream is the second PCG seed word: a fixed constant ("mhc-data"), so
// one user seed determines the whole stream.
const pcgStream = 0x6d68632d64617461

// Loader cuts (inputs, targets) batches of Batch×Seq tokens out of a token
// stream. Row b of a batch is a window of Seq+1 consecutive tokens starting
// at some offset o: inputs[b*Seq+j] = tokens[o+j] and
// targets[b*Seq+j] = tokens[o+j+1] for j in [0, Seq).
//
// A random loader (NewLoader) draws each offset uniformly from
// [0, len(tokens)-Seq-1] with a PCG generator seeded by the seed alone (the
// draw is Lemire's multiply-shift with rejection on PCG.Uint64, so the
// sequence does not depend on math/rand's bounded-integer helpers). A
// sequential loader (NewSequentialLoader) uses offsets 0, Seq, 2*Seq, ...
// (window k at k*Seq, for k < (len(tokens)-1)/Seq) and starts again at 0 after
// the last full window.
//
// A Loader is not safe for concurrent use. Its position is captured by State
// and reinstated by Restore, so a resumed run sees the identical batches.
type Loader struct {
	tokens []int32
	batch  int
	seq    int
	mode   string
	seed   uint64
	pcg    *rand.PCG
	pos    int   // sequential: index of the next window
	steps  int64 // batches produced
}

// LoaderState is a Loader's serializable position, for checkpoints. It
// encodes to JSON as is (RNG as base64).
type LoaderState struct {
	// Mode is ModeRandom or ModeSequential.
	Mode string `json:"mode"`
	// Batch and Seq are the loader's batch shape.
	Batch int `json:"batch"`
	Seq   int `json:"seq"`
	// Tokens is the length of the token stream, checked by Restore.
	Tokens int `json:"tokens"`
	// Seed is the seed the random loader was created with (informational).
	Seed uint64 `json:"seed"`
	// RNG is the PCG state (rand.PCG.MarshalBinary), random mode only.
	RNG []byte `json:"rng,omitempty"`
	// Pos is the index of the next window, sequential mode only.
	Pos int `json:"pos"`
	// Steps is the number of batches produced so far.
	Steps int64 `json:"steps"`
}

// NewLoader returns a random-window loader over tokens (see Loader),
// deterministic given seed. It fails if batch or seq is not positive or if
// tokens holds fewer than seq+1 tokens. tokens is retained, not copied.
func NewLoader(tokens []int32, batch, seq int, seed uint64) (*Loader, error) {
	if err := checkShape(len(tokens), batch, seq); err != nil {
		return nil, err
	}
	return &Loader{
		tokens: tokens, batch: batch, seq: seq,
		mode: ModeRandom, seed: seed, pcg: rand.NewPCG(seed, pcgStream),
	}, nil
}

// NewSequentialLoader returns a loader that yields the non-overlapping
// windows of tokens in order, wrapping around (see Loader). It fails if batch
// or seq is not positive or if tokens holds fewer than seq+1 tokens. tokens is
// retained, not copied.
func NewSequentialLoader(tokens []int32, batch, seq int) (*Loader, error) {
	if err := checkShape(len(tokens), batch, seq); err != nil {
		return nil, err
	}
	return &Loader{tokens: tokens, batch: batch, seq: seq, mode: ModeSequential}, nil
}

// checkShape validates a batch shape against a stream of n tokens.
func checkShape(n, batch, seq int) error {
	if batch < 1 {
		return fmt.Errorf("loader: batch size %d, must be at least 1", batch)
	}
	if seq < 1 {
		return fmt.Errorf("loader: sequence length %d, must be at least 1", seq)
	}
	if n < seq+1 {
		return fmt.Errorf("data: corpus too short: %d tokens, need at least %d for sequences of %d", n, seq+1, seq)
	}
	return nil
}

// Batch returns the number of rows per batch.
func (l *Loader) Batch() int { return l.batch }

// Seq returns the number of positions per row.
func (l *Loader) Seq() int { return l.seq }

// Mode returns ModeRandom or ModeSequential.
func (l *Loader) Mode() string { return l.mode }

// Steps returns the number of batches produced so far.
func (l *Loader) Steps() int64 { return l.steps }

// Next fills the caller-owned inputs and targets, each of length Batch×Seq,
// with the next batch. It does not allocate.
func (l *Loader) Next(inputs, targets []int32) error {
	n := l.batch * l.seq
	if len(inputs) != n || len(targets) != n {
		return fmt.Errorf("loader: buffers of %d and %d tokens, want %d (batch %d × seq %d)",
			len(inputs), len(targets), n, l.batch, l.seq)
	}
	windows := (len(l.tokens) - 1) / l.seq
	for b := 0; b < l.batch; b++ {
		var off int
		if l.mode == ModeRandom {
			off = int(uniform(l.pcg, uint64(len(l.tokens)-l.seq)))
		} else {
			off = l.pos * l.seq
			l.pos++
			if l.pos == windows {
				l.pos = 0
			}
		}
		copy(inputs[b*l.seq:(b+1)*l.seq], l.tokens[off:off+l.seq])
		copy(targets[b*l.seq:(b+1)*l.seq], l.tokens[off+1:off+l.seq+1])
	}
	l.steps++
	return nil
}

// uniform returns a uniformly distributed integer in [0, n), n > 0, using
// Lemire's multiply-shift method with rejection.
func uniform(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// State returns the loader's current position.
func (l *Loader) State() LoaderState {
	s := LoaderState{
		Mode: l.mode, Batch: l.batch, Seq: l.seq, Tokens: len(l.tokens),
		Seed: l.seed, Pos: l.pos, Steps: l.steps,
	}
	if l.pcg != nil {
		// PCG.MarshalBinary cannot fail.
		s.RNG, _ = l.pcg.MarshalBinary()
	}
	return s
}

// Restore sets the loader's position to s, which must come from State of a
// loader with the same mode, batch shape and token stream length. On error
// the loader is unchanged.
func (l *Loader) Restore(s LoaderState) error {
	if s.Mode != l.mode || s.Batch != l.batch || s.Seq != l.seq || s.Tokens != len(l.tokens) {
		return fmt.Errorf("loader restore: state is for a %s loader with batch %d, seq %d over %d tokens; this is a %s loader with batch %d, seq %d over %d tokens",
			s.Mode, s.Batch, s.Seq, s.Tokens, l.mode, l.batch, l.seq, len(l.tokens))
	}
	if s.Steps < 0 {
		return fmt.Errorf("loader restore: negative step count %d", s.Steps)
	}
	switch l.mode {
	case ModeRandom:
		if len(s.RNG) == 0 {
			return errors.New("loader restore: random loader state has no RNG state")
		}
		pcg := new(rand.PCG)
		if err := pcg.UnmarshalBinary(s.RNG); err != nil {
			return fmt.Errorf("loader restore: RNG state: %w", err)
		}
		l.pcg = pcg
	case ModeSequential:
		if windows := (len(l.tokens) - 1) / l.seq; s.Pos < 0 || s.Pos >= windows {
			return fmt.Errorf("loader restore: window index %d out of range [0, %d)", s.Pos, windows)
		}
		l.pos = s.Pos
	}
	l.seed = s.Seed
	l.steps = s.Steps
	return nil
}

// EvalWindows returns the start offsets of the evaluation windows of tokens
// for sequence length seq: the non-overlapping windows at 0, seq, 2*seq, ...
// (each needs seq+1 tokens, so there are W = (len(tokens)-1)/seq of them),
// thinned to at most maxWindows (if maxWindows > 0) by taking window
// i*W/maxWindows for i in [0, maxWindows), which spreads them evenly over the
// stream. Offsets are increasing. Use Window to get a window's inputs and
// targets. It fails if seq < 1 or tokens holds fewer than seq+1 tokens.
func EvalWindows(tokens []int32, seq, maxWindows int) ([]int, error) {
	if err := checkShape(len(tokens), 1, seq); err != nil {
		return nil, err
	}
	w := (len(tokens) - 1) / seq
	n := w
	if maxWindows > 0 && maxWindows < w {
		n = maxWindows
	}
	offs := make([]int, n)
	for i := range offs {
		k := i
		if n < w {
			k = int(int64(i) * int64(w) / int64(n))
		}
		offs[i] = k * seq
	}
	return offs, nil
}

// Window returns the inputs tokens[off:off+seq] and targets
// tokens[off+1:off+seq+1] of the window at off, as subslices of tokens (no
// copy). off must be an offset from EvalWindows(tokens, seq, ...), or any off
// with 0 <= off and off+seq < len(tokens); otherwise Window returns nil, nil.
func Window(tokens []int32, off, seq int) (inputs, targets []int32) {
	if off < 0 || seq < 1 || off+seq >= len(tokens) {
		return nil, nil
	}
	return tokens[off : off+seq], tokens[off+1 : off+seq+1]
}
