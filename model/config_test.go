package model

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/mhc-go/mhc/hyper"
)

// config.json must not change when the Go struct layout does: the golden
// files were written by the engine before hyper.Config was embedded.
func TestConfigJSONGolden(t *testing.T) {
	mhc := Presets["tiny"].Config
	mhc.Layers, mhc.Kind, mhc.Streams = 1, hyper.MHC, 4
	mhc.Sinkhorn, mhc.SinkhornEps, mhc.ResBias = "deepseek", 1e-6, 2
	mhc.Fixed = hyper.Fixed{Pre: true, Res: true}
	res := Presets["tiny"].Config
	res.Layers = 1
	mhc.BaseInit, res.BaseInit = "", "" // the files predate base_init: "" is gpt2
	for _, tc := range []struct {
		file string
		cfg  Config
	}{
		{"testdata/config-mhc.golden.json", mhc},
		{"testdata/config-residual.golden.json", res},
	} {
		want, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.MarshalIndent(tc.cfg, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got = append(got, '\n'); !bytes.Equal(got, want) {
			t.Errorf("%s: config.json changed:\n got %s\nwant %s", tc.file, got, want)
		}
		var back Config
		if err := json.Unmarshal(want, &back); err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if back != tc.cfg {
			t.Errorf("%s: read back %+v, want %+v", tc.file, back, tc.cfg)
		}
	}
}

// --fixed lists read in any order and are written canonically; unknown
// names are refused.
func TestFixedText(t *testing.T) {
	var c Config
	if err := json.Unmarshal([]byte(`{"fixed": "res,pre"}`), &c); err != nil {
		t.Fatal(err)
	}
	if want := (hyper.Fixed{Pre: true, Res: true}); c.Fixed != want || c.Fixed.String() != "pre,res" {
		t.Errorf("fixed %+v (%q), want %+v", c.Fixed, c.Fixed, want)
	}
	if err := json.Unmarshal([]byte(`{"fixed": "pre,bogus"}`), &c); err == nil {
		t.Error("fixed \"pre,bogus\" accepted")
	}
}
