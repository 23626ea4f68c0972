//go:build !amd64 || purego

package kernels

// avx2Vec is the portable set without the amd64 assembly (purego builds
// still run the GEMM assembly; their avx2 and avx512 paths use Go vector
// loops, and VectorPath reports "generic").
var avx2Vec = goVec
