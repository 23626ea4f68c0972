// Package report draws the training engine's diagnostic plots as PNG files:
// line charts (loss curves, Amax gain curves on a log axis) and grids of
// annotated matrix heatmaps in the style of the mHC paper's Fig. 8.
//
// It takes plain slices, so it depends on no other mhc package, and it
// renders with gonum.org/v1/plot in pure Go. Every function validates its
// input and returns an error rather than panicking; the output is always
// PNG, whatever the file name's extension.
package report

import (
	"fmt"
	"os"

	"golang.org/x/image/font"
	plotfont "gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

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

// newCanvas returns a white PNG canvas of w×h at DPI.
func newCanvas(w, h vg.Length) (*vgimg.Canvas, draw.Canvas) {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
	return img, draw.New(img)
}

// writePNG encodes img to path.
func writePNG(path string, img *vgimg.Canvas) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("report: %w", cerr)
		}
	}()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return fmt.Errorf("report: %s: %w", path, err)
	}
	return nil
}
