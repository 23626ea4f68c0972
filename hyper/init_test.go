package hyper

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/param"
)

// TestInitSchemes checks the coefficients every connection init scheme
// gives at step 0, for mHC and mHC-lite, on the n identical streams the
// expansion produces.
func TestInitSchemes(t *testing.T) {
	const n, c, N = 4, 8, 3
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	// mHC-lite identity: logit +3 on the identity, −3 on the 23 other
	// permutations, 5 of which also fix a given stream.
	liteDiag := (math.Exp(3) + 5*math.Exp(-3)) / (math.Exp(3) + 23*math.Exp(-3))
	for _, tc := range []struct {
		kind      Kind
		init      string
		sublayer  int
		pre, post []float64 // want H_pre, H_post (every token)
		resDiag   [2]float64
	}{
		{MHC, InitUniform, 0, []float64{.5, .5, .5, .5}, []float64{1, 1, 1, 1}, [2]float64{.25, .25}},
		{MHC, InitIdentity, 2, []float64{sig(-3), sig(-3), sig(3), sig(-3)}, []float64{1, 1, 1, 1}, [2]float64{.99, 1}},
		{MHC, InitIdentity, 5, []float64{sig(-3), sig(3), sig(-3), sig(-3)}, []float64{1, 1, 1, 1}, [2]float64{.99, 1}},
		{MHC, InitSplit, 0, []float64{.5, .5, .5, .5}, []float64{.5, 5.0 / 6, 7.0 / 6, 1.5}, [2]float64{.25, .25}},
		{MHCLite, InitIdentity, 1, []float64{sig(-3), sig(3), sig(-3), sig(-3)}, []float64{1, 1, 1, 1}, [2]float64{liteDiag, liteDiag}},
		{MHCLite, InitSplit, 1, []float64{.5, .5, .5, .5}, []float64{.5, 5.0 / 6, 7.0 / 6, 1.5}, [2]float64{.25, .25}},
	} {
		cfg := Config{Kind: tc.kind, Streams: n, Contract: "sum", SinkhornIters: 20, Sinkhorn: "paper", NormEps: 1e-6, Init: tc.init}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		s := &param.Store{}
		conn, err := Builder{Cfg: cfg, C: c, MaxN: N, Store: s, Layers: 8}.New("conn", tc.sublayer)
		if err != nil {
			t.Fatal(err)
		}
		s.Build()
		s.Initialize(1)
		m := conn.(*mhc)
		x := make([]float32, N*n*c)
		rng := rand.New(rand.NewPCG(1, 2))
		for tok := range N { // identical streams
			for ch := range c {
				v := float32(rng.NormFloat64())
				for i := range n {
					x[(tok*n+i)*c+ch] = v
				}
			}
		}
		m.Pre(x, make([]float32, N*c), N)
		name := string(tc.kind) + "/" + tc.init
		tol := 0.02 // φ·v·α moves the gates by about 1 % at init
		if tc.init == InitIdentity {
			tol = 1e-5 // φ = 0: exactly the biases
		}
		for tok := range N {
			for i := range n {
				if got := float64(m.hpre[tok*n+i]); math.Abs(got-tc.pre[i]) > tol {
					t.Errorf("%s sublayer %d: H_pre[%d] = %v, want %v", name, tc.sublayer, i, got, tc.pre[i])
				}
				if got := float64(m.hpost[tok*n+i]); math.Abs(got-tc.post[i]) > tol {
					t.Errorf("%s: H_post[%d] = %v, want %v", name, i, got, tc.post[i])
				}
				d := float64(m.hres[(tok*n+i)*n+i])
				if d < tc.resDiag[0]-tol || d > tc.resDiag[1]+tol {
					t.Errorf("%s: H_res[%d][%d] = %v, want in %v", name, i, i, d, tc.resDiag)
				}
			}
		}
		if tc.init == InitIdentity {
			for _, v := range s.Get("conn.phi").Data {
				if v != 0 {
					t.Fatalf("%s: φ not zero at init", name)
				}
			}
		}
	}
}

func TestInitValidate(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		init string
		ok   bool
	}{
		{MHC, "", true}, {MHC, "uniform", true}, {MHC, "identity", true}, {MHCLite, "split", true},
		{HC, "", true}, {HC, "uniform", true}, {HC, "identity", false}, {Residual, "split", false},
		{MHC, "Identity", false}, {MHC, "zero", false},
	} {
		n := 4
		if tc.kind == Residual {
			n = 1
		}
		cfg := Config{Kind: tc.kind, Streams: n, Contract: "sum", SinkhornIters: 20, Sinkhorn: "paper", NormEps: 1e-6, Init: tc.init}
		if err := cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s init %q: err %v, want ok=%v", tc.kind, tc.init, err, tc.ok)
		}
	}
}
