package model

// Recomputation (mHC paper §4.3.2; Config.Recompute). The 2L sublayers are
// cut into nb = ⌈2L/rc⌉ blocks of rc consecutive sublayers. The forward pass
// keeps the residual state only at block boundaries (xs[0…nb], the last one
// the top state x_2L); the states inside a block, the sublayer inputs and
// outputs and the sublayers' activations (attention: normed, qkv, probs,
// att; MLP: normed, gate_up, act) live in one block's worth of buffers that
// every block reuses. The backward pass walks the blocks from the top: it
// re-runs a block's forward (connections and sublayers) from its boundary
// state, which rebuilds exactly the same activations (every kernel is
// deterministic), then back-propagates through it. The top block needs no
// recomputation: its activations are still those of the forward pass. The
// gradients are therefore bit-identical to those without recomputation, at
// the price of one more forward of all but the top block.

// planRecompute sets rc and nb from Cfg.Recompute and sizes the shared
// activation sets: sublayer l uses set setOf[l] of its kind (attention at
// even l, MLP at odd l), numbered by its place among the block's sublayers
// of that kind.
func (m *Model) planRecompute() {
	L := 2 * m.Cfg.Layers
	m.rc = min(m.Cfg.Recompute, L)
	if m.rc <= 0 {
		m.rc = 0
		return
	}
	m.nb = (L + m.rc - 1) / m.rc
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

// u and y are sublayer l's input and output buffers.
func (m *Model) u(l int) []float32 {
	if m.rc == 0 {
		return m.us[l]
	}
	return m.us[l%m.rc]
}

func (m *Model) y(l int) []float32 {
	if m.rc == 0 {
		return m.ys[l]
	}
	return m.ys[l%m.rc]
}

// bind points sublayer l at its shared activation set (no-op without
// recomputation: every sublayer owns its activations).
func (m *Model) bind(l int) {
	if m.rc == 0 {
		return
	}
	switch s := m.subs[l].(type) {
	case *attention:
		s.act = m.attnSets[m.setOf[l]]
	case *mlp:
		s.act = m.mlpSets[m.setOf[l]]
	}
}

// sublayerForward runs sublayer l with its connection on the current batch:
// x(l) → u(l) → y(l) → x(l+1).
func (m *Model) sublayerForward(l int) {
	N, C := m.B*m.T, m.Cfg.D
	m.bind(l)
	m.conns[l].Pre(m.x(l), m.u(l), N)
	m.subs[l].forward(m.u(l)[:N*C], m.y(l), m.B, m.T)
	m.conns[l].Post(m.x(l), m.y(l), m.x(l+1), N)
}
