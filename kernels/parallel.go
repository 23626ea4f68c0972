package kernels

import (
	"runtime"
	"sync"
)

// Task is a unit of parallel work: Run processes the half-open index range
// [lo, hi). Implementations must be safe to call concurrently on disjoint ranges.
//
// Hot paths should pass a Task that was built once (a pointer to a struct, or
// a TaskFunc stored in a field) so that ParallelFor does not allocate.
type Task interface {
	Run(lo, hi int)
}

// TaskFunc adapts an ordinary function to Task.
type TaskFunc func(lo, hi int)

// Run calls f(lo, hi).
func (f TaskFunc) Run(lo, hi int) { f(lo, hi) }

// ChunkTask is a Task that also learns which chunk it runs: chunk indices are
// 0..chunks-1 in range order, so a task can write a per-chunk partial result
// and the caller can reduce the partials in a fixed order (deterministic).
type ChunkTask interface {
	RunChunk(chunk, lo, hi int)
}

// ChunkFunc adapts an ordinary function to ChunkTask.
type ChunkFunc func(chunk, lo, hi int)

// RunChunk calls f(chunk, lo, hi).
func (f ChunkFunc) RunChunk(chunk, lo, hi int) { f(chunk, lo, hi) }

type job struct {
	t      Task
	ct     ChunkTask
	chunk  int
	lo, hi int
}

func (j job) run() {
	if j.ct != nil {
		j.ct.RunChunk(j.chunk, j.lo, j.hi)
	} else {
		j.t.Run(j.lo, j.hi)
	}
}

type pool struct {
	mu      sync.Mutex // held by the goroutine that owns the workers for one ParallelFor
	workers int
	jobs    []chan job
	wg      sync.WaitGroup
}

var (
	thePool  *pool
	poolOnce sync.Once
)

func getPool() *pool {
	poolOnce.Do(func() {
		w := runtime.GOMAXPROCS(0)
		p := &pool{workers: w}
		for i := 1; i < w; i++ {
			ch := make(chan job, 1)
			p.jobs = append(p.jobs, ch)
			go func() {
				for j := range ch {
					j.run()
					p.wg.Done()
				}
			}()
		}
		thePool = p
	})
	return thePool
}

// Workers returns the number of goroutines ParallelFor splits work over
// (GOMAXPROCS at the first call into the package).
func Workers() int { return getPool().workers }

// ParallelFor runs t over [0, n) split into at most Workers() contiguous
// chunks of near-equal size, and returns when all chunks are done. The chunk
// boundaries depend only on n and Workers(), never on timing. The calling
// goroutine runs the first chunk. A ParallelFor issued while another one is
// running (for example from inside a Task) runs serially on the caller, so
// nesting is safe. n <= 0 is a no-op.
func ParallelFor(n int, t Task) {
	ParallelForGrain(n, 1, t)
}

// ParallelForGrain is ParallelFor with chunk sizes that are multiples of grain
// (except the last), and serial execution when n < 2*grain.
func ParallelForGrain(n, grain int, t Task) {
	parallel(n, grain, job{t: t})
}

// ParallelChunks is ParallelForGrain for a ChunkTask. It returns the number of
// chunks it used (1 when it ran serially); chunk indices are < MaxChunks().
// With the same n, grain and Workers() the chunks are always the same, unless
// another goroutine is running a ParallelFor at the same moment (then this
// call runs serially as one chunk): drive parallel work from one goroutine
// when results must be bit-reproducible.
func ParallelChunks(n, grain int, t ChunkTask) int {
	return parallel(n, grain, job{ct: t})
}

// MaxChunks is the largest number of chunks ParallelChunks may use: the size
// for per-chunk partial buffers.
func MaxChunks() int { return Workers() }

func parallel(n, grain int, jb job) int {
	if n <= 0 {
		return 0
	}
	if grain < 1 {
		grain = 1
	}
	p := getPool()
	w := p.workers
	if w == 1 || n < 2*grain || !p.mu.TryLock() {
		jb.lo, jb.hi = 0, n
		jb.run()
		return 1
	}
	defer p.mu.Unlock()
	units := (n + grain - 1) / grain
	if units < w {
		w = units
	}
	per, rem := units/w, units%w
	bounds := func(i int) (int, int) {
		lo := i*per + min(i, rem)
		hi := lo + per
		if i < rem {
			hi++
		}
		return min(lo*grain, n), min(hi*grain, n)
	}
	p.wg.Add(w - 1)
	for i := 1; i < w; i++ {
		jb.chunk = i
		jb.lo, jb.hi = bounds(i)
		p.jobs[i-1] <- jb
	}
	jb.chunk = 0
	jb.lo, jb.hi = bounds(0)
	jb.run()
	p.wg.Wait()
	return w
}
