package model

import (
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/param"
)

// fullHeads is the attention core before the causal row blocks: full T×T
// scores per head (kept to measure the skipped work against).
type fullHeads struct {
	a            *attention
	probs, dprob []float32
}

func (f *fullHeads) fwd(lo, hi int) {
	a := f.a
	C, H, hd, T := a.cfg.D, a.cfg.Heads, a.cfg.HeadDim(), a.T
	for bh := lo; bh < hi; bh++ {
		b, h := bh/H, bh%H
		q := a.act.qkv[b*T*3*C+h*hd:]
		k, v := q[C:], q[2*C:]
		p := f.probs[bh*T*T : (bh+1)*T*T]
		kernels.GEMMSerial(false, true, T, T, hd, 1, q, 3*C, k, 3*C, 0, p, T)
		kernels.CausalSoftmax(p, T, 0, T, a.scale())
		kernels.GEMMSerial(false, false, T, hd, T, 1, p, T, v, 3*C, 0, a.act.att[b*T*C+h*hd:], C)
	}
}

func (f *fullHeads) bwd(lo, hi int) {
	a := f.a
	C, H, hd, T := a.cfg.D, a.cfg.Heads, a.cfg.HeadDim(), a.T
	for bh := lo; bh < hi; bh++ {
		b, h := bh/H, bh%H
		q := a.act.qkv[b*T*3*C+h*hd:]
		k, v := q[C:], q[2*C:]
		dq := a.sc.dqkv[b*T*3*C+h*hd:]
		dk, dv := dq[C:], dq[2*C:]
		do := a.sc.datt[b*T*C+h*hd:]
		p := f.probs[bh*T*T : (bh+1)*T*T]
		dp := f.dprob[bh*T*T : (bh+1)*T*T]
		kernels.GEMMSerial(false, true, T, T, hd, 1, do, C, v, 3*C, 0, dp, T)
		kernels.GEMMSerial(true, false, T, hd, T, 1, p, T, do, C, 0, dv, 3*C)
		kernels.CausalSoftmaxBackward(dp, p, dp, T, 0, T, a.scale())
		kernels.GEMMSerial(false, false, T, hd, T, 1, dp, T, k, 3*C, 0, dq, 3*C)
		kernels.GEMMSerial(true, false, T, hd, T, 1, dp, T, q, 3*C, 0, dk, 3*C)
	}
}

// cpuTime is the process's user+system CPU time: on a shared machine it
// counts the work done, not the time spent waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestAttentionCoreSpeed times the causal row-block attention core (forward
// + backward) against the full T×T one in interleaved rounds and logs the
// medians. It only runs with MHC_ATTN_BENCH=1 (never a timing assertion).
func TestAttentionCoreSpeed(t *testing.T) {
	if os.Getenv("MHC_ATTN_BENCH") == "" {
		t.Skip("set MHC_ATTN_BENCH=1 to time the attention core")
	}
	for _, preset := range []string{"tiny", "small", "base"} {
		cfg := Presets[preset].Config
		B := 4
		C, H, T := cfg.D, cfg.Heads, cfg.Seq
		N := B * T
		s := &param.Store{}
		sc := &scratch{datt: make([]float32, N*C), dqkv: make([]float32, N*3*C), dprobs: make([]float32, dprobsSize(cfg, B))}
		cos, sin := ropeTables(cfg)
		a := newAttention(s, "a", cfg, B, sc, cos, sin)
		s.Build()
		for i := range a.act.qkv {
			a.act.qkv[i] = float32(i%17) * 0.01
		}
		a.B, a.T, a.blocks = B, T, kernels.AttnBlocks{T: T, Blk: attnBlk}
		f := &fullHeads{a: a, probs: make([]float32, B*H*T*T), dprob: make([]float32, B*H*T*T)}
		fullF, fullB := kernels.TaskFunc(f.fwd), kernels.TaskFunc(f.bwd)
		run := func(causal bool) time.Duration {
			t0 := cpuTime()
			for range 3 {
				if causal {
					kernels.ParallelChunks(B*H, 1, a.headFwd)
					kernels.ParallelChunks(B*H, 1, a.headBwd)
				} else {
					kernels.ParallelFor(B*H, fullF)
					kernels.ParallelFor(B*H, fullB)
				}
			}
			return (cpuTime() - t0) / 3
		}
		var tc, tf []time.Duration
		for range 7 {
			tc = append(tc, run(true))
			tf = append(tf, run(false))
		}
		slices.Sort(tc)
		slices.Sort(tf)
		mc, mf := tc[len(tc)/2], tf[len(tf)/2]
		msg := fmt.Sprintf("%s (B %d H %d T %d hd %d): causal blocks %v, full T×T %v, ratio %.2f×", preset, B, H, T, cfg.HeadDim(), mc, mf, float64(mf)/float64(mc))
		t.Log(msg)
	}
}

// TestRecomputeSpeed times ForwardBackward with recomputation off and at the
// paper's block (for n streams, 2L sublayers) in interleaved rounds, in
// process CPU time. It only runs with MHC_ATTN_BENCH=1.
func TestRecomputeSpeed(t *testing.T) {
	if os.Getenv("MHC_ATTN_BENCH") == "" {
		t.Skip("set MHC_ATTN_BENCH=1 to time recomputation")
	}
	preset := os.Getenv("MHC_BENCH_PRESET")
	if preset == "" {
		preset = "small"
	}
	for _, conn := range []struct {
		kind string
		n    int
		rc   int
	}{{"residual", 1, 2}, {"mhc", 4, 4}} {
		cfg := Presets[preset].Config
		cfg.Kind, cfg.Streams = hyper.Kind(conn.kind), conn.n
		B := 4
		models := map[int]*Model{}
		in := make([]int32, B*cfg.Seq)
		for i := range in {
			in[i] = int32(i * 7 % cfg.Vocab)
		}
		for _, rc := range []int{0, conn.rc} {
			c := cfg
			c.Recompute = rc
			m, err := New(c, B)
			if err != nil {
				t.Fatal(err)
			}
			m.Params.Initialize(1)
			m.ForwardBackward(in, in, B, cfg.Seq, 1)
			models[rc] = m
		}
		res := map[int][]time.Duration{}
		for range 5 {
			for _, rc := range []int{0, conn.rc} {
				t0 := cpuTime()
				models[rc].ForwardBackward(in, in, B, cfg.Seq, 1)
				res[rc] = append(res[rc], cpuTime()-t0)
			}
		}
		for _, d := range res {
			slices.Sort(d)
		}
		off, on := res[0][2], res[conn.rc][2]
		t.Logf("%s %s B %d: recompute off %v, recompute %d %v: ×%.3f", preset, conn.kind, B, off, conn.rc, on, float64(on)/float64(off))
	}
}
