package manifold

import "math"

// litePerms[n][k] is the k-th permutation of {0..n-1} in lexicographic order
// of the sequence (perm[0], ..., perm[n-1]); k = 0 is the identity and
// k = n!−1 the reversal. Filled once at package initialisation.
var litePerms [MaxLiteN + 1][24][MaxLiteN]uint8

func init() {
	for n := 1; n <= MaxLiteN; n++ {
		var p [MaxLiteN]uint8
		for i := range p {
			p[i] = uint8(i)
		}
		for k := 0; k < factorial(n); k++ {
			litePerms[n][k] = p
			nextPermutation(p[:n])
		}
	}
}

// nextPermutation advances p to its lexicographic successor (wrapping the
// last permutation around to the first).
func nextPermutation(p []uint8) {
	i := len(p) - 2
	for i >= 0 && p[i] >= p[i+1] {
		i--
	}
	if i >= 0 {
		j := len(p) - 1
		for p[j] <= p[i] {
			j--
		}
		p[i], p[j] = p[j], p[i]
	}
	for l, r := i+1, len(p)-1; l < r; l, r = l+1, r-1 {
		p[l], p[r] = p[r], p[l]
	}
}

func factorial(n int) int {
	f := 1
	for i := 2; i <= n; i++ {
		f *= i
	}
	return f
}

// Permutation writes into dst[:n] the permutation that Lite logit k weighs:
// its permutation matrix P_k has P_k[i][dst[i]] = 1, so it sends input
// stream dst[i] to output stream i. The n! permutations are enumerated in
// lexicographic order of (dst[0], ..., dst[n-1]): k = 0 is the identity,
// k = n!−1 the reversal. It panics unless 1 ≤ n ≤ MaxLiteN, 0 ≤ k < n! and
// len(dst) ≥ n.
func Permutation(dst []int, n, k int) {
	if n < 1 || n > MaxLiteN || k < 0 || k >= factorial(n) || len(dst) < n {
		panic("manifold: Permutation: n, k or len(dst) out of range")
	}
	for i := 0; i < n; i++ {
		dst[i] = int(litePerms[n][k][i])
	}
}

// liteSoftmax writes softmax(w) into a (float64, max-shifted).
func liteSoftmax(a []float64, w []float32) {
	mx := float64(w[0])
	for _, v := range w[1:] {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for k, v := range w {
		e := math.Exp(float64(v) - mx)
		a[k] = e
		sum += e
	}
	r := 1 / sum
	for k := range a {
		a[k] *= r
	}
}

// liteForward: H = Σ_k softmax(w)_k P_k.
func liteForward(h []float32, w []float32, n int, ws *Workspace) {
	nf := len(w)
	a := ws.w[:nf]
	liteSoftmax(a, w)
	acc := ws.g[:n*n]
	clear(acc)
	for k, ak := range a {
		p := &litePerms[n][k]
		for i := 0; i < n; i++ {
			acc[i*n+int(p[i])] += ak
		}
	}
	for i, v := range acc {
		h[i] = float32(v)
	}
}

// liteBackward: with A_k = softmax(w)_k and dA_k = Σ_i G[i, perm_k[i]],
// dw_k = A_k·(dA_k − Σ_m A_m dA_m).
func liteBackward(dw []float32, dh []float32, w []float32, n int, ws *Workspace) {
	nf := len(w)
	a := ws.w[:nf]
	liteSoftmax(a, w)
	da := ws.dw[:nf]
	var mean float64
	for k := range da {
		p := &litePerms[n][k]
		var s float64
		for i := 0; i < n; i++ {
			s += float64(dh[i*n+int(p[i])])
		}
		da[k] = s
		mean += a[k] * s
	}
	for k := range da {
		dw[k] = float32(a[k] * (da[k] - mean))
	}
}
