package cost

import (
	"fmt"

	"github.com/mhc-go/mhc/hyper"
)

// Params counts parameters by part. Attention and FFN include their
// sublayer's RMSNorm weight (and MLA's latent norms, the MoE router);
// Connection is the HC/mHC parameters of all L sublayers and Contract the
// learned stream-merge head.
type Params struct {
	Embedding  int64 `json:"embedding"`  // V·C
	Head       int64 `json:"head"`       // LM head V·C; 0 when tied
	Attention  int64 `json:"attention"`  // all blocks
	FFN        int64 `json:"ffn"`        // all blocks, every expert
	FinalNorm  int64 `json:"final_norm"` // C
	Connection int64 `json:"connection"` // L · PerSublayer
	Contract   int64 `json:"contract"`   // learned head: n·nC + n + 1; else 0

	PerSublayer int64 `json:"per_sublayer"` // ConnParams(kind, n, C)

	// Total is every parameter; Active those one token multiplies: Total
	// minus the input embedding (a lookup) minus the routed experts it is
	// not sent to. Residual is Total without Connection and Contract.
	Total    int64 `json:"total"`
	Active   int64 `json:"active"`
	Residual int64 `json:"residual"`
}

// ConnParams is the connection's parameters per sublayer for n streams of
// width C:
//
//	residual  0
//	hc        C·(n+2) + n·(n+2) + 2   W_α [C, n+1], W_β [C], static α [n, n+1] and β [n], s_α, s_β
//	mhc       nC·(n²+2n) + (n²+2n) + 3   φ [n²+2n, nC], b [n²+2n], α_pre, α_post, α_res
//	mhc-lite  nC·(n!+2n) + (n!+2n) + 3   one H_res logit per permutation
//
// (HC's per-stream LayerNorm has no weight, as in the HC paper's OLMo runs.)
func ConnParams(kind hyper.Kind, n, c int) int64 {
	N, C := int64(n), int64(c)
	switch kind {
	case hyper.HC:
		return C*(N+2) + N*(N+2) + 2
	case hyper.MHC, hyper.MHCLite:
		p := connLogits(kind, n)
		return N*C*p + p + 3
	}
	return 0
}

// connLogits is the coefficients per token of an mHC connection: 2n + n²
// (mhc-lite: 2n + n!).
func connLogits(kind hyper.Kind, n int) int64 {
	N := int64(n)
	if kind == hyper.MHCLite {
		f := int64(1)
		for i := int64(2); i <= N; i++ {
			f *= i
		}
		return 2*N + f
	}
	return 2*N + N*N
}

// attnParams is one attention sublayer's weights and its input RMSNorm:
//
//	mha  C + 3C² + C²
//	mla  C + [C·H(d+r) | C·q + q + q·H(d+r)] + C·(k+r) + k + k·H(d+v) + H·v·C
//
// with d = head_dim, r = rope_dim, q = q_rank, k = kv_rank, v = v_head_dim.
func (a Arch) attnParams() int64 {
	C := int64(a.D)
	at := a.Attention
	if at.Kind == MHA {
		return C + 4*C*C
	}
	H, d, r, k, v, q := int64(at.Heads), int64(at.HeadDim), int64(at.RopeDim), int64(at.KVRank), int64(a.vDim()), int64(at.QRank)
	p := C // attn_norm
	if q > 0 {
		p += C*q + q + q*H*(d+r)
	} else {
		p += C * H * (d + r)
	}
	return p + C*(k+r) + k + k*H*(d+v) + H*v*C
}

func (a Arch) vDim() int {
	if a.Attention.VHeadDim > 0 {
		return a.Attention.VHeadDim
	}
	return a.Attention.HeadDim
}

// swiglu is a SwiGLU MLP's weights: gate, up (C → h) and down (h → C).
func swiglu(c, h int) int64 { return 3 * int64(c) * int64(h) }

// moeLayers is the number of MoE blocks (0 for a dense FFN).
func (a Arch) moeLayers() int {
	if a.FFN.Kind != MoE {
		return 0
	}
	return a.Layers - a.FFN.DenseLayers
}

// Params counts a's parameters. For an engine Arch (FromModel) Total equals
// model.New(cfg, b).NumParams() exactly.
func (a Arch) Params() Params {
	C, V, L := int64(a.D), int64(a.Vocab), int64(a.Layers)
	f := a.FFN
	var p Params
	p.Embedding = V * C
	if !a.Tie {
		p.Head = V * C
	}
	p.Attention = L * a.attnParams()
	moe := int64(a.moeLayers())
	dense := L - moe
	p.FFN = L*C + dense*swiglu(a.D, f.Hidden) // ffn norms, dense blocks
	var inactive int64
	if moe > 0 {
		E, S := int64(f.Experts), int64(f.Shared)
		p.FFN += moe * ((E+S)*swiglu(a.D, f.ExpertHidden) + C*E) // experts and router
		inactive = moe * (E - int64(f.Active)) * swiglu(a.D, f.ExpertHidden)
	}
	p.FinalNorm = C
	n := int64(a.Conn.Streams)
	p.PerSublayer = ConnParams(a.Conn.Kind, a.Conn.Streams, a.D)
	p.Connection = int64(a.Sublayers()) * p.PerSublayer
	if a.Conn.Contract == "learned" {
		p.Contract = n*n*C + n + 1
	}
	p.Residual = p.Embedding + p.Head + p.Attention + p.FFN + p.FinalNorm
	p.Total = p.Residual + p.Connection + p.Contract
	p.Active = p.Total - p.Embedding - inactive
	if a.Tie {
		p.Active += p.Embedding // the tied matrix is the LM head's
	}
	return p
}

// ConnFormula is ConnParams's formula for kind, for display.
func ConnFormula(kind hyper.Kind) string {
	switch kind {
	case hyper.HC:
		return "C·(n+2) + n·(n+2) + 2"
	case hyper.MHC:
		return "nC·(n²+2n) + (n²+2n) + 3"
	case hyper.MHCLite:
		return "nC·(n!+2n) + (n!+2n) + 3"
	}
	return "0"
}

// Human formats a count with a B/M/K suffix and three significant digits:
// 27.0 B, 14.7 M, 612 M.
func Human(x float64) string {
	for _, u := range []struct {
		div  float64
		unit string
	}{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}} {
		if x >= u.div {
			v := x / u.div
			switch {
			case v >= 99.95:
				return fmt.Sprintf("%.0f %s", v, u.unit)
			case v >= 9.995:
				return fmt.Sprintf("%.1f %s", v, u.unit)
			}
			return fmt.Sprintf("%.2f %s", v, u.unit)
		}
	}
	return fmt.Sprintf("%.0f", x)
}
