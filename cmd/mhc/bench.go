package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/internal/prof"
	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	presets := fs.String("preset", "tiny", "comma-separated presets for the train benchmark")
	conns := fs.String("conn", "residual", "comma-separated connections for the train benchmark")
	streams := fs.Int("streams", 4, "streams for hc/mhc connections")
	steps := fs.Int("steps", 10, "timed training steps per combination (after 2 warm-up steps)")
	sizes := fs.String("sizes", "128,512,1024", "comma-separated square GEMM sizes")
	asJSON := fs.Bool("json", false, "one JSON object per result")
	profileOut := fs.String("profile-out", "", "with --profile: also write each combination's raw CPU profile to FILE.PRESET-CONN.pprof (for go tool pprof)")
	dModel := fs.Int("d-model", 0, "train: override the presets' width (MLP hidden follows, as mhc train --d-model)")
	recompute := fs.String("recompute", "0", "train: recomputation block in sublayers, auto or 0 (as mhc train --recompute)")
	recomputeScope := fs.String("recompute-scope", model.RecomputeStreams, "train: with --recompute, streams or all (as mhc train)")
	profile := fs.Bool("profile", false, "train: run the timed steps under the CPU profiler and print the time per phase (gemm, attention, norms, connection coefficients, Sinkhorn, apply, optimizer, other)")
	what := "all"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		what, args = args[0], args[1:]
	}
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if fs.NArg() > 1 || (fs.NArg() == 1 && what != "all") {
		return bad("unexpected argument %q", fs.Arg(fs.NArg()-1))
	}
	if fs.NArg() == 1 {
		what = fs.Arg(0)
	}
	if what != "all" && what != "gemm" && what != "train" {
		return bad("unknown benchmark %q (want gemm, train or all)", what)
	}
	if *steps < 1 {
		return bad("--steps %d: must be at least 1", *steps)
	}
	emit := func(human string, obj map[string]any) {
		if *asJSON {
			b, _ := json.Marshal(obj)
			fmt.Fprintln(stdout, string(b))
		} else {
			fmt.Fprintln(stdout, human)
		}
	}
	peak := kernels.PeakGFLOPS()
	if !*asJSON {
		fmt.Fprintf(stdout, "kernels %s (vector %s), %d workers, FMA peak %.0f GFLOP/s\n", kernels.Path(), kernels.VectorPath(), kernels.Workers(), peak)
	}
	if what == "all" || what == "gemm" {
		for _, s := range strings.Split(*sizes, ",") {
			var n int
			if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n < 1 {
				return bad("--sizes: bad size %q", s)
			}
			g := kernels.BenchGEMM(n, 400*time.Millisecond)
			emit(fmt.Sprintf("gemm n=%-5d %7.1f GFLOP/s (%.0f%% of peak)", n, g, 100*g/peak),
				map[string]any{"bench": "gemm", "n": n, "gflops": round1(g), "path": kernels.Path()})
		}
	}
	if what == "all" || what == "train" {
		for _, pn := range strings.Split(*presets, ",") {
			p, err := model.LookupPreset(strings.TrimSpace(pn))
			if err != nil {
				return badErr(fmt.Errorf("--preset: %w", err))
			}
			for _, cn := range strings.Split(*conns, ",") {
				k, err := hyper.ParseKind(strings.TrimSpace(cn))
				if err != nil {
					return badErr(fmt.Errorf("--conn: %w", err))
				}
				cfg := p.Config
				cfg.Kind = k
				if k != hyper.Residual {
					cfg.Streams = *streams
				}
				if *dModel != 0 {
					cfg.D, cfg.MLPHidden = *dModel, model.DefaultMLPHidden(*dModel)
				}
				if cfg.Recompute, err = recomputeBlock(*recompute, cfg); err != nil {
					return err
				}
				if cfg.Recompute > 0 {
					cfg.RecomputeScope = *recomputeScope
				}
				if err := cfg.Validate(); err != nil {
					return flagErr(fs, err)
				}
				var raw string
				if *profileOut != "" {
					raw = fmt.Sprintf("%s.%s-%s.pprof", *profileOut, strings.TrimSpace(pn), k)
				}
				r, err := benchTrain(cfg, p.Batch, *steps, *profile, raw)
				if err != nil {
					return badErr(err)
				}
				gf := r.tokPerS * cfg.FLOPsPerToken() / 1e9
				emit(fmt.Sprintf("train %-5s %-8s d=%-4d %8.0f tok/s  %6.1f GFLOP/s  MFU %4.1f%%  %5.1f ms/step  %d allocs/step  peak RSS %s",
					pn, k, cfg.D, r.tokPerS, gf, 100*gf/peak, r.msPerStep, r.allocs, rssText(r.peakRSS)),
					map[string]any{"bench": "train", "preset": strings.TrimSpace(pn), "conn": string(k), "streams": cfg.Streams, "d_model": cfg.D,
						"recompute": cfg.Recompute, "recompute_scope": cfg.RecomputeScope,
						"tok_per_s": round1(r.tokPerS), "gflops": round1(gf), "mfu": round1(100*gf/peak) / 100,
						"ms_per_step": round1(r.msPerStep), "allocs_per_step": r.allocs, "peak_rss": r.peakRSS})
				if r.phases != nil {
					r.phases.WallMs = r.msPerStep
					if *asJSON {
						obj := map[string]any{"bench": "profile", "preset": strings.TrimSpace(pn), "conn": string(k), "streams": cfg.Streams,
							"steps": r.phases.Steps, "samples": r.phases.Samples, "wall_ms_per_step": round1(r.msPerStep)}
						ph := map[string]any{}
						for _, row := range r.phases.Rows {
							ph[row.Phase] = map[string]any{"cpu_ms_per_step": round1(row.CPUms), "percent": round1(row.Percent), "gemm_ms_per_step": round1(row.GEMMms)}
						}
						obj["phases"] = ph
						b, _ := json.Marshal(obj)
						fmt.Fprintln(stdout, string(b))
					} else {
						r.phases.Write(stdout)
					}
				}
			}
		}
	}
	return nil
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

type benchResult struct {
	tokPerS, msPerStep float64
	allocs             uint64
	peakRSS            int64       // bytes, from building the model to the last step; 0 if unknown
	phases             *prof.Table // with --profile
}

// rssText formats a peak RSS for the table ("?" where unknown).
func rssText(b int64) string {
	if b <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f GB", float64(b)/1e9)
}

// benchTrain times real optimizer steps (train.Trainer.TrainStep: data,
// forward, backward, clip, AdamW) on random tokens and reports the median.
// With profile the timed steps run under the CPU profiler and the result
// holds their time per phase (internal/prof).
func benchTrain(cfg model.Config, batch, steps int, profile bool, rawOut string) (benchResult, error) {
	train.ResetPeakRSS() // the previous combination's buffers are garbage now
	tr, err := train.NewSynthetic(cfg, batch)
	if err != nil {
		return benchResult{}, err
	}
	step := func() error {
		_, err := tr.TrainStep()
		return err
	}
	for range 2 { // warm-up
		if err := step(); err != nil {
			return benchResult{}, err
		}
	}
	var ms0, ms1 runtime.MemStats
	var pr *prof.Profiler
	if profile {
		if pr, err = prof.Start(); err != nil {
			return benchResult{}, fmt.Errorf("--profile: %w", err)
		}
	}
	runtime.ReadMemStats(&ms0)
	times := make([]float64, steps)
	for i := range times {
		t := time.Now()
		if err := step(); err != nil {
			if pr != nil {
				pr.Stop()
			}
			return benchResult{}, err
		}
		times[i] = time.Since(t).Seconds()
	}
	runtime.ReadMemStats(&ms1)
	slices.Sort(times)
	med := times[len(times)/2]
	N := batch * cfg.Seq
	res := benchResult{tokPerS: float64(N) / med, msPerStep: med * 1e3, allocs: (ms1.Mallocs - ms0.Mallocs) / uint64(steps), peakRSS: train.PeakRSS()}
	if pr != nil {
		p, err := pr.Stop()
		if err != nil {
			return benchResult{}, fmt.Errorf("--profile: %w", err)
		}
		if rawOut != "" {
			if err := os.WriteFile(rawOut, pr.Raw(), 0o644); err != nil {
				return benchResult{}, fmt.Errorf("--profile-out: %w", err)
			}
		}
		t, err := prof.Summarize(p, steps)
		if err != nil {
			return benchResult{}, err
		}
		res.phases = &t
	}
	return res, nil
}
