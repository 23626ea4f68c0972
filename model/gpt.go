package model

import (
	"fmt"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
)

// sublayer is attention or MLP, including its own RMSNorm.
type sublayer interface {
	// forward: u (N, C) → y (N, C), overwriting y.
	forward(u, y []float32, B, T int)
	// backward: ACCUMULATES dL/du into du; uses the last forward's activations.
	backward(u, dy, du []float32)
}

// scratch holds backward buffers shared by all layers (used one layer at a time).
type scratch struct {
	datt, dqkv, dprobs, dnorm, dgu, dact []float32
}

// Model is a GPT with a configurable residual connection. It is built for at
// most MaxB sequences of at most Cfg.Seq tokens; Forward and Backward may use
// any B ≤ MaxB and T ≤ Cfg.Seq.
type Model struct {
	Cfg    Config
	Params *param.Store
	MaxB   int

	wte, lmHead *param.Tensor
	subs        []sublayer         // 2·Layers, attention then MLP per block
	conns       []hyper.Connection // one per sublayer
	streams     *hyper.Streams
	normF       *rmsnorm

	// activations: N = B·T rows, n streams
	emb []float32 // (N, C)
	// xs are the residual states, each (N, n, C): without recomputation all
	// 2L+1; with recomputation blocks of rc sublayers (see x) the nb+1 block
	// boundaries xs[0…nb] followed by the rc−1 states inside one block.
	xs     [][]float32
	us, ys [][]float32 // sublayer inputs and outputs, (N, C): 2L, or rc (one block, scope "all")
	// recomputation (Cfg.Recompute, recompute.go): rc sublayers per block
	// (0: off), nb blocks; with scope "all" the sublayers of a block share
	// attnActs and mlpActs sets, sublayer l using set setOf[l] of its kind.
	rc, nb   int
	attnSets []*attnActs
	mlpSets  []*mlpActs
	setOf    []int
	final    []float32 // contracted top state (N, C)
	normed   []float32 // after the final norm (N, C)
	logits   []float32 // (N, V); after a training step it holds dlogits
	// backward
	dxA, dxB []float32 // (N, n, C), ping-pong
	du, dy   []float32 // (N, C)
	sc       scratch
	partial  []float64 // per-chunk loss sums

	B, T    int
	tokens  []int32
	targets []int32
	ceScale float32
	ceTask  kernels.ChunkTask
	train   bool
}

// New builds a model for batches of up to maxB sequences. Parameters are
// registered and allocated; call Params.Initialize(seed) (or load a
// checkpoint) before use. It returns an error for an invalid config.
func New(cfg Config, maxB int) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if maxB < 1 {
		return nil, fmt.Errorf("model: batch %d: must be at least 1", maxB)
	}
	C, V, N, n, h := cfg.D, cfg.Vocab, maxB*cfg.Seq, cfg.Streams, cfg.MLPHidden
	s := &param.Store{}
	m := &Model{Cfg: cfg, Params: s, MaxB: maxB}
	m.wte = s.Add("wte.weight", true, V, C)
	m.wte.Init = cfg.embedInit()
	m.sc = scratch{
		datt: make([]float32, N*C), dqkv: make([]float32, N*3*C),
		dprobs: make([]float32, dprobsSize(cfg, maxB)),
		dnorm:  make([]float32, N*C), dgu: make([]float32, N*2*h), dact: make([]float32, N*h),
	}
	cos, sin := ropeTables(cfg)
	m.planRecompute()
	hb := hyper.Builder{Cfg: cfg.Config, C: C, MaxN: N, Store: s, Layers: 2 * cfg.Layers}
	for l := 0; l < cfg.Layers; l++ {
		p := fmt.Sprintf("blocks.%d", l)
		ca, err := hb.New(p+".attn_conn", 2*l)
		if err != nil {
			return nil, err
		}
		if m.shared() {
			a := newAttentionShared(s, p, cfg, maxB, &m.sc, cos, sin)
			a.qkvBuf = make([]float32, cfg.Seq*3*C) // one sequence, for the Decoder
			m.subs = append(m.subs, a)
		} else {
			m.subs = append(m.subs, newAttention(s, p, cfg, maxB, &m.sc, cos, sin))
		}
		cm, err := hb.New(p+".mlp_conn", 2*l+1)
		if err != nil {
			return nil, err
		}
		if m.shared() {
			m.subs = append(m.subs, newMLPShared(s, p, cfg, maxB, &m.sc))
		} else {
			m.subs = append(m.subs, newMLP(s, p, cfg, maxB, &m.sc))
		}
		m.conns = append(m.conns, ca, cm)
	}
	var err error
	if m.streams, err = hyper.NewStreams(cfg.Config, C, N, s); err != nil {
		return nil, err
	}
	m.normF = newRMSNorm(s, "norm_f.weight", C, N, cfg.NormEps)
	if cfg.Tie {
		m.lmHead = m.wte
	} else {
		m.lmHead = s.Add("lm_head.weight", true, V, C)
		m.lmHead.Init = cfg.headInit()
	}
	s.Build()

	m.emb = make([]float32, N*C)
	states, perBlock := 2*cfg.Layers+1, 2*cfg.Layers
	if m.rc > 0 {
		states = m.nb + 1 + m.rc - 1
	}
	if m.shared() {
		perBlock = m.rc
		for i := range m.attnSets {
			m.attnSets[i] = newAttnActs(cfg, maxB)
		}
		for i := range m.mlpSets {
			m.mlpSets[i] = newMLPActs(cfg, maxB)
		}
	}
	for range states {
		m.xs = append(m.xs, make([]float32, N*n*C))
	}
	for range perBlock {
		m.us = append(m.us, make([]float32, N*C))
		m.ys = append(m.ys, make([]float32, N*C))
	}
	m.final, m.normed = make([]float32, N*C), make([]float32, N*C)
	m.logits = make([]float32, N*V)
	m.dxA, m.dxB = make([]float32, N*n*C), make([]float32, N*n*C)
	m.du, m.dy = make([]float32, N*C), make([]float32, N*C)
	m.partial = make([]float64, kernels.MaxChunks())
	m.ceTask = kernels.ChunkFunc(m.crossEntropy)
	return m, nil
}

// NumParams is the number of trainable parameters.
func (m *Model) NumParams() int { return m.Params.Numel() }

// Logits returns the (B·T, V) logits of the last Forward. After
// ForwardBackward the buffer holds dL/dlogits instead.
func (m *Model) Logits() []float32 { return m.logits[:m.B*m.T*m.Cfg.Vocab] }

// Config returns the architecture.
func (m *Model) Config() Config { return m.Cfg }

// Parameters returns the store holding the weights and their gradients.
func (m *Model) Parameters() *param.Store { return m.Params }

// MaxBatch is the most sequences one Forward may take.
func (m *Model) MaxBatch() int { return m.MaxB }

// MeanRes runs a forward pass on tokens (B, T) and OVERWRITES dst[l] (n·n
// each, one per sublayer) with sublayer l's H_res averaged over the B·T
// tokens, in the mHC paper's orientation (see hyper.ResMixer). It returns
// false, leaving dst untouched, when the connection has no mixing matrix.
func (m *Model) MeanRes(tokens []int32, B, T int, dst [][]float64) bool {
	if len(m.conns) == 0 {
		return false
	}
	if _, ok := m.conns[0].(hyper.ResMixer); !ok {
		return false
	}
	m.Forward(tokens, B, T)
	for l, c := range m.conns {
		c.(hyper.ResMixer).MeanRes(dst[l], B*T)
	}
	return true
}

// Sublayer names sublayer i (0-based, forward order): its block (0-based)
// and kind, "attn" or "mlp". Each block has an attention then an MLP
// sublayer; their connections are blocks.B.attn_conn and blocks.B.mlp_conn.
func Sublayer(i int) (block int, kind string) {
	if i%2 == 0 {
		return i / 2, "attn"
	}
	return i / 2, "mlp"
}

// Connections returns the connection of each sublayer, in forward order.
func (m *Model) Connections() []hyper.Connection { return m.conns }

func (m *Model) check(tokens []int32, B, T int) {
	if B < 1 || B > m.MaxB || T < 1 || T > m.Cfg.Seq || len(tokens) < B*T {
		panic(fmt.Sprintf("model: batch %dx%d does not fit %dx%d (tokens %d)", B, T, m.MaxB, m.Cfg.Seq, len(tokens)))
	}
}

// Forward runs the network on tokens (B, T) and leaves the logits in Logits().
// Token ids must be in [0, Vocab).
func (m *Model) Forward(tokens []int32, B, T int) {
	m.check(tokens, B, T)
	m.B, m.T, m.tokens = B, T, tokens[:B*T]
	C, N := m.Cfg.D, B*T
	w := m.wte.Data
	for i, tok := range m.tokens {
		copy(m.emb[i*C:(i+1)*C], w[int(tok)*C:int(tok+1)*C])
	}
	m.streams.Expand(m.emb, m.x(0), N)
	m.forwardRange(0, len(m.subs))
	m.streams.Contract(m.x(len(m.subs)), m.final, N)
	m.normF.forward(m.final, m.normed, N)
	kernels.GEMM(false, true, N, m.Cfg.Vocab, C, 1, m.normed, C, m.lmHead.Data, C, 0, m.logits, m.Cfg.Vocab)
}

func (m *Model) crossEntropy(chunk, lo, hi int) {
	V := m.Cfg.Vocab
	lg := m.logits[lo*V : hi*V]
	var d []float32
	if m.train {
		d = lg
	}
	m.partial[chunk] = kernels.CrossEntropy(d, lg, m.targets[lo:hi], hi-lo, V, m.ceScale)
}

// Loss returns the mean cross-entropy (nats/token) of the last Forward's
// logits against targets (B·T ids in [0, Vocab)).
func (m *Model) Loss(targets []int32) float64 {
	return m.loss(targets, false, 0)
}

func (m *Model) loss(targets []int32, train bool, scale float32) float64 {
	N := m.B * m.T
	m.targets, m.train, m.ceScale = targets[:N], train, scale
	clear(m.partial)
	chunks := kernels.ParallelChunks(N, 32, m.ceTask)
	var sum float64
	for _, p := range m.partial[:chunks] {
		sum += p
	}
	return sum / float64(N)
}

// ForwardBackward runs a training forward and backward pass on (inputs,
// targets), each (B, T), and ACCUMULATES into Params.Grad the gradient of
// lossScale × mean cross-entropy. It returns the mean cross-entropy.
func (m *Model) ForwardBackward(inputs, targets []int32, B, T int, lossScale float32) float64 {
	m.Forward(inputs, B, T)
	N, C, V := B*T, m.Cfg.D, m.Cfg.Vocab
	loss := m.loss(targets, true, lossScale/float32(N))
	dlogits := m.logits[:N*V]
	// LM head and final norm.
	kernels.GEMM(true, false, V, C, N, 1, dlogits, V, m.normed, C, 1, m.lmHead.Grad, C)
	kernels.GEMM(false, false, N, C, V, 1, dlogits, V, m.lmHead.Data, C, 0, m.dy, C)
	clear(m.du[:N*C])
	m.normF.backward(m.final, m.dy, m.du, N)
	// dx holds the gradient of the state being walked down, spare is the
	// other (N, n, C) buffer: the seams between sublayers (hyper.BackwardSeam:
	// PreBackward_l then PostBackward_{l−1}) update dx in place where the
	// connections fuse them, else write into spare.
	dx, spare := m.dxA, m.dxB
	L, R := len(m.subs), m.blockLen()
	m.streams.ContractBackward(m.x(L), m.du, dx, N)
	m.conns[L-1].PostBackward(m.x(L-1), m.y(L-1), dx, m.dy, spare, N)
	dx, spare = spare, dx
	for s := (L - 1) / R * R; s >= 0; s -= R {
		// The states of block [s, e) are in place: the top block's are the
		// forward's own, the others were rebuilt below before the seam into
		// the block.
		e := min(s+R, L)
		for l := e - 1; l >= s; l-- {
			m.bind(l)
			clear(m.du[:N*C])
			m.subs[l].backward(m.u(l)[:N*C], m.dy, m.du)
			if l == 0 {
				m.conns[0].PreBackward(m.x(0), m.du, dx, N)
				break
			}
			if l == s {
				// Rebuild the block below before the seam, which reads its
				// top state x(l−1) and output y(l−1); the seam's own part
				// of this block needs only the kept boundary state x(l).
				m.rebuild(s-R, s)
			}
			out := m.backwardSeam(l, dx, spare, N)
			if &out[0] != &dx[0] {
				dx, spare = out, dx
			}
		}
	}
	m.streams.ExpandBackward(dx, m.du, N)
	g := m.wte.Grad
	for i, tok := range m.tokens {
		kernels.Axpy(1, m.du[i*C:(i+1)*C], g[int(tok)*C:int(tok+1)*C])
	}
	return loss
}
