package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The row-block causal softmax and its backward give exactly the full T×T
// kernels' values on every block of every T (same row loops), write zeros
// over the masked part of each block, and the blocks tile the packed buffer.
func TestAttnCausalSoftmaxBlocks(t *testing.T) {
	forEachVecPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, T := range []int{1, 2, 7, 16, 17, 40} {
			for _, blk := range []int{1, 5, 8, 16, 64} {
				ab := AttnBlocks{T: T, Blk: blk}
				s := randVec(rng, T*T, 3)
				g := randVec(rng, T*T, 1)
				full := append([]float32(nil), s...)
				CausalSoftmax(full, T, 0, T, 0.7)
				dfull := make([]float32, T*T)
				CausalSoftmaxBackward(dfull, full, g, T, 0, T, 0.7)
				packed := make([]float32, ab.Size())
				for i := range packed {
					packed[i] = 99 // garbage: every entry is overwritten
				}
				next := 0
				for i := range ab.N() {
					r0, rows, w, off := ab.Block(i)
					if off != next || w != r0+rows || rows < 1 {
						t.Fatalf("T %d blk %d block %d: r0 %d rows %d w %d off %d (want off %d)", T, blk, i, r0, rows, w, off, next)
					}
					next = off + rows*w
					p := packed[off : off+rows*w]
					dp := make([]float32, rows*w)
					for r := range rows {
						copy(p[r*w:(r+1)*w], s[(r0+r)*T:])
						copy(dp[r*w:(r+1)*w], g[(r0+r)*T:])
					}
					AttnCausalSoftmax(p, w, r0, rows, 0.7)
					AttnCausalSoftmaxBackward(dp, p, dp, w, r0, rows, 0.7) // in place, as the model does
					for r := range rows {
						for j := range w {
							name := fmt.Sprintf("T %d blk %d row %d col %d", T, blk, r0+r, j)
							if p[r*w+j] != full[(r0+r)*T+j] {
								t.Fatalf("%s: p %v, full %v", name, p[r*w+j], full[(r0+r)*T+j])
							}
							if dp[r*w+j] != dfull[(r0+r)*T+j] {
								t.Fatalf("%s: ds %v, full %v", name, dp[r*w+j], dfull[(r0+r)*T+j])
							}
						}
					}
				}
				if next != ab.Size() {
					t.Fatalf("T %d blk %d: blocks end at %d, Size %d", T, blk, next, ab.Size())
				}
			}
		}
	})
}
