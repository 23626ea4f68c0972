package cost

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// Table 5 of the mHC paper: total and active parameters of the 3B, 9B and
// 27B models, and the vocabulary parameters 2·V·C.
func TestPaperTable5(t *testing.T) {
	vocab := map[string]float64{"3b": 331e6, "9b": 496e6, "27b": 662e6}
	for _, name := range []string{"3b", "9b", "27b"} {
		a := Paper[name]
		p := a.Params()
		tot := float64(p.Residual)
		act := float64(p.Active - p.Connection - p.Contract)
		et, ea := tot/PaperTotal[name]-1, act/PaperActive[name]-1
		t.Logf("%s: total %s (%+.2f%%), active %s (%+.2f%%)", name, Human(tot), 100*et, Human(act), 100*ea)
		// The acceptance bound is 2 %; the documented assumptions give < 0.5 %.
		if math.Abs(et) > 0.005 || math.Abs(ea) > 0.005 {
			t.Errorf("%s: total %.4g (paper %.4g, %+.2f%%), active %.4g (paper %.4g, %+.2f%%): want within 0.5%%",
				name, tot, PaperTotal[name], 100*et, act, PaperActive[name], 100*ea)
		}
		if v := float64(p.Embedding + p.Head); math.Abs(v/vocab[name]-1) > 0.001 {
			t.Errorf("%s: vocab params %.4g, Table 5 %.4g", name, v, vocab[name])
		}
	}
}

// The mHC connection of the 27B model at n = 4: φ is nC × (n²+2n), plus the
// bias and three gates per sublayer, over 60 sublayers.
func TestPaperMHCParams(t *testing.T) {
	p := Paper["27b"].Params()
	const perSub = 4*2560*24 + 24 + 3 // 245,787
	if p.PerSublayer != perSub || p.Connection != 60*perSub || p.Total != p.Residual+60*perSub {
		t.Errorf("per sublayer %d (want %d), connection %d (want %d)", p.PerSublayer, perSub, p.Connection, 60*perSub)
	}
}

// Hand-computed counts for the tiny preset (V 256, C 128, 4 blocks, SwiGLU
// 384): embedding and head 2·256·128 = 65,536; per block 2C norms + 4C²
// attention + 3·C·384 MLP = 256 + 65,536 + 147,456 = 213,248; final norm
// 128. Residual: 65,536 + 4·213,248 + 128 = 918,656.
func TestTinyByHand(t *testing.T) {
	tiny, err := Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		kind     hyper.Kind
		n        int
		contract string
		want     int64
	}{
		{hyper.Residual, 1, "sum", 918656},
		// + 8 sublayers × (512·24 + 24 + 3) = 8 × 12,315.
		{hyper.MHC, 4, "sum", 918656 + 8*12315},
		// + 8 × (128·6 + 4·6 + 2) = 8 × 794.
		{hyper.HC, 4, "sum", 918656 + 8*794},
		// mhc-lite n = 3: P = 6 + 3! = 12: 8 × (384·12 + 12 + 3); learned head 3·384 + 3 + 1.
		{hyper.MHCLite, 3, "learned", 918656 + 8*(384*12+15) + 3*384 + 4},
	}
	for _, c := range cases {
		a := tiny
		a.Conn.Kind, a.Conn.Streams, a.Conn.Contract = c.kind, c.n, c.contract
		if got := a.Params().Total; got != c.want {
			t.Errorf("tiny %s n=%d %s: %d parameters, want %d", c.kind, c.n, c.contract, got, c.want)
		}
	}
}

// For the engine's presets the predicted count is the engine's, exactly,
// for every connection, tied or untied, with a sum or learned contraction.
func TestEngineParamsExact(t *testing.T) {
	type conn struct {
		kind hyper.Kind
		n    int
	}
	conns := []conn{{hyper.Residual, 1}, {hyper.HC, 4}, {hyper.MHC, 4}, {hyper.MHCLite, 4}}
	for _, preset := range []string{"tiny", "small", "base"} {
		cs := conns
		if preset == "tiny" { // other stream counts once (model.New takes ~50 ms)
			cs = append(cs, conn{hyper.HC, 2}, conn{hyper.MHC, 2}, conn{hyper.MHCLite, 3})
		}
		for _, c := range cs {
			for _, tie := range []bool{false, true} {
				for _, contract := range []string{"sum", "learned"} {
					cfg := model.Presets[preset].Config
					cfg.Kind, cfg.Streams, cfg.Tie, cfg.Contract = c.kind, c.n, tie, contract
					m, err := model.New(cfg, 1)
					if err != nil {
						t.Fatal(err)
					}
					p := FromModel(cfg, 1).Params()
					if p.Total != int64(m.NumParams()) {
						t.Errorf("%s %s n=%d tie=%v %s: predicted %d, engine %d", preset, c.kind, c.n, tie, contract, p.Total, m.NumParams())
					}
					// Dense: every weight but the embedding lookup is active (the tied matrix is the head).
					wantActive := p.Total - p.Embedding
					if tie {
						wantActive = p.Total
					}
					if p.Active != wantActive {
						t.Errorf("%s %s tie=%v: active %d, want %d", preset, c.kind, tie, p.Active, wantActive)
					}
				}
			}
		}
	}
}

// The roofline's matrix and attention FLOPs are model.Config.FLOPsPerToken's
// (6 per matrix parameter plus attention's full T×T square, three passes).
func TestEngineFLOPs(t *testing.T) {
	gemm := map[string]bool{"attn.qkv": true, "attn.out": true, "ffn.gate_up": true, "ffn.down": true, "lm_head": true}
	for _, preset := range []string{"tiny", "small", "base"} {
		cfg := model.Presets[preset].Config
		a := FromModel(cfg, 16)
		var f float64
		for _, o := range a.Ops(Variant{}) {
			switch {
			case gemm[o.Name]:
				f += o.Count * o.Passes * o.FLOPs
			case o.Name == "attn.core": // less the softmax's 5 per score, (T+1)/2 scores per head (causal)
				f += o.Count * o.Passes * (o.FLOPs - 5*float64(cfg.Heads)*float64(cfg.Seq+1)/2)
			}
		}
		if want := cfg.FLOPsPerToken(); math.Abs(f/want-1) > 1e-12 {
			t.Errorf("%s: matrix+attention FLOPs %.6g, model says %.6g", preset, f, want)
		}
	}
}

// Table 2: HC's I/O totals, summed here from its five kernels, and the
// fused F_post,res kernel's (n+1)C reads and nC writes.
func TestConnIO(t *testing.T) {
	for _, n := range []int{1, 2, 4, 8} {
		for _, c := range []int{128, 2560} {
			N, C := int64(n), int64(c)
			// compute maps, apply pre, apply post, apply res, merge
			read := N*C + (N*C + N) + (C + N) + (N*C + N*N) + 2*N*C
			write := (N*N + 2*N) + C + N*C + N*C + N*C
			u := ConnIO(hyper.MHC, n, c, false)
			if u.Read != read || u.Write != write || u.Read != (5*N+1)*C+N*N+2*N || u.Write != (3*N+1)*C+N*N+2*N {
				t.Errorf("n=%d C=%d: unfused %d/%d, want %d/%d", n, c, u.Read, u.Write, read, write)
			}
			// Fused: maps and pre as before, then post+res reads (n+1)C + n² + n, writes nC.
			fr := N*C + (N*C + N) + ((N+1)*C + N*N + N)
			fw := (N*N + 2*N) + C + N*C
			if f := ConnIO(hyper.HC, n, c, true); f.Read != fr || f.Write != fw {
				t.Errorf("n=%d C=%d: fused %d/%d, want %d/%d", n, c, f.Read, f.Write, fr, fw)
			}
		}
	}
	// n = 4: 21C + 24 read and 13C + 24 written, against 2C and C.
	if u := ConnIO(hyper.MHC, 4, 1000, false); u.Read != 21024 || u.Write != 13024 {
		t.Errorf("n=4: %+v", u)
	}
	if r := ConnIO(hyper.Residual, 1, 1000, false); r.Read != 2000 || r.Write != 1000 {
		t.Errorf("residual: %+v", r)
	}
}

// L_r* = argmin n⌈L/L_r⌉ + (n+2)·L_r: the paper's n = 4, L = 60 case (≈ √40
// = 6.3 → 6, 76C), hand-computed cases, and pipeline-aligned blocks.
func TestOptimalRecompute(t *testing.T) {
	cases := []struct {
		name   string
		n      int
		stages []int
		lr     int
		obj    float64
	}{
		{"paper n=4 L=60", 4, []int{60}, 6, 76},
		// n=1, L=8: Lr=1: 8+3=11, 2: 4+6=10, 3: 3+9=12 → 2.
		{"n=1 L=8", 1, []int{8}, 2, 10},
		// n=4, L=16: Lr=3: 24+18=42, 4: 16+24=40, 5: 16+30=46 → 4.
		{"n=4 L=16", 4, []int{16}, 4, 40},
		// 30 blocks in 5 stages of 12 sublayers: Lr=6: 5·4·2+36 = 76; Lr=4: 60+24 = 84; Lr=12: 20+72 = 92.
		{"27b 5 stages", 4, []int{12, 12, 12, 12, 12}, 6, 76},
		// 30 blocks in 4 stages (16,16,14,14): Lr=7: 4·10+42 = 82; Lr=8: 4·8+48 = 80; Lr=9: 32+54 = 86.
		{"27b 4 stages", 4, []int{16, 16, 14, 14}, 8, 80},
	}
	for _, c := range cases {
		r := OptimalRecompute(c.n, c.stages)
		if r.Lr != c.lr || r.Objective != c.obj {
			t.Errorf("%s: Lr %d objective %v, want %d and %v", c.name, r.Lr, r.Objective, c.lr, c.obj)
		}
	}
	r := OptimalRecompute(4, []int{60})
	if r.Blocks != 10 || r.Resident != 100 || r.Transient != 36 || r.Peak != 136 || math.Abs(r.Approx-math.Sqrt(40)) > 1e-12 {
		t.Errorf("paper plan: %+v", r)
	}
	st, err := StageSublayers(30, 4)
	if err != nil || !reflect.DeepEqual(st, []int{16, 16, 14, 14}) {
		t.Errorf("StageSublayers(30, 4) = %v, %v", st, err)
	}
	if _, err := StageSublayers(30, 31); err == nil {
		t.Error("31 stages of 30 blocks: no error")
	}
}

// The α–β ring all-reduce: 2(N−1)/N · bytes/β + 2(N−1)·α.
func TestRingAllReduce(t *testing.T) {
	cases := []struct {
		bytes   float64
		workers int
		alpha   float64
		beta    float64
		want    float64
	}{
		{1e9, 1, 1e-5, 1e10, 0},
		{1e9, 2, 1e-5, 1e10, 0.1 + 2e-5},     // 2·1/2 · 0.1 s + 2·1·α
		{1e9, 8, 1e-5, 1e10, 0.175 + 14e-5},  // 2·7/8 · 0.1 s + 14·α
		{0, 8, 1e-5, 1e10, 0},                // nothing to reduce
		{4e6, 4, 5e-6, 50e9, 1.2e-4 + 30e-6}, // 1.5 · 4e6 / 50e9 = 120 µs, 6 · 5 µs
	}
	for _, c := range cases {
		if got := RingAllReduce(c.bytes, c.workers, c.alpha, c.beta); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("RingAllReduce(%g, %d, %g, %g) = %g, want %g", c.bytes, c.workers, c.alpha, c.beta, got, c.want)
		}
	}
	dp := DataParallelScaling(10, 1e9, 4, Device{LinkBW: 1e10, LinkLatency: 0}, []int{1, 4})
	// 4 GB of gradients over 4 workers: 1.5·4e9/1e10 = 0.6 s; compute 10/4 s.
	if dp[0].Step != 10 || dp[0].Efficiency != 1 || math.Abs(dp[1].Step-3.1) > 1e-12 || math.Abs(dp[1].Efficiency-10/(4*3.1)) > 1e-12 {
		t.Errorf("scaling: %+v", dp)
	}
}

// Pipeline traffic per boundary and micro-batch is MicroTokens·n·C·bytes:
// n× the residual model's.
func TestPipeline(t *testing.T) {
	a := Paper["27b"]
	p := a.PipelineTraffic(4, H200)
	if p.BytesEach != 4096*4*2560*2 || p.ResidualBy != 4096*2560*2 {
		t.Errorf("27b: %+v", p)
	}
	// 1280 micro-batches of one sequence, 3 boundaries, both directions.
	if p.PerStep != 2*3*1280*p.BytesEach {
		t.Errorf("per step %g", p.PerStep)
	}
}

// Roofline invariants: recomputation runs each connection kernel once more
// (4 passes instead of 3); fusing removes traffic; the residual baseline has
// zero overhead; a device with unbounded bandwidth is compute-bound.
func TestRoofline(t *testing.T) {
	a := Paper["27b"]
	part := func(s StepTime, name string) PartTime {
		for _, p := range s.Parts {
			if p.Part == name {
				return p
			}
		}
		t.Fatalf("no part %s", name)
		return PartTime{}
	}
	fused := a.Roofline(H200, Variant{Fused: true})
	rec := a.Roofline(H200, Variant{Fused: true, Recompute: true})
	unf := a.Roofline(H200, Variant{})
	cf, cr, cu := part(fused, PartConnection), part(rec, PartConnection), part(unf, PartConnection)
	if math.Abs(cr.Seconds/cf.Seconds-4.0/3) > 1e-12 || math.Abs(cr.Bytes/cf.Bytes-4.0/3) > 1e-12 {
		t.Errorf("recompute: %g / %g s", cr.Seconds, cf.Seconds)
	}
	if !(cu.Bytes > cf.Bytes && cu.Seconds > cf.Seconds) {
		t.Errorf("fusion saves nothing: unfused %g B %g s, fused %g B %g s", cu.Bytes, cu.Seconds, cf.Bytes, cf.Seconds)
	}
	// Connection bytes per token: 60 sublayers × 3 passes × (I/O at 2 bytes
	// + coefficients at 4 bytes + φ read once per 4096-token micro-batch).
	const C, n = 2560, 4
	fwd := float64((3*n+1)*C+(n+1)*C)*2 + float64(n*n+2*n+n+n*n+n)*4 + 24*n*C*4/4096.0
	if want := 60 * 3 * fwd; math.Abs(cf.Bytes/want-1) > 1e-12 {
		t.Errorf("fused connection bytes %g, want %g", cf.Bytes, want)
	}
	if cf.Bound != "memory" || part(fused, PartFFN).Bound != "compute" {
		t.Errorf("27b on h200: connection %s-bound, ffn %s-bound", cf.Bound, part(fused, PartFFN).Bound)
	}
	var sum float64
	for _, p := range fused.Parts {
		sum += p.Seconds
	}
	if math.Abs(sum/fused.PerToken-1) > 1e-12 || math.Abs(fused.Step/(fused.PerToken*1280*4096)-1) > 1e-12 {
		t.Errorf("parts %g s, per token %g s, step %g s", sum, fused.PerToken, fused.Step)
	}
	fast := H200
	fast.MemBW = math.Inf(1)
	for _, p := range a.Roofline(fast, Variant{}).Parts {
		if p.Bound != "compute" {
			t.Errorf("infinite bandwidth: %s is %s-bound", p.Part, p.Bound)
		}
	}
	r, err := Plan(a, H200, Options{Workers: []int{8}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Steps[0].Name != "residual" || r.Steps[0].Overhead != 0 || r.Steps[r.Selected].Variant != (Variant{Fused: true, Recompute: true}) {
		t.Errorf("steps: %+v, selected %d", r.Steps, r.Selected)
	}
	if r.FLOPs.ConnShare <= 0 || r.FLOPs.ConnShare >= 0.05 {
		t.Errorf("mHC FLOP share %g: want a small positive fraction", r.FLOPs.ConnShare)
	}
}

// Configuration files: the Arch schema and an mhc config.json; malformed,
// unknown or invalid content is an error.
func TestParse(t *testing.T) {
	b, _ := json.Marshal(Paper["27b"])
	a, err := Parse(b, 1)
	if err != nil || !reflect.DeepEqual(a, Paper["27b"]) {
		t.Fatalf("round trip: %v\n%+v", err, a)
	}
	cfg := model.Presets["small"].Config
	cfg.Kind, cfg.Streams = hyper.MHC, 4
	b, _ = json.Marshal(cfg)
	a, err = Parse(b, 8)
	if err != nil || !reflect.DeepEqual(a, FromModel(cfg, 8)) {
		t.Fatalf("model config: %v\n%+v", err, a)
	}
	bad := []struct{ name, json, want string }{
		{"not json", `{"attention": `, "JSON object"},
		{"array", `[1, 2]`, "JSON object"},
		{"neither", `{"d_model": 4}`, "neither"},
		{"unknown field", strings.Replace(string(mustJSON(Paper["3b"])), `"vocab_size"`, `"vocab":1,"vocab_size"`, 1), "vocab"},
		{"bad streams", strings.Replace(string(mustJSON(Paper["3b"])), `"streams":4`, `"streams":0`, 1), "conn.streams"},
		{"bad kind", strings.Replace(string(mustJSON(Paper["3b"])), `"mla"`, `"gqa"`, 1), "attention.kind"},
		{"moe active", strings.Replace(string(mustJSON(Paper["3b"])), `"active":6`, `"active":65`, 1), "active"},
		{"model invalid", strings.Replace(string(mustJSON(cfg)), `"n_heads":4`, `"n_heads":3`, 1), "divisible"},
	}
	for _, c := range bad {
		if _, err := Parse([]byte(c.json), 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.want)
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestHuman(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want string
	}{{27.03e9, "27.0 B"}, {4.124e9, "4.12 B"}, {612e6, "612 M"}, {14.74e6, "14.7 M"}, {999, "999"}, {1.5e12, "1.50 T"}} {
		if got := Human(c.x); got != c.want {
			t.Errorf("Human(%g) = %q, want %q", c.x, got, c.want)
		}
	}
}

// The bandwidth probe returns a positive, finite rate (its value is the
// machine's; nothing here times anything).
func TestMemoryBandwidth(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 128 MiB")
	}
	if bw := MemoryBandwidth(2); !(bw > 0) || math.IsInf(bw, 0) {
		t.Errorf("bandwidth %g", bw)
	}
}
