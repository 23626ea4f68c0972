//go:build !amd64 || purego

package kernels

// connFor returns the connection loops of the path called name: the
// portable Go code everywhere but amd64 without purego.
func connFor(name string) *connKernels { return &goConn }
