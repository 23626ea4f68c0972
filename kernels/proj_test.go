package kernels

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestProjKernels checks ProjForward, ProjBackX and ProjBackPhi (both
// modes) on every path this machine can run against float64 references,
// on odd shapes: token counts around the groups (4, 8), column counts
// around the 16-column chunk, 1..32 outputs, strides wider than the rows.
func TestProjKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
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
		for _, T := range []int{0, 1, 3, 4, 7, 8, 9, 13, 16, 17, 40} {
			for _, P := range []int{1, 7, 8, 15, 16, 17, 24, 31, 32} {
				for _, nc := range []int{1, 15, 16, 17, 48, 70, 128} {
					ldx, ldp, ldo, ldphi := nc+5, P+2, P+3, nc+1
					x := rnd(max(T*ldx, 1))
					phi := rnd(P * nc)
					dp := rnd(max(T*ldp, 1))
					cs := rnd(max(T, 1))
					phiT := make([]float32, nc*ProjMaxOut)
					ProjPackT(phiT, phi, P, nc)
					tol := func(mag float64) float64 { return 1e-5 * (mag + 1) }

					// Forward.
					out := rnd(max(T*ldo, 1))
					keep := append([]float32(nil), out...)
					ProjForward(out, ldo, x, ldx, T, phiT, P, nc)
					for tt := 0; tt < T; tt++ {
						for j := 0; j < ldo; j++ {
							got := out[tt*ldo+j]
							if j >= P {
								if got != keep[tt*ldo+j] {
									t.Fatalf("%s fwd T%d P%d nc%d: padding (%d,%d) written", path, T, P, nc, tt, j)
								}
								continue
							}
							var s, mag float64
							for k := 0; k < nc; k++ {
								v := float64(x[tt*ldx+k]) * float64(phi[j*nc+k])
								s += v
								mag += math.Abs(v)
							}
							if math.Abs(float64(got)-s) > tol(mag) {
								t.Fatalf("%s fwd T%d P%d nc%d: out[%d,%d] = %v, want %v", path, T, P, nc, tt, j, got, s)
							}
						}
					}

					// Backward to x.
					dx := rnd(max(T*ldx, 1))
					dx0 := append([]float32(nil), dx...)
					phiW := rnd(P * ldphi) // φ at a wider stride
					for j := 0; j < P; j++ {
						copy(phiW[j*ldphi:j*ldphi+nc], phi[j*nc:(j+1)*nc])
					}
					ProjBackX(dx, x, cs, ldx, dp, ldp, T, phiW, ldphi, P, nc)
					for tt := 0; tt < T; tt++ {
						for k := 0; k < ldx; k++ {
							i := tt*ldx + k
							if k >= nc {
								if dx[i] != dx0[i] {
									t.Fatalf("%s backX: padding written", path)
								}
								continue
							}
							s := float64(dx0[i]) + float64(cs[tt])*float64(x[i])
							mag := math.Abs(s)
							for j := 0; j < P; j++ {
								v := float64(dp[tt*ldp+j]) * float64(phi[j*nc+k])
								s += v
								mag += math.Abs(v)
							}
							if math.Abs(float64(dx[i])-s) > tol(mag) {
								t.Fatalf("%s backX T%d P%d nc%d: dx[%d,%d] = %v, want %v", path, T, P, nc, tt, k, dx[i], s)
							}
						}
					}

					// Backward to φ, overwrite and accumulate.
					for _, acc := range []bool{false, true} {
						dphi := rnd(P * ldphi)
						d0 := append([]float32(nil), dphi...)
						ProjBackPhi(dphi, ldphi, dp, ldp, x, ldx, T, P, nc, acc)
						for j := 0; j < P; j++ {
							for k := 0; k < ldphi; k++ {
								i := j*ldphi + k
								if k >= nc {
									if dphi[i] != d0[i] {
										t.Fatalf("%s backPhi: padding written", path)
									}
									continue
								}
								var s float64
								if acc {
									s = float64(d0[i])
								}
								mag := math.Abs(s)
								for tt := 0; tt < T; tt++ {
									v := float64(dp[tt*ldp+j]) * float64(x[tt*ldx+k])
									s += v
									mag += math.Abs(v)
								}
								if math.Abs(float64(dphi[i])-s) > tol(mag) {
									t.Fatalf("%s backPhi acc=%v T%d P%d nc%d: [%d,%d] = %v, want %v", path, acc, T, P, nc, j, k, dphi[i], s)
								}
							}
						}
					}
				}
			}
		}
		restore()
	}
}

// TestProjGrouping checks how the results depend on the split of the
// tokens into calls: one call over all tokens and calls over blocks of
// 1..9 tokens (the dφ blocks accumulating) agree to float32 rounding, and
// bit for bit where the blocks are whole groups of the assembly loops (a
// token past the last group runs in the Go twin, which rounds the products
// separately where the assembly fuses them). Callers that split tokens by
// problem size only are therefore deterministic.
func TestProjGrouping(t *testing.T) {
	const T, P, nc = 40, 24, 80
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	x, phi, dp, cs, dx0 := rnd(T*nc), rnd(P*nc), rnd(T*P), rnd(T), rnd(T*nc)
	phiT := make([]float32, nc*ProjMaxOut)
	ProjPackT(phiT, phi, P, nc)
	for _, path := range Paths() {
		ok, restore := setGEMMPath(path)
		if !ok {
			restore()
			t.Fatalf("path %s: self-check failed", path)
		}
		outA, dxA, dphiA := make([]float32, T*P), append([]float32(nil), dx0...), make([]float32, P*nc)
		ProjForward(outA, P, x, nc, T, phiT, P, nc)
		ProjBackX(dxA, x, cs, nc, dp, P, T, phi, nc, P, nc)
		ProjBackPhi(dphiA, nc, dp, P, x, nc, T, P, nc, false)
		for B := 1; B <= 9; B++ {
			outB, dxB, dphiB := make([]float32, T*P), append([]float32(nil), dx0...), make([]float32, P*nc)
			for lo := 0; lo < T; lo += B {
				n := min(B, T-lo)
				ProjForward(outB[lo*P:], P, x[lo*nc:], nc, n, phiT, P, nc)
				ProjBackX(dxB[lo*nc:], x[lo*nc:], cs[lo:], nc, dp[lo*P:], P, n, phi, nc, P, nc)
				ProjBackPhi(dphiB, nc, dp[lo*P:], P, x[lo*nc:], nc, n, P, nc, lo > 0)
			}
			exact := B%projTokPhi == 0
			for i := range outA {
				if outA[i] != outB[i] && (exact || math.Abs(float64(outA[i]-outB[i])) > 1e-5*(1+math.Abs(float64(outA[i])))) {
					t.Fatalf("%s forward blocks of %d: out[%d] %v != %v", path, B, i, outB[i], outA[i])
				}
			}
			if e := relDiff(dxB, dxA); e > 1e-5 || (exact && e != 0) {
				t.Fatalf("%s backX blocks of %d: rel diff %v", path, B, e)
			}
			if e := relDiff(dphiB, dphiA); e > 1e-5 {
				t.Fatalf("%s backPhi blocks of %d: rel diff %v", path, B, e)
			}
		}
		restore()
	}
}

// TestProjSelfCheckCatches breaks each projection loop of every assembly
// path and checks that the self-check rejects it.
func TestProjSelfCheckCatches(t *testing.T) {
	for _, p := range kernelPaths {
		if p.proj == nil {
			continue
		}
		for _, which := range []string{"fwd", "backX", "backPhi"} {
			k := *p.proj
			switch which {
			case "fwd":
				f := k.fwd
				k.fwd = func(out *float32, ldo int, x *float32, ldx, tt int, phiT *float32, nc, pp int) {
					f(out, ldo, x, ldx, tt, phiT, nc-1, pp) // drops the last input
				}
			case "backX":
				f := k.backX
				k.backX = func(dx, x, cs *float32, ldx int, dp *float32, ldp, tt int, phi *float32, ldphi, pp, c int) {
					f(dx, x, cs, ldx, dp, ldp, tt, phi, ldphi, max(pp-1, 1), c) // drops the last output
				}
			case "backPhi":
				f := k.backPhi
				k.backPhi = func(dphi *float32, ldphi int, dp *float32, ldp int, x *float32, ldx, tt, pp, c, acc int) {
					f(dphi, ldphi, dp, ldp, x, ldx, tt, pp, c, 1-acc) // wrong mode
				}
			}
			np := newPath(p.name, p.gemm, p.vec)
			np.proj = &k
			if err := checkProjPath(np); err == nil || !strings.Contains(err.Error(), "proj") {
				t.Errorf("%s with broken %s: self-check returned %v", p.name, which, err)
			}
		}
	}
}

// TestProjPathsAgree checks the contract that makes the projection loops
// interchangeable: every assembly path's loops (avx512 zmm, avx2 ymm)
// evaluate each element as the same FMA chain in the same order, so they
// return the same bits, on shapes that exercise every output block and
// mask of both (P 1..32) and the token and column tails the Go code ends.
func TestProjPathsAgree(t *testing.T) {
	var ps []*kernelPath
	for _, p := range kernelPaths {
		if p.proj != nil {
			ps = append(ps, p)
		}
	}
	if len(ps) < 2 {
		t.Skipf("%d paths with projection loops on this machine", len(ps))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	run := func(k *projKernels, T, P, nc int, x, phi, phiT, dp, cs, dx0, dphi0 []float32) [][]float32 {
		ldx, ldp, ldphi := nc+3, P+1, nc+16
		out := make([]float32, T*P)
		projForwardWith(k, out, P, x, ldx, T, phiT, P, nc)
		dx := append([]float32(nil), dx0...)
		projBackXWith(k, dx, x, cs, ldx, dp, ldp, T, phi, ldphi, P, nc)
		r := [][]float32{out, dx}
		for _, acc := range []bool{false, true} {
			d := append([]float32(nil), dphi0...)
			projBackPhiWith(k, d, ldphi, dp, ldp, x, ldx, T, P, nc, acc)
			r = append(r, d)
		}
		return r
	}
	names := []string{"fwd", "backX", "backPhi", "backPhi acc"}
	for _, T := range []int{4, 8, 13, 24} {
		for P := 1; P <= ProjMaxOut; P++ {
			for _, nc := range []int{16, 37, 64} {
				ldx, ldp, ldphi := nc+3, P+1, nc+16
				x, phi, dp, cs := rnd(T*ldx), rnd(P*ldphi), rnd(T*ldp), rnd(T)
				dx0, dphi0 := rnd(T*ldx), rnd(P*ldphi)
				phiT := make([]float32, nc*ProjMaxOut)
				for j := range P { // φᵀ of the rows at stride ldphi
					for k := range nc {
						phiT[k*ProjMaxOut+j] = phi[j*ldphi+k]
					}
				}
				want := run(ps[0].proj, T, P, nc, x, phi, phiT, dp, cs, dx0, dphi0)
				for _, p := range ps[1:] {
					got := run(p.proj, T, P, nc, x, phi, phiT, dp, cs, dx0, dphi0)
					for i := range want {
						for e := range want[i] {
							if math.Float32bits(got[i][e]) != math.Float32bits(want[i][e]) {
								t.Fatalf("%s vs %s %s T%d P%d nc%d: element %d: %v != %v",
									p.name, ps[0].name, names[i], T, P, nc, e, got[i][e], want[i][e])
							}
						}
					}
				}
			}
		}
	}
}

// TestProjPathsHaveLoops: where the avx512 path has projection loops
// (amd64 without purego), the avx2 path has them too, so ProjFast does not
// depend on AVX-512.
func TestProjPathsHaveLoops(t *testing.T) {
	if (projFor(pathAVX512) != nil) != (projFor(pathAVX2) != nil) {
		t.Fatalf("projection loops: avx512 %v, avx2 %v", projFor(pathAVX512) != nil, projFor(pathAVX2) != nil)
	}
	for _, p := range kernelPaths {
		if p.proj != nil && p.proj.impl != p.name {
			t.Errorf("path %s runs the %s projection loops", p.name, p.proj.impl)
		}
	}
}

func TestProjZeroAllocs(t *testing.T) {
	const T, P, nc = 8, 24, 128
	x, phi, dp, cs := make([]float32, T*nc), make([]float32, P*nc), make([]float32, T*P), make([]float32, T)
	phiT, out, dphi := make([]float32, nc*ProjMaxOut), make([]float32, T*P), make([]float32, P*nc)
	if a := testing.AllocsPerRun(20, func() {
		ProjPackT(phiT, phi, P, nc)
		ProjForward(out, P, x, nc, T, phiT, P, nc)
		ProjBackX(x, x, cs, nc, dp, P, T, phi, nc, P, nc)
		ProjBackPhi(dphi, nc, dp, P, x, nc, T, P, nc, true)
	}); a != 0 {
		t.Errorf("%v allocations per call", a)
	}
}

// BenchmarkProj compares the projection loops with the GEMMs they replace
// at the connection's shapes (N = 2048 tokens, P = 24, nc = 512 / 1024),
// single-threaded.
func BenchmarkProj(b *testing.B) {
	const N, P = 2048, 24
	for _, nc := range []int{512, 1024} {
		x, phi, dp := make([]float32, N*nc), make([]float32, P*nc), make([]float32, N*P)
		for i := range x {
			x[i] = float32(i%17) / 17
		}
		for i := range phi {
			phi[i] = float32(i%13) / 13
		}
		for i := range dp {
			dp[i] = float32(i%7) / 7
		}
		cs, dx, dphi, out := make([]float32, N), make([]float32, N*nc), make([]float32, P*nc), make([]float32, N*P)
		phiT := make([]float32, nc*ProjMaxOut)
		sz := "nc" + itoa(nc)
		b.Run(sz+"/fwd/gemm", func(b *testing.B) {
			for range b.N {
				GEMMSerial(false, true, N, P, nc, 1, x, nc, phi, nc, 0, out, P)
			}
		})
		b.Run(sz+"/fwd/proj", func(b *testing.B) {
			for range b.N {
				ProjPackT(phiT, phi, P, nc)
				for lo := 0; lo < N; lo += 8 {
					ProjForward(out[lo*P:], P, x[lo*nc:], nc, 8, phiT, P, nc)
				}
			}
		})
		b.Run(sz+"/dx/gemm", func(b *testing.B) {
			for range b.N {
				GEMMSerial(false, false, N, nc, P, 1, dp, P, phi, nc, 1, dx, nc)
			}
		})
		b.Run(sz+"/dx/proj", func(b *testing.B) {
			for range b.N {
				for lo := 0; lo < N; lo += 8 {
					ProjBackX(dx[lo*nc:], x[lo*nc:], cs[lo:], nc, dp[lo*P:], P, 8, phi, nc, P, nc)
				}
			}
		})
		b.Run(sz+"/dphi/gemm", func(b *testing.B) {
			for range b.N {
				GEMMSerial(true, false, P, nc, N, 1, dp, P, x, nc, 1, dphi, nc)
			}
		})
		ldp := nc + 16
		phiP, dphiP := make([]float32, P*ldp), make([]float32, P*ldp)
		b.Run(sz+"/dx/proj-pad", func(b *testing.B) {
			for range b.N {
				for lo := 0; lo < N; lo += 8 {
					ProjBackX(dx[lo*nc:], x[lo*nc:], cs[lo:], nc, dp[lo*P:], P, 8, phiP, ldp, P, nc)
				}
			}
		})
		b.Run(sz+"/dphi/proj-pad", func(b *testing.B) {
			for range b.N {
				for lo := 0; lo < N; lo += 8 {
					ProjBackPhi(dphiP, ldp, dp[lo*P:], P, x[lo*nc:], nc, 8, P, nc, lo > 0)
				}
			}
		})
		b.Run(sz+"/dphi/proj-pad-128", func(b *testing.B) {
			for range b.N {
				for lo := 0; lo < N; lo += 128 {
					ProjBackPhi(dphiP, ldp, dp[lo*P:], P, x[lo*nc:], nc, 128, P, nc, lo > 0)
				}
			}
		})
		b.Run(sz+"/dphi/proj", func(b *testing.B) {
			for range b.N {
				for lo := 0; lo < N; lo += 8 {
					ProjBackPhi(dphi, nc, dp[lo*P:], P, x[lo*nc:], nc, 8, P, nc, lo > 0)
				}
			}
		})
	}
}

func itoa(n int) string {
	s := ""
	for n > 0 || s == "" {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}
