//go:build !amd64 || purego

package kernels

// projFor returns the projection loops of the path called name: none (the
// Go code) everywhere but amd64 without purego.
func projFor(name string) *projKernels { return nil }
