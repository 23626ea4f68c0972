package compare

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"image"
	_ "image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
	"github.com/mhc-go/mhc/train"
)

// fixtureRun is one synthetic run of the fixture.
type fixtureRun struct {
	name     string
	conn     string
	fixedRes bool
	seed     uint64
	valLoss  float64 // result.json; 0: unfinished (no result.json)
	tps      float64
}

// The fixture: residual, hc and mhc with two finished seeds each, and one
// unfinished run of mhc with H_res fixed. Final losses are chosen so that
// hc − residual = −0.020, −0.030 (inside the noise: mean −0.025 ± 0.0635)
// and mhc − residual = −0.030, −0.028 (significant: −0.029 ± 0.0127).
var fixture = []fixtureRun{
	{"residual-s1", "residual", false, 1, 1.500, 10000},
	{"residual-s2", "residual", false, 2, 1.520, 10400},
	{"hc-s1", "hc", false, 1, 1.480, 9000},
	{"hc-s2", "hc", false, 2, 1.490, 9400},
	{"mhc-s1", "mhc", false, 1, 1.470, 8500},
	{"mhc-s2", "mhc", false, 2, 1.492, 8700},
	{"mhc-fixed-res-s1", "mhc", true, 1, 0, 0},
}

const (
	fixSteps = 60
	fixBatch = 1024 // tokens per step
)

func fixtureConfig(conn string, fixedRes bool) model.Config {
	c := model.Presets["tiny"].Config
	c.D, c.Layers, c.Heads, c.Seq, c.MLPHidden = 32, 2, 2, 32, model.DefaultMLPHidden(32)
	c.Kind = hyper.Kind(conn)
	if c.Kind != hyper.Residual {
		c.Streams = 4
	}
	c.Fixed.Res = fixedRes
	return c
}

// makeFixture writes a compare directory DIR (compare.json, runs/...) of
// synthetic runs: config.json, state.json, metrics.jsonl with train, eval
// (every 10 steps) and, for HC/mHC, gains records (every 10 steps, from
// synthetic H_res matrices through train.AnalyzeGains), and result.json for
// finished runs.
func makeFixture(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, SpecFile), []byte(`{"fixture": true}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, fr := range fixture {
		run := filepath.Join(dir, RunsDir, fr.name)
		if err := os.MkdirAll(run, 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := fixtureConfig(fr.conn, fr.fixedRes)
		cb, _ := json.MarshalIndent(cfg, "", "  ")
		st := map[string]any{"format": 2, "step": fixSteps, "options": map[string]any{"seed": fr.seed, "steps": fixSteps}}
		sb, _ := json.Marshal(st)
		for name, b := range map[string][]byte{train.ConfigFile: cb, train.StateFile: sb} {
			if err := os.WriteFile(filepath.Join(run, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		m, err := train.OpenMetrics(filepath.Join(run, train.MetricsFile))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(fr.seed, uint64(i)))
		offset := map[string]float64{"residual": 0, "hc": -0.02, "mhc": -0.03}[fr.conn]
		steps := fixSteps
		if fr.valLoss == 0 {
			steps = 35 // killed mid-way
		}
		for s := 1; s <= steps; s++ {
			x := float64(s)
			loss := 1.5 + offset + 4*math.Exp(-x/12) + 0.08*rng.NormFloat64()
			gn := 2*math.Exp(-x/10) + 0.3 + 0.05*rng.Float64()
			if fr.conn == "hc" {
				gn *= 1.3
			}
			if err := m.Write(train.StepRecord{Step: s, Loss: loss, LR: 1e-3, GradNorm: gn, Tokens: int64(s * fixBatch), TokPerS: fr.tps + 100*rng.Float64()}); err != nil {
				t.Fatal(err)
			}
			if s%10 == 0 {
				if err := m.Write(train.EvalRecord{Step: s, Tokens: int64(s * fixBatch), ValLoss: loss + 0.05}); err != nil {
					t.Fatal(err)
				}
				if fr.conn != "residual" {
					g := train.AnalyzeGains(s, fixtureMats(fr.conn, fr.fixedRes, x/fixSteps, rng), 4)
					g.Tokens = int64(s * fixBatch)
					if err := m.Write(g); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if fr.valLoss == 0 {
			continue
		}
		res := Result{Variant: "", Seed: fr.seed, Steps: fixSteps, Tokens: fixSteps * fixBatch, ValLoss: fr.valLoss, ValTokens: 4096,
			TrainSeconds: fixSteps * fixBatch / fr.tps, TokPerSec: fr.tps, PeakRSS: int64(200+10*i) << 20, EstMemory: int64(150+10*i) << 20,
			Params: 30000 + 100*i, Conn: fr.conn, Streams: cfg.Streams, Init: cfg.InitScheme(), BaseInit: "gpt2", D: cfg.D, Layers: cfg.Layers}
		rb, err := train.AppendJSON(nil, res)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(run, ResultFile), append(rb, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fixtureMats returns 4 sublayers' 4×4 H_res at training progress p: HC's
// drift away from the identity with mixed signs (so its composite gain
// grows), mHC's are doubly stochastic (I mixed with a permutation and the
// uniform matrix), a fixed H_res is I.
func fixtureMats(conn string, fixedRes bool, p float64, rng *rand.Rand) [][]float64 {
	const n = 4
	var mats [][]float64
	for l := range 4 {
		m := make([]float64, n*n)
		for i := range n {
			for j := range n {
				switch {
				case fixedRes:
					if i == j {
						m[i*n+j] = 1
					}
				case conn == "hc":
					v := 0.5 * p * (rng.Float64() - 0.3)
					if i == j {
						v += 1 + 0.3*p
					}
					m[i*n+j] = v
				default:
					a := 0.6 - 0.3*p + 0.05*float64(l)
					v := (1 - a) / n
					if i == j {
						v += a * 0.7
					}
					if j == (i+1)%n {
						v += a * 0.3
					}
					m[i*n+j] = v
				}
			}
		}
		mats = append(mats, m)
	}
	return mats
}

var wantFigures = []string{"loss-train", "loss-val", "loss-gap", "grad-norm", "gain-end", "gain-step", "logcol-step",
	"hres-hc", "hres-mhc", "hres-mhc-fixed-res", "cost"}

func TestLoadFixture(t *testing.T) {
	dir := makeFixture(t)
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if set.Dir != dir || len(set.Runs) != len(fixture) {
		t.Fatalf("Load: dir %q, %d runs", set.Dir, len(set.Runs))
	}
	var labels []string
	for _, v := range set.Variants {
		labels = append(labels, v.Label)
		base := ""
		if v.Baseline != nil {
			base = v.Baseline.Label
		}
		if want := map[bool]string{true: "", false: "residual"}[v.IsResidual()]; base != want {
			t.Errorf("%s: baseline %q, want %q", v.Label, base, want)
		}
		for k, r := range v.Runs {
			if r.Variant != v || (k > 0 && r.Seed <= v.Runs[k-1].Seed) {
				t.Errorf("%s: runs not grouped and sorted by seed", v.Label)
			}
		}
	}
	if got := strings.Join(labels, "|"); got != "residual|hc|mhc|mhc fixed=res" {
		t.Errorf("variants %q", got)
	}
	last := set.Variants[3].Runs[0]
	if last.Finished() || last.Seed != 1 || last.Name != "runs/mhc-fixed-res-s1" {
		t.Errorf("unfinished run: finished %v, seed %d, name %q", last.Finished(), last.Seed, last.Name)
	}

	// The same runs given one by one, result.json's variant labels used.
	var paths []string
	for _, fr := range fixture[:4] {
		paths = append(paths, filepath.Join(dir, RunsDir, fr.name))
	}
	set2, err := Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	if set2.Dir != "" || len(set2.Variants) != 2 || set2.Runs[0].Name != filepath.Clean(paths[0]) {
		t.Errorf("Load(run dirs): dir %q, %d variants, name %q", set2.Dir, len(set2.Variants), set2.Runs[0].Name)
	}
}

func TestLoadBadInput(t *testing.T) {
	dir := makeFixture(t)
	file := filepath.Join(dir, SpecFile)
	empty := t.TempDir()
	noSteps := t.TempDir()
	os.WriteFile(filepath.Join(noSteps, train.MetricsFile), []byte(`{"kind":"eval","step":1,"tokens":1,"val_loss":2}`+"\n"), 0o644)
	noConfig := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(dir, RunsDir, "hc-s1", train.MetricsFile))
	os.WriteFile(filepath.Join(noConfig, train.MetricsFile), b, 0o644)
	emptyCompare := t.TempDir()
	os.WriteFile(filepath.Join(emptyCompare, SpecFile), []byte("{}"), 0o644)
	badRun := filepath.Join(dir, RunsDir, "zz-broken")
	cases := []struct {
		name  string
		setup func()
		paths []string
		want  string
	}{
		{"nothing", nil, nil, "compare: no run or compare directory given"},
		{"missing", nil, []string{filepath.Join(empty, "nope")}, "compare: " + filepath.Join(empty, "nope") + ": no such directory"},
		{"file", nil, []string{file}, "compare: " + file + ": not a directory"},
		{"no metrics", nil, []string{empty}, "compare: " + empty + ": no metrics (not a run directory?)"},
		{"no steps", nil, []string{noSteps}, "compare: " + noSteps + ": no metrics (no training step in metrics.jsonl)"},
		{"no config", nil, []string{noConfig}, "compare: " + noConfig + ": no config.json"},
		{"twice", nil, []string{filepath.Join(dir, RunsDir, "hc-s1"), filepath.Join(dir, RunsDir, "hc-s1") + "/"}, "given twice"},
		{"empty compare", nil, []string{emptyCompare}, "no runs yet"},
		{"compare run without metrics", func() { os.MkdirAll(badRun, 0o755) }, []string{dir}, "compare: runs/zz-broken: no metrics (not a run directory?)"},
	}
	for _, c := range cases {
		if c.setup != nil {
			c.setup()
		}
		_, err := Load(c.paths...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want one line containing %q", c.name, err, c.want)
		}
	}
}

// An unfinished run that has saved no checkpoint yet is skipped in a compare
// directory, with a note.
func TestLoadSkipsUnsaved(t *testing.T) {
	dir := makeFixture(t)
	os.Remove(filepath.Join(dir, RunsDir, "mhc-fixed-res-s1", train.ConfigFile))
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Runs) != len(fixture)-1 || len(set.Notes) != 1 || !strings.Contains(set.Notes[0], "runs/mhc-fixed-res-s1: skipped") {
		t.Errorf("%d runs, notes %q", len(set.Runs), set.Notes)
	}
}

func TestReport(t *testing.T) {
	dir := makeFixture(t)
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	sum, err := Report(out, set)
	if err != nil {
		t.Fatal(err)
	}

	// The summary's numbers.
	if len(sum.Rows) != 4 {
		t.Fatalf("%d rows", len(sum.Rows))
	}
	res, hc, mhc, fixed := sum.Rows[0], sum.Rows[1], sum.Rows[2], sum.Rows[3]
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %.12g, want %.12g", what, got, want)
		}
	}
	near("residual val loss", res.ValLoss.Mean, 1.51)
	near("residual CI", res.ValLoss.CI, 12.706204736174698*0.01)
	near("hc diff", hc.Diff.Mean, -0.025)
	near("hc diff CI", hc.Diff.CI, 12.706204736174698*0.005)
	near("mhc diff", mhc.Diff.Mean, -0.029)
	near("mhc diff CI", mhc.Diff.CI, 12.706204736174698*0.001)
	near("hc overhead", hc.Overhead, 10200.0/9200-1)
	if hc.Diff.Significant() || !mhc.Diff.Significant() {
		t.Errorf("significance: hc %v, mhc %v", hc.Diff.Significant(), mhc.Diff.Significant())
	}
	if fixed.Seeds != 0 || fixed.Unfinished != 1 || fixed.ValLoss.N != 0 || fixed.LastEval.N != 1 {
		t.Errorf("unfinished variant row: %+v", fixed)
	}
	if !math.IsNaN(res.MaxCompFwd) || !(hc.MaxCompFwd > 1.2) || math.Abs(mhc.MaxCompFwd-1) > 1e-9 {
		t.Errorf("max composite gains: residual %v, hc %v, mhc %v", res.MaxCompFwd, hc.MaxCompFwd, mhc.MaxCompFwd)
	}
	text := strings.Join(sum.Findings, "\n")
	for _, want := range []string{
		"hc vs residual (base init neox): Δ = -0.0250 ± 0.0635 nats/token (95 % CI over 2 paired seeds) includes 0: inside the noise, neither a win nor a loss.",
		"mhc vs residual (base init neox): Δ = -0.0290 ± 0.0127 nats/token (95 % CI over 2 paired seeds) excludes 0: significantly lower validation loss",
		"mhc fixed=res vs residual (base init neox): no seed finished in both",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("findings lack %q:\n%s", want, text)
		}
	}
	if !strings.Contains(strings.Join(sum.Notes, "\n"), "runs/mhc-fixed-res-s1 (mhc fixed=res, seed 1) is unfinished") {
		t.Errorf("notes: %q", sum.Notes)
	}
	var names []string
	for _, f := range sum.Figures {
		names = append(names, f.Name)
	}
	if strings.Join(names, " ") != strings.Join(wantFigures, " ") {
		t.Errorf("figures %q, want %q", names, wantFigures)
	}
	for _, f := range sum.Files {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}

	// report.md names every figure, and the files exist.
	md, err := os.ReadFile(filepath.Join(out, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range wantFigures {
		for _, ext := range []string{".png", ".svg"} {
			ref := "figures/" + name + ext
			if !bytes.Contains(md, []byte(ref)) {
				t.Errorf("report.md does not mention %s", ref)
			}
			if _, err := os.Stat(filepath.Join(out, ref)); err != nil {
				t.Error(err)
			}
		}
	}
	for _, want := range []string{"| hc | 2 | 61.4k | 1.4850 ± 0.0635 | -0.0250 ± 0.0635 (noise) |", "base init neox", "inside the noise"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}

	// Every SVG is well-formed XML with an <svg> root.
	for _, name := range wantFigures {
		checkSVG(t, filepath.Join(out, FiguresDir, name+".svg"))
	}

	// report.html: parse it and check figures, images and the table.
	page := parseHTML(t, filepath.Join(out, HTMLFile))
	for _, name := range wantFigures {
		if !page.ids["fig-"+name] {
			t.Errorf("report.html has no figure %s", name)
		}
	}
	if len(page.imgs) != len(wantFigures) {
		t.Errorf("%d <img>, want %d", len(page.imgs), len(wantFigures))
	}
	for _, src := range page.imgs {
		data, ok := strings.CutPrefix(src, "data:image/png;base64,")
		if !ok {
			t.Errorf("<img src=%.40q...>: not an embedded PNG", src)
			continue
		}
		b, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Fatal(err)
		}
		c, format, err := image.DecodeConfig(bytes.NewReader(b))
		if err != nil || format != "png" || c.Width < 600 || c.Width > 5000 || c.Height < 400 || c.Height > 5000 {
			t.Errorf("embedded image: %v %s %dx%d", err, format, c.Width, c.Height)
		}
	}
	for _, href := range page.links {
		if strings.Contains(href, "://") {
			t.Errorf("report.html links outside: %s", href)
		}
		checkSVG(t, filepath.Join(out, href))
	}
	if page.external {
		t.Error("report.html loads an external stylesheet or script")
	}
	if len(page.rows) != 1+len(sum.Rows) {
		t.Fatalf("results table: %d rows, want header + %d", len(page.rows), len(sum.Rows))
	}
	want := [][]string{
		{"variant", "seeds", "tokens", "final val loss ± 95% CI", "Δ vs baseline ± 95% CI"},
		{"residual", "2", "61.4k", "1.5100 ± 0.1271", "baseline (neox)"},
		{"hc", "2", "61.4k", "1.4850 ± 0.0635", "-0.0250 ± 0.0635 (noise)"},
		{"mhc", "2", "61.4k", "1.4810 ± 0.1398", "-0.0290 ± 0.0127 (significant)"},
		{"mhc fixed=res", "0 (+1 unfinished)", "—", "—", "—"},
	}
	for i, w := range want {
		if got := page.rows[i][:len(w)]; strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("table row %d = %q, want %q", i, got, w)
		}
	}
	if got := page.rows[2][8]; got != "+10.9 %" {
		t.Errorf("hc overhead cell %q", got)
	}
	if got := page.rows[3][5]; got != "1.00 / 1.00" {
		t.Errorf("mhc max gain cell %q", got)
	}

	// The text table.
	var b bytes.Buffer
	if err := sum.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "-0.0290 ± 0.0127 (significant)") || !strings.Contains(b.String(), "note: ") {
		t.Errorf("WriteText:\n%s", b.String())
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	root, texts := "", 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			if se.Name.Local == "text" {
				texts++
			}
		}
	}
	if root != "svg" || texts < 5 {
		t.Errorf("%s: root <%s>, %d texts", path, root, texts)
	}
}

// page is what the test reads from report.html.
type page struct {
	ids      map[string]bool
	imgs     []string   // src
	links    []string   // href
	rows     [][]string // the results table, header first
	external bool       // <link rel=stylesheet> or <script src>
}

// parseHTML reads report.html with encoding/xml in HTML mode (unclosed
// void elements and HTML entities allowed), so any tag soup that a browser
// would have to guess at fails here.
func parseHTML(t *testing.T, path string) page {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	p := page{ids: map[string]bool{}}
	inTable, inCell := false, false
	var cell strings.Builder
	var depth int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			attr := map[string]string{}
			for _, a := range tok.Attr {
				attr[a.Name.Local] = a.Value
			}
			if id := attr["id"]; id != "" {
				p.ids[id] = true
			}
			switch tok.Name.Local {
			case "img":
				p.imgs = append(p.imgs, attr["src"])
			case "a":
				p.links = append(p.links, attr["href"])
			case "link":
				p.external = true
			case "script":
				p.external = p.external || attr["src"] != ""
			case "table":
				inTable = attr["class"] == "results"
			case "tr":
				if inTable {
					p.rows = append(p.rows, nil)
				}
			case "td", "th":
				inCell = inTable
				cell.Reset()
			}
		case xml.EndElement:
			depth--
			switch tok.Name.Local {
			case "table":
				inTable = false
			case "td", "th":
				if inCell {
					p.rows[len(p.rows)-1] = append(p.rows[len(p.rows)-1], cell.String())
				}
				inCell = false
			}
		case xml.CharData:
			if inCell {
				cell.Write(tok)
			}
		}
	}
	if depth != 0 {
		t.Errorf("%s: %d unclosed elements", path, depth)
	}
	return p
}

// TestReportScreenshot renders the fixture's report.html with headless
// Chromium (scripts/screenshot-report.sh) and checks the picture: it
// decodes, is as wide as the window and tall, and is not blank.
func TestReportScreenshot(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	found := false
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if _, err := exec.LookPath(b); err == nil {
			found = true
		}
	}
	if !found {
		t.Skip("chromium not installed (apt-get install -y chromium): the report is not rendered")
	}
	set, err := Load(makeFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := Report(out, set); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(out, "report.png")
	cmd := exec.Command("../scripts/screenshot-report.sh", out, shot)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot-report.sh: %v\n%s", err, msg)
	}
	if keep := os.Getenv("MHC_KEEP_SCREENSHOT"); keep != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(keep, b, 0o644)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bd := img.Bounds()
	if bd.Dx() != 1280 || bd.Dy() < 3000 {
		t.Errorf("screenshot %dx%d, want 1280 wide and at least 3000 tall", bd.Dx(), bd.Dy())
	}
	colours := map[[3]uint32]bool{}
	dark := 0
	for y := bd.Min.Y; y < bd.Max.Y; y += 7 {
		for x := bd.Min.X; x < bd.Max.X; x += 5 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
			if r+g+b < 3*0x4000 {
				dark++
			}
		}
	}
	if len(colours) < 50 || dark < 100 {
		t.Errorf("screenshot looks blank: %d colours, %d dark samples", len(colours), dark)
	}
}
