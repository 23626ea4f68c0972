package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchGEMMShape is one benchmarked product; names follow the engine's use.
type benchGEMMShape struct {
	name           string
	transA, transB bool
	m, n, k        int
	beta           float32 // 0: C is overwritten; 1: C += op(A)·op(B)
	serial         bool    // GEMMSerial (per-head attention products)
}

var benchGEMMShapes = []benchGEMMShape{
	{name: "NN_128", m: 128, n: 128, k: 128},
	{name: "NN_512", m: 512, n: 512, k: 512},
	{name: "NN_1024", m: 1024, n: 1024, k: 1024},
	{name: "NN_2048", m: 2048, n: 2048, k: 2048},
	// d=128 presets, BT=2048 tokens.
	{name: "NT_qkv_2048x128x384", transB: true, m: 2048, k: 128, n: 384},
	{name: "NT_proj_2048x128x128", transB: true, m: 2048, k: 128, n: 128},
	{name: "NT_mlp_up_2048x128x384", transB: true, m: 2048, k: 128, n: 384},
	{name: "NT_mlp_down_2048x384x128", transB: true, m: 2048, k: 384, n: 128},
	{name: "NT_lmhead_2048x128x256", transB: true, m: 2048, k: 128, n: 256},
	{name: "NN_dX_qkv_2048x384x128", m: 2048, k: 384, n: 128},
	{name: "NN_dX_down_2048x128x384", m: 2048, k: 128, n: 384},
	{name: "TN_dW_qkv_384x128x2048", transA: true, m: 384, n: 128, k: 2048},
	{name: "TN_dW_proj_128x128x2048", transA: true, m: 128, n: 128, k: 2048},
	// d=256 / d=512 presets.
	{name: "NT_qkv_2048x256x768", transB: true, m: 2048, k: 256, n: 768},
	{name: "NN_dX_2048x768x256", m: 2048, k: 768, n: 256},
	{name: "TN_dW_768x256x2048", transA: true, m: 768, n: 256, k: 2048},
	{name: "NT_qkv_4096x512x1536", transB: true, m: 4096, k: 512, n: 1536},
	{name: "NN_dX_4096x1536x512", m: 4096, k: 1536, n: 512},
	{name: "TN_dW_1536x512x4096", transA: true, m: 1536, n: 512, k: 4096},
	// Attention per head via GEMMSerial (T=128, head dim 32).
	{name: "Serial_NT_QKt_128x32x128", transB: true, m: 128, k: 32, n: 128, serial: true},
	{name: "Serial_NN_PV_128x128x32", m: 128, k: 128, n: 32, serial: true},
}

func BenchmarkGEMM(b *testing.B) {
	for _, path := range gemmAllPaths {
		for _, s := range benchGEMMShapes {
			if path == pathGeneric && s.m*s.n*s.k > 1<<27 {
				continue // the portable kernel is too slow to be worth it here
			}
			b.Run(fmt.Sprintf("%s/%s", path, s.name), func(b *testing.B) {
				ok, restore := setGEMMPath(path)
				defer restore()
				if !ok {
					b.Skipf("the %s path is not available here (CPU, or self-check: %v)", path, CheckPath(path))
				}
				x, ac, y, bc, c := s.operands()
				f := GEMM
				if s.serial {
					f = GEMMSerial
				}
				f(s.transA, s.transB, s.m, s.n, s.k, 1, x, ac, y, bc, 0, c, s.n)
				b.ResetTimer()
				for b.Loop() {
					f(s.transA, s.transB, s.m, s.n, s.k, 1, x, ac, y, bc, 0, c, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkPeakGFLOPS(b *testing.B) {
	var p float64
	for b.Loop() {
		p = measurePeak(curPath.Load().gemm)
	}
	b.ReportMetric(p, "GFLOP/s")
}

// operands returns random A and B stored for the shape's transposes, with
// their leading dimensions, and a zero C (m×n).
func (s benchGEMMShape) operands() (a []float32, lda int, b []float32, ldb int, c []float32) {
	rng := rand.New(rand.NewPCG(1, 1))
	ar, ac := storedShape(s.transA, s.m, s.k)
	br, bc := storedShape(s.transB, s.k, s.n)
	return randMatrix(rng, ar, ac, ac, 0), ac, randMatrix(rng, br, bc, bc, 0), bc, make([]float32, s.m*s.n)
}

// gemmCompareShapes are the products of scripts/gemm_openblas.py (same names,
// same order): square NN/NT/TN products and the GEMMs of one training step of
// the tiny, small and base presets — forward NT, backward NN (dX) and TN with
// beta = 1 (dW) for the qkv, out, MLP up/down and LM-head weights. Keep the
// two lists in step; scripts/gemm-vs-openblas.sh interleaves them.
func gemmCompareShapes() []benchGEMMShape {
	var out []benchGEMMShape
	for _, n := range []int{256, 512, 1024, 2048} {
		out = append(out, benchGEMMShape{name: fmt.Sprintf("sq_NN_%d", n), m: n, n: n, k: n})
	}
	out = append(out,
		benchGEMMShape{name: "sq_NT_1024", transB: true, m: 1024, n: 1024, k: 1024},
		benchGEMMShape{name: "sq_TN_1024", transA: true, m: 1024, n: 1024, k: 1024})
	presets := []struct {
		name    string
		N, C, H int
	}{{"tiny", 16 * 128, 128, 384}, {"small", 16 * 128, 256, 704}, {"base", 16 * 256, 512, 1408}}
	const vocab = 256
	for _, p := range presets {
		for _, l := range []struct {
			name     string
			in, outd int
		}{{"qkv", p.C, 3 * p.C}, {"out", p.C, p.C}, {"up", p.C, 2 * p.H}, {"down", p.H, p.C}, {"head", p.C, vocab}} {
			out = append(out,
				benchGEMMShape{name: p.name + "_" + l.name + "_fwdNT", transB: true, m: p.N, n: l.outd, k: l.in},
				benchGEMMShape{name: p.name + "_" + l.name + "_dxNN", m: p.N, n: l.in, k: l.outd},
				benchGEMMShape{name: p.name + "_" + l.name + "_dwTN", transA: true, m: l.outd, n: l.in, k: p.N, beta: 1})
		}
	}
	return out
}

// BenchmarkGEMMCompare times gemmCompareShapes on the active path (set
// MHC_KERNELS to choose) and reports GFLOP/s, for comparison with
// scripts/gemm_openblas.py.
func BenchmarkGEMMCompare(b *testing.B) {
	for _, s := range gemmCompareShapes() {
		b.Run(s.name, func(b *testing.B) {
			x, ac, y, bc, c := s.operands()
			GEMM(s.transA, s.transB, s.m, s.n, s.k, 1, x, ac, y, bc, s.beta, c, s.n)
			b.ResetTimer()
			for b.Loop() {
				GEMM(s.transA, s.transB, s.m, s.n, s.k, 1, x, ac, y, bc, s.beta, c, s.n)
			}
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
