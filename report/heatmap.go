package report

import (
	"errors"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Heatmap layout, in points.
const (
	heatMargin   = 10 // around the figure
	heatTitleH   = 30 // figure title band
	heatPanelCol = 4  // panels per row
	panelLeft    = 30 // left of each matrix: the "Σ col" label
	panelTitleH  = 30 // panel title and colour-scale note
	panelHeadH   = 11 // the "Σ row" header above the row sums
	panelGap     = 5  // between a matrix and its sums
	panelRight   = 14
	panelBottom  = 14
)

var (
	sumFill  = color.RGBA{232, 232, 232, 255}
	nanFill  = color.RGBA{190, 190, 190, 255}
	noteGrey = color.RGBA{90, 90, 90, 255}
)

// Heatmaps writes to path (PNG or SVG, see IsSVG) a grid of heatmaps of the n×n row-major
// matrices mats, in the style of the mHC paper's Fig. 8: one panel per
// matrix, titled titles[i] (when titles is nil, "1", "2", ...), each cell
// annotated with its value to two decimals, the row sums in a column to
// the right of the matrix and the column sums in a row below it. The colour
// map diverges from white at 0 to red (positive) and blue (negative), scaled
// per panel to its largest |entry| (noted under the panel title), so the
// negative entries of HC matrices show while the non-negative mHC matrices
// (entries in [0, 1]) are all shades of red. Non-finite entries are grey.
// It is an error to pass no matrices, n < 1, a matrix whose length is not
// n·n, or a titles slice of the wrong length.
func Heatmaps(path, title string, mats [][]float64, n int, titles []string) error {
	switch {
	case len(mats) == 0:
		return errors.New("report: Heatmaps: no matrices")
	case n < 1:
		return fmt.Errorf("report: Heatmaps: n = %d, must be at least 1", n)
	case titles != nil && len(titles) != len(mats):
		return fmt.Errorf("report: Heatmaps: %d titles for %d matrices", len(titles), len(mats))
	}
	for i, m := range mats {
		if len(m) != n*n {
			return fmt.Errorf("report: Heatmaps: matrix %d has %d entries, want n·n = %d", i, len(m), n*n)
		}
	}
	if titles == nil {
		titles = make([]string, len(mats))
		for i := range titles {
			titles[i] = fmt.Sprint(i + 1)
		}
	}

	// Size the cells to the widest label of any panel.
	fs := cellFontSize(n)
	cellSty := textStyle(fs, false, draw.XCenter, draw.YCenter)
	sumSty := textStyle(fs, true, draw.XCenter, draw.YCenter)
	rows, cols := make([][]float64, len(mats)), make([][]float64, len(mats))
	var cellW vg.Length
	for i, m := range mats {
		rows[i], cols[i] = sums(m, n)
		for _, v := range m {
			cellW = max(cellW, cellSty.Width(cellLabel(v)))
		}
		for _, v := range append(append([]float64(nil), rows[i]...), cols[i]...) {
			cellW = max(cellW, sumSty.Width(cellLabel(v)))
		}
	}
	cellW = max(cellW+vg.Points(10), vg.Points(2.6*float64(fs)))
	cellH := vg.Points(2.2 * float64(fs))

	panelW := panelLeft + vg.Length(n)*cellW + panelGap + cellW + panelRight
	panelH := panelTitleH + panelHeadH + vg.Length(n)*cellH + panelGap + cellH + panelBottom
	pcols := min(len(mats), heatPanelCol)
	prows := (len(mats) + pcols - 1) / pcols
	titleSty := textStyle(15, true, draw.XCenter, draw.YCenter)
	w := max(vg.Length(pcols)*panelW, titleSty.Width(title)+20) + 2*heatMargin
	h := heatTitleH + vg.Length(prows)*panelH + 2*heatMargin

	return render(path, w, h, func(dc draw.Canvas) error {
		dc.FillText(titleSty, vg.Point{X: w / 2, Y: h - heatMargin - heatTitleH/2}, title)
		for i, m := range mats {
			top := h - heatMargin - heatTitleH - vg.Length(i/pcols)*panelH
			left := heatMargin + vg.Length(i%pcols)*panelW
			p := panel{dc: dc, left: left, top: top, n: n, cellW: cellW, cellH: cellH, cellSty: cellSty, sumSty: sumSty}
			p.draw(titles[i], m, rows[i], cols[i])
		}
		return nil
	})
}

// cellFontSize shrinks the annotation font for large matrices.
func cellFontSize(n int) vg.Length {
	switch {
	case n <= 6:
		return 9
	case n <= 8:
		return 8
	case n <= 12:
		return 7
	}
	return 6
}

// sums returns the row and column sums of the n×n matrix m.
func sums(m []float64, n int) (rows, cols []float64) {
	rows, cols = make([]float64, n), make([]float64, n)
	for i := range n {
		for j := range n {
			rows[i] += m[i*n+j]
			cols[j] += m[i*n+j]
		}
	}
	return rows, cols
}

// cellLabel formats v to two decimals, without a "-0.00".
func cellLabel(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	if s == "-0.00" {
		s = "0.00"
	}
	return s
}

// panel draws one matrix with its sums; (left, top) is its top-left corner.
type panel struct {
	dc              draw.Canvas
	left, top       vg.Length
	n               int
	cellW, cellH    vg.Length
	cellSty, sumSty text.Style
}

func (p panel) draw(title string, m, rows, cols []float64) {
	scale := 0.0
	for _, v := range m {
		if finite(v) {
			scale = math.Max(scale, math.Abs(v))
		}
	}
	mid := p.left + panelLeft + vg.Length(p.n)*p.cellW/2
	p.dc.FillText(textStyle(11, true, draw.XCenter, draw.YTop), vg.Point{X: mid, Y: p.top - 2}, title)
	note := textStyle(7.5, false, draw.XCenter, draw.YTop)
	note.Color = noteGrey
	p.dc.FillText(note, vg.Point{X: mid, Y: p.top - 17}, "colour scale ±"+fmt.Sprintf("%.3g", scale))

	y0 := p.top - panelTitleH - panelHeadH // top of the matrix
	x0 := p.left + panelLeft               // left of the matrix
	xs := x0 + vg.Length(p.n)*p.cellW + panelGap
	ys := y0 - vg.Length(p.n)*p.cellH - panelGap
	head := textStyle(7.5, false, draw.XCenter, draw.YBottom)
	head.Color = noteGrey
	p.dc.FillText(head, vg.Point{X: xs + p.cellW/2, Y: y0 + 2}, "Σ row")
	head.XAlign, head.YAlign = draw.XRight, draw.YCenter
	p.dc.FillText(head, vg.Point{X: x0 - 3, Y: ys - p.cellH/2}, "Σ col")

	for i := range p.n {
		for j := range p.n {
			v := m[i*p.n+j]
			fill, ink := divergingColor(v, scale)
			p.cell(x0+vg.Length(j)*p.cellW, y0-vg.Length(i)*p.cellH, fill, ink, p.cellSty, cellLabel(v))
		}
		p.cell(xs, y0-vg.Length(i)*p.cellH, sumFill, color.Black, p.sumSty, cellLabel(rows[i]))
		p.cell(x0+vg.Length(i)*p.cellW, ys, sumFill, color.Black, p.sumSty, cellLabel(cols[i]))
	}
}

// cell fills the cell whose top-left corner is (x, y), leaving a thin white
// border, and centres label in it.
func (p panel) cell(x, y vg.Length, fill, ink color.Color, sty text.Style, label string) {
	const b = 0.6
	p.dc.FillPolygon(fill, []vg.Point{
		{X: x + b, Y: y - b}, {X: x + p.cellW - b, Y: y - b},
		{X: x + p.cellW - b, Y: y - p.cellH + b}, {X: x + b, Y: y - p.cellH + b},
	})
	sty.Color = ink
	p.dc.FillText(sty, vg.Point{X: x + p.cellW/2, Y: y - p.cellH/2}, label)
}

// The diverging map (ColorBrewer RdBu end points): white at 0, through a
// light tint at half scale, to a dark red (+) or blue (−) at full scale.
var (
	divMid    = [3]float64{247, 247, 247}
	divPos    = [2][3]float64{{244, 165, 130}, {178, 24, 43}}
	divNeg    = [2][3]float64{{146, 197, 222}, {33, 102, 172}}
	darkThres = 0.6 // |v|/scale above which the label is white
)

// divergingColor returns the fill for v on a ±scale map and a legible ink.
func divergingColor(v, scale float64) (fill, ink color.Color) {
	if !finite(v) {
		return nanFill, color.Black
	}
	t := 0.0
	if scale > 0 {
		t = math.Max(-1, math.Min(1, v/scale))
	}
	stops := divPos
	if t < 0 {
		stops = divNeg
	}
	a := math.Abs(t)
	from, to, f := divMid, stops[0], 2*a
	if a > 0.5 {
		from, to, f = stops[0], stops[1], 2*a-1
	}
	var c [3]uint8
	for k := range c {
		c[k] = uint8(math.Round(from[k] + f*(to[k]-from[k])))
	}
	ink = color.Black
	if a > darkThres {
		ink = color.White
	}
	return color.RGBA{c[0], c[1], c[2], 255}, ink
}
