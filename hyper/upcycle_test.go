package hyper

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/param"
)

// The upcycled connections keep the read-in average invariant on any
// stream state, not only on identical streams: with A(X) = ω·Σ_i X_i,
// Pre(X) = A(X) and A(Post(X, y)) = A(X) + y, for random (different)
// streams X and output y. The learned head then returns A.
func TestUpcycleInvariant(t *testing.T) {
	cases := []struct {
		kind     Kind
		n        int
		contract string
		resBias  float32
		init     UpcycleInit
	}{
		{MHC, 4, "mean", 0, UpcycleSplit},
		{MHC, 3, "learned", 2, UpcycleSymmetric},
		{MHC, 2, "mean", 0, UpcycleSplit},
		{MHCLite, 4, "mean", 1, UpcycleSplit},
		{MHCLite, 3, "learned", 0, UpcycleSymmetric},
		{HC, 4, "mean", 0, UpcycleSplit},
		{HC, 3, "sum", 0, UpcycleSplit},
		{HC, 2, "learned", 0, UpcycleSymmetric},
	}
	const C, N = 8, 5
	for _, c := range cases {
		name := fmt.Sprintf("%s n=%d %s res_bias=%g %s", c.kind, c.n, c.contract, c.resBias, c.init)
		cfg := Config{Kind: c.kind, Streams: c.n, Contract: c.contract, SinkhornIters: 20, Sinkhorn: "paper", NormEps: 1e-6, ResBias: c.resBias}
		u := Upcycle{Init: c.init, Split: 0.7}
		if err := u.Validate(cfg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := &param.Store{}
		conn, err := Builder{Cfg: cfg, C: C, MaxN: N, Store: s, Layers: 4}.New("conn", 1)
		if err != nil {
			t.Fatal(err)
		}
		st, err := NewStreams(cfg, C, N, s)
		if err != nil {
			t.Fatal(err)
		}
		s.Build()
		s.Initialize(9) // random values everywhere, all to be overwritten
		if err := u.SetConn(cfg, s, "conn", 1); err != nil {
			t.Fatal(err)
		}
		if err := u.SetHead(cfg, s); err != nil {
			t.Fatal(err)
		}
		omega, _ := readIn(cfg)
		rng := rand.New(rand.NewPCG(3, 4))
		x := randSlice(rng, N*c.n*C, 1)
		y := randSlice(rng, N*C, 1)
		avg := func(x []float32) []float64 { // A(X) per token and channel
			a := make([]float64, N*C)
			for t := range N {
				for i := range c.n {
					for ch := range C {
						a[t*C+ch] += omega * float64(x[(t*c.n+i)*C+ch])
					}
				}
			}
			return a
		}
		f64 := func(v []float32) []float64 {
			o := make([]float64, len(v))
			for i, e := range v {
				o[i] = float64(e)
			}
			return o
		}
		// worst is max_k |a[k] + plus[k] − b[k]| (plus may be nil).
		worst := func(a, b []float64, plus []float32) float64 {
			var w float64
			for k := range a {
				want := a[k]
				if plus != nil {
					want += float64(plus[k])
				}
				w = math.Max(w, math.Abs(want-b[k]))
			}
			return w
		}
		uo := make([]float32, N*C)
		conn.Pre(x, uo, N)
		if d := worst(avg(x), f64(uo), nil); d > 1e-5 {
			t.Errorf("%s: Pre differs from ω·Σx by %.3g", name, d)
		}
		xo := make([]float32, N*c.n*C)
		conn.Post(x, y, xo, N)
		if d := worst(avg(x), avg(xo), y); d > 1e-5 {
			t.Errorf("%s: A(Post(X, y)) differs from A(X) + y by %.3g", name, d)
		}
		if c.contract != "sum" {
			h := make([]float32, N*C)
			st.Contract(x, h, N)
			if d := worst(avg(x), f64(h), nil); d > 1e-5 {
				t.Errorf("%s: contraction differs from A(X) by %.3g", name, d)
			}
		}
	}
}

// The expansion followed by the sum contraction of HC recovers the
// embedding when it is scaled by EmbedScale.
func TestUpcycleEmbedScale(t *testing.T) {
	for _, c := range []struct {
		kind     Kind
		contract string
		want     float32
	}{{HC, "sum", 0.25}, {HC, "mean", 1}, {MHC, "mean", 1}, {MHCLite, "learned", 1}} {
		cfg := Config{Kind: c.kind, Streams: 4, Contract: c.contract}
		if got := (Upcycle{}).EmbedScale(cfg); got != c.want {
			t.Errorf("%s %s: EmbedScale %v, want %v", c.kind, c.contract, got, c.want)
		}
	}
}
