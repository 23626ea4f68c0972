package model

import "github.com/mhc-go/mhc/hyper"

// Recomputation (mHC paper §4.3.2; Config.Recompute, Config.RecomputeScope).
// The 2L sublayers are cut into nb = ⌈2L/rc⌉ blocks of rc consecutive
// sublayers. The forward pass keeps the residual state only at block
// boundaries (xs[0…nb], the last one the top state x_2L); the states inside
// a block live in rc−1 buffers that every block reuses. The backward pass
// walks the blocks from the top and rebuilds a block's inner states from its
// boundary state before back-propagating through it; the top block needs no
// rebuilding (its states are still those of the forward pass). Every kernel
// is deterministic, so the rebuilt states and the gradients are
// bit-identical to those without recomputation.
//
// Scope "streams" (the paper's Table 3) keeps every sublayer's input u,
// output y and activations, and the connections' coefficients; rebuilding
// a block re-runs only the write-outs x_{l+1} = Post_l(x_l, y_l), a pass
// over the n·C state per sublayer with no sublayer work. The n−1 extra
// streams then cost n·C per block instead of n·C per sublayer.
//
// Scope "all" also shares the sublayer inputs, outputs and activations
// (attention: normed, qkv, probs, att; MLP: normed, gate_up, act) among the
// blocks: one block's worth of buffers. Rebuilding a block re-runs its whole
// forward (connections and sublayers): about one more forward of time.

// planRecompute sets rc and nb from Cfg.Recompute and, for scope "all",
// sizes the shared activation sets: sublayer l uses set setOf[l] of its
// kind (attention at even l, MLP at odd l), numbered by its place among the
// block's sublayers of that kind.
func (m *Model) planRecompute() {
	L := 2 * m.Cfg.Layers
	m.rc = min(m.Cfg.Recompute, L)
	if m.rc <= 0 {
		m.rc = 0
		return
	}
	m.nb = (L + m.rc - 1) / m.rc
	if !m.shared() {
		return
	}
	m.setOf = make([]int, L)
	var na, nm int
	for s := 0; s < L; s += m.rc {
		var a, f int
		for l := s; l < min(s+m.rc, L); l++ {
			if l%2 == 0 {
				m.setOf[l], a = a, a+1
			} else {
				m.setOf[l], f = f, f+1
			}
		}
		na, nm = max(na, a), max(nm, f)
	}
	m.attnSets = make([]*attnActs, na)
	m.mlpSets = make([]*mlpActs, nm)
}

// blockLen is the number of sublayers per recomputation block (all of them
// when recomputation is off: one block, never recomputed).
func (m *Model) blockLen() int {
	if m.rc == 0 {
		return len(m.subs)
	}
	return m.rc
}

// x is the residual state before sublayer l (l = 2L: the top state).
func (m *Model) x(l int) []float32 {
	switch {
	case m.rc == 0:
		return m.xs[l]
	case l == len(m.subs):
		return m.xs[m.nb]
	case l%m.rc == 0:
		return m.xs[l/m.rc]
	}
	return m.xs[m.nb+l%m.rc]
}

// shared reports whether the blocks share the sublayer buffers (scope
// "all").
func (m *Model) shared() bool { return m.Cfg.RecomputesAll() }

// u and y are sublayer l's input and output buffers.
func (m *Model) u(l int) []float32 {
	if !m.shared() {
		return m.us[l]
	}
	return m.us[l%m.rc]
}

func (m *Model) y(l int) []float32 {
	if !m.shared() {
		return m.ys[l]
	}
	return m.ys[l%m.rc]
}

// bind points sublayer l at its shared activation set (no-op unless the
// scope is "all": otherwise every sublayer owns its activations).
func (m *Model) bind(l int) {
	if !m.shared() {
		return
	}
	switch s := m.subs[l].(type) {
	case *attention:
		s.act = m.attnSets[m.setOf[l]]
	case *mlp:
		s.act = m.mlpSets[m.setOf[l]]
	}
}

// forwardRange runs sublayers [s, e) with their connections on the current
// batch: x(s) → u(s) → y(s) → x(s+1) → … → x(e). The seam between two
// sublayers of the range, Post_l then Pre_{l+1}, runs as one pass
// (hyper.PostPre); Pre_s and Post_{e−1} run alone.
func (m *Model) forwardRange(s, e int) {
	N, C := m.B*m.T, m.Cfg.D
	m.conns[s].Pre(m.x(s), m.u(s), N)
	for l := s; l < e; l++ {
		m.bind(l)
		m.subs[l].forward(m.u(l)[:N*C], m.y(l), m.B, m.T)
		if l+1 < e {
			m.postPre(l, N)
		} else {
			m.conns[l].Post(m.x(l), m.y(l), m.x(l+1), N)
		}
	}
}

// seamsOff is a test hook: true runs every seam as the separate
// connection calls instead of hyper.PostPre and hyper.BackwardSeam.
var seamsOff bool

// postPre runs the forward seam between sublayers l and l+1: Post_l, then
// Pre_{l+1} (hyper.PostPre).
func (m *Model) postPre(l, N int) {
	cur, next := m.conns[l], m.conns[l+1]
	if seamsOff {
		cur.Post(m.x(l), m.y(l), m.x(l+1), N)
		next.Pre(m.x(l+1), m.u(l+1), N)
		return
	}
	hyper.PostPre(cur, next, m.x(l), m.y(l), m.x(l+1), m.u(l+1), N)
}

// backwardSeam runs the backward seam between sublayers l−1 and l,
// PreBackward_l then PostBackward_{l−1} (hyper.BackwardSeam), with dL/du_l
// in m.du and the gradient of x(l) from PostBackward_l in dx; it writes
// dL/dy_{l−1} into m.dy and returns the buffer, dx or spare, that holds
// PostBackward_{l−1}'s gradient of x(l−1).
func (m *Model) backwardSeam(l int, dx, spare []float32, N int) []float32 {
	cur, next := m.conns[l-1], m.conns[l]
	if seamsOff {
		next.PreBackward(m.x(l), m.du, dx, N)
		cur.PostBackward(m.x(l-1), m.y(l-1), dx, m.dy, spare, N)
		return spare
	}
	return hyper.BackwardSeam(cur, next, m.x(l-1), m.y(l-1), m.x(l), m.du, dx, m.dy, spare, N)
}

// rebuild recomputes the residual states inside the block of sublayers
// [s, e) from its boundary state x(s): scope "streams" re-runs the
// connections' write-outs from the stored sublayer outputs and
// coefficients, scope "all" the whole forward of the block. It runs in the
// backward pass before the seam between sublayers e−1 and e; it writes
// nothing that the part of that seam above the boundary reads (x(e) is
// kept, or with scope "all" rewritten with the same bits).
func (m *Model) rebuild(s, e int) {
	if m.shared() {
		m.forwardRange(s, e)
		return
	}
	N := m.B * m.T
	for l := s; l < e-1; l++ { // x(e) is the next block's boundary, kept
		m.conns[l].Post(m.x(l), m.y(l), m.x(l+1), N)
	}
}
