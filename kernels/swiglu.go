package kernels

// SwiGLU computes out[r,i] = silu(g)*u = g*u / (1 + exp(−g)) for the MLP's
// fused first projection gu (rows×2h, row-major), whose row r is [gate | up]:
// g = gu[r*2h+i], u = gu[r*2h+h+i], 0 ≤ i < h. out (rows×h) is OVERWRITTEN and
// must not overlap gu. exp is the package's fast float32 exp; for g < −88 the
// result is a correctly signed tiny value or zero, never NaN (for finite
// inputs). Serial; parallelise over row sub-ranges.
func SwiGLU(out, gu []float32, rows, h int) {
	if rows <= 0 || h <= 0 {
		return
	}
	out, gu = out[:rows*h], gu[:rows*2*h]
	v := vecs()
	for r := 0; r < rows; r++ {
		swigluRow(v, out[r*h:(r+1)*h], gu[r*2*h:r*2*h+h], gu[r*2*h+h:(r+1)*2*h])
	}
}

// swigluRow computes o[i] = silu(g[i])*u[i] with the vector set v.
func swigluRow(v *vecKernels, o, g, u []float32) {
	h := len(o)
	g, u = g[:h], u[:h]
	i := 0
	if v.swiglu != nil && h >= v.blk {
		i = h &^ (v.blk - 1)
		v.swiglu(&o[0], &g[0], &u[0], i)
	}
	swigluGo(o[i:], g[i:], u[i:])
}

func swigluGo(o, g, u []float32) {
	g, u = g[:len(o)], u[:len(o)]
	for i := range o {
		o[i] = g[i] * u[i] / (1 + expf(-g[i]))
	}
}

// SwiGLUBackward OVERWRITES dgu (rows×2h, same [gate | up] layout as gu) with
// the gradient of SwiGLU given dout (rows×h) and the forward input gu. With
// s = sigmoid(g):
//
//	dgate = dout * u * s * (1 + g*(1−s))
//	dup   = dout * g * s
//
// dgu may alias gu (the same slice), in which case gu is consumed; dout must
// not overlap dgu.
func SwiGLUBackward(dgu, dout, gu []float32, rows, h int) {
	if rows <= 0 || h <= 0 {
		return
	}
	dgu, dout, gu = dgu[:rows*2*h], dout[:rows*h], gu[:rows*2*h]
	v := vecs()
	for r := 0; r < rows; r++ {
		g := gu[r*2*h : r*2*h+h]
		u := gu[r*2*h+h : (r+1)*2*h]
		dg := dgu[r*2*h : r*2*h+h]
		du := dgu[r*2*h+h : (r+1)*2*h]
		swigluBackRow(v, dg, du, dout[r*h:(r+1)*h], g, u)
	}
}

// swigluBackRow does one row of SwiGLUBackward with the vector set v.
func swigluBackRow(v *vecKernels, dg, du, dy, g, u []float32) {
	h := len(dy)
	dg, du, g, u = dg[:h], du[:h], g[:h], u[:h]
	i := 0
	if v.swigluBack != nil && h >= v.blk {
		i = h &^ (v.blk - 1)
		v.swigluBack(&dg[0], &du[0], &dy[0], &g[0], &u[0], i)
	}
	swigluBackGo(dg[i:], du[i:], dy[i:], g[i:], u[i:])
}

func swigluBackGo(dg, du, dy, g, u []float32) {
	n := len(dy)
	dg, du, g, u = dg[:n], du[:n], g[:n], u[:n]
	for i := range dy {
		gi, ui := g[i], u[i]
		s := 1 / (1 + expf(-gi))
		t := dy[i] * s
		dg[i] = t * ui * (gi*(1-s) + 1)
		du[i] = t * gi
	}
}
