//go:build !amd64

package kernels

// archKernels returns no assembly kernels on architectures other than amd64.
func archKernels() []*gemmKernel { return nil }
