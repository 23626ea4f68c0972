package cost

// RingAllReduce is the α–β (latency–bandwidth) model of a ring all-reduce of
// bytes bytes (each worker's buffer) over workers workers, in seconds:
//
//	t = 2(N−1)/N · bytes/β + 2(N−1)·α
//
// A ring all-reduce is a reduce-scatter then an all-gather, 2(N−1) steps in
// all; in each step every worker sends and receives one 1/N-th of the
// buffer (so 2(N−1)/N · bytes per worker, RingAllReduceBytes) and pays one
// message latency. alpha is seconds per message, beta bytes per second per
// direction of each worker's link. Reduction arithmetic is not counted. With
// workers ≤ 1 or bytes ≤ 0 the cost is 0.
//
// This is the one implementation of the model in mhc: the plan command uses
// it for data-parallel scaling, and a data-parallel trainer can use it to
// predict (and compare against) its measured all-reduce time.
func RingAllReduce(bytes float64, workers int, alpha, beta float64) float64 {
	if workers <= 1 || bytes <= 0 {
		return 0
	}
	steps := 2 * float64(workers-1)
	return RingAllReduceBytes(bytes, workers)/beta + steps*alpha
}

// RingAllReduceBytes is the bytes each worker sends (and receives) in a ring
// all-reduce of bytes bytes over workers workers: 2(N−1)/N · bytes; 0 for
// workers ≤ 1.
func RingAllReduceBytes(bytes float64, workers int) float64 {
	if workers <= 1 || bytes <= 0 {
		return 0
	}
	n := float64(workers)
	return 2 * (n - 1) / n * bytes
}

// DataParallel is one step of synchronous data-parallel training on
// Workers devices: each computes 1/N of the step's tokens, then the
// gradients (every parameter, GradBytes each) are ring-all-reduced, with no
// overlap of the two.
type DataParallel struct {
	Workers    int     `json:"workers"`
	GradBytes  float64 `json:"grad_bytes"` // bytes all-reduced per step: parameters × bytes per gradient
	WireBytes  float64 `json:"wire_bytes"` // sent per worker: RingAllReduceBytes
	AllReduce  float64 `json:"allreduce_seconds"`
	Compute    float64 `json:"compute_seconds"` // single-device step / N
	Step       float64 `json:"step_seconds"`    // Compute + AllReduce
	Efficiency float64 `json:"efficiency"`      // single-device step / (N · Step)
}

// DataParallelScaling predicts a data-parallel step for each worker count
// from a single-device step time (seconds), the parameter count and bytes
// per gradient, on d's link.
func DataParallelScaling(step float64, params int64, gradBytes int, d Device, workers []int) []DataParallel {
	var out []DataParallel
	g := float64(params) * float64(gradBytes)
	for _, n := range workers {
		dp := DataParallel{Workers: n, GradBytes: g, WireBytes: RingAllReduceBytes(g, n),
			AllReduce: RingAllReduce(g, n, d.LinkLatency, d.LinkBW), Compute: step / float64(max(n, 1))}
		dp.Step = dp.Compute + dp.AllReduce
		dp.Efficiency = step / (float64(max(n, 1)) * dp.Step)
		out = append(out, dp)
	}
	return out
}
