package compare

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/mhc-go/mhc/model"
)

// baseInitText explains each base init scheme in one phrase.
var baseInitText = map[string]string{
	model.BaseGPT2:  "GPT-2: matrices N(0, init_std²), output projections N(0, (init_std/√(2L))²)",
	model.BaseTorch: "PyTorch defaults: embedding N(0, 1), linear layers U(±1/√fan_in)",
	model.BaseNeoX:  "GPT-NeoX: N(0, 2/(5d)) matrices, output projections N(0, (2/(L·√d))²)",
}

// doc is the report's content, rendered as markdown or HTML.
type doc struct {
	title    string
	intro    []string // paragraphs
	variants [][2]string
	head     []string
	rows     [][]string
	findings []string
	notes    []string
	method   []string
	figs     []Figure
}

func newDoc(set *Set, sum *Summary) *doc {
	d := &doc{title: "mhc compare report", head: tableHead, findings: sum.Findings, notes: sum.Notes, figs: sum.Figures}
	finished, seeds := 0, map[uint64]bool{}
	for _, r := range set.Runs {
		if r.Finished() {
			finished++
		}
		seeds[r.Seed] = true
	}
	src := "the run directories " + strings.Join(runNames(set), ", ")
	if set.Dir != "" {
		src = "the compare directory " + set.Dir
	}
	d.intro = append(d.intro, fmt.Sprintf("From %s: %d runs (%d finished), %d variants, %d seeds. Losses are in nats/token.",
		src, len(set.Runs), finished, len(set.Variants), len(seeds)))
	bases := map[string]bool{}
	var baseText []string
	for _, v := range set.Variants {
		if v.IsResidual() && !bases[baseInit(v.Config)] {
			b := baseInit(v.Config)
			bases[b] = true
			baseText = append(baseText, fmt.Sprintf("%s (base init %s — %s)", v.Label, b, baseInitText[b]))
		}
	}
	if len(baseText) == 0 {
		d.intro = append(d.intro, "The set has no residual run: there is no baseline to compare with.")
	} else {
		d.intro = append(d.intro, "Baseline: "+strings.Join(baseText, "; ")+
			". Every HC/mHC variant is compared with the residual of the same d_model, n_layers and base init, paired by seed (same init seed and the same batches).")
	}
	for _, v := range set.Variants {
		var names []string
		for _, r := range v.Runs {
			mark := ""
			if !r.Finished() {
				mark = ", unfinished"
			}
			names = append(names, fmt.Sprintf("%s (seed %d%s)", r.Name, r.Seed, mark))
		}
		d.variants = append(d.variants, [2]string{v.Label, strings.Join(Describe(v.Config), " ") + " — " + strings.Join(names, ", ")})
	}
	for _, r := range sum.Rows {
		d.rows = append(d.rows, tableCells(r))
	}
	d.method = []string{
		"final val loss: the loss over the whole validation split after the last step (result.json), mean over finished seeds ± the half-width of the 95 % confidence interval of the mean, t(0.975, n−1)·s/√n (Student's t, s the sample standard deviation).",
		"Δ vs baseline: the per-seed difference variant − baseline of that final loss, mean ± 95 % CI over the seeds both finished. It is called significant only when the interval excludes 0; with one seed no interval exists.",
		"comp. gain: the composite Amax gain (mHC paper §3.1): forward max_i|Σ_j (H_l···H_1)[i,j]|, backward max_j|Σ_i (H_L···H_l)[i,j]|, max over sublayers l; 'max' over every gains probe of the run (max over seeds), 'end' at the last probe (mean over seeds).",
		"tok/s: the run's median step throughput (result.json), mean over seeds; time overhead: baseline tok/s ÷ variant tok/s − 1. peak RSS: the run's resident-memory high-water mark; est. memory: mhc's estimate of training memory.",
	}
	return d
}

func runNames(set *Set) []string {
	var out []string
	for _, r := range set.Runs {
		out = append(out, r.Name)
	}
	return out
}

func (d *doc) markdown() []byte {
	var b bytes.Buffer
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	fmt.Fprintf(&b, "# %s\n\n", d.title)
	for _, p := range d.intro {
		fmt.Fprintf(&b, "%s\n\n", p)
	}
	b.WriteString("## Variants\n\n")
	for _, v := range d.variants {
		fmt.Fprintf(&b, "- **%s**: %s\n", v[0], v[1])
	}
	b.WriteString("\n## Results\n\n")
	b.WriteString("| " + strings.Join(d.head, " | ") + " |\n|")
	for i := range d.head {
		if i == 0 {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")
	for _, r := range d.rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = esc(c)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("\n")
	for _, m := range d.method {
		fmt.Fprintf(&b, "- %s\n", m)
	}
	if len(d.findings) > 0 {
		b.WriteString("\n## Findings\n\n")
		for _, f := range d.findings {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	if len(d.notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range d.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	b.WriteString("\n## Figures\n")
	for _, f := range d.figs {
		fmt.Fprintf(&b, "\n### %s\n\n![%s](%s/%s.png)\n\n%s ([SVG](%s/%s.svg))\n", f.Title, f.Title, FiguresDir, f.Name, f.Caption, FiguresDir, f.Name)
	}
	return b.Bytes()
}

const css = `
body { font-family: "Liberation Sans", "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1d1d1f; background: #fff;
       margin: 0 auto; max-width: 1180px; padding: 24px 32px 48px; line-height: 1.45; font-size: 15px; }
h1 { font-size: 26px; margin: 0 0 12px; border-bottom: 2px solid #d0d4da; padding-bottom: 8px; }
h2 { font-size: 20px; margin: 32px 0 10px; border-bottom: 1px solid #e1e4e8; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 26px 0 6px; }
table.results { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0 12px; }
table.results th, table.results td { border: 1px solid #d0d4da; padding: 5px 7px; text-align: right; vertical-align: top; }
table.results th { background: #eef1f5; font-weight: bold; }
table.results td:first-child, table.results th:first-child { text-align: left; white-space: nowrap; font-weight: bold; }
table.results tr:nth-child(even) td { background: #f8f9fb; }
ul.method { font-size: 13px; color: #444; }
ul.findings li { margin-bottom: 4px; }
ul.notes { color: #6a4a00; }
dl.variants dt { font-weight: bold; margin-top: 6px; }
dl.variants dd { margin-left: 20px; font-size: 13px; color: #444; font-family: "Liberation Mono", "DejaVu Sans Mono", monospace; }
figure { margin: 10px 0 24px; }
figure img { max-width: 100%; height: auto; border: 1px solid #e1e4e8; }
figcaption { font-size: 13px; color: #444; margin-top: 4px; }
`

// html renders the report as one self-contained page: the PNG figures of
// figDir embedded as data URIs, no external style or script.
func (d *doc) html(figDir string) ([]byte, error) {
	var b bytes.Buffer
	e := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", e(d.title), css)
	fmt.Fprintf(&b, "<h1>%s</h1>\n", e(d.title))
	for _, p := range d.intro {
		fmt.Fprintf(&b, "<p>%s</p>\n", e(p))
	}
	b.WriteString("<h2 id=\"results\">Results</h2>\n<table class=\"results\">\n<thead><tr>")
	for _, h := range d.head {
		fmt.Fprintf(&b, "<th>%s</th>", e(h))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range d.rows {
		b.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(&b, "<td>%s</td>", e(c))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n<ul class=\"method\">\n")
	for _, m := range d.method {
		fmt.Fprintf(&b, "<li>%s</li>\n", e(m))
	}
	b.WriteString("</ul>\n")
	if len(d.findings) > 0 {
		b.WriteString("<h2 id=\"findings\">Findings</h2>\n<ul class=\"findings\">\n")
		for _, f := range d.findings {
			fmt.Fprintf(&b, "<li>%s</li>\n", e(f))
		}
		b.WriteString("</ul>\n")
	}
	if len(d.notes) > 0 {
		b.WriteString("<h2 id=\"notes\">Notes</h2>\n<ul class=\"notes\">\n")
		for _, n := range d.notes {
			fmt.Fprintf(&b, "<li>%s</li>\n", e(n))
		}
		b.WriteString("</ul>\n")
	}
	b.WriteString("<h2 id=\"variants\">Variants</h2>\n<dl class=\"variants\">\n")
	for _, v := range d.variants {
		fmt.Fprintf(&b, "<dt>%s</dt><dd>%s</dd>\n", e(v[0]), e(v[1]))
	}
	b.WriteString("</dl>\n<h2 id=\"figures\">Figures</h2>\n")
	for _, f := range d.figs {
		png, err := os.ReadFile(filepath.Join(figDir, f.Name+".png"))
		if err != nil {
			return nil, fmt.Errorf("compare: %v", err)
		}
		// Shown at 2/3 of the 150-dpi pixel size: the figures' design size at 100 dpi.
		fmt.Fprintf(&b, "<figure id=\"fig-%s\">\n<h3>%s</h3>\n<img src=\"data:image/png;base64,%s\" alt=\"%s\" width=\"%d\" height=\"%d\"/>\n",
			e(f.Name), e(f.Title), base64.StdEncoding.EncodeToString(png), e(f.Title), f.Width*2/3, f.Height*2/3)
		fmt.Fprintf(&b, "<figcaption>%s <a href=\"%s/%s.svg\">SVG</a></figcaption>\n</figure>\n", e(f.Caption), FiguresDir, e(f.Name))
	}
	b.WriteString("</body>\n</html>\n")
	return b.Bytes(), nil
}

// WriteText prints the results table as aligned text, then the findings
// and notes.
func (s *Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cols := []int{0, 1, 2, 3, 4, 5, 7, 8, 9}
	line := func(cells []string) {
		var out []string
		for _, c := range cols {
			out = append(out, cells[c])
		}
		fmt.Fprintln(tw, strings.Join(out, "\t"))
	}
	line(tableHead)
	for _, r := range s.Rows {
		line(tableCells(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range s.Findings {
		fmt.Fprintln(w, "- "+f)
	}
	for _, n := range s.Notes {
		if _, err := fmt.Fprintln(w, "note: "+n); err != nil {
			return err
		}
	}
	return nil
}
