//go:build !amd64

package kernels

// panelCopy is panelCopyGo on architectures without assembly.
func panelCopy(dst, src *float32, rows, lds, w, npanels, ps int) {
	panelCopyGo(dst, src, rows, lds, w, npanels, ps)
}
