//go:build amd64 && !purego

package kernels

import "unsafe"

// Connection loops in assembly (sinkhorn_amd64.s). They are plain AVX
// (avx2 path: 256-bit, 4 lanes per call, run twice per SinkLanes block) and
// AVX-512F (avx512 path: one zmm holds the 8 lanes), with separate multiply
// and add (no FMA) so that every path computes the Go loops' bits.
var (
	avx2Conn = connKernels{impl: pathAVX2, sinkSteps: sinkStepsAVX2x2, sinkBack: sinkBackAVX2x2,
		blk: 8, mix: connMixAVX2, dots: connDotsAVX2}
	avx512Conn = connKernels{impl: pathAVX512, sinkSteps: sinkStepsAVX512, sinkBack: sinkBackAVX512,
		blk: 16, mix: connMixAVX512, dots: connDotsAVX512}
)

// connFor returns the connection loops of the path called name.
func connFor(name string) *connKernels {
	switch name {
	case pathAVX512:
		return &avx512Conn
	case pathAVX2:
		return &avx2Conn
	}
	return &goConn
}

// sinkStepsAVX2x2 runs the 4-lane AVX2 loop on lanes 0–3 and 4–7.
func sinkStepsAVX2x2(m0, rv, cv, inv *float64, n, steps, colPar int, eps float64) {
	sinkStepsAVX2(m0, rv, cv, inv, n, steps, colPar, eps)
	sinkStepsAVX2(lane4(m0), lane4(rv), lane4(cv), lane4(inv), n, steps, colPar, eps)
}

func sinkBackAVX2x2(g, m0, rv, cv, inv *float64, n, steps, colPar int) {
	sinkBackAVX2(g, m0, rv, cv, inv, n, steps, colPar)
	sinkBackAVX2(lane4(g), lane4(m0), lane4(rv), lane4(cv), lane4(inv), n, steps, colPar)
}

// lane4 points at lane 4 of a lane-minor array.
func lane4(p *float64) *float64 { return (*float64)(unsafe.Add(unsafe.Pointer(p), 4*8)) }

// The assembly loops: SinkhornSteps / SinkhornBack on lane-minor arrays of
// SinkLanes lanes; the AVX2 ones touch 4 lanes from the pointers given.

//go:noescape
func sinkStepsAVX512(m0, rv, cv, inv *float64, n, steps, colPar int, eps float64)

//go:noescape
func sinkBackAVX512(dg, m0, rv, cv, inv *float64, n, steps, colPar int)

//go:noescape
func sinkStepsAVX2(m0, rv, cv, inv *float64, n, steps, colPar int, eps float64)

//go:noescape
func sinkBackAVX2(dg, m0, rv, cv, inv *float64, n, steps, colPar int)

// Fused apply loops (conn_apply_amd64.s): ConnMix / ConnDots on the first
// c elements, c a positive multiple of 16 (AVX512) or 8 (AVX2).

//go:noescape
func connMixAVX512(out **float32, m int, in **float32, k int, w *float32, c, acc int)

//go:noescape
func connDotsAVX512(d *float32, a **float32, m int, b **float32, k int, c int)

//go:noescape
func connMixAVX2(out **float32, m int, in **float32, k int, w *float32, c, acc int)

//go:noescape
func connDotsAVX2(d *float32, a **float32, m int, b **float32, k int, c int)
