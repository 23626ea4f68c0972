// Package kernels provides the numerical kernels of the mhc training engine:
// a blocked, packed float32 GEMM with AVX-512 / AVX2 assembly micro-kernels and
// a pure-Go fallback, the transformer's row and elementwise kernels (softmax,
// RMSNorm, RoPE, SwiGLU, cross-entropy, AdamW, vector ops) with their
// backward passes, and a persistent worker pool (ParallelFor).
//
// Conventions: every matrix is row-major float32; buffers are owned by the
// caller and never retained; a kernel writes only the outputs it documents.
// Backward kernels state whether they overwrite or accumulate (+=) into
// their gradient outputs. Work is split statically over a fixed number of
// workers, and no reduction is split across workers in a data-dependent way,
// so results are bit-identical for the same inputs and the same GOMAXPROCS.
//
// # Dispatch
//
// One table selects every kernel. Each of its paths names a GEMM
// micro-kernel, a vector-kernel implementation and the connection loops of
// the hyper-connections:
//
//	path      GEMM micro-kernel          vector kernels                                 connection loops
//	avx512    AVX-512F, 12×32 zmm tile   AVX-512F (exp, SwiGLU, RoPE, RMSNorm, sum of    AVX-512F: Sinkhorn lanes, fused apply, φ projection
//	                                     squares, AdamW, Sinkhorn exp), else AVX2+FMA
//	avx2      AVX2+FMA, 6×16 ymm tile    AVX2+FMA assembly (incl. the Sinkhorn exp)      AVX/AVX2+FMA: Sinkhorn lanes, fused apply, φ projection
//	generic   pure Go, 4×4 tile          pure Go                                        pure Go
//
// The connection loops (ConnPath, ProjPath) are the Sinkhorn-Knopp
// iteration over SinkLanes tokens side by side and its reverse sweep
// (SinkhornSteps, SinkhornBack), the fused stream mixes and dot products of
// the read-in and write-out (ConnMix, ConnDots), and the φ projection of the
// coefficients with its two backward products (ProjForward, ProjBackX,
// ProjBackPhi: P ≤ 32 outputs, x read in place, φ or φᵀ streaming from
// cache; ProjFast reports whether the path has them — the generic path
// does not, and its callers use one GEMM over all tokens instead).
//
// At init the package takes the best path this CPU and OS can run (amd64
// only; elsewhere, and for the vector kernels in purego builds, Go code),
// or the one named by the environment variable MHC_KERNELS=generic|avx2|avx512
// (the older name MHC_GEMM is still honoured; MHC_KERNELS wins when both are
// set). MHC_KERNELS=generic makes every kernel, GEMM and vector, pure Go. An
// override naming a path this machine cannot run, or an unknown name, falls
// back to the best runnable path with one line on standard error. Path
// reports the active path (GEMMPath is the same value), VectorPath the
// instruction set of its vector kernels, Paths the runnable ones.
//
// # Self-check
//
// A path is never used blind: when it is selected (at init, or when tests
// switch paths), each of its kernels that differs from the generic one — the
// GEMM micro-kernel, run through the real GEMM driver on odd shapes that
// cover every transpose, beta = 0, 1 and other values, and more than one
// cache block in each dimension, every vector loop, on odd lengths, and
// every connection and projection loop, on odd shapes — is
// compared with its generic twin, within a relative error of 1e-5 of the
// result's magnitude (FMA and summation order make results differ in the
// last bits, so exact equality is not required). If a kernel disagrees (or
// panics), selection falls back along avx512 → avx2 → generic, logging one
// line such as
//
//	mhc kernels: avx512 gemm self-check failed (max rel err 3.1e-01); using avx2
//
// The check runs once per process per path, takes a few milliseconds (mostly
// the generic GEMM it compares with) and leaves nothing on the kernels' hot
// paths, which read the active path with one atomic load per call. SelfCheck
// returns the failures behind the active path, CheckPath the outcome for any
// runnable path.
package kernels
