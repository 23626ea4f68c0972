package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// upSource is a random residual model. initStd 0.02 keeps the residual
// state small, so that RMSNorm's eps matters (an inexact scaling of the
// state shows); 0.5 gives logits of a trained model's size.
func upSource(t *testing.T, initStd float32, tie bool) *model.Model {
	t.Helper()
	cfg := model.Presets["tiny"].Config
	cfg.Vocab, cfg.D, cfg.Layers, cfg.Heads, cfg.Seq, cfg.MLPHidden = 37, 32, 3, 2, 16, 48
	cfg.InitStd, cfg.Tie = initStd, tie
	m, err := model.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	m.Params.Initialize(11)
	// Norm weights away from 1, as after training.
	rng := rand.New(rand.NewPCG(1, 1))
	for _, p := range m.Params.Tensors {
		if strings.Contains(p.Name, "norm") {
			for i := range p.Data {
				p.Data[i] = float32(0.5 + rng.Float64())
			}
		}
	}
	return m
}

func conn(kind hyper.Kind, n int, contract string, resBias float32) hyper.Config {
	return hyper.Config{Kind: kind, Streams: n, Contract: contract, SinkhornIters: 20, Sinkhorn: "paper",
		NormEps: 1e-6, ResBias: resBias}
}

// The upcycled model computes the source's logits on random inputs, for
// every connection kind, contraction, exact init, stream count and tied or
// untied embeddings, at small and large activation scales.
func TestUpcycleModelPreservesLogits(t *testing.T) {
	type tc struct {
		kind     hyper.Kind
		n        int
		contract string
		resBias  float32
	}
	cases := []tc{
		{hyper.MHC, 4, "mean", 0}, {hyper.MHC, 3, "mean", 2}, {hyper.MHC, 2, "learned", 0}, {hyper.MHC, 4, "learned", 1},
		{hyper.MHCLite, 4, "mean", 0}, {hyper.MHCLite, 3, "learned", 2}, {hyper.MHCLite, 2, "mean", 0},
		{hyper.HC, 4, "mean", 0}, {hyper.HC, 3, "sum", 0}, {hyper.HC, 4, "sum", 0}, {hyper.HC, 2, "learned", 0},
		{hyper.Residual, 1, "sum", 0},
	}
	for _, c := range cases {
		for _, init := range []hyper.UpcycleInit{hyper.UpcycleSymmetric, hyper.UpcycleSplit} {
			for _, std := range []float32{0.02, 0.5} {
				for _, tie := range []bool{false, true} {
					name := fmt.Sprintf("%s n=%d %s res_bias=%g %s std=%g tie=%v", c.kind, c.n, c.contract, c.resBias, init, std, tie)
					src := upSource(t, std, tie)
					u := hyper.Upcycle{Init: init, Split: 0.6}
					m, err := UpcycleModel(src, conn(c.kind, c.n, c.contract, c.resBias), u, 1)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					diff, maxAbs := CompareLogits(src, m, 3, 5)
					if diff > 1e-5*math.Max(1, maxAbs) || maxAbs == 0 {
						t.Errorf("%s: max |Δlogit| = %.3g (max |logit| %.3g)", name, diff, maxAbs)
					}
				}
			}
		}
	}
}

// The noise init changes the function by a small amount that scales with
// the gate: it does break it (else it would be the symmetric init), and a
// 10× smaller gate gives about a 10× smaller change.
func TestUpcycleNoiseTolerance(t *testing.T) {
	for _, kind := range []hyper.Kind{hyper.MHC, hyper.MHCLite, hyper.HC} {
		src := upSource(t, 0.5, false)
		var diffs []float64
		for _, noise := range []float64{1e-2, 1e-3} {
			m, err := UpcycleModel(src, conn(kind, 4, "mean", 0), hyper.Upcycle{Init: hyper.UpcycleNoise, Noise: noise, Seed: 3}, 1)
			if err != nil {
				t.Fatal(err)
			}
			d, maxAbs := CompareLogits(src, m, 3, 5)
			diffs = append(diffs, d/math.Max(1, maxAbs))
		}
		if !(diffs[0] > 1e-5) || !(diffs[1] < diffs[0]/4) || !(diffs[1] < 1e-2) {
			t.Errorf("%s: relative |Δlogit| %.3g at noise 1e-2, %.3g at 1e-3", kind, diffs[0], diffs[1])
		}
	}
}

// Inputs the conversion refuses, each with the field it names.
func TestUpcycleModelRefuses(t *testing.T) {
	src := upSource(t, 0.02, false)
	u := hyper.DefaultUpcycle()
	cases := []struct {
		conn  hyper.Config
		u     hyper.Upcycle
		field string
	}{
		{conn(hyper.MHC, 4, "sum", 0), u, "contract"},
		{conn(hyper.MHCLite, 3, "sum", 0), u, "contract"},
		{conn(hyper.MHC, 1, "mean", 0), u, "streams"},
		{conn(hyper.MHC, 17, "mean", 0), u, "streams"},
		{conn(hyper.MHCLite, 5, "mean", 0), u, "streams"},
		{conn("magic", 4, "mean", 0), u, "conn"},
		{conn(hyper.MHC, 4, "mean", 0), hyper.Upcycle{Init: "odd"}, "init"},
		{conn(hyper.MHC, 4, "mean", 0), hyper.Upcycle{Init: hyper.UpcycleSplit, Split: 1}, "split"},
		{conn(hyper.HC, 4, "mean", 0), hyper.Upcycle{Init: hyper.UpcycleNoise}, "noise"},
	}
	for _, c := range cases {
		_, err := UpcycleModel(src, c.conn, c.u, 1)
		var fe *hyper.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v %+v: error %v, want a hyper.FieldError for %s", c.conn, c.u, err, c.field)
		}
	}
	m, err := UpcycleModel(src, conn(hyper.MHC, 4, "mean", 0), u, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UpcycleModel(m, conn(hyper.HC, 4, "mean", 0), u, 1); !errors.Is(err, ErrNotResidual) {
		t.Errorf("upcycling an mHC model: %v, want ErrNotResidual", err)
	}
}

// streamBlocksEqual reports whether every connection's φ (mHC) has identical
// column blocks for all streams: the mark of identical streams.
func streamBlocksEqual(m *model.Model) bool {
	n, C := m.Cfg.Streams, m.Cfg.D
	for _, p := range m.Params.Tensors {
		if !strings.HasSuffix(p.Name, ".phi") {
			continue
		}
		rows := p.Numel() / (n * C)
		for r := range rows {
			row := p.Data[r*n*C : (r+1)*n*C]
			for i := 1; i < n; i++ {
				if !slices.Equal(row[:C], row[i*C:(i+1)*C]) {
					return false
				}
			}
		}
	}
	return true
}

// The symmetric init sits on the saddle: after training, φ still sees n
// identical streams. The split init leaves it.
func TestUpcycleSymmetricSaddle(t *testing.T) {
	for _, c := range []struct {
		init hyper.UpcycleInit
		want bool
	}{{hyper.UpcycleSymmetric, true}, {hyper.UpcycleSplit, false}} {
		src := upSource(t, 0.02, false)
		m, err := UpcycleModel(src, conn(hyper.MHC, 4, "mean", 0), hyper.Upcycle{Init: c.init, Split: 0.5}, 2)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(2, 3))
		toks := make([]int32, 2000)
		for i := range toks {
			toks[i] = int32(rng.IntN(m.Cfg.Vocab))
		}
		loader, err := data.NewLoader(toks, 2, m.Cfg.Seq, 1)
		if err != nil {
			t.Fatal(err)
		}
		o := DefaultOptions()
		o.Steps, o.Batch, o.Warmup, o.EvalEvery, o.GainsEvery = 5, 2, 0, 0, 0
		tr, err := NewTrainer(m, loader, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if _, err := tr.TrainStep(); err != nil {
				t.Fatal(err)
			}
		}
		if got := streamBlocksEqual(m); got != c.want {
			t.Errorf("%s: identical stream blocks in φ after 5 steps = %v, want %v", c.init, got, c.want)
		}
	}
}

// upcycleRun trains a small residual run for 3 steps on a text file.
func upcycleRun(t *testing.T) (dir, corpus string) {
	t.Helper()
	root := t.TempDir()
	corpus = filepath.Join(root, "corpus.txt")
	if err := os.WriteFile(corpus, []byte(strings.Repeat("upcycle the residual into streams; ", 300)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := model.Presets["tiny"].Config
	cfg.D, cfg.Layers, cfg.Heads, cfg.Seq, cfg.MLPHidden = 32, 2, 2, 16, 64
	o := DefaultOptions()
	o.Steps, o.Batch, o.Warmup, o.EvalEvery, o.EvalWindows = 3, 4, 1, 0, 8
	dir = filepath.Join(root, "res")
	r, err := Start(Spec{Dir: dir, Config: cfg, Options: o, Data: corpus, Tokenizer: "byte"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Train(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	return dir, corpus
}

// evalLoss is the validation loss of the checkpoint in dir.
func evalLoss(t *testing.T, dir string) float64 {
	t.Helper()
	ck, err := OpenCheckpoint(dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	d, err := LoadData(ck.State.Data, ck.Tokenizer)
	if err != nil {
		t.Fatal(err)
	}
	offs, err := data.EvalWindows(d.Val, ck.Model.Cfg.Seq, 8)
	if err != nil {
		t.Fatal(err)
	}
	T := ck.Model.Cfg.Seq
	return Evaluate(ck.Model, d.Val, offs, make([]int32, 4*T), make([]int32, 4*T))
}

// Upcycle writes a checkpoint with the source's loss, fresh optimizer state
// at step 0 and the source's data position, which Resume continues; it
// refuses an existing output directory and a non-residual source.
func TestUpcycleCheckpoint(t *testing.T) {
	src, _ := upcycleRun(t)
	want := evalLoss(t, src)
	for _, kind := range []hyper.Kind{hyper.MHC, hyper.HC, hyper.MHCLite} {
		out := filepath.Join(t.TempDir(), "up")
		rec, err := Upcycle(UpcycleSpec{From: src, To: out, Conn: hyper.Config{Kind: kind, Streams: 4},
			Init: hyper.DefaultUpcycle(), Steps: 5, Warmup: -1})
		if err != nil {
			t.Fatal(err)
		}
		if rec.FromStep != 3 || rec.Contract != "mean" || rec.MaxLogitDiff > 1e-5*math.Max(1, rec.MaxLogit) {
			t.Errorf("%s: record %+v", kind, rec)
		}
		if got := evalLoss(t, out); math.Abs(got-want) > 1e-5*want {
			t.Errorf("%s: upcycled loss %.7f, source %.7f", kind, got, want)
		}
		st, err := ReadState(out)
		if err != nil {
			t.Fatal(err)
		}
		sst, _ := ReadState(src)
		if st.Step != 0 || st.TokensSeen != sst.TokensSeen || string(st.Loader) != string(sst.Loader) ||
			st.Options.Steps != 5 || st.Options.Warmup != sst.Options.Warmup || st.Data != sst.Data {
			t.Errorf("%s: state %+v (source %+v)", kind, st, sst)
		}
		r, err := Resume(out, Continue{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Trainer().Opt.Step != 0 || slices.ContainsFunc(r.Trainer().Opt.M, func(v float32) bool { return v != 0 }) {
			t.Errorf("%s: optimizer moments not fresh", kind)
		}
		if err := r.Train(context.Background(), Hooks{}); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if st, _ := ReadState(out); st.Step != 5 || st.TokensSeen != sst.TokensSeen+5*4*16 {
			t.Errorf("%s: after resuming: step %d, tokens %d", kind, st.Step, st.TokensSeen)
		}
		if _, err := Upcycle(UpcycleSpec{From: src, To: out, Conn: hyper.Config{Kind: kind, Streams: 4}, Init: hyper.DefaultUpcycle()}); err == nil || !strings.Contains(err.Error(), "exists") {
			t.Errorf("%s: upcycling into an existing directory: %v", kind, err)
		}
		if _, err := Upcycle(UpcycleSpec{From: out, To: out + "2", Conn: hyper.Config{Kind: kind, Streams: 4}, Init: hyper.DefaultUpcycle()}); !errors.Is(err, ErrNotResidual) {
			t.Errorf("%s: upcycling an upcycled run: %v, want ErrNotResidual", kind, err)
		}
	}
}

// streamSpread is max_i ‖x_i − x̄‖ / ‖x̄‖ over the n streams of x (n, C).
func streamSpread(x []float32, n int) float64 {
	C := len(x) / n
	mean := make([]float64, C)
	for i := range n {
		for c := range C {
			mean[c] += float64(x[i*C+c]) / float64(n)
		}
	}
	var norm, worst float64
	for c := range C {
		norm += mean[c] * mean[c]
	}
	for i := range n {
		var d float64
		for c := range C {
			e := float64(x[i*C+c]) - mean[c]
			d += e * e
		}
		worst = math.Max(worst, d)
	}
	return math.Sqrt(worst / norm)
}

// At step 0 the symmetric init carries n identical streams at the top of
// the network; split carries different streams whose mean is the residual
// state (seen through the Decoder's Streams).
func TestUpcycleStreams(t *testing.T) {
	for _, c := range []struct {
		init      hyper.UpcycleInit
		identical bool
	}{{hyper.UpcycleSymmetric, true}, {hyper.UpcycleSplit, false}} {
		for _, kind := range []hyper.Kind{hyper.MHC, hyper.HC} {
			m, err := UpcycleModel(upSource(t, 0.5, false), conn(kind, 4, "mean", 0), hyper.Upcycle{Init: c.init, Split: 0.5}, 1)
			if err != nil {
				t.Fatal(err)
			}
			d := model.NewDecoder(m)
			d.Prefill([]int32{1, 2})
			d.Step(3)
			spread := streamSpread(d.Streams(), 4)
			if c.identical && spread != 0 || !c.identical && spread < 0.01 {
				t.Errorf("%s %s: stream spread %.3g at the top", kind, c.init, spread)
			}
		}
	}
}
