package kernels

// Assembly micro-kernels (gemm_amd64.s); see kernelFunc for the contract.
//
//go:noescape
func sgemmKernelAVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int)

//go:noescape
func sgemmKernelAVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int)

// Peak FMA loops (peak_amd64.s): iters iterations of 12 independent
// vector FMAs (8 lanes for AVX2, 16 for AVX-512).
func peakFMAAVX2(iters int)
func peakFMAAVX512(iters int)

// avx2Kernel: 6×16 tile (12 ymm accumulators). The B micro-panel
// (kc×16×4 B = 16 KiB) stays in L1, the A block (mc×kc×4 B = 144 KiB) in L2,
// the B block (kc×nc) in L3.
var avx2Kernel = gemmKernel{
	name: pathAVX2, mr: 6, nr: 16, kc: 256, mc: 144, nc: 4080,
	fn: sgemmKernelAVX2, fnRowA: sgemmKernelAVX2RowA, peak: peakFMAAVX2, peakFlops: 12 * 8 * 2,
}

// avx512Kernel: 12×32 tile (24 zmm accumulators, 2 B and 2 A-broadcast
// registers: 14 loads per 24 FMAs). kc is smaller so the 32-wide B
// micro-panel (24 KiB) fits L1. The driver is also tested with this blocking
// through a Go micro-kernel (TestGEMMDriverBlocking), so machines without
// AVX-512 cover its packing; TestGEMMReference runs the assembly where
// AVX-512F is present, and the self-check (selfcheck.go) compares it with the
// generic kernel before the avx512 path is used. Like the AVX2 kernel it
// has a row-A twin for full tiles of a non-transposed A (gemmCtx.rowA), and
// a column-A twin for full tiles of a transposed A (gemmCtx.colA), checked
// bit for bit against the packed kernel by TestGEMMRowAKernels.
var avx512Kernel = gemmKernel{
	name: pathAVX512, mr: 12, nr: 32, kc: 192, mc: 192, nc: 4064,
	fn: sgemmKernelAVX512, fnRowA: sgemmKernelAVX512RowA, fnColA: sgemmKernelAVX512ColA,
	peak: peakFMAAVX512, peakFlops: 12 * 16 * 2,
}

// panelCopy: for r < rows, q < npanels, copy w floats from src[r*lds+q*w]
// to dst[r*w+q*ps] (gemm_pack_amd64.s). The caller checks the bounds.
//
//go:noescape
func panelCopy(dst, src *float32, rows, lds, w, npanels, ps int)

// packT4: dst[p*w+j] = src[j*ld+p] for j < w, p < kc, with w a positive
// multiple of 4 (gemm_pack_amd64.s). The caller checks the bounds.
//
//go:noescape
func packT4(dst, src *float32, ld, kc, w int)

// sgemmKernelAVX2RowA is sgemmKernelAVX2 reading A unpacked from row-major
// storage (element (r, p) at a[r*lda+p]); see rowAKernelFunc.
//
//go:noescape
func sgemmKernelAVX2RowA(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int, lda int)

// sgemmKernelAVX512RowA is sgemmKernelAVX512 reading A unpacked from
// row-major storage (element (r, p) at a[r*lda+p]); see rowAKernelFunc.
//
//go:noescape
func sgemmKernelAVX512RowA(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int, lda int)

// sgemmKernelAVX512ColA is sgemmKernelAVX512 reading A unpacked from a
// transposed store (element (r, p) at a[p*lda+r]: each k-step's 12 values
// are contiguous); see gemmKernel.fnColA.
//
//go:noescape
func sgemmKernelAVX512ColA(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int, lda int)
