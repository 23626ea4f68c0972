package kernels

import (
	"fmt"
	"math"
)

// Self-check: before a path becomes active, each of its kernels that differs
// from the generic one is run on small deterministic problems next to its
// generic twin, and the path is rejected if any result disagrees by more
// than selfCheckTol relative to the magnitude of the result. It runs once per
// process per path (kernelPath.checkOnce) and takes well under a millisecond
// for the vector kernels and about a millisecond for the GEMM (mostly the
// generic twin); nothing of it runs on the kernels' hot paths.

// selfCheckTol bounds the relative disagreement with the generic twin.
// Different but correct kernels differ by float32 rounding only (FMA,
// summation order): for the shapes below a few 1e-7 of the result's
// magnitude. A wrong element, lane or tail is off by O(1).
const selfCheckTol = 1e-5

// checkError reports a kernel of a path that disagreed with its generic twin
// (or panicked).
type checkError struct {
	path, kernel string
	relErr       float64
	panicked     any
}

func (e *checkError) Error() string {
	if e.panicked != nil {
		return fmt.Sprintf("%s %s self-check failed (panic: %v)", e.path, e.kernel, e.panicked)
	}
	return fmt.Sprintf("%s %s self-check failed (max rel err %.1e)", e.path, e.kernel, e.relErr)
}

// selfCheck runs checkPath for p once and returns its outcome.
func (p *kernelPath) selfCheck() error {
	p.checkOnce.Do(func() { p.checkErr = checkPath(p) })
	return p.checkErr
}

// checkPath checks p's GEMM micro-kernel (unless it is the generic one) and
// every non-nil loop of its vector set against the generic twins. It returns
// the first failure.
func checkPath(p *kernelPath) (err error) {
	kernel := "gemm"
	defer func() {
		if r := recover(); r != nil {
			err = &checkError{path: p.name, kernel: kernel, panicked: r}
		}
	}()
	if p.gemm != &genericKernel {
		if e := checkGEMM(p.gemm); !(e <= selfCheckTol) {
			return &checkError{path: p.name, kernel: kernel, relErr: e}
		}
	}
	for _, c := range vecChecks {
		if !c.has(&p.vec) {
			continue
		}
		kernel = c.name
		worst := 0.0
		for _, n := range vecCheckLens {
			worst = max(worst, vecTwin(&p.vec, n, c.inputs, c.run))
		}
		if !(worst <= selfCheckTol) {
			return &checkError{path: p.name, kernel: kernel, relErr: worst}
		}
	}
	if err := checkConn(p); err != nil {
		return err
	}
	return checkProjPath(p)
}

// checkGEMM runs k through the real GEMM driver (serially) and the generic
// kernel on the same problems and returns the largest relative difference.
// The problems cover every transpose, beta = 0 (C holds NaN: it must not be
// read), 1 and other values, alpha ≠ 1, leading dimensions wider than the
// matrix (the padding holds NaN: it must not be read or written), ragged
// edge tiles, and more than one mc, kc and nc block of k's blocking.
func checkGEMM(k *gemmKernel) float64 {
	type shape struct {
		m, n, k        int
		transA, transB bool
		beta           float32
	}
	shapes := [...]shape{
		{13, 37, 29, false, false, 0},
		{13, 37, 29, true, false, 1},
		{13, 37, 29, false, true, 0.5},
		{13, 37, 29, true, true, -1.5},
		{k.mc + k.mr + 1, k.nr + 3, 9, false, false, 0.5}, // two mc blocks
		{k.mc + k.mr + 1, k.nr + 3, 9, true, true, 0},
		{13, k.nr + 3, k.kc + 7, false, true, 0.5}, // two kc slices
		{13, k.nr + 3, k.kc + 7, true, false, 0},
		{5, k.nc + k.nr + 3, 3, false, true, 1}, // two nc blocks
	}
	nan := float32(math.NaN())
	worst := 0.0
	for i, s := range shapes {
		ar, ac := s.m, s.k
		if s.transA {
			ar, ac = ac, ar
		}
		br, bc := s.k, s.n
		if s.transB {
			br, bc = bc, br
		}
		lda, ldb, ldc := ac+i%2, bc+1-i%2, s.n+1
		a := checkMatrix(ar, ac, lda, uint32(3*i+1))
		b := checkMatrix(br, bc, ldb, uint32(3*i+2))
		got := checkMatrix(s.m, s.n, ldc, uint32(3*i+3))
		if s.beta == 0 {
			for j := range got {
				got[j] = nan
			}
		}
		want := append([]float32(nil), got...)
		alpha := float32(1)
		if i%2 == 1 {
			alpha = -0.75
		}
		gemmKern(k, 1, s.transA, s.transB, s.m, s.n, s.k, alpha, a, lda, b, ldb, s.beta, got, ldc)
		gemmKern(&genericKernel, 1, s.transA, s.transB, s.m, s.n, s.k, alpha, a, lda, b, ldb, s.beta, want, ldc)
		worst = max(worst, relDiff(got, want))
	}
	return worst
}

// vecCheck checks one loop of a vector set.
type vecCheck struct {
	name   string
	has    func(v *vecKernels) bool // the set has this loop (it differs from generic)
	inputs int                      // number of input/output vectors run takes
	// run calls the loop's wrapper with the set v on xs (run's arguments and
	// outputs) and returns its scalar result, if any, and the magnitude that
	// result's error is relative to.
	run func(v *vecKernels, xs [][]float32) (s, mag float64)
}

// vecCheckLens are the lengths every loop is checked at: odd, so the Go tail
// runs, and long enough for the loops' unrolled bodies and their remainders.
var vecCheckLens = [...]int{19, 75}

// vecChecks covers every loop of vecKernels. Loops whose wrappers use
// another loop too come after it, so a failure names the broken loop.
var vecChecks = []vecCheck{
	{"axpy", func(v *vecKernels) bool { return v.axpy != nil }, 2,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			axpyV(v, 0.75, xs[0], xs[1])
			return 0, 1
		}},
	{"scale", func(v *vecKernels) bool { return v.scale != nil }, 1,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			scaleV(v, -1.25, xs[0])
			return 0, 1
		}},
	{"add", func(v *vecKernels) bool { return v.add != nil }, 3,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			addV(v, xs[0], xs[1], xs[2])
			return 0, 1
		}},
	{"dot", func(v *vecKernels) bool { return v.dot != nil }, 2,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			var mag float64
			for i, x := range xs[0] {
				mag += math.Abs(float64(x) * float64(xs[1][i]))
			}
			return float64(dotV(v, xs[0], xs[1])), mag
		}},
	{"sumSquares", func(v *vecKernels) bool { return v.sumSquares != nil }, 1,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			s := sumSquaresV(v, xs[0])
			return s, s
		}},
	{"max", func(v *vecKernels) bool { return v.max != nil }, 1,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			return float64(maxfV(v, xs[0])), 1
		}},
	{"mulScaled", func(v *vecKernels) bool { return v.mulScaled != nil }, 3,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			mulScaledV(v, xs[0], xs[1], xs[2], 1.5)
			return 0, 1
		}},
	{"expAffineSum", func(v *vecKernels) bool { return v.expAffineSum != nil }, 2,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			s := expAffineSumV(v, xs[0], xs[1], 3, 0.5)
			s += expAffineSumV(v, nil, xs[1], -2, 0.25)
			return s, s
		}},
	{"swiglu", func(v *vecKernels) bool { return v.swiglu != nil }, 3,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			scaleV(&goVec, 6, xs[1]) // gates over the sigmoid's range
			swigluRow(v, xs[0], xs[1], xs[2])
			return 0, 1
		}},
	{"swigluBack", func(v *vecKernels) bool { return v.swigluBack != nil }, 5,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			scaleV(&goVec, 6, xs[3])
			swigluBackRow(v, xs[0], xs[1], xs[2], xs[3], xs[4])
			return 0, 1
		}},
	{"adamw", func(v *vecKernels) bool { return v.adamw != nil }, 4,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			for i, x := range xs[3] {
				xs[3][i] = float32(math.Abs(float64(x))) + 0.1 // second moments are positive
			}
			adamwV(v, xs[0], xs[1], xs[2], xs[3], 1e-2, 0.9, 0.95, 1e-8, 0.1, 0.19, 0.0975)
			adamwV(v, xs[0], xs[1], xs[2], xs[3], 1e-2, 0.9, 0.95, 1e-8, 0, 0.271, 0.142625)
			return 0, 1
		}},
	{"rope", func(v *vecKernels) bool { return v.rope != nil }, 4,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			ropePair(v, xs[0], xs[1], xs[2], xs[3], 1)
			ropePair(v, xs[0], xs[1], xs[2], xs[3], -1)
			return 0, 1
		}},
	{"ropeRows", func(v *vecKernels) bool { return v.ropeRows != nil }, 3,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			// Only this loop (the rope loop has its own check). Lengths 19
			// and 75: one row of one head (half 9 / 37: masked tail, full
			// zmm), one row of two heads, two rows (stride n/2), both ways.
			only := &vecKernels{impl: v.impl, blk: v.blk, ssBlk: v.ssBlk, ropeRows: v.ropeRows}
			n := len(xs[0])
			cs, sn := xs[1], xs[2]
			for _, dir := range []float32{1, -1} {
				ropeCall(only, xs[0], 1, n, 0, 1, 2*(n/2), 0, cs, sn, dir)
				ropeCall(only, xs[0], 1, n, 1, 2, 2*((n-1)/4), 0, cs, sn, dir)
				ropeCall(only, xs[0], 2, n/2, 0, 1, 2*(n/4), 0, cs, sn, dir)
			}
			return 0, 1
		}},
	{"dot3", func(v *vecKernels) bool { return v.dot3 != nil }, 3,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			var mag float64
			for i, x := range xs[0] {
				mag += math.Abs(float64(x) * float64(xs[1][i]) * float64(xs[2][i]))
			}
			return float64(dot3V(v, xs[0], xs[1], xs[2])), mag
		}},
	{"rmsNorm", func(v *vecKernels) bool { return v.rmsNorm != nil }, 3,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			// Only this loop; one row of n, then 3 rows of n/3 (lengths
			// 19, 75: tails only, and 16 + 32 + tails); rstd summed.
			only := &vecKernels{impl: v.impl, blk: v.blk, ssBlk: v.ssBlk, rmsNorm: v.rmsNorm}
			n := len(xs[0])
			rstd := make([]float32, 4)
			rmsNormV(only, xs[0], rstd, xs[1], xs[2], 1, n, 1e-5)
			rmsNormV(only, xs[0], rstd[1:], xs[1], xs[2], 3, n/3, 1e-5)
			var s float64
			for _, r := range rstd {
				s += float64(r)
			}
			return s, s
		}},
	{"rmsNormBack", func(v *vecKernels) bool { return v.rmsNormBack != nil }, 5,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			only := &vecKernels{impl: v.impl, blk: v.blk, ssBlk: v.ssBlk, rmsNormBack: v.rmsNormBack}
			n := len(xs[0])
			rstd := []float32{1.7, 0.6, 1.1}
			rmsNormBackV(only, xs[0], xs[1], xs[2], xs[3], xs[4], rstd, 1, n)
			rmsNormBackV(only, xs[0], xs[1], xs[2], xs[3], xs[4], rstd, 3, n/3)
			return 0, 1
		}},
	{"sinkExp", func(v *vecKernels) bool { return v.sinkExp != nil }, 1,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			// n = 3 (length 19) and 6 (75): logits from xs cycled over
			// every lane, spread to ±8; the sum covers every lane.
			x := xs[0]
			n := len(x)/16 + 2
			m := make([]float64, n*n*SinkLanes)
			for k := range m {
				m[k] = 8 * float64(x[(k*5)%len(x)])
			}
			sinkExpV(v, m, n)
			var s float64
			for k, e := range m {
				s += e * float64(1+k%7)
			}
			for k := range x {
				x[k] = float32(m[k])
			}
			return s, s
		}},
	{"rmsBack", func(v *vecKernels) bool { return v.rmsBack != nil }, 5,
		func(v *vecKernels, xs [][]float32) (float64, float64) {
			// Only the rmsBack loop: dot3 has its own check.
			only := vecKernels{impl: v.impl, blk: v.blk, ssBlk: v.ssBlk, rmsBack: v.rmsBack}
			rmsBackRow(&only, xs[0], xs[1], xs[2], xs[3], xs[4], 1.7)
			return 0, 1
		}},
}

// vecTwin runs run with the set v and with goVec, each on its own copy of the
// same n-long inputs, and returns the largest relative difference over the
// scalar results and every vector (outputs, and inputs that must stay
// untouched).
func vecTwin(v *vecKernels, n, inputs int, run func(*vecKernels, [][]float32) (float64, float64)) float64 {
	got := make([][]float32, inputs)
	want := make([][]float32, inputs)
	for i := range got {
		got[i] = checkMatrix(1, n, n, uint32(7*n+i))
		want[i] = append([]float32(nil), got[i]...)
	}
	sg, _ := run(v, got)
	sw, mag := run(&goVec, want)
	worst := 0.0
	if sg != sw {
		worst = math.Abs(sg-sw) / max(math.Abs(mag), 1e-30) // NaN if sg is
	}
	for i := range got {
		worst = max(worst, relDiff(got[i], want[i]))
	}
	return worst
}

// checkMatrix returns a rows×cols matrix with leading dimension ld of
// deterministic values in [-1, 1) (a xorshift sequence from seed); the
// padding between rows holds NaN.
func checkMatrix(rows, cols, ld int, seed uint32) []float32 {
	x := make([]float32, rows*ld)
	s := seed*0x9e3779b9 | 1
	nan := float32(math.NaN())
	for r := range rows {
		row := x[r*ld : (r+1)*ld]
		for i := range cols {
			s ^= s << 13
			s ^= s >> 17
			s ^= s << 5
			row[i] = float32(s>>8)/(1<<23) - 1
		}
		for i := cols; i < ld; i++ {
			row[i] = nan
		}
	}
	return x
}

// relDiff returns max|got−want| / max|want| over the elements that are not
// NaN in want, or NaN if got is NaN where want is not or vice versa.
func relDiff(got, want []float32) float64 {
	var diff, mag float64
	for i, w := range want {
		g := got[i]
		if gn, wn := g != g, w != w; gn || wn {
			if gn != wn {
				return math.NaN()
			}
			continue
		}
		diff = max(diff, math.Abs(float64(g)-float64(w)))
		mag = max(mag, math.Abs(float64(w)))
	}
	if diff == 0 {
		return 0
	}
	return diff / max(mag, 1e-30)
}
