package report

import (
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// checkSVG parses path as XML and checks its root is <svg> holding every
// string of want as text.
func checkSVG(t *testing.T, path string, want ...string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	root := ""
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
		case xml.CharData:
			text.Write(tok)
			text.WriteByte('\n')
		}
	}
	if root != "svg" {
		t.Errorf("%s: root <%s>, want <svg>", path, root)
	}
	for _, w := range want {
		if !strings.Contains(text.String(), w) {
			t.Errorf("%s: no text %q", path, w)
		}
	}
}

func TestChartBandsAndFormats(t *testing.T) {
	dir := t.TempDir()
	x := []float64{1000, 2000, 3000, 4000}
	c := Chart{Title: "Loss & gap", XLabel: "tokens", YLabel: "loss (nats/token)", Refs: []float64{0},
		Curves: []Curve{
			{Name: "residual <2 seeds>", X: x, Y: []float64{3, 2.5, 2.2, 2}, Lo: []float64{2.9, 2.4, 2.1, 1.9}, Hi: []float64{3.1, 2.6, 2.3, 2.1}, NoMarks: true, Style: 3},
			{Name: "mhc", X: x, Y: []float64{2.9, 2.4, math.NaN(), 1.9}, Lo: []float64{2.8, math.NaN(), 2, 1.8}, Hi: []float64{3, 2.5, 2.2, 2}},
		}}
	for _, name := range []string{"c.png", "c.svg", "c.SVG"} {
		if err := c.Write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	checkPNG(t, filepath.Join(dir, "c.png"), 8*DPI-2, 8*DPI+2, 5*DPI-2, 5*DPI+2)
	checkSVG(t, filepath.Join(dir, "c.svg"), "Loss & gap", "residual <2 seeds>", "loss (nats/token)")
	checkSVG(t, filepath.Join(dir, "c.SVG"))

	bad := c
	bad.Curves = []Curve{{Name: "a", Y: []float64{1, 2}, Lo: []float64{1}}}
	if err := bad.Write(filepath.Join(dir, "bad.png")); err == nil || !strings.Contains(err.Error(), "band") {
		t.Errorf("short band: err = %v", err)
	}

	log := Chart{Title: "gain", LogY: true, Refs: []float64{1}, Curves: []Curve{{Name: "hc", Y: []float64{1, 3, 30}, Lo: []float64{0, 2, 20}, Hi: []float64{1, 4, 40}}}}
	if err := WriteCharts(filepath.Join(dir, "two.png"), "Two panels", []Chart{log, c}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "two.png"), 11*DPI-2, 11*DPI+2, 4.5*DPI, 4.5*DPI+100)
	if err := WriteCharts(filepath.Join(dir, "two.svg"), "Two panels", []Chart{log, c}); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, filepath.Join(dir, "two.svg"), "Two panels", "gain", "Loss & gap")
	if err := WriteCharts(filepath.Join(dir, "none.png"), "x", nil); err == nil {
		t.Error("WriteCharts with no charts: no error")
	}
}

func TestBarCharts(t *testing.T) {
	dir := t.TempDir()
	charts := []BarChart{
		{Title: "Throughput", YLabel: "tokens/s", Bars: []Bar{{Name: "residual", Value: 10200}, {Name: "hc", Value: 9200}, {Name: "mhc fixed=res", Value: math.NaN()}}},
		{Title: "Overhead", YLabel: "%", Bars: []Bar{{Name: "hc", Value: 10.9, Style: 2}, {Name: "mhc", Value: -3, Style: 3}},
			Format: func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "%" }},
		{Title: "Zero", YLabel: "MiB", Bars: []Bar{{Name: "a", Value: 0}}},
	}
	for _, name := range []string{"bars.png", "bars.svg"} {
		if err := WriteBarCharts(filepath.Join(dir, name), "Cost", charts); err != nil {
			t.Fatal(err)
		}
	}
	checkPNG(t, filepath.Join(dir, "bars.png"), 13.5*DPI-2, 13.5*DPI+2, 4.5*DPI, 4.5*DPI+100)
	checkSVG(t, filepath.Join(dir, "bars.svg"), "Cost", "Throughput", "10200", "n/a", "mhc fixed=res")
	if err := WriteBarCharts(filepath.Join(dir, "x.png"), "x", []BarChart{{Title: "empty"}}); err == nil || !strings.Contains(err.Error(), "no bars") {
		t.Errorf("empty chart: err = %v", err)
	}
	if err := WriteBarCharts(filepath.Join(dir, "x.png"), "x", nil); err == nil {
		t.Error("no charts: no error")
	}
}
