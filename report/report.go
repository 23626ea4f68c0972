// Package report draws the training engine's diagnostic plots: line charts
// (loss curves with min–max bands, Amax gain curves on a log axis), bar
// charts, and grids of annotated matrix heatmaps in the style of the mHC
// paper's Fig. 8.
//
// It takes plain slices, so it depends on no other mhc package, and it
// renders with gonum.org/v1/plot in pure Go. Every function validates its
// input and returns an error rather than panicking. The format follows the
// file name: a path ending in ".svg" (any case) is written as SVG (text as
// <text> elements in the Liberation Sans family, fonts not embedded), any
// other path as PNG at DPI.
package report

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/image/font"
	plotfont "gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"gonum.org/v1/plot"
)

// DPI is the resolution of every PNG written by this package.
const DPI = 150

// sans returns the sans-serif face used for all text, at size points.
func sans(size vg.Length, bold bool) plotfont.Font {
	f := plotfont.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
	if bold {
		f.Weight = font.WeightBold
	}
	return f
}

// textStyle returns a plain text style in the package's font.
func textStyle(size vg.Length, bold bool, xa text.XAlignment, ya text.YAlignment) text.Style {
	return text.Style{Font: sans(size, bold), XAlign: xa, YAlign: ya, Handler: plot.DefaultTextHandler}
}

// IsSVG reports whether path names an SVG file (its extension is .svg).
func IsSVG(path string) bool { return strings.EqualFold(filepath.Ext(path), ".svg") }

// render draws a w×h figure with paint and writes it to path, as SVG or PNG
// by the file name (see IsSVG). Nothing is created when paint fails.
func render(path string, w, h vg.Length, paint func(dc draw.Canvas) error) (err error) {
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	if IsSVG(path) {
		c = vgsvg.New(w, h)
	} else {
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))}
	}
	dc := draw.New(c)
	// A white background: SVG is transparent otherwise.
	dc.FillPolygon(color.White, []vg.Point{{X: 0, Y: 0}, {X: w, Y: 0}, {X: w, Y: h}, {X: 0, Y: h}})
	if err := paint(dc); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("report: %w", cerr)
		}
	}()
	if _, err := c.WriteTo(f); err != nil {
		return fmt.Errorf("report: %s: %w", path, err)
	}
	return nil
}
