package train_test

import (
	"fmt"

	"github.com/mhc-go/mhc/train"
)

// The mHC paper's step schedule: warmup, then ×0.316 at 80 % and ×0.1 at 90 % of the steps.
func ExampleLR() {
	for _, step := range []int{0, 9, 50, 80, 95} {
		fmt.Printf("step %2d: %.4f\n", step, train.LR(train.StepDecay, 1e-3, step, 10, 100))
	}
	// Output:
	// step  0: 0.0001
	// step  9: 0.0010
	// step 50: 0.0010
	// step 80: 0.0003
	// step 95: 0.0001
}
