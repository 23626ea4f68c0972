//go:build !amd64

package kernels

// panelCopy is panelCopyGo on architectures without assembly.
func panelCopy(dst, src *float32, rows, lds, w, npanels, ps int) {
	panelCopyGo(dst, src, rows, lds, w, npanels, ps)
}

// packT4 is packT4Go on architectures without assembly.
func packT4(dst, src *float32, ld, kc, w int) {
	packT4Go(dst, src, ld, kc, w)
}
