package kernels

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestConnMixDots checks ConnMix (both modes) and ConnDots on every path
// this machine can run against float64 references, on odd lengths (tails
// of every block size), 1..17 rows, with rows that are not contiguous.
func TestConnMixDots(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, path := range Paths() {
		ok, restore := setGEMMPath(path)
		if !ok {
			restore()
			t.Fatalf("path %s: self-check failed: %v", path, CheckPath(path))
		}
		for _, c := range []int{0, 1, 7, 8, 15, 16, 17, 33, 128, 131} {
			for _, mk := range [][2]int{{1, 1}, {1, 4}, {4, 1}, {4, 5}, {5, 4}, {3, 7}, {17, 17}, {2, 9}, {2, 6}, {3, 8}, {1, 2}, {6, 3}} {
				m, k := mk[0], mk[1]
				const gap = 3 // rows live at stride c+gap, so they are not one block
				ins, outs := rnd(k*(c+gap)), rnd(m*(c+gap))
				w := rnd(m * k)
				var in, out ConnRows
				in.Reset(c)
				out.Reset(c)
				for j := 0; j < k; j++ {
					in.Add(ins[j*(c+gap):])
				}
				for i := 0; i < m; i++ {
					out.Add(outs[i*(c+gap):])
				}
				for _, acc := range []bool{false, true} {
					before := append([]float32(nil), outs...)
					ConnMix(&out, &in, w, acc)
					for i := 0; i < m; i++ {
						for e := 0; e < c+gap; e++ {
							got := outs[i*(c+gap)+e]
							if e >= c {
								if got != before[i*(c+gap)+e] {
									t.Fatalf("%s c=%d m=%d k=%d: padding written", path, c, m, k)
								}
								continue
							}
							var want, mag float64
							if acc {
								want = float64(before[i*(c+gap)+e])
								mag = math.Abs(want)
							}
							for j := 0; j < k; j++ {
								p := float64(w[i*k+j]) * float64(ins[j*(c+gap)+e])
								want += p
								mag += math.Abs(p)
							}
							if d := math.Abs(float64(got) - want); d > 1e-6*mag+1e-30 {
								t.Fatalf("%s ConnMix acc=%v c=%d m=%d k=%d: out[%d][%d] = %v, want %v", path, acc, c, m, k, i, e, got, want)
							}
						}
					}
				}
				d := rnd(m*k + 1)
				last := d[m*k]
				ConnDots(d, &out, &in)
				if d[m*k] != last {
					t.Fatalf("%s ConnDots wrote past m·k", path)
				}
				for i := 0; i < m; i++ {
					for j := 0; j < k; j++ {
						var want, mag float64
						for e := 0; e < c; e++ {
							p := float64(outs[i*(c+gap)+e]) * float64(ins[j*(c+gap)+e])
							want += p
							mag += math.Abs(p)
						}
						if dd := math.Abs(float64(d[i*k+j]) - want); dd > 1e-6*mag+1e-30 {
							t.Fatalf("%s ConnDots c=%d m=%d k=%d: d[%d,%d] = %v, want %v", path, c, m, k, i, j, d[i*k+j], want)
						}
					}
				}
			}
		}
		restore()
	}
}

// TestConnApplySelfCheckCatches breaks the fused apply loops of every
// assembly path and checks that the self-check rejects them.
func TestConnApplySelfCheckCatches(t *testing.T) {
	for _, p := range kernelPaths {
		if p.conn == nil || p.conn.mix == nil {
			continue
		}
		for _, which := range []string{"mix", "dots"} {
			c := *p.conn
			if which == "mix" {
				f := c.mix
				c.mix = func(out **float32, m int, in **float32, k int, w *float32, n, acc int) {
					f(out, m, in, k-1, w, n, acc) // drops the last input row
				}
			} else {
				f := c.dots
				c.dots = func(d *float32, a **float32, m int, b **float32, k int, n int) {
					f(d, a, m, b, k, n)
					*d += 1
				}
			}
			np := newPath(p.name, p.gemm, p.vec)
			np.conn = &c
			if err := checkConn(np); err == nil || !strings.Contains(err.Error(), "conn apply") {
				t.Errorf("%s with broken %s: self-check returned %v", p.name, which, err)
			}
		}
	}
}

func TestConnApplyZeroAllocs(t *testing.T) {
	x, y := make([]float32, 4*128), make([]float32, 4*128)
	w, d := make([]float32, 16), make([]float32, 16)
	in, out := new(ConnRows), new(ConnRows) // long-lived (a connection's scratch): calls through the path's function values make them escape
	if a := testing.AllocsPerRun(20, func() {
		in.Reset(128)
		in.AddBlock(x, 4)
		out.Reset(128)
		out.AddBlock(y, 4)
		ConnMix(out, in, w, false)
		ConnDots(d, out, in)
	}); a != 0 {
		t.Errorf("%v allocations per call", a)
	}
}

// BenchmarkConnMix times one token's write-out at n = 4 (4 outputs from
// [y; x], k = 5) and, for scale, the general loop (k = 9 takes it).
func BenchmarkConnMix(b *testing.B) {
	const c = 128
	for _, mk := range [][2]int{{4, 5}, {4, 9}} {
		m, k := mk[0], mk[1]
		x, y, w := make([]float32, k*c), make([]float32, m*c), make([]float32, m*k)
		for i := range x {
			x[i] = float32(i%13) / 13
		}
		in, out := new(ConnRows), new(ConnRows)
		in.Reset(c)
		in.AddBlock(x, k)
		out.Reset(c)
		out.AddBlock(y, m)
		for _, path := range Paths() {
			b.Run(path+"/"+string(rune('0'+m))+"x"+string(rune('0'+k)), func(b *testing.B) {
				ok, restore := setGEMMPath(path)
				defer restore()
				if !ok {
					b.Skip()
				}
				for b.Loop() {
					ConnMix(out, in, w, false)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(m*k*c/16), "ns/16fma")
			})
		}
	}
}
