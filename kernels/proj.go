package kernels

import "fmt"

// Skinny projection kernels of the hyper-connection coefficients: the
// φ projection p_t = φ·x_t of every token (φ: [P, nc], P ≤ ProjMaxOut
// outputs, nc = n·C inputs) and its two backward products, dx_t += dp_tᵀ·φ
// and dφ += Σ_t dp_t ⊗ x_t. As GEMMs these shapes (N = 24 or K = 24) spend
// as much time packing x as multiplying; these loops read x in place, once,
// with φ (or φᵀ) streaming from L1/L2:
//
//   - ProjForward: four tokens at a time, per input k one broadcast of
//     x_t[k] and one FMA per vector of outputs (16 in zmm, 8 in ymm)
//     against the row k of φᵀ (packed once per call by ProjPackT, zero
//     padded to ProjMaxOut columns);
//   - ProjBackX: per 16-column chunk of a few tokens' rows (8 in zmm, 4 in
//     ymm), dx_t chunk + cs_t·x_t chunk + Σ_j dp_t[j]·φ_j chunk, φ_j chunk
//     loaded once for the tokens (the RMS term of the coefficients'
//     backward rides along);
//   - ProjBackPhi: per 16-column chunk, the chunks of a few tokens' rows in
//     registers (8 in zmm, 4 in ymm) and per output j one accumulator dφ_j
//     chunk += Σ_t dp_t[j]·x_t chunk, tokens in order.
//
// Every element is a sequential sum in a fixed order (k ascending; j
// ascending after the cs term; t ascending) whichever path runs it and
// however the tokens are grouped, so results depend only on the inputs
// (the AVX-512F and AVX2 loops, both one FMA per term, give the same bits;
// the Go twin rounds products separately and agrees up to rounding): a
// caller that splits tokens by problem size (ParallelChunks) and reduces
// per-chunk dφ partials in chunk order is bit-identical for any GOMAXPROCS.
// Paths without these loops (ProjFast false) are better served by GEMM; the
// Go code is the twin the assembly is checked against.

// ProjMaxOut is the most outputs (rows of φ) the projection kernels take.
const ProjMaxOut = 32

// projKernels is one kernel path's set of projection loops; a nil set (or
// loop) runs the Go code. Token counts given to the loops are multiples of
// projTok (fwd) or projTokPhi (backX, backPhi), column counts multiples of
// projBlk; the Go code finishes the tails.
type projKernels struct {
	impl    string
	fwd     func(out *float32, ldo int, x *float32, ldx, t int, phiT *float32, nc, p int)
	backX   func(dx, x, cs *float32, ldx int, dp *float32, ldp, t int, phi *float32, ldphi, p, c int)
	backPhi func(dphi *float32, ldphi int, dp *float32, ldp int, x *float32, ldx, t, p, c, acc int)
}

const (
	projTok    = 4  // tokens per group of fwd
	projTokPhi = 8  // tokens per group of backX and backPhi
	projBlk    = 16 // columns per chunk of backX and backPhi
)

// projs returns the active row's projection loops, or nil.
func projs() *projKernels { return curPath.Load().proj }

// ProjFast reports whether the active path has SIMD projection loops. When
// it is false the Go loops run, and one GEMM over all tokens is faster.
func ProjFast() bool { return projs() != nil }

// ProjPath reports the instruction set of the active path's projection
// loops: "avx512", "avx2" or "generic".
func ProjPath() string {
	if k := projs(); k != nil {
		return k.impl
	}
	return pathGeneric
}

// ProjPackT OVERWRITES dst[k·ProjMaxOut + j] with φ[j·nc + k] for k < nc,
// j < p, and with 0 for p ≤ j < ProjMaxOut: φᵀ for ProjForward.
func ProjPackT(dst, phi []float32, p, nc int) {
	checkProj(p, nc)
	if len(dst) < nc*ProjMaxOut || len(phi) < p*nc {
		panic(fmt.Sprintf("kernels: ProjPackT: dst %d (want ≥ %d), phi %d (want ≥ %d)", len(dst), nc*ProjMaxOut, len(phi), p*nc))
	}
	for k := range nc {
		row := dst[k*ProjMaxOut : (k+1)*ProjMaxOut]
		for j := range p {
			row[j] = phi[j*nc+k]
		}
		clear(row[p:])
	}
}

func checkProj(p, nc int) {
	if p < 1 || p > ProjMaxOut || nc < 0 {
		panic(fmt.Sprintf("kernels: projection with %d outputs (want 1..%d), %d inputs", p, ProjMaxOut, nc))
	}
}

// checkRows panics unless rows t < T of a matrix with stride ld and width w
// fit in a slice of length n.
func checkRows(name string, n, T, ld, w int) {
	if T > 0 && w > 0 && (ld < w || n < (T-1)*ld+w) {
		panic(fmt.Sprintf("kernels: %s: %d rows of %d at stride %d do not fit %d floats", name, T, w, ld, n))
	}
}

// ProjForward OVERWRITES out[t·ldo + j] (t < T, j < p) with
// Σ_k x[t·ldx + k]·φ[j, k] (k < nc, in order), φ given as ProjPackT's φᵀ.
func ProjForward(out []float32, ldo int, x []float32, ldx, T int, phiT []float32, p, nc int) {
	checkProj(p, nc)
	checkRows("ProjForward out", len(out), T, ldo, p)
	checkRows("ProjForward x", len(x), T, ldx, nc)
	if len(phiT) < nc*ProjMaxOut {
		panic(fmt.Sprintf("kernels: ProjForward: phiT %d (want ≥ %d)", len(phiT), nc*ProjMaxOut))
	}
	projForwardWith(projs(), out, ldo, x, ldx, T, phiT, p, nc)
}

// projForwardWith is ProjForward with the loops k (nil: Go only).
func projForwardWith(k *projKernels, out []float32, ldo int, x []float32, ldx, T int, phiT []float32, p, nc int) {
	t0 := 0
	if k != nil && k.fwd != nil && nc > 0 {
		if t0 = T / projTok * projTok; t0 > 0 {
			k.fwd(&out[0], ldo, &x[0], ldx, t0, &phiT[0], nc, p)
		}
	}
	projForwardGo(out, ldo, x, ldx, t0, T, phiT, p, nc)
}

func projForwardGo(out []float32, ldo int, x []float32, ldx, t0, T int, phiT []float32, p, nc int) {
	var acc [ProjMaxOut]float32
	for t := t0; t < T; t++ {
		clear(acc[:])
		xt := x[t*ldx : t*ldx+nc]
		for k, v := range xt {
			row := phiT[k*ProjMaxOut : k*ProjMaxOut+p]
			for j, f := range row {
				acc[j] += v * f
			}
		}
		copy(out[t*ldo:t*ldo+p], acc[:p])
	}
}

// ProjBackX ACCUMULATES, for t < T and k < nc,
//
//	dx[t·ldx + k] += cs[t]·x[t·ldx + k] + Σ_j dp[t·ldp + j]·φ[j·ldphi + k]
//
// summed left to right (the cs term first, then j ascending). With cs nil
// the cs term is left out (x is not read). A row stride ldphi that is not
// a multiple of 1024 floats (e.g. nc + 16) keeps the rows of φ out of one
// L1 set.
func ProjBackX(dx, x, cs []float32, ldx int, dp []float32, ldp, T int, phi []float32, ldphi, p, nc int) {
	checkProj(p, nc)
	checkRows("ProjBackX dx", len(dx), T, ldx, nc)
	checkRows("ProjBackX dp", len(dp), T, ldp, p)
	checkRows("ProjBackX phi", len(phi), p, ldphi, nc)
	if cs != nil {
		checkRows("ProjBackX x", len(x), T, ldx, nc)
		if len(cs) < T {
			panic(fmt.Sprintf("kernels: ProjBackX: cs %d (want ≥ %d)", len(cs), T))
		}
	}
	projBackXWith(projs(), dx, x, cs, ldx, dp, ldp, T, phi, ldphi, p, nc)
}

// projBackXWith is ProjBackX with the loops k (nil: Go only).
func projBackXWith(k *projKernels, dx, x, cs []float32, ldx int, dp []float32, ldp, T int, phi []float32, ldphi, p, nc int) {
	c0, t0 := 0, 0
	if k != nil && k.backX != nil && cs != nil {
		c0, t0 = nc/projBlk*projBlk, T/projTokPhi*projTokPhi
		if c0 > 0 && t0 > 0 {
			k.backX(&dx[0], &x[0], &cs[0], ldx, &dp[0], ldp, t0, &phi[0], ldphi, p, c0)
		} else {
			c0, t0 = 0, 0
		}
	}
	// Go: columns [c0, nc) of tokens [0, t0), all columns of tokens [t0, T).
	projBackXGo(dx, x, cs, ldx, dp, ldp, 0, t0, c0, nc, phi, ldphi, p, nc)
	projBackXGo(dx, x, cs, ldx, dp, ldp, t0, T, 0, nc, phi, ldphi, p, nc)
}

func projBackXGo(dx, x, cs []float32, ldx int, dp []float32, ldp, t0, t1, k0, k1 int, phi []float32, ldphi, p, nc int) {
	for t := t0; t < t1; t++ {
		d := dx[t*ldx : t*ldx+nc]
		g := dp[t*ldp : t*ldp+p]
		for k := k0; k < k1; k++ {
			a := d[k]
			if cs != nil {
				a += cs[t] * x[t*ldx+k]
			}
			for j, gj := range g {
				a += gj * phi[j*ldphi+k]
			}
			d[k] = a
		}
	}
}

// ProjBackPhi computes, for j < p and k < nc,
//
//	dphi[j·ldphi + k] = Σ_t dp[t·ldp + j]·x[t·ldx + k]                  (acc false)
//	dphi[j·ldphi + k] = dphi[j·ldphi + k] + Σ_t dp[t·ldp + j]·x[t·ldx + k] (acc true)
//
// summed over t < T in order (acc false with T = 0 writes zeros). As for
// ProjBackX, ldphi should not be a multiple of 1024 floats.
func ProjBackPhi(dphi []float32, ldphi int, dp []float32, ldp int, x []float32, ldx, T, p, nc int, acc bool) {
	checkProj(p, nc)
	checkRows("ProjBackPhi dphi", len(dphi), p, ldphi, nc)
	checkRows("ProjBackPhi dp", len(dp), T, ldp, p)
	checkRows("ProjBackPhi x", len(x), T, ldx, nc)
	projBackPhiWith(projs(), dphi, ldphi, dp, ldp, x, ldx, T, p, nc, acc)
}

// projBackPhiWith is ProjBackPhi with the loops k (nil: Go only).
func projBackPhiWith(k *projKernels, dphi []float32, ldphi int, dp []float32, ldp int, x []float32, ldx, T, p, nc int, acc bool) {
	c0, t0 := 0, 0
	if k != nil && k.backPhi != nil {
		c0, t0 = nc/projBlk*projBlk, T/projTokPhi*projTokPhi
		if c0 > 0 && t0 > 0 {
			a := 0
			if acc {
				a = 1
			}
			k.backPhi(&dphi[0], ldphi, &dp[0], ldp, &x[0], ldx, t0, p, c0, a)
		} else {
			c0, t0 = 0, 0
		}
	}
	// Go: columns [c0, nc) of all tokens, then tokens [t0, T) of columns
	// [0, c0) (which the loop above has summed tokens [0, t0) into).
	projBackPhiGo(dphi, ldphi, dp, ldp, x, ldx, 0, T, p, c0, nc, acc)
	projBackPhiGo(dphi, ldphi, dp, ldp, x, ldx, t0, T, p, 0, c0, acc || t0 > 0)
}

func projBackPhiGo(dphi []float32, ldphi int, dp []float32, ldp int, x []float32, ldx, t0, t1, p, k0, k1 int, acc bool) {
	if k0 >= k1 {
		return
	}
	for j := range p {
		d := dphi[j*ldphi+k0 : j*ldphi+k1]
		if !acc {
			clear(d)
		}
		for t := t0; t < t1; t++ {
			g := dp[t*ldp+j]
			xt := x[t*ldx+k0 : t*ldx+k1]
			for k, v := range xt {
				d[k] += g * v
			}
		}
	}
}

// checkProjPath compares every loop of p's projection set with its Go twin
// on small odd problems and returns the first disagreement beyond
// selfCheckTol.
func checkProjPath(p *kernelPath) (err error) {
	k := p.proj
	if k == nil {
		return nil
	}
	kernel := "proj"
	defer func() {
		if r := recover(); r != nil {
			err = &checkError{path: p.name, kernel: kernel, panicked: r}
		}
	}()
	for _, s := range [][3]int{{9, 24, 37}, {13, 32, 70}, {5, 7, 16}, {17, 17, 33}, {8, 15, 48}} {
		T, P, nc := s[0], s[1], s[2]
		kernel = "proj"
		if e := projTwin(k, T, P, nc); !(e <= selfCheckTol) {
			return &checkError{path: p.name, kernel: kernel, relErr: e}
		}
	}
	return nil
}

// projTwin runs k's loops and the Go ones on one deterministic problem and
// returns the largest relative difference of the outputs.
func projTwin(k *projKernels, T, P, nc int) float64 {
	ld := nc + 3
	x := checkMatrix(T, nc, ld, uint32(T*7+nc))
	phi := checkMatrix(P, nc, nc, uint32(P*5+nc))
	dp := checkMatrix(T, P, P+1, uint32(T+P))
	cs := checkMatrix(1, T, T, uint32(T*3))
	phiT := make([]float32, nc*ProjMaxOut)
	ProjPackT(phiT, phi, P, nc)
	worst := 0.0
	got, want := checkMatrix(T, P, P+2, 1), checkMatrix(T, P, P+2, 1)
	projForwardWith(k, got, P+2, x, ld, T, phiT, P, nc)
	projForwardWith(nil, want, P+2, x, ld, T, phiT, P, nc)
	worst = max(worst, relDiff(got, want))
	got = checkMatrix(T, nc, ld, 2)
	want = append([]float32(nil), got...)
	projBackXWith(k, got, x, cs, ld, dp, P+1, T, phi, nc, P, nc)
	projBackXWith(nil, want, x, cs, ld, dp, P+1, T, phi, nc, P, nc)
	worst = max(worst, relDiff(got, want))
	for _, acc := range []bool{false, true} {
		got = checkMatrix(P, nc, ld, 3)
		want = append([]float32(nil), got...)
		projBackPhiWith(k, got, ld, dp, P+1, x, ld, T, P, nc, acc)
		projBackPhiWith(nil, want, ld, dp, P+1, x, ld, T, P, nc, acc)
		worst = max(worst, relDiff(got, want))
	}
	return worst
}
