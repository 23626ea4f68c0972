package train

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/model"
)

// Fuzz targets for everything mhc parses from a run directory. Run one with
//
//	go test ./train -run '^$' -fuzz '^FuzzParseConfig$' -fuzztime 5m -parallel 1
//
// Seeds: the f.Add calls below and testdata/fuzz/<target>/.

// FuzzParseConfig: config.json. An accepted config is valid, survives a
// JSON round trip, has a memory estimate that does not overflow, and — when
// small — builds a model whose parameter count is ParamCount.
func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"tiny", "small"} {
		b, _ := json.MarshalIndent(model.Presets[p].Config, "", "  ")
		f.Add(b)
	}
	f.Add([]byte(`{"vocab_size":256,"d_model":8,"n_layers":1,"n_heads":2,"mlp_hidden":4,"seq_len":4,"rope_theta":10000,"norm_eps":1e-5,` +
		`"conn":"mhc-lite","streams":3,"contract":"learned","sinkhorn_iters":2,"sinkhorn":"deepseek","conn_norm_eps":1e-6,"fixed":"pre,res"}`))
	f.Add([]byte(`{"vocab_size":2,"d_model":2,"n_layers":1,"n_heads":1,"mlp_hidden":1,"seq_len":2,"rope_theta":1,"norm_eps":1,"conn":"hc","streams":2,"contract":"mean","conn_norm_eps":1}`))
	f.Add([]byte(`{"d_model": 1e400}`))
	f.Add([]byte(`{"vocab_size":256,"d_model":8,"n_layers":1,"n_heads":2,"mlp_hidden":4,"seq_len":4,"rope_theta":1,"norm_eps":1,"conn":"MHC","streams":2,"contract":"sum","sinkhorn_iters":1,"sinkhorn":"paper","conn_norm_eps":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := parseConfig(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		again, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg2, err := parseConfig(again)
		if err != nil || !reflect.DeepEqual(cfg, cfg2) {
			t.Fatalf("round trip: %+v\n%+v (%v)", cfg, cfg2, err)
		}
		est := EstimateMemory(cfg, 1, true)
		if est.Total() <= 0 || est.Params <= 0 || est.Activations <= 0 {
			t.Fatalf("estimate %+v", est)
		}
		if est.Total()-est.Overhead < 4<<20 {
			m, err := model.New(cfg, 1)
			if err != nil {
				t.Fatalf("model.New of an accepted config: %v", err)
			}
			if got := int64(m.NumParams()); got != est.Params {
				t.Fatalf("ParamCount %d, model has %d", est.Params, got)
			}
		}
	})
}

// FuzzParseState: state.json. An accepted format 2 state checks out against
// its own checksum; re-encoding it gives a state that parses to the same
// values; checkState never panics.
func FuzzParseState(f *testing.F) {
	st := State{Format: FormatVersion, Step: 3, Tokenizer: "byte", Data: "gostd", Options: DefaultOptions(),
		Loader:     json.RawMessage(`{"mode":"random","batch":16,"seq":128,"tokens":1000,"seed":1,"rng":"cGNnOi/4fYInoP7SOFyxLlmZBBk=","pos":0,"steps":3}`),
		TokensSeen: 6144, Files: map[string]FileSum{ConfigFile: {378, "3c0c445b"}, ModelFile: {132368, "81b26b67"}, OptimizerFile: {264744, "f31c2d26"}}}
	b, _ := encodeState(st)
	f.Add(b)
	f.Add([]byte(`{"format":1,"step":300,"tokenizer":"gpt2","data":"x","options":{},"loader":null,"tokens_seen":0}`))
	f.Add([]byte(`{"format":2,"crc32c":"00000000"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseState(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		_ = checkState(st, 256, 128)
		if !st.Checksummed() {
			return
		}
		again, err := encodeState(st)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		st2, err := parseState(again)
		if err != nil {
			t.Fatalf("re-encoded state refused: %v\n%s", err, again)
		}
		var l1, l2 bytes.Buffer
		json.Compact(&l1, st.Loader)
		json.Compact(&l2, st2.Loader)
		st.Loader, st2.Loader, st.CRC32C, st2.CRC32C = nil, nil, "", ""
		if !reflect.DeepEqual(st, st2) || !bytes.Equal(l1.Bytes(), l2.Bytes()) {
			t.Fatalf("round trip changed the state:\n%+v\n%+v", st, st2)
		}
	})
}

// FuzzReadMetrics: metrics.jsonl, through ReadMetrics and DecodeJSON. What
// ReadMetrics accepts, written back record by record with Metrics.Write,
// reads back the same (NaN as NaN). OpenMetrics on any content cuts it
// after its last newline, and a record written then is the file's last
// line.
func FuzzReadMetrics(f *testing.F) {
	f.Add([]byte(`{"kind":"train","step":1,"loss":5.5,"lr":0.0002,"grad_norm":1.3,"tokens":2048,"tok_per_s":15000}
{"kind":"eval","step":1,"tokens":2048,"val_loss":null}
{"kind":"gains","step":1,"tokens":2048,"fwd":[1,null],"bwd":[1],"log_col":[0],"comp_fwd":[1],"comp_bwd":[1],"comp_log_col":[0],"max_comp_fwd":1,"max_comp_bwd":1,"max_comp_log_col":0,"h_res":[[0.5,0.5,0.5,0.5]]}
{"kind":"train","step":1,"loss":null,"lr":0,"grad_norm":0,"tokens":2048,"tok_per_s":0}
{"kind":"future","x":1}
{"kind":"train","step":2,"lo`))
	f.Add([]byte("\n\n{}\n"))
	f.Add([]byte(`{"kind":"gains","h_res":[[null]]}`))
	dir := f.TempDir() // reused: each fuzzing worker is a process of its own, running one input at a time
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, MetricsFile)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		lg, err := ReadMetrics(path)
		if err == nil {
			out := filepath.Join(dir, "again.jsonl")
			os.Remove(out)
			m, err := OpenMetrics(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range lg.Steps {
				m.Write(r)
			}
			for _, r := range lg.Evals {
				m.Write(r)
			}
			for _, r := range lg.Gains {
				m.Write(r)
			}
			m.Close()
			lg2, err := ReadMetrics(out)
			if err != nil {
				t.Fatalf("records read back refused: %v", err)
			}
			if !sameJSON(t, lg, lg2) {
				t.Fatalf("round trip changed the records")
			}
		} else if strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error %q", err)
		}

		m, err := OpenMetrics(path)
		if err != nil {
			t.Fatal(err)
		}
		rec := EvalRecord{Step: 7, Tokens: 9, ValLoss: math.NaN()}
		if err := m.Write(rec); err != nil {
			t.Fatal(err)
		}
		m.Close()
		after, _ := os.ReadFile(path)
		keep := 0
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			keep = i + 1
		}
		line := `{"kind":"eval","step":7,"tokens":9,"val_loss":null}` + "\n"
		if !bytes.Equal(after, append(b[:keep:keep], line...)) {
			t.Fatalf("OpenMetrics + Write gave %q", after)
		}

		for _, v := range []any{&StepRecord{}, &EvalRecord{}, &Gains{}} {
			if DecodeJSON(b, v) != nil {
				continue
			}
			enc, err := AppendJSON(nil, reflect.ValueOf(v).Elem().Interface())
			if err != nil {
				t.Fatalf("AppendJSON of a decoded %T: %v", v, err)
			}
			v2 := reflect.New(reflect.TypeOf(v).Elem()).Interface()
			if err := DecodeJSON(enc, v2); err != nil {
				t.Fatalf("DecodeJSON of AppendJSON output %s: %v", enc, err)
			}
			enc2, _ := AppendJSON(nil, reflect.ValueOf(v2).Elem().Interface())
			if !bytes.Equal(enc, enc2) {
				t.Fatalf("%T round trip: %s\n%s", v, enc, enc2)
			}
		}
	})
}

// sameJSON compares two logs record by record by their AppendJSON encoding
// (so NaN equals NaN).
func sameJSON(t *testing.T, a, b Log) bool {
	enc := func(lg Log) []byte {
		var out []byte
		var recs []Record
		for _, r := range lg.Steps {
			recs = append(recs, r)
		}
		for _, r := range lg.Evals {
			recs = append(recs, r)
		}
		for _, r := range lg.Gains {
			recs = append(recs, r)
		}
		for _, r := range recs {
			var err error
			if out, err = AppendJSON(append(out, '\n'), r); err != nil {
				t.Fatalf("AppendJSON: %v", err)
			}
		}
		return out
	}
	return bytes.Equal(enc(a), enc(b))
}
