package compare

import (
	"strconv"
	"strings"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// part is one key=value of a variant's description. def marks the value a
// config has when the option is not set (Labels leaves those out); hidden
// marks an "off" default that Describe does not list at all.
type part struct {
	key, val    string
	def, hidden bool
}

func (p part) String() string {
	if p.key == "" {
		return p.val
	}
	return p.key + "=" + p.val
}

// parts is the ordered description of cfg. The first part is the
// connection, with no key.
func parts(cfg model.Config) []part {
	f32 := func(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }
	ps := []part{{val: string(cfg.Kind)}}
	add := func(key, val string, def bool) { ps = append(ps, part{key: key, val: val, def: def}) }
	off := func(key, val string, isOff bool) {
		ps = append(ps, part{key: key, val: val, def: isOff, hidden: isOff})
	}
	if cfg.Kind != hyper.Residual {
		add("n", strconv.Itoa(cfg.Streams), false)
		fixed := cfg.Fixed.String()
		if fixed == "" {
			fixed = "none"
		}
		off("fixed", fixed, fixed == "none")
		add("init", cfg.InitScheme(), cfg.InitScheme() == hyper.InitUniform)
		off("res_bias", f32(cfg.ResBias), cfg.ResBias == 0)
		add("contract", cfg.Contract, cfg.Contract == "sum" || cfg.Contract == "")
		if cfg.Kind == hyper.MHC {
			add("sinkhorn", cfg.Sinkhorn, cfg.Sinkhorn == "paper" || cfg.Sinkhorn == "")
			add("iters", strconv.Itoa(cfg.SinkhornIters), cfg.SinkhornIters == 20)
			off("sinkhorn_eps", f32(cfg.SinkhornEps), cfg.SinkhornEps == 0)
		}
	}
	base := cfg.BaseInit
	if base == "" {
		base = model.BaseGPT2
	}
	add("base", base, base == model.DefaultBaseInit)
	add("std", f32(cfg.InitStd), cfg.InitStd == 0.02)
	add("d", strconv.Itoa(cfg.D), false)
	add("L", strconv.Itoa(cfg.Layers), false)
	add("heads", strconv.Itoa(cfg.Heads), false)
	add("mlp", strconv.Itoa(cfg.MLPHidden), cfg.MLPHidden == model.DefaultMLPHidden(cfg.D))
	add("seq", strconv.Itoa(cfg.Seq), false)
	add("vocab", strconv.Itoa(cfg.Vocab), false)
	off("tie", "true", !cfg.Tie)
	if !cfg.Tie {
		ps[len(ps)-1].val = "false"
	}
	add("rope", strconv.FormatFloat(cfg.RopeTheta, 'g', -1, 64), cfg.RopeTheta == 10000)
	return ps
}

// Describe lists what identifies cfg as a variant, in a fixed order: the
// connection name first ("residual", "hc", "mhc", "mhc-lite"), then for
// HC/mHC "n=STREAMS", "fixed=MAPS" (only when some are fixed), "init=SCHEME",
// "res_bias=B" (only when non-zero), "contract=C", for mHC
// "sinkhorn=ORDER", "iters=T" and "sinkhorn_eps=E" (only when non-zero);
// then for every connection "base=INIT" (the base init, "gpt2" when
// config.json has none), "std=INIT_STD", "d=D", "L=LAYERS", "heads=H",
// "mlp=HIDDEN", "seq=T", "vocab=V", "tie=true" (only when tied) and
// "rope=THETA". For example
//
//	mhc n=4 init=uniform contract=sum sinkhorn=paper iters=20 base=gpt2 std=0.02 d=128 L=4 heads=4 mlp=384 seq=128 vocab=256 rope=10000
func Describe(cfg model.Config) []string {
	var out []string
	for _, p := range parts(cfg) {
		if !p.hidden {
			out = append(out, p.String())
		}
	}
	return out
}

// Labels gives each config a short label: its connection name plus the
// parts of Describe that vary across cfgs, in Describe's order, leaving out
// values that are the option's default (init=uniform, base=gpt2, no fixed
// maps, contract=sum, ...). A part varies when two configs to which it
// applies (n, init, fixed... apply to HC and mHC only) have different
// values. Examples: "residual", "mhc", "mhc fixed=res", "mhc init=identity",
// "residual L=16", "hc n=2". Configs that differ in some part of Describe
// get different labels; equal configs (seeds of one variant) get equal
// ones. Labels is deterministic and depends only on the set of configs,
// not their order.
func Labels(cfgs []model.Config) []string {
	all := make([][]part, len(cfgs))
	vals := map[string]map[string]bool{}
	for i, c := range cfgs {
		all[i] = parts(c)
		for _, p := range all[i][1:] {
			if vals[p.key] == nil {
				vals[p.key] = map[string]bool{}
			}
			vals[p.key][p.val] = true
		}
	}
	out := make([]string, len(cfgs))
	for i, ps := range all {
		words := []string{ps[0].val}
		for _, p := range ps[1:] {
			if len(vals[p.key]) > 1 && !p.def {
				words = append(words, p.String())
			}
		}
		out[i] = strings.Join(words, " ")
	}
	return out
}
