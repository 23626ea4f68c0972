package kernels

import "golang.org/x/sys/cpu"

// archKernels returns the assembly kernels this CPU and OS support, best first.
// x/sys/cpu only reports AVX2/AVX-512 when the OS saves the ymm/zmm state.
func archKernels() []*gemmKernel {
	var ks []*gemmKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, &avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &avx2Kernel)
	}
	return ks
}
