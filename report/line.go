package report

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Curve is one line of a Chart: the points (X[i], Y[i]). A nil X means
// X = 1, 2, ..., len(Y).
type Curve struct {
	Name string
	X, Y []float64
	// Lo and Hi, when both set (each as long as Y), are a band drawn shaded
	// in the curve's colour behind the line, e.g. the min–max over seeds.
	// A point whose Lo or Hi is not finite (or ≤ 0 on a log axis) has no
	// band.
	Lo, Hi []float64
	// NoMarks draws the line without point markers (for dense curves).
	NoMarks bool
	// Style, when positive, picks the colour, marker and dash pattern
	// (Style k looks the same in every chart, see Color); 0 means the
	// curve's position in the chart plus one.
	Style int
}

// Chart is a line chart: one line per curve, a legend naming the curves,
// and a grid.
type Chart struct {
	Title, XLabel, YLabel string
	// LogY makes the y axis log10; points with y ≤ 0 are dropped.
	LogY   bool
	Curves []Curve
	// Refs are horizontal reference lines (dashed grey), e.g. 0 for a
	// difference or 1 for a gain.
	Refs []float64
}

// Color is the line colour of Curve.Style k (k ≥ 1).
func Color(k int) color.Color { return plotutil.Color(max(k, 1) - 1) }

// Line chart size.
const (
	lineWidth  = 8 * vg.Inch
	lineHeight = 5 * vg.Inch
	// figTitleH is the band above a multi-panel figure for its title.
	figTitleH = 30
)

// LinePlot writes a line chart to path (PNG or SVG, see IsSVG): one line
// (with point markers) per curve (earlier curves drawn wider, so coinciding
// curves stay visible), a legend naming the curves and a grid. With logY the
// y axis is log10 and points with y ≤ 0 are dropped from their curve; points
// with a non-finite x or y are dropped in either case. Dropping every point
// of a curve is not an error (the curve keeps its legend entry, marked
// "no data"). It is an error to pass no curves, a curve with no Y values, or
// a curve whose non-nil X differs in length from Y. It is
// Chart{...}.Write(path).
func LinePlot(path, title, xLabel, yLabel string, logY bool, curves []Curve) error {
	return Chart{Title: title, XLabel: xLabel, YLabel: yLabel, LogY: logY, Curves: curves}.Write(path)
}

// Write writes the chart to path (PNG or SVG, see IsSVG), 8×5 inches; see
// LinePlot for how points are drawn and which inputs are errors.
func (c Chart) Write(path string) error {
	p, err := c.plot()
	if err != nil {
		return err
	}
	return render(path, lineWidth, lineHeight, func(dc draw.Canvas) error {
		p.Draw(dc)
		return nil
	})
}

// WriteCharts writes the charts side by side (at most 3 per row), under a
// figure title, to path (PNG or SVG). Each panel is 5.5×4.5 inches.
func WriteCharts(path, title string, charts []Chart) error {
	if len(charts) == 0 {
		return errors.New("report: WriteCharts: no charts")
	}
	plots := make([]*plot.Plot, len(charts))
	for i, c := range charts {
		p, err := c.plot()
		if err != nil {
			return err
		}
		plots[i] = p
	}
	return writePanels(path, title, plots, 5.5*vg.Inch, 4.5*vg.Inch)
}

// writePanels draws plots in a grid of at most 3 columns under title.
func writePanels(path, title string, plots []*plot.Plot, pw, ph vg.Length) error {
	cols := min(len(plots), 3)
	rows := (len(plots) + cols - 1) / cols
	w, h := vg.Length(cols)*pw, vg.Length(rows)*ph+figTitleH
	return render(path, w, h, func(dc draw.Canvas) error {
		titleSty := textStyle(15, true, draw.XCenter, draw.YCenter)
		dc.FillText(titleSty, vg.Point{X: w / 2, Y: h - figTitleH/2}, title)
		body := draw.Crop(dc, 0, 0, 0, -figTitleH)
		grid := make([][]*plot.Plot, rows)
		for i := range grid {
			grid[i] = make([]*plot.Plot, cols)
			for j := range cols {
				if k := i*cols + j; k < len(plots) {
					grid[i][j] = plots[k]
				}
			}
		}
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(12), PadY: vg.Points(12),
			PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
		canvases := plot.Align(grid, tiles, body)
		for i := range grid {
			for j, p := range grid[i] {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
		return nil
	})
}

// newPlot returns a plot with the package's fonts and legend placement.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(14, true)
	p.Title.Padding = vg.Points(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(12, false)
		a.Tick.Label.Font = sans(10, false)
	}
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.Legend.TextStyle.Font = sans(11, false)
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = vg.Points(28)
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(10), -vg.Points(6)
	return p
}

// plot validates the chart and builds it.
func (c Chart) plot() (*plot.Plot, error) {
	if len(c.Curves) == 0 {
		return nil, errors.New("report: LinePlot: no curves")
	}
	for i, cv := range c.Curves {
		switch {
		case len(cv.Y) == 0:
			return nil, fmt.Errorf("report: LinePlot: curve %d (%q) has no points", i, cv.Name)
		case cv.X != nil && len(cv.X) != len(cv.Y):
			return nil, fmt.Errorf("report: LinePlot: curve %d (%q) has %d x values for %d y values", i, cv.Name, len(cv.X), len(cv.Y))
		case (cv.Lo != nil || cv.Hi != nil) && (len(cv.Lo) != len(cv.Y) || len(cv.Hi) != len(cv.Y)):
			return nil, fmt.Errorf("report: LinePlot: curve %d (%q) has a band of %d/%d values for %d y values", i, cv.Name, len(cv.Lo), len(cv.Hi), len(cv.Y))
		}
	}
	logY := c.LogY
	p := newPlot(c.Title, c.XLabel, c.YLabel)
	p.Add(plotter.NewGrid())

	xr, yr := newSpan(), newSpan()
	allInt := true
	okY := func(y float64) bool { return finite(y) && (!logY || y > 0) }
	type drawn struct {
		line  *plotter.Line
		marks *plotter.Scatter
		name  string
	}
	var lines []drawn
	for i, cv := range c.Curves {
		style := cv.Style
		if style <= 0 {
			style = i + 1
		}
		col := Color(style)
		var pts plotter.XYs
		var lo, hi plotter.XYs // band edges, in x order
		for k, y := range cv.Y {
			x := float64(k + 1)
			if cv.X != nil {
				x = cv.X[k]
			}
			if !finite(x) {
				continue
			}
			if cv.Lo != nil && okY(cv.Lo[k]) && okY(cv.Hi[k]) {
				lo = append(lo, plotter.XY{X: x, Y: cv.Lo[k]})
				hi = append(hi, plotter.XY{X: x, Y: cv.Hi[k]})
				yr.add(cv.Lo[k])
				yr.add(cv.Hi[k])
			}
			if !okY(y) {
				continue
			}
			pts = append(pts, plotter.XY{X: x, Y: y})
			xr.add(x)
			yr.add(y)
			allInt = allInt && x == math.Trunc(x)
		}
		if len(lo) > 1 {
			ring := append(append(plotter.XYs{}, lo...), reversed(hi)...)
			if poly, err := plotter.NewPolygon(ring); err == nil {
				r, g, b, _ := col.RGBA()
				poly.Color = color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 56}
				poly.LineStyle.Width = 0
				p.Add(poly)
			}
		}
		// Earlier curves are drawn wider, so that a later curve lying on
		// top of one (say two gains both exactly 1) leaves it visible.
		step := 0.6
		if cv.NoMarks {
			step = 0.4
		}
		wide := vg.Points(step * float64(min(len(c.Curves)-1-i, 5)))
		ls := draw.LineStyle{Color: col, Width: vg.Points(1.5) + wide, Dashes: plotutil.Dashes((style - 1) / len(plotutil.DefaultColors))}
		gs := draw.GlyphStyle{Color: col, Radius: vg.Points(2.5) + wide, Shape: plotutil.Shape(style - 1)}
		name := cv.Name
		if len(pts) == 0 {
			name += " (no data)"
		}
		d := drawn{line: &plotter.Line{XYs: pts, LineStyle: ls}, name: name}
		if !cv.NoMarks {
			d.marks = &plotter.Scatter{XYs: pts, GlyphStyle: gs}
		}
		lines = append(lines, d)
	}
	// Lines over every band.
	for _, d := range lines {
		if len(d.line.XYs) > 0 {
			p.Add(d.line)
			if d.marks != nil {
				p.Add(d.marks)
			}
		}
		if d.marks != nil {
			p.Legend.Add(d.name, d.line, d.marks)
		} else {
			p.Legend.Add(d.name, d.line)
		}
	}
	for _, v := range c.Refs {
		if okY(v) {
			yr.add(v)
		}
	}

	p.X.Min, p.X.Max = xr.lo, xr.hi
	if xr.empty() {
		p.X.Min, p.X.Max = 0, 1
	} else if p.X.Min == p.X.Max {
		p.X.Min, p.X.Max = p.X.Min-1, p.X.Max+1
	}
	if allInt && !xr.empty() {
		p.X.Tick.Marker = intTicks{}
	} else {
		p.X.Tick.Marker = linearTicks{}
	}
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		lo, hi := 1.0, 10.0
		if !yr.empty() {
			l, h := minSpan(math.Log10(yr.lo), math.Log10(yr.hi), minLogSpan)
			l, h = padRange(l, h, 0)
			lo, hi = math.Pow(10, l), math.Pow(10, h)
		}
		p.Y.Min, p.Y.Max = lo, hi
	} else {
		p.Y.Tick.Marker = linearTicks{}
		p.Y.Min, p.Y.Max = 0, 1
		if !yr.empty() {
			l, h := minSpan(yr.lo, yr.hi, minLinSpan*math.Max(math.Abs(yr.lo), math.Abs(yr.hi)))
			p.Y.Min, p.Y.Max = padRange(l, h, 0.5)
		}
	}
	for _, v := range c.Refs {
		if !okY(v) {
			continue
		}
		ref := plotter.NewFunction(func(float64) float64 { return v })
		ref.Color = color.Gray{110}
		ref.Width = vg.Points(1)
		ref.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(ref)
	}
	return p, nil
}

func reversed(xy plotter.XYs) plotter.XYs {
	out := make(plotter.XYs, len(xy))
	for i, v := range xy {
		out[len(xy)-1-i] = v
	}
	return out
}

// The narrowest y ranges shown: a log axis spans at least minLogSpan
// decades (a factor of 1.1), a linear one at least minLinSpan times the
// largest |y|, so that rounding noise on a constant (an mHC gain of
// 1 ± 1e-9, say) draws as a flat line instead of filling the plot.
const (
	minLogSpan = 0.04
	minLinSpan = 0.02
)

// minSpan widens [lo, hi] symmetrically to a width of at least w.
func minSpan(lo, hi, w float64) (float64, float64) {
	if d := w - (hi - lo); d > 0 {
		return lo - d/2, hi + d/2
	}
	return lo, hi
}

// padRange widens [lo, hi] by 5% below and by 5% plus 40% above (room for
// the legend); by minPad on each side (plus the 40%) when lo == hi.
func padRange(lo, hi, minPad float64) (float64, float64) {
	span := hi - lo
	pad := 0.05 * span
	if span == 0 {
		pad = minPad
	}
	return lo - pad, hi + pad + 0.4*(span+2*pad)
}

// span accumulates a data range.
type span struct{ lo, hi float64 }

func newSpan() span           { return span{math.Inf(1), math.Inf(-1)} }
func (s *span) add(v float64) { s.lo, s.hi = math.Min(s.lo, v), math.Max(s.hi, v) }
func (s span) empty() bool    { return s.lo > s.hi }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// linearTicks labels 3 to 9 values at a 1-2-5 step, with just enough
// decimals to tell them apart, and puts unlabelled minor ticks halfway.
type linearTicks struct{}

// Ticks implements plot.Ticker.
func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || !finite(lo) || !finite(hi) {
		return nil
	}
	e := math.Floor(math.Log10((hi - lo) / 3))
	step := math.Pow(10, e)
	for _, m := range []float64{2, 5, 10} {
		if (hi-lo)/step <= 8 {
			break
		}
		step = m * math.Pow(10, e)
	}
	prec := max(0, -int(math.Floor(math.Log10(step))))
	var ts []plot.Tick
	for k := math.Ceil(lo / step * 2); k/2*step <= hi+1e-9*step; k++ {
		v := k / 2 * step
		t := plot.Tick{Value: v}
		if math.Mod(k, 2) == 0 {
			t.Label = strconv.FormatFloat(v, 'f', prec, 64)
			if t.Label == "-"+strconv.FormatFloat(0, 'f', prec, 64) {
				t.Label = t.Label[1:]
			}
		}
		ts = append(ts, t)
	}
	return ts
}

// intTicks labels integers only, at a 1-2-5 step giving at most 10 labels.
type intTicks struct{}

// Ticks implements plot.Ticker.
func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1.0
	for i := 0; (hi-lo)/step > 10; i++ {
		step *= []float64{2, 2.5, 2}[i%3] // 1, 2, 5, 10, 20, 50, ...
	}
	var ts []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ts
}

// logTicks marks a log axis: across less than a decade, the ordinary linear
// ticks (which stay readable on a log axis over so short a range); else
// powers of ten (every k-th labelled when there are many) with unlabelled
// minor ticks at 2..9, and labels at 2 and 5 too when the range spans fewer
// than three decades.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) || !finite(hi) {
		return nil
	}
	decades := math.Log10(hi / lo)
	if decades < 1 {
		return linearTicks{}.Ticks(lo, hi)
	}
	e0, e1 := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	every := 1
	for (e1-e0)/every > 8 {
		every++
	}
	var ts []plot.Tick
	for e := e0; e <= e1; e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow10(e)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if (m == 1 && (e-e0)%every == 0) || (decades < 3 && (m == 2 || m == 5)) {
				t.Label = strconv.FormatFloat(v, 'g', 6, 64)
			}
			ts = append(ts, t)
		}
	}
	return ts
}
