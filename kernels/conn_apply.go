package kernels

import (
	"fmt"
	"unsafe"
)

// MaxConnRows is the most rows a ConnRows holds (n+1 for n ≤ 16 streams).
const MaxConnRows = 17

// ConnRows names up to MaxConnRows float32 rows of one length c for
// ConnMix and ConnDots: the n streams of one token, the sublayer's
// input or output row, their gradients. Fill it with Reset, Add and
// AddBlock; it keeps pointers, so the rows must stay alive and unchanged in
// length while it is used. The path's loops are called through function
// values, so a ConnRows passed to ConnMix or ConnDots escapes: keep one per
// goroutine in long-lived scratch rather than on the stack, or every call
// allocates.
type ConnRows struct {
	n, c int
	p    [MaxConnRows]*float32
}

// Reset empties r for rows of length c.
func (r *ConnRows) Reset(c int) { r.n, r.c = 0, c }

// Len is the number of rows.
func (r *ConnRows) Len() int { return r.n }

// Add appends row[:c]. It panics if row is shorter than c or r is full.
func (r *ConnRows) Add(row []float32) {
	if len(row) < r.c || r.n == MaxConnRows {
		panic(fmt.Sprintf("kernels: ConnRows.Add: row of %d (want ≥ %d) or %d rows already", len(row), r.c, r.n))
	}
	if r.c > 0 {
		r.p[r.n] = &row[0]
	}
	r.n++
}

// AddBlock appends rows rows of block, row q at block[q·c:(q+1)·c].
func (r *ConnRows) AddBlock(block []float32, rows int) {
	for q := 0; q < rows; q++ {
		r.Add(block[q*r.c:])
	}
}

func (r *ConnRows) row(q int) []float32 { return unsafe.Slice(r.p[q], r.c) }

// ConnMix computes, for every output row i and element e < c,
//
//	out_i[e] = Σ_j w[i·k+j]·in_j[e]             (acc false)
//	out_i[e] = out_i[e] + Σ_j w[i·k+j]·in_j[e]   (acc true)
//
// with k = in.Len(), summed in j order (the first product of a non-acc row
// is a plain product). Output rows must not overlap input rows. It is the
// fused read-in / write-out of a hyper-connection: one pass over a token's
// streams instead of one Scale/Axpy call per pair.
func ConnMix(out, in *ConnRows, w []float32, acc bool) {
	m, k, c := out.n, in.n, out.c
	if in.c != c || len(w) < m*k || (k == 0 && !acc) {
		panic(fmt.Sprintf("kernels: ConnMix: %d×%d weights for %d, rows of %d and %d", m, k, len(w), in.c, c))
	}
	if c == 0 || m == 0 {
		return
	}
	a := 0
	if acc {
		a = 1
	}
	bulk := 0
	if f := conns().mix; f != nil && k > 0 {
		blk := conns().blk
		bulk = c / blk * blk
		if bulk > 0 {
			f(&out.p[0], m, &in.p[0], k, &w[0], bulk, a)
		}
	}
	if bulk < c {
		connMixGo(out, in, w, acc, bulk)
	}
}

// connMixGo is the portable ConnMix on elements [from, c).
func connMixGo(out, in *ConnRows, w []float32, acc bool, from int) {
	m, k := out.n, in.n
	for i := 0; i < m; i++ {
		o := out.row(i)[from:]
		wi := w[i*k : (i+1)*k]
		j0 := 0
		if !acc {
			x, s := in.row(0)[from:], wi[0]
			for e := range o {
				o[e] = s * x[e]
			}
			j0 = 1
		}
		for j := j0; j < k; j++ {
			x, s := in.row(j)[from:], wi[j]
			for e := range o {
				o[e] += s * x[e]
			}
		}
	}
}

// ConnDots OVERWRITES d[i·b.Len()+j] with ⟨a_i, b_j⟩ over the c elements,
// for every row of a and b: the coefficient gradients of a
// hyper-connection (dH_res = dxOut·xᵀ, dH_post = dxOut·yᵀ, dH_pre) in one
// pass. The summation order is fixed per path (deterministic).
func ConnDots(d []float32, a, b *ConnRows) {
	m, k, c := a.n, b.n, a.c
	if b.c != c || len(d) < m*k {
		panic(fmt.Sprintf("kernels: ConnDots: %d×%d products into %d, rows of %d and %d", m, k, len(d), c, b.c))
	}
	if m == 0 || k == 0 {
		return
	}
	if c == 0 {
		clear(d[:m*k])
		return
	}
	bulk := 0
	if f := conns().dots; f != nil {
		blk := conns().blk
		bulk = c / blk * blk
		if bulk > 0 {
			f(&d[0], &a.p[0], m, &b.p[0], k, bulk)
		}
	}
	if bulk == 0 {
		clear(d[:m*k])
	}
	if bulk < c {
		connDotsGo(d, a, b, bulk)
	}
}

// connDotsGo adds the products over elements [from, c) to d (from > 0) or
// overwrites d with them (from = 0), in element order.
func connDotsGo(d []float32, a, b *ConnRows, from int) {
	m, k := a.n, b.n
	for i := 0; i < m; i++ {
		x := a.row(i)[from:]
		for j := 0; j < k; j++ {
			y := b.row(j)[from:]
			var s float32
			if from > 0 {
				s = d[i*k+j]
			}
			for e, v := range x {
				s += v * y[e]
			}
			d[i*k+j] = s
		}
	}
}
