package kernels

import (
	"fmt"
	"math"
)

// SinkLanes is the number of n×n Sinkhorn-Knopp problems (tokens) the
// Sinkhorn kernels process side by side: every array is lane-minor
// (structure of arrays), element e of lane l at [e·SinkLanes + l], so that
// one SIMD vector holds the same element of SinkLanes tokens (one zmm of
// float64 on avx512, two ymm on avx2).
const SinkLanes = 8

// SinkhornSteps runs steps normalisation steps of the Sinkhorn-Knopp
// iteration in scaling form for SinkLanes problems at once. Every iterate is
// X_k = diag(r_k)·M0·diag(c_k); step k normalises columns when k%2 ==
// colPar (rows otherwise):
//
//	column step: s_j = c_j·Σ_i r_i·M0[i,j] + eps, inv_j = 1/s_j, c'_j = c_j·inv_j, r' = r
//	row step:    s_i = r_i·Σ_j M0[i,j]·c_j + eps, inv_i = 1/s_i, r'_i = r_i·inv_i, c' = c
//
// (sums left to right, float64, no fused multiply-add: every path computes
// the same bits). Layout, lane-minor: m0 holds n·n elements (row-major),
// rv and cv hold steps+1 blocks of n (block 0, the initial scalings, is
// input; block k+1 is written by step k), inv holds steps blocks of n.
func SinkhornSteps(m0, rv, cv, inv []float64, n, steps, colPar int, eps float64) {
	checkSinkArgs(n, steps, m0, rv, cv, inv)
	if steps == 0 {
		return
	}
	if f := conns().sinkSteps; f != nil {
		f(&m0[0], &rv[0], &cv[0], &inv[0], n, steps, colPar, eps)
		return
	}
	sinkStepsGo(m0, rv, cv, inv, n, steps, colPar, eps)
}

// SinkhornBack sweeps g = dL/dX_steps (n·n, lane-minor) back through the
// steps of SinkhornSteps, in place, to g = dL/dM0 with M0 scaled as
// diag(r_0)·M0·diag(c_0): for step k, with Y = X_{k+1} = diag(r)·M0·diag(c)
// (the scalings after step k),
//
//	column step: a_j = c_j·Σ_i g[i,j]·r_i·M0[i,j],  g[i,j] = (g[i,j] − a_j)·inv_j
//	row step:    a_i = r_i·Σ_j g[i,j]·M0[i,j]·c_j,  g[i,j] = (g[i,j] − a_i)·inv_i
//
// rv, cv and inv are the outputs of SinkhornSteps.
func SinkhornBack(g, m0, rv, cv, inv []float64, n, steps, colPar int) {
	checkSinkArgs(n, steps, m0, rv, cv, inv)
	if len(g) < n*n*SinkLanes {
		panic("kernels: SinkhornBack: g too short")
	}
	if steps == 0 {
		return
	}
	if f := conns().sinkBack; f != nil {
		f(&g[0], &m0[0], &rv[0], &cv[0], &inv[0], n, steps, colPar)
		return
	}
	sinkBackGo(g, m0, rv, cv, inv, n, steps, colPar)
}

// sinkStepsGo is the portable SinkhornSteps.
func sinkStepsGo(m0, rv, cv, inv []float64, n, steps, colPar int, eps float64) {
	const L = SinkLanes
	nb := n * L
	for k := 0; k < steps; k++ {
		r, c := rv[k*nb:(k+1)*nb], cv[k*nb:(k+1)*nb]
		rn, cn := rv[(k+1)*nb:(k+2)*nb], cv[(k+1)*nb:(k+2)*nb]
		iv := inv[k*nb : (k+1)*nb]
		if k%2 == colPar {
			for j := 0; j < n; j++ {
				var a [L]float64
				for i := 0; i < n; i++ {
					ri := (*[L]float64)(r[i*L:])
					m := (*[L]float64)(m0[(i*n+j)*L:])
					for l := range a {
						a[l] += ri[l] * m[l]
					}
				}
				cj, ivj, cnj := (*[L]float64)(c[j*L:]), (*[L]float64)(iv[j*L:]), (*[L]float64)(cn[j*L:])
				for l := range a {
					v := 1 / (cj[l]*a[l] + eps)
					ivj[l] = v
					cnj[l] = cj[l] * v
				}
			}
			copy(rn, r)
		} else {
			for i := 0; i < n; i++ {
				var a [L]float64
				for j := 0; j < n; j++ {
					cj := (*[L]float64)(c[j*L:])
					m := (*[L]float64)(m0[(i*n+j)*L:])
					for l := range a {
						a[l] += m[l] * cj[l]
					}
				}
				ri, ivi, rni := (*[L]float64)(r[i*L:]), (*[L]float64)(iv[i*L:]), (*[L]float64)(rn[i*L:])
				for l := range a {
					v := 1 / (ri[l]*a[l] + eps)
					ivi[l] = v
					rni[l] = ri[l] * v
				}
			}
			copy(cn, c)
		}
	}
}

// sinkBackGo is the portable SinkhornBack.
func sinkBackGo(g, m0, rv, cv, inv []float64, n, steps, colPar int) {
	const L = SinkLanes
	nb := n * L
	for k := steps - 1; k >= 0; k-- {
		r, c := rv[(k+1)*nb:(k+2)*nb], cv[(k+1)*nb:(k+2)*nb]
		iv := inv[k*nb : (k+1)*nb]
		if k%2 == colPar {
			for j := 0; j < n; j++ {
				var a [L]float64
				for i := 0; i < n; i++ {
					ri := (*[L]float64)(r[i*L:])
					m := (*[L]float64)(m0[(i*n+j)*L:])
					gg := (*[L]float64)(g[(i*n+j)*L:])
					for l := range a {
						a[l] += gg[l] * ri[l] * m[l]
					}
				}
				cj, ivj := (*[L]float64)(c[j*L:]), (*[L]float64)(iv[j*L:])
				for l := range a {
					a[l] *= cj[l]
				}
				for i := 0; i < n; i++ {
					gg := (*[L]float64)(g[(i*n+j)*L:])
					for l := range a {
						gg[l] = (gg[l] - a[l]) * ivj[l]
					}
				}
			}
		} else {
			for i := 0; i < n; i++ {
				var a [L]float64
				for j := 0; j < n; j++ {
					cj := (*[L]float64)(c[j*L:])
					m := (*[L]float64)(m0[(i*n+j)*L:])
					gg := (*[L]float64)(g[(i*n+j)*L:])
					for l := range a {
						a[l] += gg[l] * m[l] * cj[l]
					}
				}
				ri, ivi := (*[L]float64)(r[i*L:]), (*[L]float64)(iv[i*L:])
				for l := range a {
					a[l] *= ri[l]
				}
				for j := 0; j < n; j++ {
					gg := (*[L]float64)(g[(i*n+j)*L:])
					for l := range a {
						gg[l] = (gg[l] - a[l]) * ivi[l]
					}
				}
			}
		}
	}
}

// SinkhornExp forms the Sinkhorn start matrices of SinkLanes problems in
// place: m holds n·n float64 values per lane, lane-minor as in
// SinkhornSteps (element (i, j) of lane l at m[(i·n+j)·SinkLanes + l]), and
// each becomes
//
//	M0[i,j] = exp(m[i,j] − max_k m[k,j])     (per lane, column maxima)
//
// so every entry is in (0, 1] and each column holds a 1 (exp(0) = 1
// exactly on every path). The generic path computes math.Exp, the bits of
// the per-token manifold code; the avx512 and avx2 paths evaluate one
// float64 polynomial exp in SIMD lanes (AVX-512F, AVX2+FMA; the same
// algorithm, faithfully rounded: error < 1 ulp, subnormal results
// included), which may differ from math.Exp in the last bit. Every path is
// deterministic. Entries below about −745 relative to their column maximum
// underflow to 0. It panics if m has fewer than n·n·SinkLanes values or
// n < 1.
func SinkhornExp(m []float64, n int) {
	if n < 1 || len(m) < n*n*SinkLanes {
		panic(fmt.Sprintf("kernels: SinkhornExp n=%d: m has %d values, want %d", n, len(m), n*n*SinkLanes))
	}
	sinkExpV(vecs(), m, n)
}

func sinkExpV(v *vecKernels, m []float64, n int) {
	if v.sinkExp != nil {
		v.sinkExp(&m[0], n)
		return
	}
	sinkExpGo(m, n)
}

// sinkExpGo is the portable SinkhornExp (math.Exp).
func sinkExpGo(m []float64, n int) {
	const L = SinkLanes
	for j := 0; j < n; j++ {
		mx := *(*[L]float64)(m[j*L:])
		for i := 1; i < n; i++ {
			for l, v := range (*[L]float64)(m[(i*n+j)*L:]) {
				if v > mx[l] {
					mx[l] = v
				}
			}
		}
		for i := 0; i < n; i++ {
			e := (*[L]float64)(m[(i*n+j)*L:])
			for l := range e {
				e[l] = math.Exp(e[l] - mx[l])
			}
		}
	}
}
