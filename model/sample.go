package model

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Sampler draws tokens from a model's next-token distribution. It owns its
// scratch buffers; one Sampler serves one goroutine.
type Sampler struct {
	Temperature float64 // 0 means greedy (argmax)
	TopK        int     // keep the K most likely tokens; 0 = all
	Rng         *rand.Rand

	probs []float64
	idx   []int
}

// Generate appends n tokens to prompt and returns the whole sequence. The
// model sees at most the last Cfg.Seq tokens (a sliding window; there is no
// KV cache, each token re-runs the window). m must have MaxB ≥ 1. An empty
// prompt is an error for the caller to prevent; Generate panics on it.
func (s *Sampler) Generate(m *Model, prompt []int32, n int) []int32 {
	if len(prompt) == 0 {
		panic("model: Generate needs a non-empty prompt")
	}
	out := append([]int32(nil), prompt...)
	V := m.Cfg.Vocab
	for range n {
		ctx := out[max(0, len(out)-m.Cfg.Seq):]
		T := len(ctx)
		m.Forward(ctx, 1, T)
		out = append(out, s.pick(m.Logits()[(T-1)*V:T*V]))
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
		sort.Slice(s.idx, func(a, b int) bool { return logits[s.idx[a]] > logits[s.idx[b]] })
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
