package kernels

import "golang.org/x/sys/cpu"

// archPaths returns the assembly rows of the dispatch table this CPU and OS
// support, best first. x/sys/cpu only reports AVX2/AVX-512 when the OS saves
// the ymm/zmm state. The avx512 row's vector set is avx512Vec (the AVX2
// loops with the exp-based ones in AVX-512F) when the CPU has AVX2 and FMA,
// as every AVX-512 CPU does; otherwise the portable loops.
func archPaths() []*kernelPath {
	var ps []*kernelPath
	hasAVX2 := cpu.X86.HasAVX2 && cpu.X86.HasFMA
	if cpu.X86.HasAVX512F {
		v := goVec
		if hasAVX2 {
			v = avx512Vec
		}
		ps = append(ps, newPath(pathAVX512, &avx512Kernel, v))
	}
	if hasAVX2 {
		ps = append(ps, newPath(pathAVX2, &avx2Kernel, avx2Vec))
	}
	return ps
}
