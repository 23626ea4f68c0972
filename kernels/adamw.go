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
// computed by the caller (pass 1, 1 to disable). The AVX2 path fuses the
// multiply-adds (b1*m + …, b2*v + …, p − (lr*wd)*p), so it can differ from
// the Go path by an ulp. Serial over the given range; parallelise by calling
// it on disjoint sub-slices.
func AdamW(p, g, m, v []float32, lr, b1, b2, eps, wd, bc1, bc2 float32) {
	adamwV(vecs(), p, g, m, v, lr, b1, b2, eps, wd, bc1, bc2)
}

func adamwV(vk *vecKernels, p, g, m, v []float32, lr, b1, b2, eps, wd, bc1, bc2 float32) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	lrwd := lr * wd
	ob1, ob2 := 1-b1, 1-b2
	i0 := 0
	if vk.adamw != nil && n >= vk.blk {
		i0 = n &^ (vk.blk - 1)
		h := adamHyper{lr: lr, lrwd: lrwd, b1: b1, ob1: ob1, b2: b2, ob2: ob2, bc1: bc1, bc2: bc2, eps: eps}
		if wd != 0 {
			h.decay = 1
		}
		vk.adamw(&p[0], &g[0], &m[0], &v[0], i0, h)
	}
	for i := i0; i < n; i++ {
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

// adamHyper passes AdamW's scalars to the assembly loop, by value (a pointer
// would escape through the dispatch table's function value and allocate);
// the field names and order are part of the assembly's contract.
type adamHyper struct {
	lr, lrwd, b1, ob1, b2, ob2, bc1, bc2, eps float32
	decay                                     int32
}
