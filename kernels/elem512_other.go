//go:build amd64 && purego

package kernels

// avx512Vec is the avx512 row's vector set: the portable loops in purego
// builds (no assembly).
var avx512Vec = goVec
