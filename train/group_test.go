package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// localGroup is an in-process Group: n goroutines meet at a barrier for every
// collective and sum contributions in rank order.
type localGroup struct {
	rank int
	sh   *localShared
}

type localShared struct {
	n             int
	mu            sync.Mutex
	cond          *sync.Cond
	arrived, gen  int
	grads         [][]float32
	losses        []float64
	stops         []bool
	digests       [][]byte
	syncs, agrees int
}

func newLocalGroup(n int) []Group {
	sh := &localShared{n: n, grads: make([][]float32, n), losses: make([]float64, n), stops: make([]bool, n), digests: make([][]byte, n)}
	sh.cond = sync.NewCond(&sh.mu)
	gs := make([]Group, n)
	for r := range gs {
		gs[r] = localGroup{r, sh}
	}
	return gs
}

func (g localGroup) Rank() int { return g.rank }
func (g localGroup) Size() int { return g.sh.n }

func (g localGroup) barrier() {
	sh := g.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	gen := sh.gen
	if sh.arrived++; sh.arrived == sh.n {
		sh.arrived, sh.gen = 0, sh.gen+1
		sh.cond.Broadcast()
		return
	}
	for gen == sh.gen {
		sh.cond.Wait()
	}
}

func (g localGroup) SyncGrads(grad []float32, loss float64) (float64, error) {
	sh := g.sh
	sh.grads[g.rank], sh.losses[g.rank] = grad, loss
	g.barrier()
	sum := make([]float32, len(grad))
	var l float64
	for r := range sh.n {
		for i, v := range sh.grads[r] {
			sum[i] += v
		}
		l += sh.losses[r]
	}
	g.barrier() // everyone has read every buffer
	copy(grad, sum)
	if g.rank == 0 {
		sh.syncs++
	}
	return l, nil
}

func (g localGroup) AnyStop(stop bool) (bool, error) {
	sh := g.sh
	sh.stops[g.rank] = stop
	g.barrier()
	any := slices.Contains(sh.stops, true)
	g.barrier()
	return any, nil
}

func (g localGroup) Agree(digest []byte, what string) error {
	sh := g.sh
	sh.digests[g.rank] = digest
	g.barrier()
	var err error
	for r := range sh.n {
		if !bytes.Equal(sh.digests[r], sh.digests[0]) {
			err = fmt.Errorf("rank %d has a different %s than rank 0", r, what)
		}
	}
	g.barrier()
	return err
}

// parallelRuns starts one run per worker of the group (same spec), trains
// each for n steps, and returns rank 0's losses and weights.
func parallelRuns(t *testing.T, spec Spec, resume bool, n int, stopAt map[int]int) ([]float64, []float32, []error) {
	t.Helper()
	gs := newLocalGroup(2)
	errs := make([]error, len(gs))
	var losses []float64
	var weights []float32
	var wg sync.WaitGroup
	for r, g := range gs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var run *Run
			var err error
			if resume {
				run, err = Resume(spec.Dir, Continue{Group: g})
			} else {
				s := spec
				s.Group = g
				run, err = Start(s)
			}
			if err != nil {
				errs[r] = err
				return
			}
			defer run.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mine []float64
			errs[r] = run.TrainSteps(ctx, n, Hooks{OnStep: func(s StepRecord) {
				mine = append(mine, s.Loss)
				if stopAt[r] == s.Step {
					cancel()
				}
			}})
			if r == 0 {
				losses, weights = mine, slices.Clone(run.Model().Params.Data)
			}
		}()
	}
	wg.Wait()
	return losses, weights, errs
}

// Two workers with Accum 1 train exactly as one process with Accum 2: the
// same losses and bit-identical weights; a cancellation seen by one worker
// stops both after the same step, rank 0 saves, and a two-worker resume
// continues exactly. Resuming with another worker count is refused.
func TestDataParallelExact(t *testing.T) {
	opts := testOptions()
	opts.Batch, opts.Accum, opts.GainsEvery = 2, 2, 3
	ref := testSpec(t, opts)
	ref.Config.Kind, ref.Config.Streams = hyper.MHC, 4
	r, err := Start(ref)
	if err != nil {
		t.Fatal(err)
	}
	want := train(t, r, 100, nil)
	wantW := slices.Clone(r.Model().Params.Data)
	r.Close()

	spec := ref
	spec.Dir = filepath.Join(t.TempDir(), "dp")
	spec.Options.Accum = 1
	got, w, errs := parallelRuns(t, spec, false, 100, nil)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || !slices.Equal(w, wantW) {
		t.Fatalf("2 workers × accum 1 differ from 1 process × accum 2:\n got %v\nwant %v", got, want)
	}
	lg, err := ReadMetrics(spec.Dir)
	if err != nil || len(lg.Steps) != opts.Steps || lg.Steps[0].Tokens != int64(2*opts.Batch*spec.Config.Seq) {
		t.Fatalf("rank 0 metrics: %v %+v", err, lg.Steps)
	}

	// Worker 1 alone is cancelled after step 3: both stop there.
	spec.Dir = filepath.Join(t.TempDir(), "dp-stop")
	first, _, errs := parallelRuns(t, spec, false, 100, map[int]int{1: 3})
	for r, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("rank %d: %v, want cancelled", r, err)
		}
	}
	if len(first) != 3 {
		t.Fatalf("rank 0 did %d steps, want 3", len(first))
	}
	rest, w, errs := parallelRuns(t, spec, true, 100, nil)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := append(first, rest...); !slices.Equal(got, want) || !slices.Equal(w, wantW) {
		t.Fatalf("stopped and resumed on 2 workers:\n got %v\nwant %v", got, want)
	}
	if _, err := Resume(spec.Dir, Continue{Steps: opts.Steps + 2}); err == nil {
		t.Fatal("a 2-worker run resumed in one process")
	}
}

// Workers that disagree (here: on the seed) refuse to start, naming what.
func TestDataParallelDisagree(t *testing.T) {
	opts := testOptions()
	spec := testSpec(t, opts)
	gs := newLocalGroup(2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for r, g := range gs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := spec
			s.Group, s.Options.Seed = g, uint64(1+r)
			if s.Dir = filepath.Join(spec.Dir, fmt.Sprint(r)); true {
				_, errs[r] = Start(s)
			}
		}()
	}
	wg.Wait()
	for r, err := range errs {
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte("training options")) {
			t.Errorf("rank %d: %v", r, err)
		}
	}
}

// faultyNet poisons one gradient element on chosen ForwardBackward calls.
type faultyNet struct {
	*model.Model
	calls int
	bad   func(call int) bool
}

func (f *faultyNet) ForwardBackward(in, tg []int32, B, T int, scale float32) float64 {
	loss := f.Model.ForwardBackward(in, tg, B, T, scale)
	f.calls++
	if f.bad(f.calls) {
		p := f.Params.Get("blocks.1.mlp.down.weight")
		p.Grad[3] = float32(math.NaN())
	}
	return loss
}

// A non-finite gradient at step k skips the update: the weights and moments
// of step k−1 stay, the record names the tensor, training goes on; more than
// MaxBadSteps in a row stop the run with ErrDiverged and no checkpoint.
func TestNonFiniteGuard(t *testing.T) {
	opts := testOptions()
	opts.Accum, opts.MaxBadSteps = 2, 2
	tr := newRun(t, opts)
	m := tr.Net.(*model.Model)
	fn := &faultyNet{Model: m, bad: func(call int) bool { return call == 5 }} // step 3, second micro-batch
	tr.Net = fn
	trainSteps(t, tr, 2)
	w2, m2 := slices.Clone(m.Params.Data), slices.Clone(tr.Opt.M)
	r, err := tr.TrainStep()
	if err != nil || !r.Skipped || r.NonFinite != "blocks.1.mlp.down.weight" || r.Step != 3 {
		t.Fatalf("step 3: %+v, %v", r, err)
	}
	if !slices.Equal(w2, m.Params.Data) || !slices.Equal(m2, tr.Opt.M) || tr.Opt.Step != 2 {
		t.Fatal("a skipped step changed the weights or moments")
	}
	if r, err := tr.TrainStep(); err != nil || r.Skipped || slices.Equal(w2, m.Params.Data) {
		t.Fatalf("step 4 after the fault: %+v, %v", r, err)
	}

	// A lasting fault: steps 5, 6 skipped, step 7 stops the run; the
	// checkpoint on disk stays at step 4.
	fn.bad = func(int) bool { return true }
	dir := t.TempDir()
	tr.Opts.Steps = 10
	save := func() error {
		st, err := tr.State("byte", "test")
		if err != nil {
			return err
		}
		return SaveCheckpoint(dir, m, tr.Opt, st)
	}
	if err := save(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, ModelFile))
	var skipped []int
	err = tr.Run(context.Background(), 10, nil, save, Hooks{OnStep: func(s StepRecord) {
		if s.Skipped {
			skipped = append(skipped, s.Step)
		}
	}})
	if !errors.Is(err, ErrDiverged) || !slices.Equal(skipped, []int{5, 6}) {
		t.Fatalf("lasting fault: %v, skipped %v", err, skipped)
	}
	after, _ := os.ReadFile(filepath.Join(dir, ModelFile))
	if !bytes.Equal(before, after) {
		t.Fatal("the checkpoint was overwritten after divergence")
	}
}
