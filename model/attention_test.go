package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
)

// attnTestConfig has sequences spanning several causal row blocks, with a
// short last block.
func attnTestConfig(seq int) Config {
	c := tinyConfig()
	c.D, c.Heads, c.Seq, c.MLPHidden = 16, 2, seq, 12
	return c
}

// The blocked causal attention core matches a float64 full T×T reference,
// forward (att) and backward (dq, dk, dv), for T below, at and across
// multiples of the row block.
func TestCausalAttentionCore(t *testing.T) {
	for _, T := range []int{1, 5, attnBlk, attnBlk + 1, 2*attnBlk + 19} {
		t.Run(fmt.Sprint("T", T), func(t *testing.T) {
			cfg := attnTestConfig(T)
			B, C, H, hd := 2, cfg.D, cfg.Heads, cfg.HeadDim()
			N := B * T
			s := &param.Store{}
			sc := &scratch{datt: make([]float32, N*C), dqkv: make([]float32, N*3*C),
				dprobs: make([]float32, dprobsSize(cfg, B)), dnorm: make([]float32, N*C)}
			cos, sin := ropeTables(cfg)
			a := newAttention(s, "a", cfg, B, sc, cos, sin)
			s.Build()
			rng := rand.New(rand.NewPCG(uint64(T), 1))
			for i := range a.act.qkv[:N*3*C] {
				a.act.qkv[i] = float32(rng.NormFloat64())
			}
			for i := range sc.datt {
				sc.datt[i] = float32(rng.NormFloat64())
			}
			a.B, a.T, a.blocks = B, T, kernels.AttnBlocks{T: T, Blk: attnBlk}
			kernels.ParallelChunks(B*H, 1, a.headFwd)
			kernels.ParallelChunks(B*H, 1, a.headBwd)
			scale := 1 / math.Sqrt(float64(hd))
			var maxErr float64
			check := func(name string, got float32, want float64) {
				if e := math.Abs(float64(got)-want) / (1 + math.Abs(want)); e > maxErr {
					maxErr = e
					if e > 2e-5 {
						t.Fatalf("%s: got %v, want %v", name, got, want)
					}
				}
			}
			for b := range B {
				for h := range H {
					at := func(t, part, j int) float64 { return float64(a.act.qkv[(b*T+t)*3*C+part*C+h*hd+j]) }
					dO := func(t, j int) float64 { return float64(sc.datt[(b*T+t)*C+h*hd+j]) }
					dq := make([]float64, T*hd)
					dk := make([]float64, T*hd)
					dv := make([]float64, T*hd)
					for i := range T {
						p := make([]float64, i+1)
						m := math.Inf(-1)
						for j := range p {
							for c := range hd {
								p[j] += at(i, 0, c) * at(j, 1, c)
							}
							p[j] *= scale
							m = max(m, p[j])
						}
						var z float64
						for j := range p {
							p[j] = math.Exp(p[j] - m)
							z += p[j]
						}
						dp := make([]float64, i+1)
						var dot float64
						for j := range p {
							p[j] /= z
							for c := range hd {
								dp[j] += dO(i, c) * at(j, 2, c)
								dv[j*hd+c] += p[j] * dO(i, c)
							}
							dot += p[j] * dp[j]
						}
						for c := range hd {
							var o float64
							for j := range p {
								o += p[j] * at(j, 2, c)
							}
							check(fmt.Sprintf("att b%d h%d t%d c%d", b, h, i, c), a.act.att[(b*T+i)*C+h*hd+c], o)
						}
						for j := range p {
							ds := p[j] * (dp[j] - dot) * scale
							for c := range hd {
								dq[i*hd+c] += ds * at(j, 1, c)
								dk[j*hd+c] += ds * at(i, 0, c)
							}
						}
					}
					for i := range T {
						for c := range hd {
							r := (b*T+i)*3*C + h*hd + c
							check(fmt.Sprintf("dq b%d h%d t%d", b, h, i), sc.dqkv[r], dq[i*hd+c])
							check(fmt.Sprintf("dk b%d h%d t%d", b, h, i), sc.dqkv[r+C], dk[i*hd+c])
							check(fmt.Sprintf("dv b%d h%d t%d", b, h, i), sc.dqkv[r+2*C], dv[i*hd+c])
						}
					}
				}
			}
			t.Logf("max rel err %.2g", maxErr)
		})
	}
}

// Finite differences through a whole attention sublayer whose sequences
// span several row blocks.
func TestAttentionGradientsLong(t *testing.T) {
	cfg := attnTestConfig(2*attnBlk + 7)
	B := 1
	N, C := B*cfg.Seq, cfg.D
	s := &param.Store{}
	sc := &scratch{datt: make([]float32, N*C), dqkv: make([]float32, N*3*C),
		dprobs: make([]float32, dprobsSize(cfg, B)), dnorm: make([]float32, N*C)}
	cos, sin := ropeTables(cfg)
	a := newAttention(s, "a", cfg, B, sc, cos, sin)
	checkSublayerGradients(t, "attention", a, s, B, cfg.Seq, C, 0.3)
}
