package report_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mhc-go/mhc/report"
)

// Plot Amax gain curves on a log axis and the matrices they come from.
func Example() {
	dir, err := os.MkdirTemp("", "report")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	curves := []report.Curve{
		{Name: "HC composite", Y: []float64{1.5, 8, 60, 450, 3000}},
		{Name: "mHC composite", Y: []float64{1, 1.2, 1.4, 1.6, 1.5}},
	}
	err = report.LinePlot(filepath.Join(dir, "gains.png"), "Amax gain", "sublayer", "gain", true, curves)
	fmt.Println("gains.png:", err)

	h := []float64{0.7, 0.3, 0.2, 0.8} // 2×2, rows sum to 1
	err = report.Heatmaps(filepath.Join(dir, "hres.png"), "H_res", [][]float64{h}, 2, []string{"layer 1"})
	fmt.Println("hres.png:", err)
	// Output:
	// gains.png: <nil>
	// hres.png: <nil>
}
