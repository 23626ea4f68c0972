package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/mhc-go/mhc/cost"
	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

// runPlan prints what a model costs with its connection (cost.Plan):
// parameters, residual-stream I/O, activation memory and recomputation,
// FLOPs, pipeline traffic, a roofline step time and data-parallel scaling.
func runPlan(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plan", stderr)
	config := fs.String("config", "27b", "model: 3b|9b|27b (mHC paper Table 5), tiny|small|base (presets), a config file (docs/PLAN.md) or a run directory")
	conn := fs.String("conn", "", "connection: residual|hc|mhc|mhc-lite (default: the config's)")
	streams := fs.Int("streams", 0, "streams n (default: the config's, or 4 when --conn turns a residual config into hc/mhc)")
	layers := fs.Int("layers", 0, "blocks, 2 sublayers each (default: the config's)")
	seq := fs.Int("seq", 0, "sequence length (default: the config's)")
	batch := fs.Int("batch", 0, "sequences per optimizer step (default: the config's)")
	micro := fs.Int("micro-batch", 0, "sequences per micro-batch (default: the config's: 1 for the paper models, the batch for engine configs)")
	stages := fs.Int("pp-stages", 1, "pipeline stages (recompute blocks are aligned to them)")
	device := fs.String("device", "", "h200, cpu (this machine: measured FMA peak and memory bandwidth) or cpu-gemm (measured GEMM rate as the compute roof); default cpu for engine configs, h200 otherwise")
	tflops := fs.Float64("tflops", 0, "override the device's compute roof, TFLOP/s")
	memGBs := fs.Float64("mem-gbs", 0, "override the device's memory bandwidth, GB/s")
	linkGBs := fs.Float64("link-gbs", 0, "link bandwidth β per direction, GB/s (h200 default 50: InfiniBand NDR; NVLink ≈ 450)")
	linkUs := fs.Float64("link-latency-us", -1, "link latency α, µs (h200 default 5)")
	workers := fs.String("workers", "8,64,512", "comma-separated data-parallel worker counts")
	gradBytes := fs.Int("grad-bytes", 4, "bytes per gradient element in the all-reduce (4 float32, 2 bf16)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the tables")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	set := setFlags(fs)

	a, err := planConfig(*config)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
		dst  *int
	}{{"layers", *layers, &a.Layers}, {"seq", *seq, &a.Seq}, {"batch", *batch, &a.Batch}, {"micro-batch", *micro, &a.MicroBatch}} {
		if !set[f.name] {
			continue
		}
		if f.v < 1 {
			return bad("--%s %d: must be at least 1", f.name, f.v)
		}
		*f.dst = f.v
	}
	if set["batch"] && !set["micro-batch"] && (a.Engine() || a.MicroBatch > a.Batch) {
		a.MicroBatch = a.Batch // the engine runs the whole batch at once
	}
	if a.FFN.Kind == cost.MoE && a.FFN.DenseLayers > a.Layers {
		a.FFN.DenseLayers = a.Layers
	}
	if *conn != "" {
		k, err := hyper.ParseKind(*conn)
		if err != nil {
			return bad("--conn %q: want residual, hc, mhc or mhc-lite", *conn)
		}
		a.Conn.Kind = k
		switch {
		case k == hyper.Residual:
			a.Conn.Streams = 1
		case a.Conn.Streams == 1:
			a.Conn.Streams = 4
		}
		if k == hyper.MHC && a.Conn.SinkhornIters < 1 {
			a.Conn.SinkhornIters = 20
		}
	}
	if set["streams"] {
		if *streams < 1 {
			return bad("--streams %d: must be at least 1", *streams)
		}
		a.Conn.Streams = *streams
	}
	if err := a.Validate(); err != nil {
		var fe *cost.FieldError
		if errors.As(err, &fe) && set[planFlags[fe.Field]] {
			return bad("--%s: %w", planFlags[fe.Field], err)
		}
		return bad("%v", err)
	}
	if *stages < 1 || *stages > a.Layers {
		return bad("--pp-stages %d: want 1..%d (the blocks)", *stages, a.Layers)
	}
	var ws []int
	for _, s := range strings.Split(*workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return bad("--workers: bad worker count %q", s)
		}
		ws = append(ws, n)
	}
	if *gradBytes < 1 {
		return bad("--grad-bytes %d: must be at least 1", *gradBytes)
	}

	name := *device
	if name == "" {
		name = "h200"
		if a.Engine() {
			name = "cpu"
		}
	}
	d, err := cost.LookupDevice(name)
	if err != nil {
		return bad("--device: %v", err)
	}
	for _, o := range []struct {
		flag  string
		v     float64
		scale float64
		dst   *float64
	}{{"tflops", *tflops, 1e12, &d.FLOPS}, {"mem-gbs", *memGBs, 1e9, &d.MemBW}, {"link-gbs", *linkGBs, 1e9, &d.LinkBW}} {
		if set[o.flag] {
			if !(o.v > 0) {
				return bad("--%s %v: must be positive", o.flag, o.v)
			}
			*o.dst = o.v * o.scale
			d.Source += fmt.Sprintf("; --%s %v", o.flag, o.v)
		}
	}
	if set["link-latency-us"] {
		if !(*linkUs >= 0) {
			return bad("--link-latency-us %v: must not be negative", *linkUs)
		}
		d.LinkLatency = *linkUs * 1e-6
		d.Source += fmt.Sprintf("; --link-latency-us %v", *linkUs)
	}

	r, err := cost.Plan(a, d, cost.Options{Stages: *stages, Workers: ws, GradBytes: *gradBytes})
	if err != nil {
		return bad("%v", err)
	}
	if *asJSON {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	printPlan(stdout, r)
	return nil
}

// planFlags maps cost.Arch fields to the flags that override them.
var planFlags = map[string]string{"conn.streams": "streams", "conn.kind": "conn", "n_layers": "layers",
	"seq_len": "seq", "batch": "batch", "micro_batch": "micro-batch"}

// planConfig resolves --config: a built-in name, a run directory (its
// config.json and, for the batch, state.json) or a configuration file.
func planConfig(spec string) (cost.Arch, error) {
	if a, err := cost.Lookup(spec); err == nil {
		return a, nil
	}
	info, err := os.Stat(spec)
	if err != nil {
		return cost.Arch{}, bad("--config: unknown config %q (want %s, a config file or a run directory)",
			spec, strings.Join(cost.Names(), ", "))
	}
	const defaultBatch = 16
	if info.IsDir() {
		cfg, err := train.ReadConfig(spec)
		if err != nil {
			return cost.Arch{}, bad("--config: %v", err)
		}
		b := defaultBatch
		if st, err := train.ReadState(spec); err == nil && st.Options.Batch > 0 {
			b = st.Options.Batch
		}
		a := cost.FromModel(cfg, b)
		a.Name = spec
		return a, nil
	}
	a, err := cost.Read(spec, defaultBatch)
	if err != nil {
		return cost.Arch{}, bad("--config: %v", err)
	}
	if a.Name == "" {
		a.Name = spec
	}
	return a, nil
}

// thousands formats a count with thousands separators: 27,045,362,688.
func thousands(x int64) string {
	s := strconv.FormatInt(x, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// seconds formats a duration in s, ms, µs or ns with three significant digits.
func seconds(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3g s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3g ms", s*1e3)
	case s >= 1e-6:
		return fmt.Sprintf("%.3g µs", s*1e6)
	}
	return fmt.Sprintf("%.3g ns", s*1e9)
}

// flopsOf formats a FLOP count: 9.56 GFLOP.
func flopsOf(x float64) string {
	h := cost.Human(x)
	if i := strings.IndexByte(h, ' '); i >= 0 {
		return h[:i] + " " + strings.NewReplacer("B", "G").Replace(h[i+1:]) + "FLOP"
	}
	return h + " FLOP"
}

// bytesOf formats a byte count in KB, MB, GB (powers of 10).
func bytesOf(b float64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.3g GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.3g MB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.3g KB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}

func printPlan(w io.Writer, r cost.Report) {
	a, p := r.Arch, r.Params
	n, C, L := a.Conn.Streams, a.D, a.Sublayers()
	kind := string(a.Conn.Kind)
	conn := kind
	if a.Conn.Kind != hyper.Residual {
		conn = fmt.Sprintf("%s n=%d", kind, n)
	}
	att := fmt.Sprintf("MHA %d heads", a.Attention.Heads)
	if a.Attention.Kind == cost.MLA {
		att = fmt.Sprintf("MLA %d heads, kv rank %d", a.Attention.Heads, a.Attention.KVRank)
	}
	ffn := fmt.Sprintf("SwiGLU %d", a.FFN.Hidden)
	if a.FFN.Kind == cost.MoE {
		ffn = fmt.Sprintf("MoE %d routed + %d shared experts of %d, top-%d, %d dense", a.FFN.Experts, a.FFN.Shared,
			a.FFN.ExpertHidden, a.FFN.Active, a.FFN.DenseLayers)
	}
	fmt.Fprintf(w, "%s: %s; C=%d, %d blocks (L=%d sublayers), %s, %s, vocab %d\n", a.Name, conn, C, a.Layers, L, att, ffn, a.Vocab)
	fmt.Fprintf(w, "step: %d × %d tokens (micro-batch %d), %d-byte activations\n\n", a.Batch, a.Seq, a.MicroBatch, a.ActBytes)

	fmt.Fprintln(w, "parameters")
	fmt.Fprintf(w, "  total   %-9s %s", cost.Human(float64(p.Total)), thousands(p.Total))
	if p.Total != p.Residual {
		fmt.Fprintf(w, " (%s without the connection)", thousands(p.Residual))
	}
	fmt.Fprintln(w)
	what := "all but the input embedding"
	if a.FFN.Kind == cost.MoE {
		what += " and the unrouted experts"
	}
	fmt.Fprintf(w, "  active  %-9s %s (per token: %s)\n", cost.Human(float64(p.Active)), thousands(p.Active), what)
	if pa, ok := cost.Paper[a.Name]; ok && pa.Params().Residual == p.Residual {
		fmt.Fprintf(w, "  Table 5 %s total, %s active: %+.2f%% and %+.2f%% (connection excluded; assumptions in docs/PLAN.md)\n",
			cost.Human(cost.PaperTotal[a.Name]), cost.Human(cost.PaperActive[a.Name]),
			100*(float64(p.Residual)/cost.PaperTotal[a.Name]-1),
			100*(float64(p.Active-p.Connection-p.Contract)/cost.PaperActive[a.Name]-1))
	}
	fmt.Fprintf(w, "  parts   embedding %s, head %s, attention %s, ffn %s\n", cost.Human(float64(p.Embedding)),
		cost.Human(float64(p.Head)), cost.Human(float64(p.Attention)), cost.Human(float64(p.FFN)))
	if a.Conn.Kind != hyper.Residual {
		fmt.Fprintf(w, "  %-7s +%s = %d sublayers × %d [%s] (+%.3f%% of the residual model)\n", kind,
			cost.Human(float64(p.Connection)), L, p.PerSublayer, r.ConnFormula, 100*float64(p.Connection)/float64(p.Residual))
	}
	if p.Contract > 0 {
		fmt.Fprintf(w, "  learned stream merge +%d [n·nC + n + 1]\n", p.Contract)
	}

	fmt.Fprintf(w, "\nresidual-stream I/O per token per sublayer, forward (elements; F's own I/O excluded)\n")
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	row := func(name string, io cost.IO) {
		fmt.Fprintf(tw, "  %s\tread %s = %d\twrite %s = %d\t%.1f× / %.1f× residual\n", name, io.ReadFormula, io.Read,
			io.WriteFormula, io.Write, float64(io.Read)/float64(r.IO.Residual.Read), float64(io.Write)/float64(r.IO.Residual.Write))
	}
	row("residual", r.IO.Residual)
	if r.IO.Unfused != nil {
		row(kind+" (Table 2)", *r.IO.Unfused)
		row(kind+" fused kernels", *r.IO.Fused)
	}
	tw.Flush()

	m := r.Memory
	bc := m.BytesPerC
	fmt.Fprintf(w, "\nresidual-stream activation memory per token (Table 3 tensors; 1 C = %s)\n", bytesOf(bc))
	fmt.Fprintf(w, "  residual                2C·L       = %4.0fC  %s\n", m.Residual, bytesOf(m.Residual*bc))
	if a.Conn.Kind != hyper.Residual {
		rc := m.Recompute
		fmt.Fprintf(w, "  %-22s  (n+3)C·L   = %4.0fC  %s\n", kind+", all stored", m.Stored, bytesOf(m.Stored*bc))
		fmt.Fprintf(w, "  recompute L_r* = %d     (argmin nC⌈L/L_r⌉ + (n+2)C·L_r = %.0fC; √(nL/(n+2)) = %.2f)\n", rc.Lr, rc.Objective, rc.Approx)
		fmt.Fprintf(w, "    resident nC⌈L/L_r⌉ + C·L = %.0fC %s, transient (n+2)C·L_r = %.0fC %s, peak %.0fC %s\n",
			rc.Resident, bytesOf(rc.Resident*bc), rc.Transient, bytesOf(rc.Transient*bc), rc.Peak, bytesOf(rc.Peak*bc))
		if m.Aligned != nil {
			al, sl := m.Aligned, m.StageLr
			fmt.Fprintf(w, "  %d pipeline stages: aligned L_r = %d (objective %.0fC, peak %.0fC); one block per stage L_r = %d (objective %.0fC, peak %.0fC)\n",
				r.Pipeline.Stages, al.Lr, al.Objective, al.Peak, sl.Lr, sl.Objective, sl.Peak)
		}
	}

	f := r.FLOPs
	fmt.Fprintf(w, "\nFLOPs per token: forward %s, backward %s", flopsOf(f.Forward), flopsOf(f.Backward))
	if a.Conn.Kind != hyper.Residual {
		fmt.Fprintf(w, "; %s connection %s (%.2f%% of the total)", kind, flopsOf(f.Connection), 100*f.ConnShare)
	}
	fmt.Fprintln(w)

	pl := r.Pipeline
	fmt.Fprintf(w, "pipeline send/recv per stage boundary per micro-batch: %s each way (%d× the residual's %s), %s on the link",
		bytesOf(pl.BytesEach), n, bytesOf(pl.ResidualBy), seconds(pl.SecondsEach))
	if pl.Stages > 1 {
		fmt.Fprintf(w, "; %s per step over %d boundar%s", bytesOf(pl.PerStep), pl.Stages-1, map[bool]string{true: "y", false: "ies"}[pl.Stages == 2])
	}
	fmt.Fprintln(w)

	d := r.Device
	fmt.Fprintf(w, "\nroofline on %s: %.4g TFLOP/s, %.4g GB/s (ridge %.0f FLOP/B); %s\n", d.Name, d.FLOPS/1e12, d.MemBW/1e9, d.FLOPS/d.MemBW, d.Source)
	fmt.Fprintln(w, "  per token, forward+backward, each kernel at max(FLOPs/peak, bytes/bandwidth), nothing overlapped; part time (c: compute-, m: memory-bound)")
	tw = tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	parts := []string{cost.PartAttention, cost.PartFFN, cost.PartConnection, cost.PartEmbedHead, cost.PartOptimizer}
	fmt.Fprint(tw, "  \t")
	for _, pt := range parts {
		fmt.Fprintf(tw, "%s\t", pt)
	}
	fmt.Fprint(tw, "per token\tstep, 1 device\ttokens/s\toverhead\t\n")
	for i, s := range r.Steps {
		mark := ""
		if i == r.Selected {
			mark = " *"
		}
		fmt.Fprintf(tw, "  %s%s\t", s.Name, mark)
		for _, pt := range parts {
			for _, q := range s.Parts {
				if q.Part == pt {
					fmt.Fprintf(tw, "%s %c\t", seconds(q.Seconds), q.Bound[0])
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%+.1f%%\t\n", seconds(s.PerToken), seconds(s.Step), 1/s.PerToken, 100*s.Overhead)
	}
	tw.Flush()
	if a.Engine() {
		preset := "PRESET"
		if _, ok := model.Presets[a.Name]; ok {
			preset = a.Name
		}
		fmt.Fprintf(w, "  * the engine's own kernels, a lower bound on its step (compare: mhc bench train --preset %s --conn %s)\n", preset, kind)
	} else {
		fmt.Fprintln(w, "  * fused kernels with recomputation, the paper's setup (§4.3; the paper reports +6.7% at n = 4, with DualPipe overlap)")
	}

	if len(r.DataParallel) > 0 {
		dp := r.DataParallel[0]
		fmt.Fprintf(w, "\ndata parallel (* row; every worker holds and all-reduces every parameter, no overlap): ring all-reduce of %s\n",
			bytesOf(dp.GradBytes))
		fmt.Fprintf(w, "  per step, α %s, β %s/s: t = 2(N−1)/N·bytes/β + 2(N−1)·α\n", seconds(d.LinkLatency), bytesOf(d.LinkBW))
		tw = tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "  workers\tsent per worker\tall-reduce\tcompute\tstep\tefficiency\t\n")
		for _, x := range r.DataParallel {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%.0f%%\t\n", x.Workers, bytesOf(x.WireBytes), seconds(x.AllReduce),
				seconds(x.Compute), seconds(x.Step), 100*x.Efficiency)
		}
		tw.Flush()
	}
}
