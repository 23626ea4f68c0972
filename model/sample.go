package model

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// Sampler draws tokens from a model's next-token distribution. It owns its
// scratch buffers (and a Decoder per model); one Sampler serves one
// goroutine.
type Sampler struct {
	Temperature float64 // 0 means greedy (argmax)
	TopK        int     // keep the K most likely tokens; 0 = all
	Rng         *rand.Rand
	// NoCache makes Generate re-run the model over the whole window for
	// every token (no KV cache): the slow reference path.
	NoCache bool

	probs []float64
	idx   []int
	dec   *Decoder
}

// Generate appends n tokens to prompt and returns the whole sequence (a new
// slice). The model sees at most the last Cfg.Seq tokens. By default it
// encodes the prompt once and then decodes one position per token with a
// Decoder (KV cache); when the window is full the Decoder slides to its last
// Keep tokens (see Decoder). With NoCache every token re-runs Model.Forward
// over the last Cfg.Seq tokens. Both give the same logits until the window
// first fills. Apart from the returned slice (allocated once), Generate with
// the cache allocates nothing per token after its first call for a model.
// m must have MaxB ≥ 1. An empty prompt is an error for the caller to
// prevent; Generate panics on it.
func (s *Sampler) Generate(m *Model, prompt []int32, n int) []int32 {
	if len(prompt) == 0 {
		panic("model: Generate needs a non-empty prompt")
	}
	out := make([]int32, len(prompt), len(prompt)+max(n, 0))
	copy(out, prompt)
	V := m.Cfg.Vocab
	if s.NoCache {
		for range n {
			ctx := out[max(0, len(out)-m.Cfg.Seq):]
			T := len(ctx)
			m.Forward(ctx, 1, T)
			out = append(out, s.pick(m.Logits()[(T-1)*V:T*V]))
		}
		return out
	}
	if s.dec == nil || s.dec.m != m {
		s.dec = NewDecoder(m)
	}
	if n <= 0 {
		return out
	}
	logits := s.dec.Prefill(out)
	for i := range n {
		tok := s.pick(logits)
		out = append(out, tok)
		if i+1 < n {
			logits = s.dec.Step(tok)
		}
	}
	return out
}

func (s *Sampler) pick(logits []float32) int32 {
	V := len(logits)
	if s.Temperature <= 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return int32(best)
	}
	if len(s.probs) != V {
		s.probs, s.idx = make([]float64, V), make([]int, V)
	}
	for i := range s.idx {
		s.idx[i] = i
	}
	k := V
	if s.TopK > 0 && s.TopK < V {
		k = s.TopK
		slices.SortFunc(s.idx, func(a, b int) int { return cmp.Compare(logits[b], logits[a]) })
	}
	mx := math.Inf(-1)
	for _, i := range s.idx[:k] {
		mx = math.Max(mx, float64(logits[i]))
	}
	var sum float64
	for j, i := range s.idx[:k] {
		s.probs[j] = math.Exp((float64(logits[i]) - mx) / s.Temperature)
		sum += s.probs[j]
	}
	r := s.Rng.Float64() * sum
	for j := range k {
		r -= s.probs[j]
		if r <= 0 {
			return int32(s.idx[j])
		}
	}
	return int32(s.idx[k-1])
}
