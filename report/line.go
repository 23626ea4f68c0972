package report

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Curve is one line of a LinePlot: the points (X[i], Y[i]). A nil X means
// X = 1, 2, ..., len(Y).
type Curve struct {
	Name string
	X, Y []float64
}

// Line chart size.
const (
	lineWidth  = 8 * vg.Inch
	lineHeight = 5 * vg.Inch
)

// LinePlot writes a PNG line chart to path: one line (with point markers) per
// curve (earlier curves drawn wider, so coinciding curves stay visible), a
// legend naming the curves and a grid. With logY the y axis is
// log10 and points with y ≤ 0 are dropped from their curve; points with a
// non-finite x or y are dropped in either case. Dropping every point of a
// curve is not an error (the curve keeps its legend entry, marked
// "no data"). It is an error to pass no curves, a curve with no Y values,
// or a curve whose non-nil X differs in length from Y.
func LinePlot(path, title, xLabel, yLabel string, logY bool, curves []Curve) error {
	if len(curves) == 0 {
		return errors.New("report: LinePlot: no curves")
	}
	for i, c := range curves {
		switch {
		case len(c.Y) == 0:
			return fmt.Errorf("report: LinePlot: curve %d (%q) has no points", i, c.Name)
		case c.X != nil && len(c.X) != len(c.Y):
			return fmt.Errorf("report: LinePlot: curve %d (%q) has %d x values for %d y values", i, c.Name, len(c.X), len(c.Y))
		}
	}
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
	p.Add(plotter.NewGrid())

	xr, yr := newSpan(), newSpan()
	allInt := true
	for i, c := range curves {
		var pts plotter.XYs
		for k, y := range c.Y {
			x := float64(k + 1)
			if c.X != nil {
				x = c.X[k]
			}
			if !finite(x) || !finite(y) || (logY && y <= 0) {
				continue
			}
			pts = append(pts, plotter.XY{X: x, Y: y})
			xr.add(x)
			yr.add(y)
			allInt = allInt && x == math.Trunc(x)
		}
		// Earlier curves are drawn wider, so that a later curve lying on
		// top of one (say two gains both exactly 1) leaves it visible.
		wide := vg.Points(0.6 * float64(min(len(curves)-1-i, 5)))
		ls := draw.LineStyle{Color: plotutil.Color(i), Width: vg.Points(1.5) + wide, Dashes: plotutil.Dashes(i / len(plotutil.DefaultColors))}
		gs := draw.GlyphStyle{Color: plotutil.Color(i), Radius: vg.Points(2.5) + wide, Shape: plotutil.Shape(i)}
		name := c.Name
		if len(pts) == 0 {
			name += " (no data)"
		}
		line := &plotter.Line{XYs: pts, LineStyle: ls}
		marks := &plotter.Scatter{XYs: pts, GlyphStyle: gs}
		if len(pts) > 0 {
			p.Add(line, marks)
		}
		p.Legend.Add(name, line, marks)
	}

	p.X.Min, p.X.Max = xr.lo, xr.hi
	if xr.empty() {
		p.X.Min, p.X.Max = 0, 1
	} else if p.X.Min == p.X.Max {
		p.X.Min, p.X.Max = p.X.Min-1, p.X.Max+1
	}
	if allInt && !xr.empty() {
		p.X.Tick.Marker = intTicks{}
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

	img, dc := newCanvas(lineWidth, lineHeight)
	p.Draw(dc)
	return writePNG(path, img)
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
