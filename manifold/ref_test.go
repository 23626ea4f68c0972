package manifold

import "math"

// Independent float64 mirrors of the three variants, written literally from
// the method description (2-D slices, plain division, no shared code with
// the package), used as references for the forward values and for
// finite-difference gradients.

func to2D(l []float64, n int) [][]float64 {
	m := make([][]float64, n)
	for i := range m {
		m[i] = append([]float64(nil), l[i*n:i*n+n]...)
	}
	return m
}

func flat(m [][]float64) []float64 {
	var out []float64
	for _, r := range m {
		out = append(out, r...)
	}
	return out
}

// refPaper: M0 = exp(L − colmax), then t × (T_c, T_r), denominators sum+eps.
func refPaper(l []float64, n, t int, eps float64) []float64 {
	m := to2D(l, n)
	for j := 0; j < n; j++ {
		c := math.Inf(-1)
		for i := 0; i < n; i++ {
			c = math.Max(c, m[i][j])
		}
		for i := 0; i < n; i++ {
			m[i][j] = math.Exp(m[i][j] - c)
		}
	}
	for r := 0; r < t; r++ {
		for j := 0; j < n; j++ { // T_c
			s := 0.0
			for i := 0; i < n; i++ {
				s += m[i][j]
			}
			for i := 0; i < n; i++ {
				m[i][j] /= s + eps
			}
		}
		for i := 0; i < n; i++ { // T_r
			s := 0.0
			for j := 0; j < n; j++ {
				s += m[i][j]
			}
			for j := 0; j < n; j++ {
				m[i][j] /= s + eps
			}
		}
	}
	return flat(m)
}

// refDeepSeek mirrors DeepSeek's code in ITS orientation: comb[src][dst] =
// H[dst][src]; comb = softmax(comb, dim=-1) + eps; comb /= colsum+eps; then
// (t−1) × {comb /= rowsum+eps; comb /= colsum+eps}; H = combᵀ.
func refDeepSeek(l []float64, n, t int, eps float64) []float64 {
	comb := make([][]float64, n)
	for s := range comb {
		comb[s] = make([]float64, n)
		for d := range comb[s] {
			comb[s][d] = l[d*n+s]
		}
	}
	for s := range comb { // softmax over the last dim, then +eps
		mx := math.Inf(-1)
		for _, v := range comb[s] {
			mx = math.Max(mx, v)
		}
		sum := 0.0
		for d := range comb[s] {
			comb[s][d] = math.Exp(comb[s][d] - mx)
			sum += comb[s][d]
		}
		for d := range comb[s] {
			comb[s][d] = comb[s][d]/sum + eps
		}
	}
	colnorm := func() {
		for d := 0; d < n; d++ {
			sum := 0.0
			for s := 0; s < n; s++ {
				sum += comb[s][d]
			}
			for s := 0; s < n; s++ {
				comb[s][d] /= sum + eps
			}
		}
	}
	rownorm := func() {
		for s := 0; s < n; s++ {
			sum := 0.0
			for d := 0; d < n; d++ {
				sum += comb[s][d]
			}
			for d := 0; d < n; d++ {
				comb[s][d] /= sum + eps
			}
		}
	}
	colnorm()
	for r := 1; r < t; r++ {
		rownorm()
		colnorm()
	}
	h := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			h[i*n+j] = comb[j][i]
		}
	}
	return h
}

// refPerms enumerates the permutations of 0..n-1 recursively, choosing the
// smallest unused value first (hence lexicographic order).
func refPerms(n int) [][]int {
	var out [][]int
	used := make([]bool, n)
	cur := make([]int, 0, n)
	var rec func()
	rec = func() {
		if len(cur) == n {
			out = append(out, append([]int(nil), cur...))
			return
		}
		for v := 0; v < n; v++ {
			if !used[v] {
				used[v] = true
				cur = append(cur, v)
				rec()
				cur = cur[:len(cur)-1]
				used[v] = false
			}
		}
	}
	rec()
	return out
}

// refLite: H = Σ_k softmax(w)_k P_k with P_k[i][perm_k[i]] = 1.
func refLite(w []float64, n int) []float64 {
	ps := refPerms(n)
	mx := math.Inf(-1)
	for _, v := range w {
		mx = math.Max(mx, v)
	}
	sum := 0.0
	for _, v := range w {
		sum += math.Exp(v - mx)
	}
	h := make([]float64, n*n)
	for k, p := range ps {
		a := math.Exp(w[k]-mx) / sum
		for i := 0; i < n; i++ {
			h[i*n+p[i]] += a
		}
	}
	return h
}

// ref dispatches to the mirror of s.
func ref(s Sinkhorn, l []float64) []float64 {
	switch s.Variant {
	case Paper:
		return refPaper(l, s.N, s.iters(), float64(s.Eps))
	case DeepSeek:
		return refDeepSeek(l, s.N, s.iters(), float64(s.Eps))
	}
	return refLite(l, s.N)
}
