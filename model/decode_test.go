package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mhc-go/mhc/hyper"
)

// decodeConfigs are small models of every connection kind and contraction.
// Connection parameters are perturbed off their init (perturb) so that the
// per-token coefficients really depend on the token's streams.
var decodeConfigs = []struct {
	kind     hyper.Kind
	n        int
	contract string
	tie      bool
}{
	{hyper.Residual, 1, "sum", false},
	{hyper.Residual, 1, "sum", true},
	{hyper.HC, 3, "sum", false},
	{hyper.HC, 2, "learned", true},
	{hyper.MHC, 4, "mean", false},
	{hyper.MHC, 2, "learned", false},
	{hyper.MHCLite, 3, "sum", true},
}

func decodeModel(t testing.TB, kind hyper.Kind, n int, contract string, tie bool) *Model {
	t.Helper()
	cfg := tinyConfig()
	cfg.Vocab, cfg.D, cfg.Heads, cfg.Seq, cfg.MLPHidden = 23, 16, 2, 12, 24
	cfg.Kind, cfg.Streams, cfg.Contract, cfg.Tie = kind, n, contract, tie
	m, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	m.Params.Initialize(3)
	perturbConnections(m, 0.3, rand.New(rand.NewPCG(5, 6)))
	return m
}

// fullLogits is the reference: Model.Forward over tokens, last position.
func fullLogits(m *Model, tokens []int32) []float32 {
	T, V := len(tokens), m.Cfg.Vocab
	m.Forward(tokens, 1, T)
	return slices.Clone(m.Logits()[(T-1)*V : T*V])
}

func maxAbsDiff(a, b []float32) float64 {
	var w float64
	for i := range a {
		w = math.Max(w, math.Abs(float64(a[i]-b[i])))
	}
	return w
}

// The cached logits equal a full recomputation over the cached tokens at
// every position: after the prefill, up to the window boundary (position
// Seq−1), and after the window slides (twice).
func TestDecoderMatchesForward(t *testing.T) {
	for _, c := range decodeConfigs {
		name := fmt.Sprintf("%s n=%d %s tie=%v", c.kind, c.n, c.contract, c.tie)
		t.Run(name, func(t *testing.T) {
			m := decodeModel(t, c.kind, c.n, c.contract, c.tie)
			d := NewDecoder(m)
			d.Keep = 5
			rng := rand.New(rand.NewPCG(7, 8))
			all := []int32{1, 2, 3}
			got := slices.Clone(d.Prefill(all))
			check := func(label string) {
				t.Helper()
				want := fullLogits(m, d.Tokens())
				// float32 rounding of two summation orders (the cache's
				// one-row products against full GEMMs; ≤ 2e-6 on logits
				// of magnitude 1–2 today), bounded relative to the
				// logits' scale. An absolute 1e-5 failed once, at 2.2e-5,
				// in the purego build.
				scale := max(1, maxAbsDiff(want, make([]float32, len(want))))
				if diff := maxAbsDiff(got, want); diff > 1e-5*scale {
					t.Fatalf("%s (cache length %d): max |Δlogit| = %g (logits up to %g)", label, d.Len(), diff, scale)
				}
			}
			check("prefill")
			slid := 0
			for i := 0; slid < 2 || d.Len() < 8; i++ {
				tok := int32(rng.IntN(m.Cfg.Vocab))
				before := d.Len()
				got = slices.Clone(d.Step(tok))
				all = append(all, tok)
				switch {
				case before == m.Cfg.Seq:
					slid++
					if d.Len() != d.Keep+1 || !slices.Equal(d.Tokens(), all[len(all)-d.Keep-1:]) {
						t.Fatalf("after sliding: cache holds %v, want the last %d tokens of %v", d.Tokens(), d.Keep+1, all)
					}
				case !slices.Equal(d.Tokens(), all[len(all)-d.Len():]):
					t.Fatalf("cache holds %v, not the last tokens of %v", d.Tokens(), all)
				}
				check(fmt.Sprintf("step %d", i))
			}
			// A prompt longer than the window keeps its last Seq tokens.
			long := make([]int32, m.Cfg.Seq+4)
			for i := range long {
				long[i] = int32(rng.IntN(m.Cfg.Vocab))
			}
			got = slices.Clone(d.Prefill(long))
			if d.Len() != m.Cfg.Seq || !slices.Equal(d.Tokens(), long[4:]) {
				t.Fatalf("long prefill holds %v", d.Tokens())
			}
			check("long prefill")
		})
	}
}

// Greedy generation with the cache gives the same tokens as the cache-free
// path while the window has not filled.
func TestGenerateCacheMatchesNoCache(t *testing.T) {
	for _, c := range decodeConfigs {
		m := decodeModel(t, c.kind, c.n, c.contract, c.tie)
		prompt := []int32{4, 5}
		n := m.Cfg.Seq - len(prompt)
		fast := (&Sampler{}).Generate(m, prompt, n)
		slow := (&Sampler{NoCache: true}).Generate(m, prompt, n)
		if !slices.Equal(fast, slow) {
			t.Errorf("%s: cached %v, uncached %v", c.kind, fast, slow)
		}
		if len(fast) != len(prompt)+n {
			t.Errorf("%s: %d tokens, want %d", c.kind, len(fast), len(prompt)+n)
		}
	}
}

// Decoding a token allocates nothing, for every connection kind, including
// the steps that slide the window.
func TestDecoderStepAllocs(t *testing.T) {
	for _, c := range decodeConfigs {
		m := decodeModel(t, c.kind, c.n, c.contract, c.tie)
		d := NewDecoder(m)
		d.Prefill([]int32{1})
		tok := int32(0)
		allocs := testing.AllocsPerRun(3*m.Cfg.Seq, func() {
			tok = (tok + 7) % int32(m.Cfg.Vocab)
			d.Step(tok)
		})
		if allocs != 0 {
			t.Errorf("%s n=%d %s: %v allocations per Step", c.kind, c.n, c.contract, allocs)
		}
		s := &Sampler{Temperature: 0.8, TopK: 5, Rng: rand.New(rand.NewPCG(1, 2))}
		s.Generate(m, []int32{1}, 2) // first call builds the Decoder and scratch
		// Generate allocates its result once; per token it must add nothing.
		a10 := testing.AllocsPerRun(5, func() { s.Generate(m, []int32{1}, 10) })
		a40 := testing.AllocsPerRun(5, func() { s.Generate(m, []int32{1}, 40) })
		if a10 != a40 {
			t.Errorf("%s: Generate allocates per token: %v allocations for 10 tokens, %v for 40", c.kind, a10, a40)
		}
	}
}

func TestDecoderStepPanicsOnBadToken(t *testing.T) {
	m := decodeModel(t, hyper.Residual, 1, "sum", false)
	d := NewDecoder(m)
	defer func() {
		if recover() == nil {
			t.Fatal("Step(-1) did not panic")
		}
	}()
	d.Step(-1)
}

func BenchmarkDecoderStep(b *testing.B) {
	for _, kind := range []hyper.Kind{hyper.Residual, hyper.MHC} {
		b.Run(string(kind), func(b *testing.B) {
			cfg := Presets["tiny"].Config
			if kind != hyper.Residual {
				cfg.Kind, cfg.Streams = kind, 4
			}
			m, err := New(cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			m.Params.Initialize(1)
			d := NewDecoder(m)
			d.Prefill([]int32{1})
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				d.Step(int32(i % 256))
			}
		})
	}
}
