package report

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkPNG decodes path and checks its size lies in [minW, maxW]×[minH, maxH].
func checkPNG(t *testing.T, path string, minW, maxW, minH, maxH int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() < minW || b.Dx() > maxW || b.Dy() < minH || b.Dy() > maxH {
		t.Errorf("%s: %dx%d, want [%d,%d]x[%d,%d]", path, b.Dx(), b.Dy(), minW, maxW, minH, maxH)
	}
}

func TestLinePlot(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name    string
		logY    bool
		curves  []Curve
		wantErr string
	}{
		{"linear", false, []Curve{{Name: "loss", Y: []float64{4, 3, 2.5, 2.2}}, {Name: "val", X: []float64{2, 4}, Y: []float64{3.1, 2.4}}}, ""},
		{"log decades", true, []Curve{{Name: "hc", Y: []float64{1.2, 5, 40, 300, 3000}}, {Name: "mhc", Y: []float64{1, 1.1, 1.3, 1.6, 1.4}}}, ""},
		{"log flat", true, []Curve{{Name: "ones", Y: []float64{1, 1, 1}}}, ""},
		{"log zeros and NaN", true, []Curve{{Name: "a", Y: []float64{0, -1, nan, 2, inf, 3}}, {Name: "all bad", Y: []float64{0, nan}}}, ""},
		{"log nothing left", true, []Curve{{Name: "a", Y: []float64{0, nan}}}, ""},
		{"linear NaN", false, []Curve{{Name: "a", X: []float64{1, nan, 3}, Y: []float64{1, 2, nan}}}, ""},
		{"single point", false, []Curve{{Name: "a", Y: []float64{0}}}, ""},
		{"many decades", true, []Curve{{Name: "a", Y: []float64{1e-9, 1, 1e12}}}, ""},
		{"no curves", false, nil, "no curves"},
		{"empty curve", false, []Curve{{Name: "a", Y: []float64{1}}, {Name: "b"}}, `("b") has no points`},
		{"mismatched", true, []Curve{{Name: "a", X: []float64{1, 2}, Y: []float64{1, 2, 3}}}, "2 x values for 3"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".png")
			err := LinePlot(path, "Title "+c.name, "step", "value", c.logY, c.curves)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				if _, serr := os.Stat(path); serr == nil {
					t.Errorf("%s written despite the error", path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// 8×5 in at DPI.
			checkPNG(t, path, 8*DPI-2, 8*DPI+2, 5*DPI-2, 5*DPI+2)
		})
	}
}

func TestLinePlotBadPath(t *testing.T) {
	err := LinePlot(filepath.Join(t.TempDir(), "no", "such", "dir.png"), "", "", "", false, []Curve{{Y: []float64{1}}})
	if err == nil {
		t.Fatal("no error for an unwritable path")
	}
}

func TestHeatmaps(t *testing.T) {
	hc := []float64{5.43, 4.43, 4.43, 4.43, -4.07, -3.07, -4.07, -4.07, -3.95, -3.95, -2.95, -3.95, -4.22, -4.22, -4.22, -3.22}
	mhc := []float64{0.67, 0.09, 0.03, 0.22, 0.26, 0.48, 0.26, 0.00, 0.03, 0.24, 0.00, 0.73, 0.03, 0.20, 0.69, 0.09}
	cases := []struct {
		name    string
		mats    [][]float64
		n       int
		titles  []string
		wantErr string
	}{
		{"fig8", [][]float64{hc, mhc}, 4, []string{"HC H_1", "mHC H_1"}, ""},
		{"five panels, default titles", [][]float64{mhc, mhc, hc, mhc, hc}, 4, nil, ""},
		{"n1 with NaN", [][]float64{{math.NaN()}, {-0.0}}, 1, []string{"nan", "neg zero"}, ""},
		{"n8", [][]float64{make([]float64, 64)}, 8, []string{"zeros"}, ""},
		{"none", nil, 4, nil, "no matrices"},
		{"bad n", [][]float64{{}}, 0, nil, "n = 0"},
		{"short matrix", [][]float64{hc, mhc[:15]}, 4, nil, "matrix 1 has 15"},
		{"titles", [][]float64{hc}, 4, []string{"a", "b"}, "2 titles for 1"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".png")
			err := Heatmaps(path, "Heatmaps "+c.name, c.mats, c.n, c.titles)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkPNG(t, path, 200, 4000, 150, 3000)
		})
	}
}

func TestDivergingColor(t *testing.T) {
	cases := []struct {
		v, scale float64
		r, g, b  uint8
		white    bool
	}{
		{0, 1, 247, 247, 247, false},
		{1, 1, 178, 24, 43, true},
		{-2, 2, 33, 102, 172, true},
		{0.5, 1, 244, 165, 130, false},
		{5, 1, 178, 24, 43, true}, // clamped
		{3, 0, 247, 247, 247, false},
		{math.NaN(), 1, 190, 190, 190, false},
	}
	for _, c := range cases {
		fill, ink := divergingColor(c.v, c.scale)
		r, g, b, _ := fill.RGBA()
		if uint8(r>>8) != c.r || uint8(g>>8) != c.g || uint8(b>>8) != c.b {
			t.Errorf("divergingColor(%v, %v) = %v, want (%d,%d,%d)", c.v, c.scale, fill, c.r, c.g, c.b)
		}
		if ir, _, _, _ := ink.RGBA(); (ir > 0) != c.white {
			t.Errorf("divergingColor(%v, %v): ink %v, want white=%v", c.v, c.scale, ink, c.white)
		}
	}
}

func TestLogTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		labels []string
	}{
		{0.95, 1.05, []string{"0.96", "0.98", "1.00", "1.02", "1.04"}},
		{1, 500, []string{"1", "2", "5", "10", "20", "50", "100", "200", "500"}},
		{1, 1000, []string{"1", "10", "100", "1000"}},
		{0.5, 2e4, []string{"1", "10", "100", "1000", "10000"}},
		{1e-9, 1e12, []string{"1e-09", "1e-06", "0.001", "1", "1000", "1e+06", "1e+09", "1e+12"}},
		{0, 1, nil},
	}
	for _, c := range cases {
		var got []string
		for _, tk := range (logTicks{}).Ticks(c.lo, c.hi) {
			if tk.Value < c.lo || tk.Value > c.hi {
				t.Errorf("[%v, %v]: tick %v out of range", c.lo, c.hi, tk.Value)
			}
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if strings.Join(got, " ") != strings.Join(c.labels, " ") {
			t.Errorf("[%v, %v]: labels %q, want %q", c.lo, c.hi, got, c.labels)
		}
	}
}

func TestLinearTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		want   string
	}{
		{0.95, 1.05, "0.96 0.98 1.00 1.02 1.04"},
		{0, 1, "0.0 0.2 0.4 0.6 0.8 1.0"},
		{-3.2, 2.9, "-3 -2 -1 0 1 2"},
		{2.2, 4.1, "2.5 3.0 3.5 4.0"},
		{0, 5000, "0 1000 2000 3000 4000 5000"},
		{1, 1, ""},
	}
	for _, c := range cases {
		var got []string
		for _, tk := range (linearTicks{}).Ticks(c.lo, c.hi) {
			if tk.Value < c.lo || tk.Value > c.hi {
				t.Errorf("[%v, %v]: tick %v out of range", c.lo, c.hi, tk.Value)
			}
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("linearTicks(%v, %v) = %q, want %q", c.lo, c.hi, s, c.want)
		}
	}
}

func TestIntTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		want   string
	}{
		{1, 2, "1 2"},
		{1, 12, "2 4 6 8 10 12"},
		{1, 60, "10 20 30 40 50 60"},
		{0.5, 3.5, "1 2 3"},
	}
	for _, c := range cases {
		var got []string
		for _, tk := range (intTicks{}).Ticks(c.lo, c.hi) {
			got = append(got, tk.Label)
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("intTicks(%v, %v) = %q, want %q", c.lo, c.hi, s, c.want)
		}
	}
}
