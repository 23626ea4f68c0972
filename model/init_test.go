package model

import (
	"math"
	"testing"
)

// TestBaseInits checks the spread of every weight under each base init
// scheme against its definition.
func TestBaseInits(t *testing.T) {
	type want struct {
		std     float64 // 0: uniform with bound
		bound   float64
		uniform bool
	}
	cfg := Presets["tiny"].Config // d 128, 4 layers, h 384
	d, L, h := 128.0, 4.0, 384.0
	for _, tc := range []struct {
		scheme string
		want   map[string]want
	}{
		{"", map[string]want{"wte.weight": {std: 0.02}, "blocks.0.attn.qkv.weight": {std: 0.02},
			"blocks.1.attn.out.weight": {std: 0.02 / math.Sqrt(2*L)}, "blocks.2.mlp.down.weight": {std: 0.02 / math.Sqrt(2*L)},
			"lm_head.weight": {std: 0.02}}},
		{BaseTorch, map[string]want{"wte.weight": {std: 1}, "blocks.0.attn.qkv.weight": {uniform: true, bound: 1 / math.Sqrt(d)},
			"blocks.3.mlp.down.weight": {uniform: true, bound: 1 / math.Sqrt(h)}, "lm_head.weight": {uniform: true, bound: 1 / math.Sqrt(d)}}},
		{BaseNeoX, map[string]want{"wte.weight": {std: math.Sqrt(2 / (5 * d))}, "blocks.0.mlp.gate_up.weight": {std: math.Sqrt(2 / (5 * d))},
			"blocks.0.attn.out.weight": {std: 2 / (L * math.Sqrt(d))}, "lm_head.weight": {std: math.Sqrt(2 / (5 * d))}}},
	} {
		c := cfg
		c.BaseInit = tc.scheme
		m, err := New(c, 1)
		if err != nil {
			t.Fatal(err)
		}
		m.Params.Initialize(7)
		for name, w := range tc.want {
			data := m.Params.Get(name).Data
			var ss, maxAbs float64
			for _, v := range data {
				ss += float64(v) * float64(v)
				maxAbs = max(maxAbs, math.Abs(float64(v)))
			}
			std := math.Sqrt(ss / float64(len(data)))
			if w.uniform {
				if maxAbs > w.bound || maxAbs < 0.99*w.bound || math.Abs(std-w.bound/math.Sqrt(3)) > 0.03*w.bound {
					t.Errorf("%q %s: max %v std %v, want U(±%v)", tc.scheme, name, maxAbs, std, w.bound)
				}
				continue
			}
			if math.Abs(std-w.std) > 0.03*w.std {
				t.Errorf("%q %s: std %v, want %v", tc.scheme, name, std, w.std)
			}
		}
		if got := m.Params.Get("norm_f.weight").Data[0]; got != 1 {
			t.Errorf("%q: norm weight %v, want 1", tc.scheme, got)
		}
	}
	bad := cfg
	bad.BaseInit = "xavier"
	if err := bad.Validate(); err == nil {
		t.Error("base_init xavier accepted")
	}
}
