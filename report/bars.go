package report

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Bar is one bar of a BarChart.
type Bar struct {
	Name  string
	Value float64 // a non-finite value draws no bar and is labelled "n/a"
	Style int     // colour, as Curve.Style (0: the bar's position plus one)
}

// BarChart is one panel of bars, each labelled with its value.
type BarChart struct {
	Title, YLabel string
	Bars          []Bar
	// Format formats the value printed above each bar (default: 3
	// significant digits, or the integer part from 1000 up).
	Format func(float64) string
}

// WriteBarCharts writes the bar charts side by side (at most 3 per row),
// under a figure title, to path (PNG or SVG, see IsSVG). Each panel is 4.5
// inches wide and 4.5 high. It is an error to pass no charts or a chart with
// no bars.
func WriteBarCharts(path, title string, charts []BarChart) error {
	if len(charts) == 0 {
		return errors.New("report: WriteBarCharts: no charts")
	}
	plots := make([]*plot.Plot, len(charts))
	for i, c := range charts {
		if len(c.Bars) == 0 {
			return fmt.Errorf("report: WriteBarCharts: chart %d (%q) has no bars", i, c.Title)
		}
		plots[i] = c.plot()
	}
	return writePanels(path, title, plots, 4.5*vg.Inch, 4.5*vg.Inch)
}

func (c BarChart) plot() *plot.Plot {
	format := c.Format
	if format == nil {
		format = func(v float64) string {
			if math.Abs(v) >= 1000 {
				return strconv.FormatFloat(v, 'f', 0, 64)
			}
			return strconv.FormatFloat(v, 'g', 3, 64)
		}
	}
	p := newPlot(c.Title, "", c.YLabel)
	p.Title.TextStyle.Font = sans(13, true)
	grid := plotter.NewGrid()
	grid.Vertical.Width = 0
	p.Add(grid)
	names := make([]string, len(c.Bars))
	lo, hi := 0.0, 0.0
	var labels plotter.XYLabels
	for i, b := range c.Bars {
		names[i] = b.Name
		style := b.Style
		if style <= 0 {
			style = i + 1
		}
		v, label := b.Value, "n/a"
		if finite(v) {
			bc, err := plotter.NewBarChart(plotter.Values{v}, vg.Points(34))
			if err == nil {
				bc.XMin = float64(i)
				bc.Color = Color(style)
				bc.LineStyle.Width = 0
				p.Add(bc)
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			label = format(v)
		} else {
			v = 0
		}
		labels.XYs = append(labels.XYs, plotter.XY{X: float64(i), Y: v})
		labels.Labels = append(labels.Labels, label)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	p.Y.Min, p.Y.Max = lo-0.04*span, hi+0.15*span
	if lo < 0 {
		p.Y.Min = lo - 0.15*span
	}
	for i, xy := range labels.XYs {
		if xy.Y < 0 {
			labels.XYs[i].Y -= 0.09 * span
		}
	}
	if l, err := plotter.NewLabels(labels); err == nil {
		for i := range l.TextStyle {
			l.TextStyle[i].Font = sans(9.5, false)
			l.TextStyle[i].XAlign = draw.XCenter
			l.TextStyle[i].YAlign = draw.YBottom
			l.TextStyle[i].Handler = plot.DefaultTextHandler
		}
		l.Offset = vg.Point{Y: vg.Points(2)}
		p.Add(l)
	}
	p.Y.Tick.Marker = linearTicks{}
	p.NominalX(names...)
	p.X.Tick.Label.Font = sans(9.5, false)
	if len(names) > 2 {
		p.X.Tick.Label.Rotation = math.Pi / 7
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YTop
	}
	p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
	return p
}
