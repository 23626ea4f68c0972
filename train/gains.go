package train

import (
	"math"

	"github.com/mhc-go/mhc/data"
	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/manifold"
)

// Probe measures the Amax gain instruments (mHC paper §3.1, §5.4) on a fixed
// batch: for every sublayer l with a stream-mixing matrix, H_res averaged
// over the probe's tokens (the matrix is averaged first, then the gain is
// taken, as in the paper's Fig. 8), and the composites H_l···H_1 (forward)
// and H_L···H_l (backward). The composites are products over sublayers, in
// forward order.
type Probe struct {
	net    Network
	inputs []int32
	B      int
	mats   [][]float64
}

// Gains is one measurement, as logged to metrics.jsonl (kind "gains").
type Gains struct {
	Step   int   `json:"step"`
	Tokens int64 `json:"tokens"` // cumulative training tokens (set by the trainer)
	// Per sublayer (2L entries): forward gain max_i|Σ_j H[i,j]|, backward
	// gain max_j|Σ_i H[i,j]| and max_j|log Σ_i H[i,j]| of H_res.
	Fwd    []float64 `json:"fwd"`
	Bwd    []float64 `json:"bwd"`
	LogCol []float64 `json:"log_col"`
	// The same for the composites: CompFwd[l] is the forward gain of
	// H_l···H_1, CompBwd[l] the backward gain of H_L···H_l.
	CompFwd    []float64 `json:"comp_fwd"`
	CompBwd    []float64 `json:"comp_bwd"`
	CompLogCol []float64 `json:"comp_log_col"`
	// Max over sublayers of the composite gains (the paper's headline number)
	// and of the composite |log column sum| (which exposes attenuation that the
	// max hides).
	MaxCompFwd    float64 `json:"max_comp_fwd"`
	MaxCompBwd    float64 `json:"max_comp_bwd"`
	MaxCompLogCol float64 `json:"max_comp_log_col"`
	// Matrices are the token-averaged H_res per sublayer, n·n row-major in the
	// paper's orientation (row i forms output stream i).
	Matrices [][]float64 `json:"h_res"`
}

// NewProbe picks the probe batch: the first B evaluation windows of tokens
// (typically the validation stream). It returns nil when the network has no
// stream-mixing matrix (the plain residual) or tokens is too short.
func NewProbe(net Network, tokens []int32, B int) *Probe {
	cfg := net.Config()
	if cfg.Kind == hyper.Residual {
		return nil
	}
	B = min(B, net.MaxBatch())
	offs, err := data.EvalWindows(tokens, cfg.Seq, B)
	if err != nil || len(offs) == 0 {
		return nil
	}
	p := &Probe{net: net, B: len(offs), inputs: make([]int32, len(offs)*cfg.Seq)}
	for i, o := range offs {
		in, _ := data.Window(tokens, o, cfg.Seq)
		copy(p.inputs[i*cfg.Seq:], in)
	}
	for range 2 * cfg.Layers {
		p.mats = append(p.mats, make([]float64, cfg.Streams*cfg.Streams))
	}
	return p
}

// Measure runs a forward pass on the probe batch (overwriting the network's
// activations) and computes the gains.
func (p *Probe) Measure(step int) Gains {
	cfg := p.net.Config()
	p.net.MeanRes(p.inputs, p.B, cfg.Seq, p.mats)
	return AnalyzeGains(step, p.mats, cfg.Streams)
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
