package kernels

import "math"

// AdamW performs one AdamW update, in place, over the parameters p with
// gradients g and first/second moment buffers m and v (all the same length;
// it panics if g, m or v is shorter than p). For each element, in this exact
// order and in float32:
//
//	if wd != 0 { p = p − (lr*wd)*p }        // decoupled weight decay, on the old p
//	m = b1*m + (1−b1)*g
//	v = b2*v + (1−b2)*(g*g)
//	p = p − lr*(m/bc1) / (sqrt(v/bc2) + eps)
//
// bc1 = 1−b1^t and bc2 = 1−b2^t are the bias corrections for step t ≥ 1,
// computed by the caller (pass 1, 1 to disable). Serial over the given range;
// parallelise by calling it on disjoint sub-slices.
func AdamW(p, g, m, v []float32, lr, b1, b2, eps, wd, bc1, bc2 float32) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	lrwd := lr * wd
	ob1, ob2 := 1-b1, 1-b2
	for i := range p {
		gi := g[i]
		pi := p[i]
		if wd != 0 {
			pi -= lrwd * pi
		}
		mi := b1*m[i] + ob1*gi
		vi := b2*v[i] + ob2*(gi*gi)
		m[i], v[i] = mi, vi
		p[i] = pi - lr*(mi/bc1)/(float32(math.Sqrt(float64(vi/bc2)))+eps)
	}
}
