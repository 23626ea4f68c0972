package main

import (
	"fmt"
	"io"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/train"
)

// runUpcycle converts a residual checkpoint into an HC, mHC or mHC-lite run
// with the same function (train.Upcycle).
func runUpcycle(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("upcycle", stderr)
	d := hyper.DefaultUpcycle()
	from := fs.String("from", "", "residual run directory to convert (written by mhc train)")
	out := fs.String("out", "", "new run directory (must not exist); continue it with mhc train --resume")
	connName := fs.String("conn", "", "target connection: mhc, hc or mhc-lite (residual: a restart with fresh optimizer and schedule, the control)")
	streams := fs.Int("streams", 4, "number of residual streams n (2..16; mhc-lite ≤ 4)")
	contract := fs.String("contract", "mean", "how streams merge before the final norm: mean or learned (sum: hc only)")
	init := fs.String("init", string(d.Init), "connection values: split (exact; H_post spread over the streams so they differ), symmetric (exact; identical streams, the symmetric saddle) or noise (random dynamic weights behind gates of size --noise; not exact)")
	split := fs.Float64("split", d.Split, "split: spread s of H_post around its mean, 0 < s < 1")
	noise := fs.Float64("noise", d.Noise, "noise: gate size (mHC α, HC s_α and s_β)")
	seed := fs.Uint64("seed", d.Seed, "noise: seed of the random dynamic weights")
	resBias := fs.Float64("res-bias", 0, "mhc/mhc-lite: H_res bias res-bias·I (0 = uniform H_res; ≤ 8)")
	steps := fs.Int("steps", 0, "optimizer steps of the new run (default: the source run's)")
	lr := fs.Float64("lr", 0, "peak learning rate of the new run (default: the source run's)")
	warmup := fs.Int("warmup", -1, "warmup steps of the new run (default: the source run's)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	switch {
	case *from == "":
		return bad("--from is required")
	case *out == "":
		return bad("--out is required")
	case *connName == "":
		return bad("--conn is required (mhc, hc or mhc-lite)")
	case *steps < 0:
		return bad("--steps %d: must not be negative", *steps)
	case *lr < 0:
		return bad("--lr %v: must not be negative", *lr)
	}
	kind, err := hyper.ParseKind(*connName)
	if err != nil {
		return bad("--conn: %w", err)
	}
	ui, err := hyper.ParseUpcycleInit(*init)
	if err != nil {
		return bad("--init: %w", err)
	}
	n := *streams
	if kind == hyper.Residual {
		n = 1
		if setFlags(fs)["streams"] && *streams != 1 {
			return bad("--streams %d: the residual connection has exactly 1 stream", *streams)
		}
	}
	spec := train.UpcycleSpec{From: *from, To: *out,
		Conn:  hyper.Config{Kind: kind, Streams: n, Contract: *contract, ResBias: float32(*resBias)},
		Init:  hyper.Upcycle{Init: ui, Split: *split, Noise: *noise, Seed: *seed},
		Steps: *steps, LR: *lr, Warmup: *warmup}
	rec, err := train.Upcycle(spec)
	if err != nil {
		return flagErr(fs, err)
	}
	how := rec.Init
	switch {
	case rec.Conn == string(hyper.Residual):
		how = "none (a restart)"
	case ui == hyper.UpcycleSplit:
		how = fmt.Sprintf("split s=%g", rec.Split)
	case ui == hyper.UpcycleNoise:
		how = fmt.Sprintf("noise %g", rec.Noise)
	}
	fmt.Fprintf(stdout, "upcycled %s (residual, step %d, %d tokens) → %s: %s n=%d, contract %s, init %s\n",
		*from, rec.FromStep, rec.FromTokens, *out, rec.Conn, rec.Streams, rec.Contract, how)
	fmt.Fprintf(stdout, "max |Δlogit| vs the source on %d random tokens: %.3g (max |logit| %.3g, relative %.2g)\n",
		rec.CheckTokens, rec.MaxLogitDiff, rec.MaxLogit, rec.MaxLogitDiff/max(1, rec.MaxLogit))
	fmt.Fprintf(stdout, "continue with: mhc train --resume %s [--steps N]\n", *out)
	return nil
}
