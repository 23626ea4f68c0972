package train

import (
	"math"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/manifold"
	"github.com/mhc-go/mhc/model"
)

// Probe measures the Amax gain instruments (mHC paper §3.1, §5.4) on a fixed
// batch: for every sublayer l with a stream-mixing matrix, H_res averaged
// over the probe's tokens (the matrix is averaged first, then the gain is
// taken, as in the paper's Fig. 8), and the composites H_l···H_1 (forward)
// and H_L···H_l (backward). The composites are products over sublayers, in
// forward order.
type Probe struct {
	m      *model.Model
	inputs []int32
	B      int
	mats   [][]float64
}

// Gains is one measurement, as logged to metrics.jsonl (kind "gains").
type Gains struct {
	Step int `json:"step"`
	// Per sublayer (2L entries): forward gain max_i|Σ_j H[i,j]|, backward
	// gain max_j|Σ_i H[i,j]| and max_j|log Σ_i H[i,j]| of H_res.
	Fwd, Bwd, LogCol []float64
	// The same for the composites: CompFwd[l] is the forward gain of
	// H_l···H_1, CompBwd[l] the backward gain of H_L···H_l.
	CompFwd, CompBwd, CompLogCol []float64
	// Max over sublayers of the composite gains (the paper's headline number)
	// and of the composite |log column sum| (which exposes attenuation that the
	// max hides).
	MaxCompFwd, MaxCompBwd, MaxCompLogCol float64
	// Matrices are the token-averaged H_res per sublayer, n·n row-major in the
	// paper's orientation (row i forms output stream i).
	Matrices [][]float64 `json:"-"`
}

// NewProbe picks the probe batch: the first B evaluation windows of tokens
// (typically the validation stream). It returns nil when the model's
// connection has no mixing matrix (the plain residual) or tokens is too short.
func NewProbe(m *model.Model, tokens []int32, B int) *Probe {
	if len(m.Connections()) == 0 {
		return nil
	}
	if _, ok := m.Connections()[0].(hyper.ResMixer); !ok {
		return nil
	}
	B = min(B, m.MaxB)
	offs, err := data.EvalWindows(tokens, m.Cfg.Seq, B)
	if err != nil || len(offs) == 0 {
		return nil
	}
	p := &Probe{m: m, B: len(offs), inputs: make([]int32, len(offs)*m.Cfg.Seq)}
	for i, o := range offs {
		in, _ := data.Window(tokens, o, m.Cfg.Seq)
		copy(p.inputs[i*m.Cfg.Seq:], in)
	}
	n := m.Cfg.Streams
	for range m.Connections() {
		p.mats = append(p.mats, make([]float64, n*n))
	}
	return p
}

// Measure runs a forward pass on the probe batch (overwriting the model's
// activations) and computes the gains.
func (p *Probe) Measure(step int) Gains {
	m := p.m
	m.Forward(p.inputs, p.B, m.Cfg.Seq)
	N := p.B * m.Cfg.Seq
	for l, c := range m.Connections() {
		c.(hyper.ResMixer).MeanRes(p.mats[l], N)
	}
	return AnalyzeGains(step, p.mats, m.Cfg.Streams)
}

// AnalyzeGains computes the instruments from per-sublayer matrices.
func AnalyzeGains(step int, mats [][]float64, n int) Gains {
	r := manifold.Analyze(mats, n)
	g := Gains{Step: step, Fwd: r.Single.Fwd, Bwd: r.Single.Bwd, LogCol: r.Single.LogCol,
		CompFwd: r.FwdComposite.Fwd, CompBwd: r.BwdComposite.Bwd, CompLogCol: r.FwdComposite.LogCol}
	for i := range g.CompFwd {
		g.MaxCompFwd = math.Max(g.MaxCompFwd, g.CompFwd[i])
		g.MaxCompBwd = math.Max(g.MaxCompBwd, g.CompBwd[i])
		g.MaxCompLogCol = math.Max(g.MaxCompLogCol, math.Max(r.FwdComposite.LogCol[i], r.BwdComposite.LogCol[i]))
	}
	for _, m := range mats {
		g.Matrices = append(g.Matrices, append([]float64(nil), m...))
	}
	return g
}

// Record is the metrics.jsonl object for g.
func (g Gains) Record() map[string]any {
	return map[string]any{"kind": "gains", "step": g.Step,
		"fwd": g.Fwd, "bwd": g.Bwd, "log_col": g.LogCol,
		"comp_fwd": g.CompFwd, "comp_bwd": g.CompBwd, "comp_log_col": g.CompLogCol,
		"max_comp_fwd": g.MaxCompFwd, "max_comp_bwd": g.MaxCompBwd, "max_comp_log_col": g.MaxCompLogCol}
}
