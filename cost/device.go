package cost

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/mhc-go/mhc/kernels"
)

// Device is what the roofline and the communication model need to know of
// one accelerator (or CPU) and its network link.
type Device struct {
	Name        string  `json:"name"`
	FLOPS       float64 `json:"flops"`        // compute roof, FLOP/s
	MemBW       float64 `json:"mem_bw"`       // memory roof, bytes/s
	LinkBW      float64 `json:"link_bw"`      // β: bytes/s per direction on the data-parallel / pipeline link
	LinkLatency float64 `json:"link_latency"` // α: seconds per message
	Source      string  `json:"source"`       // where the numbers come from
}

// H200 is an NVIDIA H200 SXM: bf16 dense matmul ≈ 790 TFLOP/s as measured
// (the datasheet's 989 is not reached by real GEMMs), HBM3e 4.8 TB/s peak,
// and an InfiniBand NDR link of 400 Gb/s (50 GB/s) per GPU with α = 5 µs for
// data-parallel and pipeline traffic (NVLink inside a node: about 450 GB/s
// per direction; set LinkBW).
var H200 = Device{Name: "h200", FLOPS: 790e12, MemBW: 4.8e12, LinkBW: 50e9, LinkLatency: 5e-6,
	Source: "bf16 dense GEMM 790 TFLOP/s measured, HBM3e 4.8 TB/s peak, InfiniBand NDR 50 GB/s, α 5 µs"}

// CPU link defaults: 10 Gb/s Ethernet with MPI over TCP.
const (
	cpuLinkBW      = 1.25e9
	cpuLinkLatency = 50e-6
)

// DeviceNames are the names LookupDevice accepts.
var DeviceNames = []string{"h200", "cpu", "cpu-gemm"}

// LookupDevice returns a named device. "cpu" is this machine, measured
// (MeasureCPU: about 0.3 s the first time); "cpu-gemm" is the same with the
// compute roof lowered to the rate the GEMM reaches here (MeasureCPUGEMM),
// the CPU analogue of the H200's measured rather than datasheet FLOP/s.
func LookupDevice(name string) (Device, error) {
	switch name {
	case "h200":
		return H200, nil
	case "cpu":
		return MeasureCPU(), nil
	case "cpu-gemm":
		return MeasureCPUGEMM(), nil
	}
	return Device{}, fmt.Errorf("unknown device %q (want h200, cpu or cpu-gemm)", name)
}

// MeasureCPUGEMM is MeasureCPU with the compute roof set to the median
// rate of kernels.BenchGEMM on 512×512 products for about 0.3 s.
func MeasureCPUGEMM() Device {
	d := MeasureCPU()
	g := kernels.BenchGEMM(512, 300*time.Millisecond)
	d.Name, d.FLOPS = "cpu-gemm", g*1e9
	d.Source = fmt.Sprintf("measured: GEMM 512³ %.0f GFLOP/s (%s, %d workers), copy bandwidth %.1f GB/s; link 10 GbE",
		g, kernels.Path(), kernels.Workers(), d.MemBW/1e9)
	return d
}

var (
	cpuOnce sync.Once
	cpuDev  Device
)

// MeasureCPU returns this machine as a Device: the compute roof is
// kernels.PeakGFLOPS (the FMA peak of the active kernel path over
// kernels.Workers() cores), the memory roof MemoryBandwidth. The result is
// measured once per process.
func MeasureCPU() Device {
	cpuOnce.Do(func() {
		peak := kernels.PeakGFLOPS()
		bw := MemoryBandwidth(kernels.Workers())
		cpuDev = Device{Name: "cpu", FLOPS: peak * 1e9, MemBW: bw, LinkBW: cpuLinkBW, LinkLatency: cpuLinkLatency,
			Source: fmt.Sprintf("measured: FMA peak %.0f GFLOP/s (%s, %d workers), copy bandwidth %.1f GB/s; link 10 GbE",
				peak, kernels.Path(), kernels.Workers(), bw/1e9)}
	})
	return cpuDev
}

// bwBytes is the size of each buffer MemoryBandwidth copies between: large
// enough to leave the last-level cache.
const bwBytes = 64 << 20

// MemoryBandwidth measures the machine's memory bandwidth in bytes/s with a
// STREAM-style copy: workers goroutines (at least 1) each copy their share
// of a 64 MiB buffer into another, counting the bytes read plus the bytes
// written. It keeps the best round after a warm-up (a bandwidth is an upper
// bound, and on a shared machine the best round is the least disturbed):
// at least 5 and at most 20 rounds, stopping after about 150 ms. It
// allocates 128 MiB, released on return.
func MemoryBandwidth(workers int) float64 {
	workers = max(1, workers)
	src, dst := make([]byte, bwBytes), make([]byte, bwBytes)
	for i := range src {
		src[i] = byte(i)
	}
	chunk := bwBytes / workers
	round := func() time.Duration {
		var wg sync.WaitGroup
		start := time.Now()
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lo := w * chunk
				hi := lo + chunk
				if w == workers-1 {
					hi = bwBytes
				}
				copy(dst[lo:hi], src[lo:hi])
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	round() // warm-up: page faults of dst
	best := time.Duration(1<<63 - 1)
	start := time.Now()
	for i := 0; i < 20 && (i < 5 || time.Since(start) < 150*time.Millisecond); i++ {
		best = min(best, round())
	}
	runtime.KeepAlive(dst)
	return 2 * bwBytes / max(best.Seconds(), 1e-9)
}
