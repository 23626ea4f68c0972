package kernels

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDiagAB: best-of-many wall GFLOP/s (serial), alternating rowA on/off.
func TestDiagAB(t *testing.T) {
	spec := os.Getenv("DIAG")
	if spec == "" {
		t.Skip()
	}
	par := os.Getenv("DIAGPAR") != ""
	for _, s := range strings.Split(spec, ";") {
		f := strings.Split(s, ",")
		ta, tb := f[0][0] == 'T', f[0][1] == 'T'
		m, _ := strconv.Atoi(f[1])
		n, _ := strconv.Atoi(f[2])
		k, _ := strconv.Atoi(f[3])
		rng := rand.New(rand.NewPCG(1, 1))
		ar, ac := storedShape(ta, m, k)
		br, bc := storedShape(tb, k, n)
		x := randMatrix(rng, ar, ac, ac, 0)
		y := randMatrix(rng, br, bc, bc, 0)
		c := make([]float32, m*n)
		fn := GEMMSerial
		if par {
			fn = GEMM
		}
		fn(ta, tb, m, n, k, 1, x, ac, y, bc, 0, c, n)
		reps := max(1, int(2e7/(2*float64(m*n*k))))
		var best [2]float64
		kern := gemmCur.Load()
		saved := kern.fnRowA
		for it := range 60 {
			v := it % 2
			if v == 1 {
				kern.fnRowA = nil
			}
			w0 := time.Now()
			for range reps {
				fn(ta, tb, m, n, k, 1, x, ac, y, bc, 0, c, n)
			}
			el := time.Since(w0).Seconds()
			kern.fnRowA = saved
			best[v] = max(best[v], 2*float64(m*n*k)*float64(reps)/el/1e9)
		}
		t.Logf("%s %dx%dx%d: rowA %.1f packed %.1f GFLOP/s (best of 30)", f[0], m, n, k, best[0], best[1])
	}
}
