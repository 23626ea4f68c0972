package manifold

// Unrolled n = 4 versions of the four step kernels (n = 4 is the paper's
// and DeepSeek-V4's stream count; unrolling makes the iteration about 1.7×
// faster). They evaluate the same expressions in the same order as the
// generic kernels; TestSteps4MatchGeneric checks agreement to rounding.

func colStep4(cn, inv, m0, r, c []float64, eps float64) {
	m := (*[16]float64)(m0)
	rr := (*[4]float64)(r)
	cc := (*[4]float64)(c)
	a0 := rr[0]*m[0] + rr[1]*m[4] + rr[2]*m[8] + rr[3]*m[12]
	a1 := rr[0]*m[1] + rr[1]*m[5] + rr[2]*m[9] + rr[3]*m[13]
	a2 := rr[0]*m[2] + rr[1]*m[6] + rr[2]*m[10] + rr[3]*m[14]
	a3 := rr[0]*m[3] + rr[1]*m[7] + rr[2]*m[11] + rr[3]*m[15]
	iv := (*[4]float64)(inv)
	iv[0] = 1 / (cc[0]*a0 + eps)
	iv[1] = 1 / (cc[1]*a1 + eps)
	iv[2] = 1 / (cc[2]*a2 + eps)
	iv[3] = 1 / (cc[3]*a3 + eps)
	o := (*[4]float64)(cn)
	o[0], o[1], o[2], o[3] = cc[0]*iv[0], cc[1]*iv[1], cc[2]*iv[2], cc[3]*iv[3]
}

func rowStep4(rn, inv, m0, r, c []float64, eps float64) {
	m := (*[16]float64)(m0)
	rr := (*[4]float64)(r)
	cc := (*[4]float64)(c)
	a0 := m[0]*cc[0] + m[1]*cc[1] + m[2]*cc[2] + m[3]*cc[3]
	a1 := m[4]*cc[0] + m[5]*cc[1] + m[6]*cc[2] + m[7]*cc[3]
	a2 := m[8]*cc[0] + m[9]*cc[1] + m[10]*cc[2] + m[11]*cc[3]
	a3 := m[12]*cc[0] + m[13]*cc[1] + m[14]*cc[2] + m[15]*cc[3]
	iv := (*[4]float64)(inv)
	iv[0] = 1 / (rr[0]*a0 + eps)
	iv[1] = 1 / (rr[1]*a1 + eps)
	iv[2] = 1 / (rr[2]*a2 + eps)
	iv[3] = 1 / (rr[3]*a3 + eps)
	o := (*[4]float64)(rn)
	o[0], o[1], o[2], o[3] = rr[0]*iv[0], rr[1]*iv[1], rr[2]*iv[2], rr[3]*iv[3]
}

func colStepBack4(g, m0, r, c, inv []float64) {
	G := (*[16]float64)(g)
	m := (*[16]float64)(m0)
	rr := (*[4]float64)(r)
	cc := (*[4]float64)(c)
	iv := (*[4]float64)(inv)
	a0 := (G[0]*rr[0]*m[0] + G[4]*rr[1]*m[4] + G[8]*rr[2]*m[8] + G[12]*rr[3]*m[12]) * cc[0]
	a1 := (G[1]*rr[0]*m[1] + G[5]*rr[1]*m[5] + G[9]*rr[2]*m[9] + G[13]*rr[3]*m[13]) * cc[1]
	a2 := (G[2]*rr[0]*m[2] + G[6]*rr[1]*m[6] + G[10]*rr[2]*m[10] + G[14]*rr[3]*m[14]) * cc[2]
	a3 := (G[3]*rr[0]*m[3] + G[7]*rr[1]*m[7] + G[11]*rr[2]*m[11] + G[15]*rr[3]*m[15]) * cc[3]
	for i := 0; i < 16; i += 4 {
		G[i] = (G[i] - a0) * iv[0]
		G[i+1] = (G[i+1] - a1) * iv[1]
		G[i+2] = (G[i+2] - a2) * iv[2]
		G[i+3] = (G[i+3] - a3) * iv[3]
	}
}

func rowStepBack4(g, m0, r, c, inv []float64) {
	G := (*[16]float64)(g)
	m := (*[16]float64)(m0)
	rr := (*[4]float64)(r)
	cc := (*[4]float64)(c)
	iv := (*[4]float64)(inv)
	for i := 0; i < 4; i++ {
		b := 4 * i
		a := (G[b]*m[b]*cc[0] + G[b+1]*m[b+1]*cc[1] + G[b+2]*m[b+2]*cc[2] + G[b+3]*m[b+3]*cc[3]) * rr[i]
		G[b] = (G[b] - a) * iv[i]
		G[b+1] = (G[b+1] - a) * iv[i]
		G[b+2] = (G[b+2] - a) * iv[i]
		G[b+3] = (G[b+3] - a) * iv[i]
	}
}
