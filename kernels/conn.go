package kernels

import (
	"fmt"
	"math"
)

// connKernels is one kernel path's set of connection loops (mHC): the
// Sinkhorn-Knopp iteration over SinkLanes side-by-side problems and the
// fused stream apply. A nil loop runs the portable Go code, so the generic
// set (goConn) has every loop nil. Each path's row gets its set from
// connFor (per architecture); the self-check (checkConn) compares every
// non-nil loop with its Go twin before the path is used.
type connKernels struct {
	impl string // "avx512", "avx2" or "generic"

	// sinkSteps / sinkBack: see SinkhornSteps / SinkhornBack. colPar is
	// the parity of the column steps (0: step 0 normalises columns).
	sinkSteps func(m0, rv, cv, inv *float64, n, steps, colPar int, eps float64)
	sinkBack  func(g, m0, rv, cv, inv *float64, n, steps, colPar int)

	// mix / dots: ConnMix and ConnDots on the first c elements of every
	// row, c a positive multiple of blk (the Go code finishes the tail).
	blk  int
	mix  func(out **float32, m int, in **float32, k int, w *float32, c, acc int)
	dots func(d *float32, a **float32, m int, b **float32, k int, c int)
}

// goConn is the generic set: every loop runs its Go code.
var goConn = connKernels{impl: pathGeneric}

// conns returns the active row's connection loops.
func conns() *connKernels {
	if c := curPath.Load().conn; c != nil {
		return c
	}
	return &goConn
}

// ConnPath reports the instruction set of the active path's connection
// kernels (Sinkhorn lanes, fused apply): "avx512", "avx2" or "generic".
func ConnPath() string { return conns().impl }

// checkConn compares every loop of p's connection set with its Go twin on
// small problems (odd n, both step parities, eps 0 and not) and returns the
// first disagreement beyond selfCheckTol (the loops evaluate the same
// float64 expressions in the same order, so they agree exactly when right).
func checkConn(p *kernelPath) (err error) {
	c := p.conn
	if c == nil {
		return nil
	}
	kernel := "sinkhorn"
	defer func() {
		if r := recover(); r != nil {
			err = &checkError{path: p.name, kernel: kernel, panicked: r}
		}
	}()
	if c.mix != nil || c.dots != nil {
		kernel = "conn apply"
		if e := applyTwin(c); !(e <= selfCheckTol) {
			return &checkError{path: p.name, kernel: kernel, relErr: e}
		}
		kernel = "sinkhorn"
	}
	if c.sinkSteps == nil && c.sinkBack == nil {
		return nil
	}
	for _, n := range []int{1, 3, 4, 5} {
		for colPar := range 2 {
			for _, eps := range []float64{0, 1e-3} {
				steps := 5
				if e := sinkTwin(c, n, steps, colPar, eps); !(e <= selfCheckTol) {
					return &checkError{path: p.name, kernel: kernel, relErr: e}
				}
			}
		}
	}
	return nil
}

// sinkTwin runs c's Sinkhorn loops and the Go ones on one deterministic
// problem and returns the largest relative difference of the outputs.
func sinkTwin(c *connKernels, n, steps, colPar int, eps float64) float64 {
	nn := n * n * SinkLanes
	m0 := make([]float64, nn)
	src := checkMatrix(1, nn+n*SinkLanes, nn+n*SinkLanes, uint32(n*31+colPar))
	for i := range m0 {
		m0[i] = math.Exp(2 * float64(src[i]))
	}
	vlen := (steps + 1) * n * SinkLanes
	mk := func() (rv, cv, inv, g []float64) {
		rv, cv, inv, g = make([]float64, vlen), make([]float64, vlen), make([]float64, steps*n*SinkLanes), make([]float64, nn)
		for i := range n * SinkLanes {
			rv[i], cv[i] = 1, 1
		}
		for i := range g {
			g[i] = float64(src[(i*7)%len(src)])
		}
		return
	}
	rg, cg, ig, gg := mk()
	rw, cw, iw, gw := mk()
	if c.sinkSteps != nil {
		c.sinkSteps(&m0[0], &rg[0], &cg[0], &ig[0], n, steps, colPar, eps)
	} else {
		sinkStepsGo(m0, rg, cg, ig, n, steps, colPar, eps)
	}
	sinkStepsGo(m0, rw, cw, iw, n, steps, colPar, eps)
	worst := max(relDiff64(rg, rw), relDiff64(cg, cw), relDiff64(ig, iw))
	if c.sinkBack != nil {
		c.sinkBack(&gg[0], &m0[0], &rw[0], &cw[0], &iw[0], n, steps, colPar)
		sinkBackGo(gw, m0, rw, cw, iw, n, steps, colPar)
		worst = max(worst, relDiff64(gg, gw))
	}
	return worst
}

// relDiff64 is relDiff for float64 slices.
func relDiff64(got, want []float64) float64 {
	var diff, mag float64
	for i, w := range want {
		g := got[i]
		if g != g || w != w {
			if (g != g) != (w != w) {
				return math.NaN()
			}
			continue
		}
		diff = max(diff, math.Abs(g-w))
		mag = max(mag, math.Abs(w))
	}
	if diff == 0 {
		return 0
	}
	return diff / max(mag, 1e-300)
}

// checkSinkArgs panics unless the slices fit n and steps.
func checkSinkArgs(n, steps int, m0, rv, cv, inv []float64) {
	L := SinkLanes
	if n < 1 || steps < 0 || len(m0) < n*n*L || len(rv) < (steps+1)*n*L || len(cv) < (steps+1)*n*L || len(inv) < steps*n*L {
		panic(fmt.Sprintf("kernels: Sinkhorn n=%d steps=%d: slices too short (m0 %d, rv %d, cv %d, inv %d)",
			n, steps, len(m0), len(rv), len(cv), len(inv)))
	}
}

// applyTwin runs c's ConnMix and ConnDots loops next to the Go ones on
// odd shapes (k = 1..6 rows, lengths around the block, acc both ways) and
// returns the largest relative difference.
func applyTwin(c *connKernels) float64 {
	worst := 0.0
	for _, k := range []int{1, 2, 5, 6} {
		for _, m := range []int{1, 4, 5} {
			for _, n := range []int{c.blk, 3*c.blk + 5, 2*c.blk - 1} {
				ins := checkMatrix(k, n, n, uint32(k*100+n))
				w := checkMatrix(1, m*k, m*k, uint32(m+7*k))
				for acc := range 2 {
					got := checkMatrix(m, n, n, uint32(m*3+n))
					want := append([]float32(nil), got...)
					var in, og, ow ConnRows
					in.Reset(n)
					in.AddBlock(ins, k)
					og.Reset(n)
					og.AddBlock(got, m)
					ow.Reset(n)
					ow.AddBlock(want, m)
					if c.mix != nil {
						bulk := n / c.blk * c.blk
						c.mix(&og.p[0], m, &in.p[0], k, &w[0], bulk, acc)
						connMixGo(&og, &in, w, acc == 1, bulk)
					}
					connMixGo(&ow, &in, w, acc == 1, 0)
					worst = max(worst, relDiff(got, want))
				}
				if c.dots != nil {
					a := checkMatrix(m, n, n, uint32(m*5+n))
					var ar, br ConnRows
					ar.Reset(n)
					ar.AddBlock(a, m)
					br.Reset(n)
					br.AddBlock(ins, k)
					dg, dw := make([]float32, m*k), make([]float32, m*k)
					bulk := n / c.blk * c.blk
					c.dots(&dg[0], &ar.p[0], m, &br.p[0], k, bulk)
					connDotsGo(dg, &ar, &br, bulk)
					connDotsGo(dw, &ar, &br, 0)
					worst = max(worst, relDiff(dg, dw))
				}
			}
		}
	}
	return worst
}
