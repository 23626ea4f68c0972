package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/manifold"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/report"
	"github.com/mhc-go/mhc/train"
)

// runGains measures the Amax gain instruments (mHC paper §3.1, Figs. 3, 7
// and 8) of a checkpoint on a probe batch, prints them and plots them.
func runGains(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gains", stderr)
	ckpt := fs.String("checkpoint", "", "run directory written by mhc train (its connection must be hc, mhc or mhc-lite)")
	spec := fs.String("data", "", "corpus for the probe batch: gostd, english, a file or a directory; default: the checkpoint's corpus (validation split, or the training split if that is shorter than one window)")
	probe := fs.Int("probe", 4, "windows of seq tokens in the probe batch")
	layers := fs.String("layers", "1,mid,last", "sublayers (1-based; mid and last allowed) whose H_res hres.png shows, besides the composite")
	out := fs.String("out", "", "directory for gains.png and hres.png (default: the checkpoint directory)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *probe < 1 {
		return bad("--probe %d: must be at least 1", *probe)
	}
	ck, err := openCheckpoint(*ckpt, *probe)
	if err != nil {
		return err
	}
	noteUnverified(stderr, ck)
	m, st := ck.Model, ck.State
	if m.Cfg.Kind == hyper.Residual || len(m.Connections()) == 0 {
		return bad("checkpoint %s uses the plain residual: gains need a model trained with --conn hc/mhc/mhc-lite", *ckpt)
	}
	L, n := len(m.Connections()), m.Cfg.Streams
	picked, err := parseLayers(*layers, L)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = *ckpt
	}
	if err := os.MkdirAll(dir, 0o755); err != nil { // created like train --out
		return bad("--out %s: %v", dir, err)
	}

	d, err := loadData(*spec, ck)
	if err != nil {
		return err
	}
	name := d.Spec
	tokens, split := d.Val, "val"
	if len(tokens) < m.Cfg.Seq+1 {
		tokens, split = d.Train, "train"
	}
	p := train.NewProbe(m, tokens, *probe)
	if p == nil {
		if _, ok := m.Connections()[0].(hyper.ResMixer); !ok {
			return bad("checkpoint %s: connection %s has no stream-mixing matrix: gains need --conn hc/mhc/mhc-lite", *ckpt, m.Cfg.Kind)
		}
		return bad("--data %s: shorter than one window of %d tokens", name, m.Cfg.Seq+1)
	}
	g := p.Measure(st.Step)
	_, bwd := manifold.Composite(g.Matrices, n)
	composite := bwd[0] // H_L···H_1

	gainsPNG, hresPNG := filepath.Join(dir, "gains.png"), filepath.Join(dir, "hres.png")
	if err := plotGains(gainsPNG, hresPNG, g, composite, picked, n, string(m.Cfg.Kind), st.Step); err != nil {
		return err
	}

	if *asJSON {
		b, err := train.AppendJSON(nil, struct {
			Kind      string `json:"kind"`
			Conn      string `json:"conn"`
			Streams   int    `json:"streams"`
			Sublayers int    `json:"sublayers"`
			train.Gains
			Composite []float64 `json:"composite"`
			Files     []string  `json:"files"`
		}{"gains", string(m.Cfg.Kind), n, L, g, composite, []string{gainsPNG, hresPNG}})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	fmt.Fprintf(stdout, "Amax gains: conn %s, %d streams, %d sublayers, step %d, probe %d×%d tokens (%s %s)\n",
		m.Cfg.Kind, n, L, st.Step, p.B, m.Cfg.Seq, name, split)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "sublayer\tblock\tkind\tfwd\tbwd\tmax|log colsum|\tcomp fwd\tcomp bwd\t")
	for l := range L {
		block, kind := sublayer(l + 1)
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", l+1, block, kind,
			fmtGain(g.Fwd[l]), fmtGain(g.Bwd[l]), fmtGain(g.LogCol[l]), fmtGain(g.CompFwd[l]), fmtGain(g.CompBwd[l]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "max composite gain: fwd %s, bwd %s; max composite |log colsum| %s\n",
		fmtGain(g.MaxCompFwd), fmtGain(g.MaxCompBwd), fmtGain(g.MaxCompLogCol))
	fmt.Fprintln(stdout, "wrote", gainsPNG)
	fmt.Fprintln(stdout, "wrote", hresPNG)
	return nil
}

// plotGains writes the gain curves and the H_res heatmaps.
func plotGains(gainsPNG, hresPNG string, g train.Gains, composite []float64, picked []int, n int, conn string, step int) error {
	curves := []report.Curve{
		{Name: "single fwd", Y: g.Fwd},
		{Name: "single bwd", Y: g.Bwd},
		{Name: "composite fwd (H_l···H_1)", Y: g.CompFwd},
		{Name: "composite bwd (H_L···H_l)", Y: g.CompBwd},
	}
	title := fmt.Sprintf("Amax gain magnitude, conn %s, step %d", conn, step)
	if err := report.LinePlot(gainsPNG, title, "sublayer", "gain (log scale)", true, curves); err != nil {
		return err
	}
	var mats [][]float64
	var titles []string
	for _, l := range picked {
		mats = append(mats, g.Matrices[l-1])
		block, kind := sublayer(l)
		titles = append(titles, fmt.Sprintf("sublayer %d (block %d %s)", l, block, kind))
	}
	mats, titles = append(mats, composite), append(titles, "composite")
	title = fmt.Sprintf("token-averaged H_res, conn %s, step %d", conn, step)
	return report.Heatmaps(hresPNG, title, mats, n, titles)
}

// sublayer returns the 1-based block and the kind of 1-based sublayer l.
func sublayer(l int) (block int, kind string) {
	b, kind := model.Sublayer(l - 1)
	return b + 1, kind
}

// parseLayers turns a --layers list of 1-based sublayer indices, "first",
// "mid" (sublayer max(1, L/2)) and "last" into sorted distinct indices.
// The empty list selects none (hres.png then shows only the composite).
func parseLayers(s string, L int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		var l int
		switch f {
		case "first":
			l = 1
		case "mid":
			l = max(1, L/2)
		case "last":
			l = L
		default:
			v, err := strconv.Atoi(f)
			if err != nil {
				return nil, bad("--layers %q: %q is not a sublayer index, mid or last", s, f)
			}
			if v < 1 || v > L {
				return nil, bad("--layers %q: sublayer %d out of range 1..%d", s, v, L)
			}
			l = v
		}
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out, nil
}

// fmtGain prints a gain with four decimals, or in exponent form when huge.
func fmtGain(v float64) string {
	if math.Abs(v) >= 1e5 {
		return strconv.FormatFloat(v, 'e', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}
