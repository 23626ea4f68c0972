package kernels

import (
	"fmt"
	"math"
)

// RoPETable returns the rotary-embedding tables for sequence length T and
// head dimension hd (even): cos and sin, each T×(hd/2) row-major, with
//
//	cos[t*(hd/2)+i] = cos(t · theta^(−2i/hd)),  sin likewise,  0 ≤ i < hd/2,
//
// computed in float64 and rounded to float32. theta is the RoPE base
// (10000 in Llama). This allocates; build it once per model.
func RoPETable(T, hd int, theta float64) (cos, sin []float32) {
	if hd%2 != 0 {
		panic("kernels: RoPETable needs an even head dimension")
	}
	half := hd / 2
	cos = make([]float32, T*half)
	sin = make([]float32, T*half)
	for i := 0; i < half; i++ {
		freq := math.Pow(theta, -2*float64(i)/float64(hd))
		for t := 0; t < T; t++ {
			s, c := math.Sincos(float64(t) * freq)
			cos[t*half+i] = float32(c)
			sin[t*half+i] = float32(s)
		}
	}
	return cos, sin
}

// RoPE applies rotary position embeddings in place, rotate-half ("NeoX" /
// Hugging Face Llama) convention. x holds rows consecutive tokens at sequence
// positions pos0, pos0+1, …, pos0+rows−1 (no wrap-around: the caller keeps
// pos0+rows ≤ T, the table length). Token r's vector for head h (0 ≤ h <
// heads) is v = x[r*stride+off+h*hd : r*stride+off+(h+1)*hd], hd even, so q and
// k inside a fused [q|k|v] row of width 3C are rotated in place with
// stride = 3C and off = 0 (q) or off = C (k). For i < hd/2, with
// c = cos[(pos0+r)*(hd/2)+i] and s = sin[…] from RoPETable:
//
//	v[i]      ← v[i]*c − v[i+hd/2]*s
//	v[i+hd/2] ← v[i+hd/2]*c + v[i]*s
//
// Serial; parallelise over token sub-ranges (advance x by lo*stride and pos0
// by lo).
func RoPE(x []float32, rows, stride, off, heads, hd, pos0 int, cos, sin []float32) {
	ropeCall(vecs(), x, rows, stride, off, heads, hd, pos0, cos, sin, 1)
}

// RoPEBackward back-propagates through RoPE in place: dx (same layout and
// arguments as RoPE) is rotated by the inverse (transposed) rotation,
//
//	g[i]      ← g[i]*c + g[i+hd/2]*s
//	g[i+hd/2] ← g[i+hd/2]*c − g[i]*s
func RoPEBackward(dx []float32, rows, stride, off, heads, hd, pos0 int, cos, sin []float32) {
	ropeCall(vecs(), dx, rows, stride, off, heads, hd, pos0, cos, sin, -1)
}

// ropeCall is RoPE (dir = 1) or RoPEBackward (dir = −1) with the vector set
// v: its ropeRows loop when it has one, else the rope loop per head.
func ropeCall(v *vecKernels, x []float32, rows, stride, off, heads, hd, pos0 int, cos, sin []float32, dir float32) {
	if rows <= 0 || heads <= 0 {
		return
	}
	if hd%2 != 0 || hd <= 0 {
		panic("kernels: RoPE needs an even head dimension")
	}
	half := hd / 2
	if v.ropeRows != nil {
		// One call for every row and head: bounds are checked here.
		if stride < 0 || off < 0 || pos0 < 0 ||
			len(x) < (rows-1)*stride+off+heads*hd || len(cos) < (pos0+rows)*half || len(sin) < (pos0+rows)*half {
			panic(fmt.Sprintf("kernels: RoPE of %d rows (stride %d, offset %d, %d heads of %d) from position %d: x has %d values, tables %d and %d",
				rows, stride, off, heads, hd, pos0, len(x), len(cos), len(sin)))
		}
		v.ropeRows(&x[off], rows, stride, heads, hd, &cos[pos0*half], &sin[pos0*half], dir)
		return
	}
	for r := 0; r < rows; r++ {
		t := (pos0 + r) * half
		c := cos[t : t+half]
		s := sin[t : t+half]
		base := r*stride + off
		row := x[base : base+heads*hd]
		for h := 0; h < heads; h++ {
			a := row[h*hd : h*hd+half]
			b := row[h*hd+half : (h+1)*hd]
			ropePair(v, a, b, c, s, dir)
		}
	}
}

// ropePair rotates (a[i], b[i]) by the angle with cosine c[i] and sine
// dir*s[i], with the vector set v.
func ropePair(v *vecKernels, a, b, c, s []float32, dir float32) {
	n := len(a)
	b, c, s = b[:n], c[:n], s[:n]
	if v.rope != nil && n >= v.blk {
		i := n &^ (v.blk - 1)
		v.rope(&a[0], &b[0], &c[0], &s[0], i, dir)
		a, b, c, s = a[i:], b[i:], c[i:], s[i:]
		n -= i
	}
	if dir > 0 {
		for i := range a {
			x0, x1 := a[i], b[i]
			a[i] = x0*c[i] - x1*s[i]
			b[i] = x1*c[i] + x0*s[i]
		}
		return
	}
	for i := range a {
		x0, x1 := a[i], b[i]
		a[i] = x0*c[i] + x1*s[i]
		b[i] = x1*c[i] - x0*s[i]
	}
}
