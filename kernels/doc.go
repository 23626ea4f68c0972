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
package kernels
