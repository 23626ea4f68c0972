package compare

import (
	"math"
	"testing"
)

func close(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// Two-sided 95 % critical values t(0.975, df), from standard tables (e.g.
// NIST/SEMATECH e-Handbook §1.3.6.7.2, to 3 decimals there; more digits from
// R's qt(0.975, df)).
func TestTQuantile(t *testing.T) {
	cases := []struct {
		p    float64
		df   int
		want float64
	}{
		{0.975, 1, 12.706204736174698},
		{0.975, 2, 4.302652729749464},
		{0.975, 3, 3.182446305284263},
		{0.975, 4, 2.776445105197793},
		{0.975, 5, 2.570581835636314},
		{0.975, 9, 2.262157162798205},
		{0.975, 10, 2.228138851986274},
		{0.975, 29, 2.045229642132703},
		{0.975, 100, 1.983971518523552},
		// Large df: the Cornish–Fisher expansion z + (z³ + z)/(4·df), z = 1.959963984540054.
		{0.975, 100000, 1.959963984540054 + (1.959963984540054*1.959963984540054*1.959963984540054+1.959963984540054)/400000},
		{0.95, 7, 1.894578605090007},
		{0.995, 3, 5.840909309733350},
		{0.5, 6, 0},
		{0.025, 4, -2.776445105197793},
		{0.1, 1, -3.077683537175253},
	}
	for _, c := range cases {
		got := TQuantile(c.p, c.df)
		tol := 1e-12
		if c.df == 100000 {
			tol = 1e-9
		}
		if !close(got, c.want, tol) {
			t.Errorf("TQuantile(%v, %d) = %.15g, want %.15g", c.p, c.df, got, c.want)
		}
		if c.p != 0.5 {
			if back := TCDF(got, c.df); !close(back, c.p, 1e-13) {
				t.Errorf("TCDF(TQuantile(%v, %d)) = %.15g", c.p, c.df, back)
			}
		}
	}
	for _, bad := range []struct {
		p  float64
		df int
	}{{0, 3}, {1, 3}, {0.5, 0}, {math.NaN(), 4}} {
		if got := TQuantile(bad.p, bad.df); !math.IsNaN(got) {
			t.Errorf("TQuantile(%v, %d) = %v, want NaN", bad.p, bad.df, got)
		}
	}
}

func TestTCDF(t *testing.T) {
	// df = 1 is the Cauchy distribution: F(t) = 1/2 + atan(t)/π.
	for _, x := range []float64{-30, -1, -0.2, 0, 0.5, 3, 100} {
		if got, want := TCDF(x, 1), 0.5+math.Atan(x)/math.Pi; !close(got, want, 1e-13) {
			t.Errorf("TCDF(%v, 1) = %v, want %v", x, got, want)
		}
		// df = 2: F(t) = 1/2 + t/(2√(2+t²)).
		if got, want := TCDF(x, 2), 0.5+x/(2*math.Sqrt(2+x*x)); !close(got, want, 1e-13) {
			t.Errorf("TCDF(%v, 2) = %v, want %v", x, got, want)
		}
	}
	if TCDF(math.Inf(1), 3) != 1 || TCDF(math.Inf(-1), 3) != 0 {
		t.Error("TCDF(±Inf)")
	}
}

func TestSummarize(t *testing.T) {
	// 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample variance 32/7.
	xs := []float64{2, 4, 4, 4, 5, 5, 7, 9, math.NaN()}
	s := Summarize(xs)
	if s.N != 8 || s.Mean != 5 || !close(s.Std, math.Sqrt(32.0/7), 1e-15) || s.Min != 2 || s.Max != 9 {
		t.Errorf("Summarize = %+v", s)
	}
	if want := 2.364624251592785 * math.Sqrt(32.0/7) / math.Sqrt(8); !close(s.CI, want, 1e-12) { // t(0.975, 7)
		t.Errorf("CI = %v, want %v", s.CI, want)
	}
	if !s.Significant() {
		t.Error("mean 5 ± 1.8 not significant")
	}
	// Two values 1.40, 1.42: mean 1.41, s = 0.01√2, CI = 12.706·0.01 = 0.127.
	s = Summarize([]float64{1.40, 1.42})
	if !close(s.CI, 12.706204736174698*0.01, 1e-9) {
		t.Errorf("CI of two = %v", s.CI)
	}
	one := Summarize([]float64{1.5})
	if one.N != 1 || one.Mean != 1.5 || !math.IsNaN(one.Std) || !math.IsNaN(one.CI) || one.Significant() {
		t.Errorf("Summarize(one) = %+v", one)
	}
	none := Summarize(nil)
	if none.N != 0 || !math.IsNaN(none.Mean) || !math.IsNaN(none.Min) {
		t.Errorf("Summarize(nil) = %+v", none)
	}
	if d := Summarize([]float64{-0.02, -0.01, 0.03}); d.Significant() {
		t.Errorf("%+v: a gap inside the noise called significant", d)
	}
}

func TestPaired(t *testing.T) {
	a := map[uint64]float64{1: 1.50, 2: 1.40, 3: 1.45, 5: math.NaN()}
	b := map[uint64]float64{1: 1.52, 3: 1.46, 4: 1.3, 5: 1.4}
	d, k := Paired(a, b)
	if len(d) != 2 || k[0] != 1 || k[1] != 3 || !close(d[0], -0.02, 1e-12) || !close(d[1], -0.01, 1e-12) {
		t.Errorf("Paired = %v %v", d, k)
	}
}
