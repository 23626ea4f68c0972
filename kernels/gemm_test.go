package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// gemmCase is one problem of the reference tests; lda, if set, overrides
// the default leading dimension of A (a multiple of 1024 makes the AVX2 and
// AVX-512 paths pack a non-transposed A instead of reading it in place).
type gemmCase struct{ m, n, k, lda int }

// gemmShapes covers degenerate sizes, ragged edges of every tile size
// (6×16, 12×32, 4×4), several K blocks (k > kc), several M blocks (m > mc)
// and several N blocks (n > nc).
var gemmShapes = []gemmCase{
	{1, 1, 1, 0}, {1, 7, 3, 0}, {3, 1, 7, 0}, {7, 15, 1, 0}, {15, 33, 7, 0}, {33, 15, 129, 0},
	{129, 33, 15, 0}, {257, 129, 33, 0}, {33, 257, 129, 0}, {129, 129, 257, 0}, {7, 257, 257, 0},
	{257, 7, 129, 0}, {64, 48, 300, 0}, {13, 4100, 5, 0}, {200, 3, 520, 0}, {40, 50, 300, 1024}, {151, 37, 70, 2048},
}

// gemmAllPaths lists every micro-kernel path; tests run each one the CPU
// supports and report the others as skipped sub-tests.
var gemmAllPaths = []string{pathGeneric, pathAVX2, pathAVX512}

// storedShape returns the rows and columns of the stored matrix for op(X)
// of size r×c.
func storedShape(trans bool, r, c int) (int, int) {
	if trans {
		return c, r
	}
	return r, c
}

// randMatrix returns rows×cols values in [-1, 1) with leading dimension ld;
// the padding between rows holds pad (NaN to catch reads outside the view).
func randMatrix(rng *rand.Rand, rows, cols, ld int, pad float32) []float32 {
	x := make([]float32, rows*ld)
	for i := range x {
		if i%ld < cols {
			x[i] = rng.Float32()*2 - 1
		} else {
			x[i] = pad
		}
	}
	return x
}

// refGEMM computes op(A)·op(B) in float64 together with sum_p |a_ip|·|b_pj|
// (used for the error bound).
func refGEMM(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int) (ab, absAB []float64) {
	ab = make([]float64, m*n)
	absAB = make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, sa float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			ab[i*n+j], absAB[i*n+j] = s, sa
		}
	}
	return ab, absAB
}

// gemmTol is the allowed |C - ref| for one element. A float32 dot product
// of length k accumulated in any order has forward error at most
// γ_k·Σ|a_ip·b_pj| with γ_k ≈ k·u, u = 2^-24 (Higham, Accuracy and Stability,
// §3.1); scaling by alpha, adding beta*C and the final rounding add a few more
// units of u relative to |alpha|Σ|ab| + |beta·c|. We allow (k+4)·2u, i.e.
// twice the worst case, plus a tiny absolute term for exact-zero results.
func gemmTol(k int, alpha, beta float32, absAB, c0 float64) float64 {
	const u = 1.0 / (1 << 24)
	return float64(k+4)*2*u*(math.Abs(float64(alpha))*absAB+math.Abs(float64(beta)*c0)) + 1e-30
}

func TestGEMMReference(t *testing.T) {
	alphas := []float32{1, -0.5}
	betas := []float32{0, 1, 0.3}
	for _, path := range gemmAllPaths {
		t.Run(path, func(t *testing.T) {
			ok, restore := setGEMMPath(path)
			defer restore()
			if !ok {
				t.Skipf("the %s path is not available here (CPU, or self-check: %v)", path, CheckPath(path))
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for _, sh := range gemmShapes {
				for tr := range 4 {
					transA, transB := tr&1 != 0, tr&2 != 0
					checkGEMMCase(t, rng, sh, transA, transB, alphas, betas)
				}
			}
		})
	}
}

func checkGEMMCase(t *testing.T, rng *rand.Rand, sh gemmCase, transA, transB bool, alphas, betas []float32) {
	t.Helper()
	m, n, k := sh.m, sh.n, sh.k
	nan := float32(math.NaN())
	ar, ac := storedShape(transA, m, k)
	br, bc := storedShape(transB, k, n)
	lda, ldb, ldc := ac+3, bc+1, n+2
	if sh.lda != 0 {
		lda = sh.lda
	}
	a := randMatrix(rng, ar, ac, lda, nan)
	b := randMatrix(rng, br, bc, ldb, nan)
	c0 := randMatrix(rng, m, n, ldc, 7) // padding 7 must survive
	ab, absAB := refGEMM(transA, transB, m, n, k, a, lda, b, ldb)
	c := make([]float32, len(c0))
	cs := make([]float32, len(c0))
	for _, alpha := range alphas {
		for _, beta := range betas {
			copy(c, c0)
			if beta == 0 {
				for i := range m {
					for j := range n {
						c[i*ldc+j] = nan // beta == 0 must not read C
					}
				}
			}
			copy(cs, c)
			GEMM(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			GEMMSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cs, ldc)
			for i := range m {
				for j := range ldc {
					got := c[i*ldc+j]
					if j >= n {
						if got != 7 {
							t.Fatalf("%v tA=%v tB=%v: padding C[%d][%d] overwritten: %v", sh, transA, transB, i, j, got)
						}
						continue
					}
					cv := float64(c0[i*ldc+j])
					want := float64(alpha) * ab[i*n+j]
					if beta != 0 {
						want += float64(beta) * cv
					}
					tol := gemmTol(k, alpha, beta, absAB[i*n+j], cv)
					if d := math.Abs(float64(got) - want); !(d <= tol) {
						t.Fatalf("%s %v tA=%v tB=%v alpha=%v beta=%v: C[%d][%d]=%v want %v (|err| %.3g > tol %.3g)",
							GEMMPath(), sh, transA, transB, alpha, beta, i, j, got, want, d, tol)
					}
					if math.Float32bits(got) != math.Float32bits(cs[i*ldc+j]) {
						t.Fatalf("%s %v: GEMM and GEMMSerial differ at [%d][%d]: %v vs %v", GEMMPath(), sh, i, j, got, cs[i*ldc+j])
					}
				}
			}
		}
	}
}

func TestGEMMDegenerate(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name    string
		m, n, k int
		alpha   float32
		beta    float32
		c0      float32
		want    float32
	}{
		{"k0 beta0 overwrites NaN", 2, 3, 0, 1, 0, nan, 0},
		{"k0 beta scales", 2, 3, 0, 1, 0.5, 4, 2},
		{"k0 beta1 keeps", 2, 3, 0, 1, 1, 4, 4},
		{"alpha0 beta0", 2, 3, 4, 0, 0, nan, 0},
		{"alpha0 beta2", 2, 3, 4, 0, 2, 3, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := make([]float32, max(1, tc.m*tc.k))
			b := make([]float32, max(1, tc.k*tc.n))
			for i := range a {
				a[i] = nan // alpha == 0 or k == 0 must not read A or B
			}
			c := make([]float32, tc.m*tc.n)
			for i := range c {
				c[i] = tc.c0
			}
			GEMM(false, false, tc.m, tc.n, tc.k, tc.alpha, a, max(1, tc.k), b, tc.n, tc.beta, c, tc.n)
			for i, v := range c {
				if v != tc.want {
					t.Fatalf("c[%d] = %v, want %v", i, v, tc.want)
				}
			}
		})
	}
	// Empty outputs touch nothing, even with nil slices.
	GEMM(false, false, 0, 5, 5, 1, nil, 5, make([]float32, 25), 5, 0, nil, 5)
	GEMM(true, true, 5, 0, 5, 1, make([]float32, 25), 5, nil, 5, 0, nil, 1)
}

func TestGEMMPanicsOnBadArgs(t *testing.T) {
	buf := make([]float32, 16)
	tests := []struct {
		name string
		f    func()
	}{
		{"negative m", func() { GEMM(false, false, -1, 2, 2, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"small lda", func() { GEMM(false, false, 2, 2, 3, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"small ldb trans", func() { GEMM(false, true, 2, 2, 3, 1, buf, 3, buf, 2, 0, buf, 2) }},
		{"small ldc", func() { GEMM(false, false, 2, 3, 2, 1, buf, 2, buf, 3, 0, buf, 2) }},
		{"short c", func() { GEMM(false, false, 4, 4, 1, 1, buf, 1, buf, 4, 0, buf[:15], 4) }},
		{"short a", func() { GEMM(false, false, 4, 1, 4, 1, buf[:15], 4, buf, 1, 0, buf, 1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.f()
		})
	}
}

// TestGEMMSerialConcurrent runs independent GEMMSerial calls from many
// goroutines and requires bit-identical results to sequential calls.
func TestGEMMSerialConcurrent(t *testing.T) {
	for _, path := range gemmAllPaths {
		t.Run(path, func(t *testing.T) {
			ok, restore := setGEMMPath(path)
			defer restore()
			if !ok {
				t.Skipf("the %s path is not available here (CPU, or self-check: %v)", path, CheckPath(path))
			}
			const g, m, n, k = 8, 128, 128, 32
			rng := rand.New(rand.NewPCG(3, 4))
			as := make([][]float32, g)
			bs := make([][]float32, g)
			want := make([][]float32, g)
			got := make([][]float32, g)
			for i := range g {
				as[i] = randMatrix(rng, m, k, k, 0)
				bs[i] = randMatrix(rng, n, k, k, 0)
				want[i] = make([]float32, m*n)
				got[i] = make([]float32, m*n)
				GEMMSerial(false, true, m, n, k, 0.125, as[i], k, bs[i], k, 0, want[i], n)
			}
			var wg sync.WaitGroup
			for i := range g {
				wg.Go(func() {
					for range 5 {
						GEMMSerial(false, true, m, n, k, 0.125, as[i], k, bs[i], k, 0, got[i], n)
					}
				})
			}
			wg.Wait()
			for i := range g {
				for j := range want[i] {
					if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
						t.Fatalf("goroutine %d element %d: %v != %v", i, j, got[i][j], want[i][j])
					}
				}
			}
		})
	}
}

// TestGEMMDeterministicAcrossWorkers: the split of C over workers must not
// change a single bit of the result (K is never split).
func TestGEMMDeterministicAcrossWorkers(t *testing.T) {
	for _, path := range gemmAllPaths {
		t.Run(path, func(t *testing.T) {
			ok, restore := setGEMMPath(path)
			defer restore()
			if !ok {
				t.Skipf("the %s path is not available here (CPU, or self-check: %v)", path, CheckPath(path))
			}
			rng := rand.New(rand.NewPCG(7, 8))
			const m, n, k = 101, 67, 300
			for tr := range 4 {
				transA, transB := tr&1 != 0, tr&2 != 0
				ar, ac := storedShape(transA, m, k)
				br, bc := storedShape(transB, k, n)
				a := randMatrix(rng, ar, ac, ac, 0)
				b := randMatrix(rng, br, bc, bc, 0)
				c0 := randMatrix(rng, m, n, n, 0)
				want := append([]float32(nil), c0...)
				gemm(1, transA, transB, m, n, k, 0.7, a, ac, b, bc, 0.3, want, n)
				for _, w := range []int{2, 3, 4, 6, 7} {
					got := append([]float32(nil), c0...)
					gemm(w, transA, transB, m, n, k, 0.7, a, ac, b, bc, 0.3, got, n)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("tA=%v tB=%v workers=%d: element %d = %v, serial %v", transA, transB, w, i, got[i], want[i])
						}
					}
				}
			}
		})
	}
}

func TestGEMMZeroAllocs(t *testing.T) {
	const n = 160
	a := make([]float32, n*n)
	b := make([]float32, n*n)
	c := make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%7), float32(i%5)
	}
	tests := []struct {
		name string
		f    func()
	}{
		{"GEMM NN", func() { GEMM(false, false, n, n, n, 1, a, n, b, n, 0, c, n) }},
		{"GEMM TN beta1", func() { GEMM(true, false, n, n, n, 1, a, n, b, n, 1, c, n) }},
		{"GEMMSerial NT", func() { GEMMSerial(false, true, n, n, n, 1, a, n, b, n, 0.5, c, n) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.f() // warm-up: sizes the pooled packing buffers
			if allocs := testing.AllocsPerRun(10, tc.f); allocs != 0 {
				t.Fatalf("%v allocations per call, want 0", allocs)
			}
		})
	}
}

func TestPeakGFLOPS(t *testing.T) {
	p := PeakGFLOPS()
	if !(p > 0) || math.IsInf(p, 0) {
		t.Fatalf("PeakGFLOPS() = %v", p)
	}
	if q := PeakGFLOPS(); q != p {
		t.Fatalf("PeakGFLOPS not cached: %v then %v", p, q)
	}
	t.Logf("peak %.1f GFLOP/s on %s over %d workers", p, GEMMPath(), Workers())
}

func ExampleGEMM() {
	// C (2×2) = A (2×3) · Bᵀ, with B stored as 2×3 (transB, like a weight
	// matrix stored out×in).
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		1, 0, 1,
		0, 1, 0,
	}
	c := make([]float32, 4)
	GEMM(false, true, 2, 2, 3, 1, a, 3, b, 3, 0, c, 2)
	fmt.Println(c)
	// Output: [4 2 10 5]
}

// TestPanelCopy checks the (assembly) panel copy against the portable one.
func TestPanelCopy(t *testing.T) {
	for _, tc := range []struct{ w, rows, npanels int }{
		{1, 5, 3}, {4, 9, 3}, {6, 5, 3}, {6, 8, 3}, {6, 19, 3}, {12, 3, 3}, {16, 7, 3}, {16, 16, 3},
		{16, 21, 3}, {32, 10, 3}, {7, 11, 3}, {12, 8, 1}, {12, 17, 4}, {12, 24, 2}, {32, 1, 5},
		{32, 8, 1}, {32, 16, 2}, {32, 23, 4}, {6, 9, 1}, {16, 9, 1},
	} {
		w, rows, npanels := tc.w, tc.rows, tc.npanels
		lds := npanels*w + 5
		src := make([]float32, rows*lds)
		for i := range src {
			src[i] = float32(i)
		}
		ps := w*rows + 3
		want := make([]float32, npanels*ps)
		got := make([]float32, npanels*ps)
		panelCopyGo(&want[0], &src[0], rows, lds, w, npanels, ps)
		panelCopy(&got[0], &src[0], rows, lds, w, npanels, ps)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("w=%d rows=%d: element %d = %v, want %v", w, rows, i, got[i], want[i])
			}
		}
	}
}

// TestPackT4 checks the (assembly) 4-row transposing pack against the
// portable one and against the definition, on odd row strides and column
// counts (the 4×4 blocks and the column tail).
func TestPackT4(t *testing.T) {
	for _, w := range []int{4, 8, 12, 16, 32} {
		for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 13, 64, 191} {
			ld := kc + 3
			src := make([]float32, w*ld)
			for i := range src {
				src[i] = float32(i) + 0.5
			}
			want := make([]float32, kc*w+1)
			got := make([]float32, kc*w+1)
			want[kc*w], got[kc*w] = -1, -1 // guard
			packT4Go(&want[0], &src[0], ld, kc, w)
			packT4(&got[0], &src[0], ld, kc, w)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("w=%d kc=%d: element %d = %v, want %v", w, kc, i, got[i], want[i])
				}
			}
			for p := range kc {
				for j := range w {
					if want[p*w+j] != src[j*ld+p] {
						t.Fatalf("w=%d kc=%d: packT4Go (%d,%d) = %v, want %v", w, kc, p, j, want[p*w+j], src[j*ld+p])
					}
				}
			}
			if got[kc*w] != -1 {
				t.Fatalf("w=%d kc=%d: wrote past kc*w", w, kc)
			}
		}
	}
}

func TestBenchGEMM(t *testing.T) {
	if g := BenchGEMM(64, 5*time.Millisecond); !(g > 0) {
		t.Fatalf("BenchGEMM = %v", g)
	}
}
