//go:build amd64 && !purego

package kernels

// Projection loops in assembly (proj_amd64.s): AVX-512F with FMA on the
// avx512 path, AVX2+FMA on the avx2 path. Both evaluate every element as
// the same FMA chain in the same order, so they give the same bits.
var (
	avx512Proj = projKernels{impl: pathAVX512, fwd: projFwdAVX512, backX: projBackXAVX512, backPhi: projBackPhiAVX512}
	avx2Proj   = projKernels{impl: pathAVX2, fwd: projFwdAVX2, backX: projBackXAVX2, backPhi: projBackPhiAVX2}
)

// projFor returns the projection loops of the path called name, or nil.
func projFor(name string) *projKernels {
	switch name {
	case pathAVX512:
		return &avx512Proj
	case pathAVX2:
		return &avx2Proj
	}
	return nil
}

// projFwdAVX512: ProjForward for t tokens, t a multiple of 4, nc ≥ 1.
//
//go:noescape
func projFwdAVX512(out *float32, ldo int, x *float32, ldx, t int, phiT *float32, nc, p int)

// projBackXAVX512: ProjBackX (with cs) for t tokens, t a multiple of 8, and
// the first c columns, c a multiple of 16.
//
//go:noescape
func projBackXAVX512(dx, x, cs *float32, ldx int, dp *float32, ldp, t int, phi *float32, ldphi, p, c int)

// projBackPhiAVX512: ProjBackPhi for t tokens, t a positive multiple of 8,
// and the first c columns, c a multiple of 16 (acc 0 or 1).
//
//go:noescape
func projBackPhiAVX512(dphi *float32, ldphi int, dp *float32, ldp int, x *float32, ldx, t, p, c, acc int)

// projFwdAVX2: ProjForward for t tokens, t a multiple of 4, nc ≥ 1.
//
//go:noescape
func projFwdAVX2(out *float32, ldo int, x *float32, ldx, t int, phiT *float32, nc, p int)

// projBackXAVX2: ProjBackX (with cs) for t tokens, t a multiple of 4, and
// the first c columns, c a multiple of 16.
//
//go:noescape
func projBackXAVX2(dx, x, cs *float32, ldx int, dp *float32, ldp, t int, phi *float32, ldphi, p, c int)

// projBackPhiAVX2: ProjBackPhi for t tokens, t a positive multiple of 4,
// and the first c columns, c a multiple of 16 (acc 0 or 1).
//
//go:noescape
func projBackPhiAVX2(dphi *float32, ldphi int, dp *float32, ldp int, x *float32, ldx, t, p, c, acc int)
