package hyper

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/param"
)

// headRef is a float64 contraction head (sum, mean, or DeepSeek's hc_head)
// inside f = Σ w ⊙ Contract(x).
type headRef struct {
	mode     string
	n, c, T  int
	fn, base []float64 // (n, n·C), (n)
	scale    []float64 // (1)
	x, w     []float64
	out      []float64
}

func (r *headRef) f() float64 {
	n, c := r.n, r.c
	nc := n * c
	var f float64
	for t := 0; t < r.T; t++ {
		xf := r.x[t*nc : (t+1)*nc]
		wt := make([]float64, n)
		switch r.mode {
		case "sum":
			for i := range wt {
				wt[i] = 1
			}
		case "mean":
			for i := range wt {
				wt[i] = 1 / float64(n)
			}
		default:
			var ss float64
			for _, v := range xf {
				ss += v * v
			}
			rs := 1 / math.Sqrt(ss/float64(nc)+HeadNormEps)
			for i := range wt {
				var q float64
				for k, v := range xf {
					q += v * r.fn[i*nc+k]
				}
				wt[i] = 1/(1+math.Exp(-(r.scale[0]*rs*q+r.base[i]))) + HeadWeightEps
			}
		}
		for q := 0; q < c; q++ {
			var o float64
			for i := 0; i < n; i++ {
				o += wt[i] * xf[i*c+q]
			}
			r.out[t*c+q] = o
			f += r.w[t*c+q] * o
		}
	}
	return f
}

func headBuild(t *testing.T, mode string, n, c, maxN int) (*Streams, *param.Store) {
	t.Helper()
	s := &param.Store{}
	st, err := NewStreams(Config{Kind: HC, Streams: n, Contract: mode}, c, maxN, s)
	if err != nil {
		t.Fatal(err)
	}
	s.Build()
	s.Initialize(1)
	return st, s
}

// TestStreamsContractGradients checks Contract against the float64
// reference and ContractBackward (dx and, for "learned", every head
// parameter) against its finite differences. T > 2·headGrain exercises the
// parallel path.
func TestStreamsContractGradients(t *testing.T) {
	for _, mode := range []string{"sum", "mean", "learned"} {
		for _, n := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("%s,n=%d", mode, n), func(t *testing.T) {
				const c, T = 5, 40
				st, s := headBuild(t, mode, n, c, T)
				rng := rand.New(rand.NewPCG(uint64(n), 17))
				for _, p := range s.Tensors {
					for i := range p.Data {
						p.Data[i] += float32(0.5 * rng.NormFloat64())
					}
				}
				x, w := hcRandn(rng, T*n*c, 1), hcRandn(rng, T*c, 1)
				out, dx := make([]float32, T*c), make([]float32, T*n*c)
				st.Contract(x, out, T)
				ref := &headRef{mode: mode, n: n, c: c, T: T, x: hcF64(x), w: hcF64(w), out: make([]float64, T*c)}
				if mode == "learned" {
					ref.fn = hcF64(s.Get("head_conn.fn").Data)
					ref.base = hcF64(s.Get("head_conn.base").Data)
					ref.scale = hcF64(s.Get("head_conn.scale").Data)
				}
				ref.f()
				hcClose(t, "out", out, ref.out)

				s.ZeroGrad()
				for i := range dx {
					dx[i] = float32(math.NaN()) // must be overwritten
				}
				st.ContractBackward(x, w, dx, T)
				hcDirCheck(t, "x", ref.f, ref.x, dx, rng)
				if mode != "learned" {
					if len(s.Tensors) != 0 {
						t.Errorf("%s registered %d tensors, want none", mode, len(s.Tensors))
					}
					return
				}
				grad := append([]float32(nil), s.Grad...)
				g := func(name string) []float32 {
					p := s.Get("head_conn." + name)
					return grad[p.Offset : p.Offset+p.Numel()]
				}
				hcDirCheck(t, "fn", ref.f, ref.fn, g("fn"), rng)
				hcDirCheck(t, "base", ref.f, ref.base, g("base"), rng)
				hcDirCheck(t, "scale", ref.f, ref.scale, g("scale"), rng)
				// Parameter gradients accumulate.
				st.ContractBackward(x, w, dx, T)
				for i, v := range s.Grad {
					if math.Abs(float64(v-2*grad[i])) > 1e-5*math.Abs(float64(grad[i]))+1e-6 {
						t.Fatalf("head gradient %d does not accumulate: %v then %v", i, grad[i], v)
					}
				}
			})
		}
	}
}

// TestStreamsLearnedInit documents the head's tensors and checks that at
// init every weight is sigmoid(0) + eps.
func TestStreamsLearnedInit(t *testing.T) {
	const n, c, T = 3, 4, 2
	st, s := headBuild(t, "learned", n, c, T)
	want := []struct {
		name  string
		shape []int
		decay bool
		init  float32
	}{
		{"head_conn.fn", []int{n, n * c}, true, 0},
		{"head_conn.base", []int{n}, false, 0},
		{"head_conn.scale", []int{1}, false, HeadScaleInit},
	}
	if len(s.Tensors) != len(want) {
		t.Fatalf("%d tensors, want %d", len(s.Tensors), len(want))
	}
	for i, w := range want {
		p := s.Tensors[i]
		if p.Name != w.name || param.ShapeString(p.Shape) != param.ShapeString(w.shape) || p.Decay != w.decay {
			t.Errorf("tensor %d = %s %v decay=%v, want %s %v decay=%v", i, p.Name, p.Shape, p.Decay, w.name, w.shape, w.decay)
		}
		for _, v := range p.Data {
			if v != w.init {
				t.Errorf("%s init = %v, want all %v", p.Name, p.Data, w.init)
				break
			}
		}
	}
	rng := rand.New(rand.NewPCG(2, 2))
	x, out := hcRandn(rng, T*n*c, 1), make([]float32, T*c)
	st.Contract(x, out, T)
	for tk := 0; tk < T; tk++ {
		for q := 0; q < c; q++ {
			var want float64
			for i := 0; i < n; i++ {
				want += (0.5 + HeadWeightEps) * float64(x[(tk*n+i)*c+q])
			}
			if math.Abs(float64(out[tk*c+q])-want) > 1e-6 {
				t.Fatalf("init contraction = %v, want %v", out[tk*c+q], want)
			}
		}
	}
}

func TestNewStreamsErrors(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		maxN  int
		store *param.Store
	}{
		{"unknown contract", Config{Streams: 2, Contract: "max"}, 4, &param.Store{}},
		{"learned without store", Config{Streams: 2, Contract: "learned"}, 4, nil},
		{"learned without tokens", Config{Streams: 2, Contract: "learned"}, 0, &param.Store{}},
		{"zero streams", Config{Streams: 0, Contract: "sum"}, 4, nil},
	}
	for _, tc := range cases {
		if _, err := NewStreams(tc.cfg, 4, tc.maxN, tc.store); err == nil {
			t.Errorf("%s: NewStreams accepted it", tc.name)
		}
	}
}

func TestStreamsLearnedAllocs(t *testing.T) {
	for _, T := range []int{3, 64} { // serial and parallel paths
		const n, c = 4, 16
		st, _ := headBuild(t, "learned", n, c, T)
		rng := rand.New(rand.NewPCG(1, 1))
		x, w := hcRandn(rng, T*n*c, 1), hcRandn(rng, T*c, 1)
		out, dx := make([]float32, T*c), make([]float32, T*n*c)
		st.Contract(x, out, T)
		st.ContractBackward(x, w, dx, T)
		allocs := testing.AllocsPerRun(20, func() {
			st.Contract(x, out, T)
			st.ContractBackward(x, w, dx, T)
		})
		if allocs != 0 {
			t.Errorf("T=%d: %v allocations per step, want 0", T, allocs)
		}
	}
}
