package hyper_test

import (
	"fmt"
	"math"

	"github.com/mhc-go/mhc/hyper"
)

// The write-in weights H_post that upcycling gives each of 4 streams: all 1
// for the symmetric init, spread around 1 (mean unchanged) for split, and
// 1/n with HC's sum contraction.
func ExampleUpcycle_PostWeights() {
	mhc := hyper.Config{Kind: hyper.MHC, Streams: 4, Contract: "mean"}
	hc := hyper.Config{Kind: hyper.HC, Streams: 4, Contract: "sum"}
	round := func(q []float64) []float64 {
		for i := range q {
			q[i] = math.Round(q[i]*1000) / 1000
		}
		return q
	}
	fmt.Println("symmetric:", hyper.Upcycle{Init: hyper.UpcycleSymmetric}.PostWeights(mhc))
	fmt.Println("split 0.5:", round(hyper.Upcycle{Init: hyper.UpcycleSplit, Split: 0.5}.PostWeights(mhc)))
	fmt.Println("hc, sum:  ", hyper.Upcycle{Init: hyper.UpcycleSymmetric}.PostWeights(hc),
		"embedding ×", hyper.Upcycle{}.EmbedScale(hc))
	// Output:
	// symmetric: [1 1 1 1]
	// split 0.5: [0.5 0.833 1.167 1.5]
	// hc, sum:   [0.25 0.25 0.25 0.25] embedding × 0.25
}
