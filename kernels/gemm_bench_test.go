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
	serial         bool // GEMMSerial (per-head attention products)
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
				rng := rand.New(rand.NewPCG(1, 1))
				ar, ac := storedShape(s.transA, s.m, s.k)
				br, bc := storedShape(s.transB, s.k, s.n)
				x := randMatrix(rng, ar, ac, ac, 0)
				y := randMatrix(rng, br, bc, bc, 0)
				c := make([]float32, s.m*s.n)
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
