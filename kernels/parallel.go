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
	t  Task
	ct ChunkTask
	// Task: the index range [lo, hi). ChunkTask: the chunks [lo, hi) of sp.
	lo, hi int
	sp     split
}

func (j job) run() {
	if j.ct == nil {
		j.t.Run(j.lo, j.hi)
		return
	}
	for c := j.lo; c < j.hi; c++ {
		lo, hi := j.sp.bounds(c)
		j.ct.RunChunk(c, lo, hi)
	}
}

// split cuts [0, n) into parts contiguous ranges of whole grains (the last
// may be short), sizes differing by at most one grain.
type split struct{ n, grain, parts int }

func newSplit(n, grain, maxParts int) split {
	units := (n + grain - 1) / grain
	return split{n, grain, max(1, min(units, maxParts))}
}

func (s split) bounds(i int) (lo, hi int) {
	units := (s.n + s.grain - 1) / s.grain
	per, rem := units/s.parts, units%s.parts
	lo = i*per + min(i, rem)
	hi = lo + per
	if i < rem {
		hi++
	}
	return min(lo*s.grain, s.n), min(hi*s.grain, s.n)
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

// ParallelChunks is ParallelForGrain for a ChunkTask that reduces: it cuts
// [0, n) into min(⌈n/grain⌉, MaxChunks()) chunks and returns their number;
// chunk indices are < MaxChunks(). The chunks depend only on n and grain —
// not on Workers(), nor on whether the call runs in parallel or serially (as
// it does while another goroutine runs a ParallelFor) — so per-chunk partial
// results reduced in chunk order are bit-identical on any machine and with
// any GOMAXPROCS. Workers take contiguous runs of chunks.
func ParallelChunks(n, grain int, t ChunkTask) int {
	return parallel(n, grain, job{ct: t})
}

// MaxChunks is the most chunks ParallelChunks uses: the size for per-chunk
// partial buffers. It is a constant (16), so that reductions do not depend
// on the number of workers.
func MaxChunks() int { return maxChunks }

const maxChunks = 16

func parallel(n, grain int, jb job) int {
	if n <= 0 {
		return 0
	}
	if grain < 1 {
		grain = 1
	}
	p := getPool()
	var sp split // what each worker gets: a range of indices, or of chunks
	ret := 1
	if jb.ct != nil {
		jb.sp = newSplit(n, grain, maxChunks)
		ret = jb.sp.parts
		sp = newSplit(jb.sp.parts, 1, p.workers)
	} else {
		if n < 2*grain {
			sp = split{n, grain, 1}
		} else {
			sp = newSplit(n, grain, p.workers)
		}
	}
	if sp.parts == 1 || !p.mu.TryLock() {
		jb.lo, jb.hi = 0, sp.n
		jb.run()
		return ret
	}
	defer p.mu.Unlock()
	p.wg.Add(sp.parts - 1)
	for i := 1; i < sp.parts; i++ {
		jb.lo, jb.hi = sp.bounds(i)
		p.jobs[i-1] <- jb
	}
	jb.lo, jb.hi = sp.bounds(0)
	jb.run()
	p.wg.Wait()
	return ret
}
