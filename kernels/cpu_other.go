//go:build !amd64

package kernels

// archPaths returns no assembly rows on architectures other than amd64.
func archPaths() []*kernelPath { return nil }
