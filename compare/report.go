package compare

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/report"
	"github.com/mhc-go/mhc/train"
)

// Run is one training run of a Set.
type Run struct {
	Dir    string // the run directory
	Name   string // as shown: "runs/NAME" in a compare directory, else the path given
	Config model.Config
	// Seed is the run's init and data-order seed: result.json's, else
	// state.json's options.seed (0 when neither exists).
	Seed   uint64
	Log    train.Log
	Result *Result // nil: the run has not finished (no result.json)
	// Variant is the variant the run belongs to (set by Load).
	Variant *Variant
}

// Finished reports whether the run has a result.json.
func (r *Run) Finished() bool { return r.Result != nil && r.Result.Diverged == "" }

// Variant is a group of runs that differ only in their seed.
type Variant struct {
	Label  string       // see Labels; result.json's Variant when every run has one
	Config model.Config // the first run's
	Runs   []*Run       // by seed
	// Baseline is the residual variant this one is compared with: the same
	// d_model, n_layers and base init (and, among several, the one that
	// differs least otherwise). Nil for residual variants and when the set
	// has no such residual.
	Baseline *Variant
	// Style is the 1-based colour index of the variant in every figure
	// (report.Curve.Style).
	Style int
}

// IsResidual reports whether the variant is a plain residual.
func (v *Variant) IsResidual() bool { return v.Config.Kind == hyper.Residual }

// Finished returns the variant's finished runs.
func (v *Variant) Finished() []*Run {
	var out []*Run
	for _, r := range v.Runs {
		if r.Finished() {
			out = append(out, r)
		}
	}
	return out
}

// Set is the runs a report is made from.
type Set struct {
	Dir      string // the compare directory, "" when Load was given run directories
	Runs     []*Run // in the order loaded (a compare directory's runs sorted by name)
	Variants []*Variant
	// Notes are remarks on what was loaded (runs skipped, seeds unknown).
	Notes []string
}

// Load reads the runs of a report. One path holding compare.json is a
// compare directory: every directory under DIR/runs is a run (sorted by
// name). Otherwise each path is a run directory. A run needs metrics.jsonl
// with at least one training step and config.json; result.json is read when
// present (a run without one is unfinished). In a compare directory an
// unfinished run without config.json yet (no checkpoint saved) is skipped
// with a note. Errors name the path, in one line.
func Load(paths ...string) (*Set, error) {
	if len(paths) == 0 {
		return nil, errors.New("compare: no run or compare directory given")
	}
	set := &Set{}
	type entry struct{ dir, name string }
	var entries []entry
	if len(paths) == 1 && isFile(filepath.Join(paths[0], SpecFile)) {
		set.Dir = paths[0]
		runs := filepath.Join(paths[0], RunsDir)
		des, err := os.ReadDir(runs)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("compare: %s: %v", runs, err)
		}
		for _, de := range des {
			if de.IsDir() {
				entries = append(entries, entry{filepath.Join(runs, de.Name()), RunsDir + "/" + de.Name()})
			}
		}
		if len(entries) == 0 {
			return nil, fmt.Errorf("compare: %s: no runs yet (nothing under %s/)", paths[0], RunsDir)
		}
		slices.SortFunc(entries, func(a, b entry) int { return natCompare(a.name, b.name) })
	} else {
		for _, p := range paths {
			info, err := os.Stat(p)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return nil, fmt.Errorf("compare: %s: no such directory", p)
			case err != nil:
				return nil, fmt.Errorf("compare: %s: %v", p, err)
			case !info.IsDir():
				return nil, fmt.Errorf("compare: %s: not a directory", p)
			}
			entries = append(entries, entry{p, filepath.Clean(p)})
		}
	}
	seen := map[string]bool{}
	for _, e := range entries {
		abs, _ := filepath.Abs(e.dir)
		if seen[abs] {
			return nil, fmt.Errorf("compare: %s: given twice", e.name)
		}
		seen[abs] = true
		r, skip, err := loadRun(e.dir, e.name, set.Dir != "")
		if err != nil {
			return nil, err
		}
		if skip != "" {
			set.Notes = append(set.Notes, skip)
			continue
		}
		set.Runs = append(set.Runs, r)
	}
	if len(set.Runs) == 0 {
		return nil, fmt.Errorf("compare: %s: no run has saved a checkpoint yet", paths[0])
	}
	set.group()
	return set, nil
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// loadRun reads one run directory. In a compare directory (lenient) an
// unfinished run without config.json is skipped: skip says why.
func loadRun(dir, name string, lenient bool) (r *Run, skip string, err error) {
	if _, err := os.Stat(filepath.Join(dir, train.MetricsFile)); err != nil {
		return nil, "", fmt.Errorf("compare: %s: no metrics (not a run directory?)", name)
	}
	lg, err := train.ReadMetrics(dir)
	if err != nil {
		return nil, "", fmt.Errorf("compare: %s: %v", name, err)
	}
	if len(lg.Steps) == 0 {
		return nil, "", fmt.Errorf("compare: %s: no metrics (no training step in %s)", name, train.MetricsFile)
	}
	r = &Run{Dir: dir, Name: name, Log: lg}
	if b, err := os.ReadFile(filepath.Join(dir, ResultFile)); err == nil {
		var res Result
		if err := train.DecodeJSON(b, &res); err != nil {
			return nil, "", fmt.Errorf("compare: %s: %s: %v", name, ResultFile, err)
		}
		r.Result = &res
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("compare: %s: %v", name, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, train.ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		if lenient && r.Result == nil {
			return nil, fmt.Sprintf("%s: skipped: no %s yet (no checkpoint saved)", name, train.ConfigFile), nil
		}
		if lenient && r.Result.Diverged != "" {
			return nil, fmt.Sprintf("%s (%s, seed %d): %s before its first checkpoint; no curves to show",
				name, r.Result.Variant, r.Result.Seed, r.Result.Diverged), nil
		}
		return nil, "", fmt.Errorf("compare: %s: no %s (not a run directory, or nothing saved yet)", name, train.ConfigFile)
	} else if err != nil {
		return nil, "", fmt.Errorf("compare: %s: %v", name, err)
	}
	if err := json.Unmarshal(b, &r.Config); err != nil {
		return nil, "", fmt.Errorf("compare: %s: %s: %v", name, train.ConfigFile, err)
	}
	if err := r.Config.Validate(); err != nil {
		return nil, "", fmt.Errorf("compare: %s: %s: %v", name, train.ConfigFile, err)
	}
	if r.Result != nil {
		r.Seed = r.Result.Seed
	} else if b, err := os.ReadFile(filepath.Join(dir, train.StateFile)); err == nil {
		var st struct {
			Options struct {
				Seed uint64 `json:"seed"`
			} `json:"options"`
		}
		if json.Unmarshal(b, &st) == nil {
			r.Seed = st.Options.Seed
		}
	}
	return r, "", nil
}

// group sorts the runs into variants, orders the variants (residual, hc,
// mhc, mhc-lite, then by label with numbers in numeric order), and finds
// each variant's baseline.
func (s *Set) group() {
	labels := make([]string, len(s.Runs))
	all := true
	for i, r := range s.Runs {
		if r.Result == nil || r.Result.Variant == "" {
			all = false
			break
		}
		labels[i] = r.Result.Variant
	}
	if !all {
		cfgs := make([]model.Config, len(s.Runs))
		for i, r := range s.Runs {
			cfgs[i] = r.Config
		}
		labels = Labels(cfgs)
	}
	byLabel := map[string]*Variant{}
	for i, r := range s.Runs {
		v := byLabel[labels[i]]
		if v == nil {
			v = &Variant{Label: labels[i], Config: r.Config}
			byLabel[labels[i]] = v
			s.Variants = append(s.Variants, v)
		}
		v.Runs = append(v.Runs, r)
		r.Variant = v
	}
	slices.SortFunc(s.Variants, func(a, b *Variant) int {
		if c := connRank(a.Config.Kind) - connRank(b.Config.Kind); c != 0 {
			return c
		}
		return natCompare(a.Label, b.Label)
	})
	for i, v := range s.Variants {
		v.Style = i + 1
		slices.SortStableFunc(v.Runs, func(a, b *Run) int {
			switch {
			case a.Seed < b.Seed:
				return -1
			case a.Seed > b.Seed:
				return 1
			}
			return 0
		})
		for k := 1; k < len(v.Runs); k++ {
			if v.Runs[k].Seed == v.Runs[k-1].Seed {
				s.Notes = append(s.Notes, fmt.Sprintf("%s and %s: both %s, seed %d: they are counted as two seeds",
					v.Runs[k-1].Name, v.Runs[k].Name, v.Label, v.Runs[k].Seed))
			}
		}
	}
	for _, v := range s.Variants {
		if v.IsResidual() {
			continue
		}
		best, bestScore := (*Variant)(nil), -1
		for _, b := range s.Variants {
			c, bc := v.Config, b.Config
			if !b.IsResidual() || bc.D != c.D || bc.Layers != c.Layers || baseInit(bc) != baseInit(c) {
				continue
			}
			score := 0
			for _, same := range []bool{bc.Heads == c.Heads, bc.Seq == c.Seq, bc.MLPHidden == c.MLPHidden, bc.Tie == c.Tie,
				bc.InitStd == c.InitStd, bc.Vocab == c.Vocab, bc.RopeTheta == c.RopeTheta} {
				if same {
					score++
				}
			}
			if score > bestScore {
				best, bestScore = b, score
			}
		}
		v.Baseline = best
	}
}

func baseInit(c model.Config) string {
	if c.BaseInit == "" {
		return model.BaseGPT2
	}
	return c.BaseInit
}

func connRank(k hyper.Kind) int {
	switch k {
	case hyper.Residual:
		return 0
	case hyper.HC:
		return 1
	case hyper.MHC:
		return 2
	case hyper.MHCLite:
		return 3
	}
	return 4
}

// natCompare orders strings with runs of digits compared as numbers:
// "L=4" < "L=16", "s2" < "s10".
func natCompare(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			i, j := digits(a), digits(b)
			na, nb := strings.TrimLeft(a[:i], "0"), strings.TrimLeft(b[:j], "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[i:], b[j:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// slug turns a variant label into a file name part: "mhc fixed=res" →
// "mhc-fixed-res".
func slug(label string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(label) {
		if c < 128 && (unicode.IsLetter(c) || unicode.IsDigit(c)) || c == '.' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if s == "" {
		s = "variant"
	}
	return s
}

// Row is one line of the results table: a variant's final measurements
// over its finished runs.
type Row struct {
	Variant  string
	Conn     string
	Baseline string // the baseline variant's label; "" for residual variants and when there is none
	BaseInit string // the variant's base init ("gpt2" when unset)
	Seeds    int    // finished runs
	// Unfinished counts the runs without result.json: their curves are in
	// the figures, but not their numbers in this row.
	Unfinished int
	Tokens     int64 // training tokens per run (mean over finished runs)
	// ValLoss is the final loss on the whole validation split
	// (Result.ValLoss), over seeds.
	ValLoss Stat
	// Diff is the paired difference ValLoss − baseline's ValLoss over the
	// seeds both finished (N = pairs; N = 0 when there is no baseline).
	Diff Stat
	// LastEval is the last periodic evaluation (on eval_windows sampled
	// windows) over all runs, finished or not: the only loss of runs
	// without result.json.
	LastEval Stat
	// Composite Amax gains (HC/mHC; NaN for the residual): the max over
	// sublayers and over every gains record of the run, max over seeds; and
	// the max over sublayers at the last record, mean over seeds.
	MaxCompFwd, MaxCompBwd float64
	EndCompFwd, EndCompBwd float64
	TokPerSec              float64 // mean over finished runs of Result.TokPerSec
	// Overhead is the time per token relative to the baseline minus one:
	// baseline tok/s ÷ this tok/s − 1 (NaN without a baseline).
	Overhead  float64
	PeakRSS   int64 // max over finished runs; 0 if unknown
	EstMemory int64
	Params    int
}

// rows computes the table.
func (s *Set) rows() []Row {
	var rows []Row
	tps := map[*Variant]float64{}
	for _, v := range s.Variants {
		fin := v.Finished()
		r := Row{Variant: v.Label, Conn: string(v.Config.Kind), BaseInit: baseInit(v.Config), Seeds: len(fin),
			Unfinished: len(v.Runs) - len(fin), MaxCompFwd: math.NaN(), MaxCompBwd: math.NaN(),
			EndCompFwd: math.NaN(), EndCompBwd: math.NaN(), Overhead: math.NaN(), TokPerSec: math.NaN()}
		if v.Baseline != nil {
			r.Baseline = v.Baseline.Label
		}
		var losses, tok, tpsv, last, endF, endB []float64
		for _, run := range fin {
			res := run.Result
			losses = append(losses, res.ValLoss)
			tok = append(tok, float64(res.Tokens))
			tpsv = append(tpsv, res.TokPerSec)
			r.PeakRSS = max(r.PeakRSS, res.PeakRSS)
			r.EstMemory = max(r.EstMemory, res.EstMemory)
			r.Params = max(r.Params, res.Params)
			for _, g := range run.Log.Gains {
				r.MaxCompFwd = nanMax(r.MaxCompFwd, g.MaxCompFwd)
				r.MaxCompBwd = nanMax(r.MaxCompBwd, g.MaxCompBwd)
			}
			if n := len(run.Log.Gains); n > 0 {
				endF = append(endF, run.Log.Gains[n-1].MaxCompFwd)
				endB = append(endB, run.Log.Gains[n-1].MaxCompBwd)
			}
		}
		for _, run := range v.Runs {
			if n := len(run.Log.Evals); n > 0 {
				last = append(last, run.Log.Evals[n-1].ValLoss)
			}
		}
		r.ValLoss, r.LastEval = Summarize(losses), Summarize(last)
		if len(tok) > 0 {
			r.Tokens = int64(math.Round(Mean(tok)))
		}
		if len(tpsv) > 0 {
			r.TokPerSec = Mean(tpsv)
		}
		if len(endF) > 0 {
			r.EndCompFwd, r.EndCompBwd = Mean(endF), Mean(endB)
		}
		tps[v] = r.TokPerSec
		if b := v.Baseline; b != nil {
			d, _ := Paired(finalLoss(v), finalLoss(b))
			r.Diff = Summarize(d)
		} else {
			r.Diff = Summarize(nil)
		}
		rows = append(rows, r)
	}
	for i, v := range s.Variants {
		if b := v.Baseline; b != nil {
			rows[i].Overhead = tps[b]/tps[v] - 1
		}
	}
	return rows
}

// finalLoss maps seed → Result.ValLoss over a variant's finished runs.
func finalLoss(v *Variant) map[uint64]float64 {
	m := map[uint64]float64{}
	for _, r := range v.Finished() {
		m[r.Seed] = r.Result.ValLoss
	}
	return m
}

func nanMax(a, b float64) float64 {
	switch {
	case math.IsNaN(a):
		return b
	case math.IsNaN(b):
		return a
	}
	return math.Max(a, b)
}

// Summary is what Report wrote: the table, the findings and the files.
type Summary struct {
	Out      string   // the output directory
	Files    []string // written, relative to Out: report.md, report.html, figures/NAME.png and .svg
	Figures  []Figure // in report order
	Rows     []Row    // one per variant, in Set.Variants order
	Findings []string // the generated sentences on significance and stability
	Notes    []string // unfinished and skipped runs, missing data
}

// Figure is one figure of the report: figures/Name.png and Name.svg.
type Figure struct {
	Name    string // file name without extension
	Title   string
	Caption string
	Width   int // PNG size in pixels
	Height  int
}

// Files of a report.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	FiguresDir   = "figures"
)

// Report writes outDir/report.md, outDir/report.html (self-contained: the
// figures are embedded as PNG data URIs) and the figures as
// outDir/figures/NAME.png and NAME.svg, creating outDir if needed, and
// returns the summary.
func Report(outDir string, set *Set) (*Summary, error) {
	if set == nil || len(set.Runs) == 0 {
		return nil, errors.New("compare: nothing to report")
	}
	figDir := filepath.Join(outDir, FiguresDir)
	if err := os.MkdirAll(figDir, 0o755); err != nil {
		return nil, fmt.Errorf("compare: %v", err)
	}
	sum := &Summary{Out: outDir, Rows: set.rows()}
	sum.Notes = append(sum.Notes, set.Notes...)
	for _, r := range set.Runs {
		if r.Result != nil && r.Result.Diverged != "" {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s (%s, seed %d) diverged (%s): its curves are shown, it has no final loss",
				r.Name, r.Variant.Label, r.Seed, r.Result.Diverged))
			continue
		}
		if !r.Finished() {
			last := r.Log.Steps[len(r.Log.Steps)-1]
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s (%s, seed %d) is unfinished (no %s; step %d, %s tokens): its curves are shown, its numbers are not in the table",
				r.Name, r.Variant.Label, r.Seed, ResultFile, last.Step, fmtTokens(last.Tokens)))
		}
	}
	figs, notes, err := writeFigures(figDir, set)
	if err != nil {
		return nil, err
	}
	sum.Figures = figs
	sum.Notes = append(sum.Notes, notes...)
	sum.Findings = findings(set, sum.Rows)
	for _, f := range figs {
		sum.Files = append(sum.Files, FiguresDir+"/"+f.Name+".png", FiguresDir+"/"+f.Name+".svg")
	}
	doc := newDoc(set, sum)
	if err := writeFile(filepath.Join(outDir, MarkdownFile), doc.markdown()); err != nil {
		return nil, err
	}
	html, err := doc.html(figDir)
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(outDir, HTMLFile), html); err != nil {
		return nil, err
	}
	sum.Files = append([]string{MarkdownFile, HTMLFile}, sum.Files...)
	return sum, nil
}

func writeFile(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("compare: %v", err)
	}
	return nil
}

// findings are the sentences of the report's text: for each variant with a
// baseline, whether its final validation loss differs significantly.
func findings(set *Set, rows []Row) []string {
	var out []string
	for i, v := range set.Variants {
		r := rows[i]
		if v.IsResidual() {
			continue
		}
		b := v.Baseline
		if b == nil {
			out = append(out, fmt.Sprintf("%s: no residual baseline with the same d_model (%d), n_layers (%d) and base init (%s) in this set: no comparison.",
				v.Label, v.Config.D, v.Config.Layers, baseInit(v.Config)))
			continue
		}
		d := r.Diff
		vs := fmt.Sprintf("%s vs %s (base init %s)", v.Label, b.Label, baseInit(b.Config))
		switch {
		case d.N == 0:
			out = append(out, vs+": no seed finished in both: no comparison yet.")
		case d.N == 1:
			out = append(out, fmt.Sprintf("%s: Δ final validation loss = %s nats/token from one seed: no confidence interval can be given, so this is no evidence either way.",
				vs, fmtSigned(d.Mean)))
		case d.Significant():
			dir := "lower"
			if d.Mean > 0 {
				dir = "higher"
			}
			out = append(out, fmt.Sprintf("%s: Δ = %s ± %s nats/token (95 %% CI over %d paired seeds) excludes 0: significantly %s validation loss than the baseline.",
				vs, fmtSigned(d.Mean), fmtLoss(d.CI), d.N, dir))
		default:
			out = append(out, fmt.Sprintf("%s: Δ = %s ± %s nats/token (95 %% CI over %d paired seeds) includes 0: inside the noise, neither a win nor a loss.",
				vs, fmtSigned(d.Mean), fmtLoss(d.CI), d.N))
		}
	}
	for i, v := range set.Variants {
		r := rows[i]
		if v.IsResidual() || math.IsNaN(r.MaxCompFwd) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: max composite Amax gain %s forward, %s backward over the run (%s / %s at the end).",
			v.Label, fmtGain(r.MaxCompFwd), fmtGain(r.MaxCompBwd), fmtGain(r.EndCompFwd), fmtGain(r.EndCompBwd)))
	}
	return out
}

// Number formats shared by the markdown, HTML and text tables.

func fmtLoss(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

func fmtSigned(v float64) string {
	s := strconv.FormatFloat(v, 'f', 4, 64)
	if v >= 0 {
		s = "+" + s
	}
	return s
}

func fmtGain(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case math.Abs(v) < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case math.Abs(v) < 1000:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func fmtTokens(n int64) string {
	switch {
	case n >= 1e9:
		return strconv.FormatFloat(float64(n)/1e9, 'f', 2, 64) + "G"
	case n >= 1e6:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 2, 64) + "M"
	case n >= 1e4:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatInt(n, 10)
}

func fmtBytes(n int64) string {
	switch {
	case n <= 0:
		return "—"
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 2, 64) + " GiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 0, 64) + " MiB"
}

// tableHead and tableCells are the results table as text cells.
var tableHead = []string{"variant", "seeds", "tokens", "final val loss ± 95% CI", "Δ vs baseline ± 95% CI",
	"max comp. gain fwd / bwd", "end comp. gain fwd / bwd", "tok/s", "time overhead", "peak RSS", "est. memory", "params"}

func tableCells(r Row) []string {
	seeds := strconv.Itoa(r.Seeds)
	if r.Unfinished > 0 {
		seeds += fmt.Sprintf(" (+%d unfinished)", r.Unfinished)
	}
	tokens, loss, diff := "—", "—", "—"
	if r.Seeds > 0 {
		tokens = fmtTokens(r.Tokens)
	}
	switch {
	case r.ValLoss.N == 1:
		loss = fmtLoss(r.ValLoss.Mean) + " (1 seed, no CI)"
	case r.ValLoss.N > 1:
		loss = fmtLoss(r.ValLoss.Mean) + " ± " + fmtLoss(r.ValLoss.CI)
	}
	switch {
	case r.Conn == string(hyper.Residual):
		diff = "baseline (" + r.BaseInit + ")"
	case r.Baseline == "":
		diff = "no baseline"
	case r.Diff.N == 1:
		diff = fmtSigned(r.Diff.Mean) + " (1 seed, no CI)"
	case r.Diff.N > 1:
		diff = fmtSigned(r.Diff.Mean) + " ± " + fmtLoss(r.Diff.CI)
		if r.Diff.Significant() {
			diff += " (significant)"
		} else {
			diff += " (noise)"
		}
	}
	gains := func(f, b float64) string {
		if math.IsNaN(f) {
			return "—"
		}
		return fmtGain(f) + " / " + fmtGain(b)
	}
	tps, over := "—", "—"
	if !math.IsNaN(r.TokPerSec) {
		tps = strconv.FormatFloat(r.TokPerSec, 'f', 0, 64)
	}
	switch {
	case r.Conn == string(hyper.Residual):
		over = "baseline"
	case !math.IsNaN(r.Overhead) && !math.IsInf(r.Overhead, 0):
		over = strconv.FormatFloat(100*r.Overhead, 'f', 1, 64) + " %"
		if r.Overhead >= 0 {
			over = "+" + over
		}
	}
	params := "—"
	if r.Params > 0 {
		params = strconv.Itoa(r.Params)
	}
	return []string{r.Variant, seeds, tokens, loss, diff, gains(r.MaxCompFwd, r.MaxCompBwd), gains(r.EndCompFwd, r.EndCompBwd),
		tps, over, fmtBytes(r.PeakRSS), fmtBytes(r.EstMemory), params}
}

// Smoothing of the training-loss curves: an exponential moving average with
// time constant tau = max(1, steps/smoothFrac) steps (β = 1 − 1/tau),
// bias-corrected like TensorBoard's (divided by 1 − β^k after k points), so
// the first points are not pulled towards 0. Skipped (non-finite) losses
// are left out of the average.
const smoothFrac = 25

// ema smooths ys with time constant tau points.
func ema(ys []float64, tau float64) []float64 {
	beta := 1 - 1/math.Max(tau, 1)
	out := make([]float64, len(ys))
	s, w := 0.0, 0.0
	for i, y := range ys {
		if !math.IsNaN(y) && !math.IsInf(y, 0) {
			s = beta*s + (1-beta)*y
			w = beta*w + (1 - beta)
		}
		out[i] = math.NaN()
		if w > 0 {
			out[i] = s / w
		}
	}
	return out
}

// series is one run's curve, keyed by step.
type series struct {
	step []int
	x, y []float64
}

// band aggregates per-seed series of one variant: at every step that at
// least one seed has, the mean over the seeds that have it, and their min
// and max; x is the mean x (tokens are the same for every seed).
type band struct{ x, mean, lo, hi []float64 }

func aggregate(ss []series) band {
	type acc struct {
		x, sum, lo, hi float64
		n              int
	}
	m := map[int]*acc{}
	var steps []int
	for _, s := range ss {
		for i, st := range s.step {
			y := s.y[i]
			if math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			a := m[st]
			if a == nil {
				a = &acc{lo: math.Inf(1), hi: math.Inf(-1)}
				m[st] = a
				steps = append(steps, st)
			}
			a.x += s.x[i]
			a.sum += y
			a.lo, a.hi = math.Min(a.lo, y), math.Max(a.hi, y)
			a.n++
		}
	}
	slices.Sort(steps)
	var b band
	for _, st := range steps {
		a := m[st]
		b.x = append(b.x, a.x/float64(a.n))
		b.mean = append(b.mean, a.sum/float64(a.n))
		b.lo = append(b.lo, a.lo)
		b.hi = append(b.hi, a.hi)
	}
	return b
}

// curve turns a band into a report.Curve of variant v, with the band only
// when more than one seed contributes.
func (b band) curve(v *Variant, seeds int, marks bool) report.Curve {
	c := report.Curve{Name: v.Label, X: b.x, Y: b.mean, Style: v.Style, NoMarks: !marks || len(b.x) > 40}
	if seeds > 1 {
		c.Name += fmt.Sprintf(" (mean of %d seeds, min–max band)", seeds)
		c.Lo, c.Hi = b.lo, b.hi
	}
	return c
}

// tokenAxis picks the unit of a tokens axis from the largest count.
func tokenAxis(set *Set) (scale float64, label string) {
	var hi int64
	for _, r := range set.Runs {
		hi = max(hi, r.Log.Steps[len(r.Log.Steps)-1].Tokens)
	}
	switch {
	case hi >= 5e6:
		return 1e-6, "training tokens (millions)"
	case hi >= 5e3:
		return 1e-3, "training tokens (thousands)"
	}
	return 1, "training tokens"
}

// trainSeries is r's smoothed training loss vs tokens (scaled).
func trainSeries(r *Run, scale float64) series {
	var s series
	ys := make([]float64, len(r.Log.Steps))
	for i, st := range r.Log.Steps {
		s.step = append(s.step, st.Step)
		s.x = append(s.x, float64(st.Tokens)*scale)
		ys[i] = st.Loss
	}
	s.y = ema(ys, float64(len(ys))/smoothFrac)
	return s
}

// figureWriter writes each figure as PNG and SVG.
type figureWriter struct {
	dir   string
	figs  []Figure
	names map[string]bool
}

func (fw *figureWriter) add(name, title, caption string, draw func(path string) error) error {
	for k := 2; fw.names[name]; k++ {
		name = strings.TrimRight(strings.TrimRight(name, "0123456789"), "-") + "-" + strconv.Itoa(k)
	}
	fw.names[name] = true
	png := filepath.Join(fw.dir, name+".png")
	for _, p := range []string{png, filepath.Join(fw.dir, name+".svg")} {
		if err := draw(p); err != nil {
			return fmt.Errorf("compare: figure %s: %v", name, err)
		}
	}
	w, h, err := pngSize(png)
	if err != nil {
		return fmt.Errorf("compare: figure %s: %v", name, err)
	}
	fw.figs = append(fw.figs, Figure{Name: name, Title: title, Caption: caption, Width: w, Height: h})
	return nil
}

func pngSize(path string) (int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	c, err := png.DecodeConfig(f)
	return c.Width, c.Height, err
}

// writeFigures draws every figure the set has data for; notes name the
// figures left out and why.
func writeFigures(dir string, set *Set) ([]Figure, []string, error) {
	fw := &figureWriter{dir: dir, names: map[string]bool{}}
	var notes []string
	scale, tokLabel := tokenAxis(set)
	maxSeeds := 0
	for _, v := range set.Variants {
		maxSeeds = max(maxSeeds, len(v.Runs))
	}
	bandNote := ""
	if maxSeeds > 1 {
		bandNote = " Lines are the mean over seeds; the shaded band spans the seeds' minimum to maximum."
	}

	// Training loss.
	var curves []report.Curve
	smoothed := map[*Run]series{}
	for _, v := range set.Variants {
		var ss []series
		for _, r := range v.Runs {
			s := trainSeries(r, scale)
			smoothed[r] = s
			ss = append(ss, s)
		}
		curves = append(curves, aggregate(ss).curve(v, len(v.Runs), false))
	}
	err := fw.add("loss-train", "Training loss",
		fmt.Sprintf("Training loss (nats/token) vs training tokens, each run smoothed by a bias-corrected exponential moving average with a time constant of 1/%d of its steps.%s", smoothFrac, bandNote),
		func(p string) error {
			return report.Chart{Title: "Training loss (EMA-smoothed)", XLabel: tokLabel, YLabel: "loss (nats/token)", Curves: curves}.Write(p)
		})
	if err != nil {
		return nil, nil, err
	}

	// Validation loss.
	curves = nil
	for _, v := range set.Variants {
		var ss []series
		for _, r := range v.Runs {
			var s series
			for _, e := range r.Log.Evals {
				s.step = append(s.step, e.Step)
				s.x = append(s.x, float64(e.Tokens)*scale)
				s.y = append(s.y, e.ValLoss)
			}
			if len(s.step) > 0 {
				ss = append(ss, s)
			}
		}
		if len(ss) > 0 {
			curves = append(curves, aggregate(ss).curve(v, len(ss), true))
		}
	}
	if len(curves) > 0 {
		err := fw.add("loss-val", "Validation loss",
			"Validation loss (nats/token) at each periodic evaluation (on the run's eval_windows sampled validation windows; the table's final loss is over the whole validation split) vs training tokens."+bandNote,
			func(p string) error {
				return report.Chart{Title: "Validation loss", XLabel: tokLabel, YLabel: "loss (nats/token)", Curves: curves}.Write(p)
			})
		if err != nil {
			return nil, nil, err
		}
	} else {
		notes = append(notes, "No evaluation records: the validation-loss figure is left out.")
	}

	// Gap to the baseline (Fig. 5a), paired by seed.
	curves = nil
	for _, v := range set.Variants {
		if v.Baseline == nil {
			continue
		}
		base := map[uint64]*Run{}
		for _, r := range v.Baseline.Runs {
			base[r.Seed] = r
		}
		var ss []series
		for _, r := range v.Runs {
			b, ok := base[r.Seed]
			if !ok {
				continue
			}
			bs := smoothed[b]
			at := map[int]float64{}
			for i, st := range bs.step {
				at[st] = bs.y[i]
			}
			s := smoothed[r]
			var d series
			for i, st := range s.step {
				if y, ok := at[st]; ok {
					d.step = append(d.step, st)
					d.x = append(d.x, s.x[i])
					d.y = append(d.y, s.y[i]-y)
				}
			}
			if len(d.step) > 0 {
				ss = append(ss, d)
			}
		}
		if len(ss) > 0 {
			c := aggregate(ss).curve(v, len(ss), false)
			c.Name = strings.Replace(c.Name, v.Label, v.Label+" − "+v.Baseline.Label, 1)
			curves = append(curves, c)
		}
	}
	if len(curves) > 0 {
		err := fw.add("loss-gap", "Training-loss gap to the residual baseline",
			"Smoothed training loss minus the residual baseline's (same seed, so the same batches), vs training tokens; below 0 the variant has the lower loss (the mHC paper's Fig. 5a shows the same gap)."+bandNote,
			func(p string) error {
				return report.Chart{Title: "Training-loss gap to the residual baseline (paired by seed)", XLabel: tokLabel,
					YLabel: "loss − baseline loss (nats/token)", Curves: curves, Refs: []float64{0}}.Write(p)
			})
		if err != nil {
			return nil, nil, err
		}
	} else {
		notes = append(notes, "No variant has a residual baseline with a common seed: the loss-gap figure is left out.")
	}

	// Gradient norm (Figs. 2b, 5b).
	curves = nil
	for _, v := range set.Variants {
		var ss []series
		for _, r := range v.Runs {
			var s series
			for _, st := range r.Log.Steps {
				s.step = append(s.step, st.Step)
				s.x = append(s.x, float64(st.Step))
				s.y = append(s.y, st.GradNorm)
			}
			ss = append(ss, s)
		}
		curves = append(curves, aggregate(ss).curve(v, len(v.Runs), false))
	}
	err = fw.add("grad-norm", "Gradient norm",
		"Global gradient norm before clipping at every step (log scale), unsmoothed, as in the mHC paper's Figs. 2b and 5b."+bandNote,
		func(p string) error {
			return report.Chart{Title: "Gradient norm", XLabel: "step", YLabel: "gradient norm (before clipping, log scale)", LogY: true, Curves: curves}.Write(p)
		})
	if err != nil {
		return nil, nil, err
	}

	// Gains.
	var gv []*Variant
	for _, v := range set.Variants {
		for _, r := range v.Runs {
			if len(r.Log.Gains) > 0 {
				gv = append(gv, v)
				break
			}
		}
	}
	if len(gv) == 0 {
		notes = append(notes, "No gains records (no HC/mHC run, or gains_every = 0): the gain figures and H_res heatmaps are left out.")
		figs, err := costFigure(fw, set)
		return figs, notes, err
	}
	endCurves := func(get func(train.Gains) []float64) []report.Curve {
		var cs []report.Curve
		for _, v := range gv {
			var ss []series
			for _, r := range v.Runs {
				if len(r.Log.Gains) == 0 {
					continue
				}
				g := r.Log.Gains[len(r.Log.Gains)-1]
				var s series
				for i, y := range get(g) {
					s.step = append(s.step, i+1)
					s.x = append(s.x, float64(i+1))
					s.y = append(s.y, y)
				}
				ss = append(ss, s)
			}
			cs = append(cs, aggregate(ss).curve(v, len(ss), true))
		}
		return cs
	}
	fwd, bwd := endCurves(func(g train.Gains) []float64 { return g.CompFwd }), endCurves(func(g train.Gains) []float64 { return g.CompBwd })
	err = fw.add("gain-end", "Composite Amax gain by sublayer at the end of training",
		"Composite Amax gain of H_res at the last gains probe (log scale), per sublayer l = 1…2L (attention and MLP of each block): forward max_i|Σ_j (H_l···H_1)[i,j]| and backward max_j|Σ_i (H_L···H_l)[i,j]|, as in the mHC paper's Figs. 3 and 7. 1 means the streams' signal is neither amplified nor attenuated; the residual has no H_res and is not shown."+bandNote,
		func(p string) error {
			return report.WriteCharts(p, "Composite Amax gain at the end of training", []report.Chart{
				{Title: "Forward (H_l···H_1)", XLabel: "sublayer index l", YLabel: "Amax gain (log scale)", LogY: true, Curves: fwd, Refs: []float64{1}},
				{Title: "Backward (H_L···H_l)", XLabel: "sublayer index l", YLabel: "Amax gain (log scale)", LogY: true, Curves: bwd, Refs: []float64{1}},
			})
		})
	if err != nil {
		return nil, nil, err
	}
	stepCurves := func(get func(train.Gains) float64) []report.Curve {
		var cs []report.Curve
		for _, v := range gv {
			var ss []series
			for _, r := range v.Runs {
				var s series
				for _, g := range r.Log.Gains {
					s.step = append(s.step, g.Step)
					s.x = append(s.x, float64(g.Step))
					s.y = append(s.y, get(g))
				}
				if len(s.step) > 0 {
					ss = append(ss, s)
				}
			}
			cs = append(cs, aggregate(ss).curve(v, len(ss), true))
		}
		return cs
	}
	fwd, bwd = stepCurves(func(g train.Gains) float64 { return g.MaxCompFwd }), stepCurves(func(g train.Gains) float64 { return g.MaxCompBwd })
	err = fw.add("gain-step", "Max composite Amax gain during training",
		"The largest composite Amax gain over all sublayers at each gains probe (log scale), forward and backward: the mHC paper's headline stability number (Figs. 3b, 7b)."+bandNote,
		func(p string) error {
			return report.WriteCharts(p, "Max composite Amax gain over sublayers, during training", []report.Chart{
				{Title: "Forward", XLabel: "step", YLabel: "max composite gain (log scale)", LogY: true, Curves: fwd, Refs: []float64{1}},
				{Title: "Backward", XLabel: "step", YLabel: "max composite gain (log scale)", LogY: true, Curves: bwd, Refs: []float64{1}},
			})
		})
	if err != nil {
		return nil, nil, err
	}
	lc := stepCurves(func(g train.Gains) float64 { return g.MaxCompLogCol })
	err = fw.add("logcol-step", "Max |log column sum| during training",
		"max over sublayers l and columns j of |log Σ_i (H_L···H_l)[i,j]| at each gains probe: 0 when every composite is column-stochastic; it exposes attenuation (a column sum below 1) that the max gain hides."+bandNote,
		func(p string) error {
			return report.Chart{Title: "Max |log column sum| of the composite H_res", XLabel: "step", YLabel: "max |log column sum| (nats)", Curves: lc, Refs: []float64{0}}.Write(p)
		})
	if err != nil {
		return nil, nil, err
	}

	// H_res heatmaps (Fig. 8), first seed with gains of each variant.
	for _, v := range gv {
		var run *Run
		for _, r := range v.Runs {
			if len(r.Log.Gains) > 0 && len(r.Log.Gains[len(r.Log.Gains)-1].Matrices) > 0 {
				run = r
				break
			}
		}
		if run == nil {
			notes = append(notes, v.Label+": gains records without H_res matrices: no heatmap.")
			continue
		}
		g := run.Log.Gains[len(run.Log.Gains)-1]
		L := len(g.Matrices)
		n := int(math.Round(math.Sqrt(float64(len(g.Matrices[0])))))
		var mats [][]float64
		var titles []string
		for _, l := range uniqueInts(0, L/2, L-1) {
			if len(g.Matrices[l]) != n*n {
				continue
			}
			mats = append(mats, g.Matrices[l])
			kind := "attention"
			if l%2 == 1 {
				kind = "MLP"
			}
			titles = append(titles, fmt.Sprintf("sublayer %d of %d (block %d %s)", l+1, L, l/2+1, kind))
		}
		title := fmt.Sprintf("H_res of %s, seed %d, step %d (token-averaged)", v.Label, run.Seed, g.Step)
		err := fw.add("hres-"+slug(v.Label), "H_res: "+v.Label,
			fmt.Sprintf("The token-averaged H_res of the first, middle and last sublayer of %s (seed %d) at its last gains probe (step %d), with row and column sums, as in the mHC paper's Fig. 8. Row i forms output stream i; mHC's are doubly stochastic (every sum 1).", v.Label, run.Seed, g.Step),
			func(p string) error { return report.Heatmaps(p, title, mats, n, titles) })
		if err != nil {
			return nil, nil, err
		}
	}
	figs, err := costFigure(fw, set)
	return figs, notes, err
}

func uniqueInts(xs ...int) []int {
	var out []int
	for _, x := range xs {
		if x >= 0 && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// costFigure adds the throughput, overhead and memory bars and returns all
// figures.
func costFigure(fw *figureWriter, set *Set) ([]Figure, error) {
	rows := set.rows()
	var tps, over, mem []report.Bar
	memTitle, memKnown := "Peak memory (RSS)", false
	for _, r := range rows {
		memKnown = memKnown || r.PeakRSS > 0
	}
	if !memKnown {
		memTitle = "Estimated training memory"
	}
	anyTPS := false
	for i, v := range set.Variants {
		r := rows[i]
		anyTPS = anyTPS || !math.IsNaN(r.TokPerSec)
		tps = append(tps, report.Bar{Name: v.Label, Value: r.TokPerSec, Style: v.Style})
		if !v.IsResidual() {
			over = append(over, report.Bar{Name: v.Label, Value: 100 * r.Overhead, Style: v.Style})
		}
		m := r.PeakRSS
		if !memKnown {
			m = r.EstMemory
		}
		mv := math.NaN()
		if m > 0 {
			mv = float64(m) / (1 << 20)
		}
		mem = append(mem, report.Bar{Name: v.Label, Value: mv, Style: v.Style})
	}
	if !anyTPS {
		return fw.figs, nil // nothing finished: no costs to show
	}
	charts := []report.BarChart{{Title: "Throughput", YLabel: "tokens/s (median step, mean over seeds)", Bars: tps,
		Format: func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }}}
	if len(over) > 0 {
		charts = append(charts, report.BarChart{Title: "Time overhead vs residual", YLabel: "time per token vs baseline (%)", Bars: over,
			Format: func(v float64) string { return fmt.Sprintf("%+.1f%%", v) }})
	}
	charts = append(charts, report.BarChart{Title: memTitle, YLabel: "memory (MiB)", Bars: mem,
		Format: func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }})
	err := fw.add("cost", "Cost: throughput, overhead and memory",
		"Training throughput (the median step's tokens/s, mean over finished seeds), time per token relative to the residual baseline (baseline tok/s ÷ variant tok/s − 1) and "+strings.ToLower(memTitle[:1])+memTitle[1:]+" per variant; runs without result.json are not counted.",
		func(p string) error { return report.WriteBarCharts(p, "Cost per variant", charts) })
	return fw.figs, err
}
