package dist

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkAllReduce times the gradient all-reduce (SyncGrads) of float32
// buffers from 1 KiB to 16 MiB, to fit the α–β model of docs/DISTRIBUTED.md.
// It runs only under an MPI launcher:
//
//	go test -c -o /tmp/dist.test ./dist
//	mpirun --allow-run-as-root -np 2 /tmp/dist.test -test.run '^$' -test.bench AllReduce -test.benchtime 100x
//
// (a fixed iteration count: every rank must make the same number of calls)
func BenchmarkAllReduce(b *testing.B) {
	if Launched() < 2 {
		b.Skip("not started by mpirun with ≥ 2 ranks")
	}
	c, err := sharedMPI()
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{256, 4 << 10, 64 << 10, 1 << 20, 4 << 20} {
		buf := make([]float32, n)
		b.Run(fmt.Sprintf("%dKiB", n*4>>10), func(b *testing.B) {
			b.SetBytes(int64(4 * n))
			for range b.N {
				if _, err := c.SyncGrads(buf, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var shared *MPI

// sharedMPI opens MPI once per process (MPI_Init may be called only once).
func sharedMPI() (*MPI, error) {
	if shared != nil {
		return shared, nil
	}
	var err error
	shared, err = Open(time.Minute)
	return shared, err
}
