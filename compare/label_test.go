package compare

import (
	"strings"
	"testing"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// cfg returns the tiny preset with connection conn (streams 4 for HC/mHC)
// changed by edit.
func cfg(conn string, edit func(*model.Config)) model.Config {
	c := model.Presets["tiny"].Config
	c.Kind = hyper.Kind(conn)
	if c.Kind != hyper.Residual {
		c.Streams = 4
	}
	if edit != nil {
		edit(&c)
	}
	return c
}

func TestDescribe(t *testing.T) {
	cases := []struct {
		cfg  model.Config
		want string
	}{
		{cfg("residual", nil), "residual base=neox std=0.02 d=128 L=4 heads=4 mlp=384 seq=128 vocab=256 rope=10000"},
		{cfg("mhc", nil), "mhc n=4 init=uniform contract=sum sinkhorn=paper iters=20 base=neox std=0.02 d=128 L=4 heads=4 mlp=384 seq=128 vocab=256 rope=10000"},
		{cfg("hc", func(c *model.Config) { c.Fixed.Res = true; c.Streams = 2; c.BaseInit = "torch"; c.Tie = true }),
			"hc n=2 fixed=res init=uniform contract=sum base=torch std=0.02 d=128 L=4 heads=4 mlp=384 seq=128 vocab=256 tie=true rope=10000"},
		{cfg("mhc-lite", func(c *model.Config) { c.Init = "identity"; c.ResBias = 3; c.Layers = 16 }),
			"mhc-lite n=4 init=identity res_bias=3 contract=sum base=neox std=0.02 d=128 L=16 heads=4 mlp=384 seq=128 vocab=256 rope=10000"},
		{cfg("mhc", func(c *model.Config) {
			c.SinkhornEps = 1e-6
			c.Sinkhorn = "deepseek"
			c.Fixed = hyper.Fixed{Pre: true, Post: true}
		}),
			"mhc n=4 fixed=pre,post init=uniform contract=sum sinkhorn=deepseek iters=20 sinkhorn_eps=1e-06 base=neox std=0.02 d=128 L=4 heads=4 mlp=384 seq=128 vocab=256 rope=10000"},
	}
	for _, c := range cases {
		if got := strings.Join(Describe(c.cfg), " "); got != c.want {
			t.Errorf("Describe =\n  %s\nwant\n  %s", got, c.want)
		}
	}
}

func TestLabels(t *testing.T) {
	set := func(f func(*model.Config)) func(*model.Config) { return f }
	cases := []struct {
		name string
		cfgs []model.Config
		want []string
	}{
		{"one", []model.Config{cfg("mhc", nil)}, []string{"mhc"}},
		{"conns", []model.Config{cfg("residual", nil), cfg("hc", nil), cfg("mhc", nil), cfg("mhc-lite", nil)},
			[]string{"residual", "hc", "mhc", "mhc-lite"}},
		{"seeds share a label", []model.Config{cfg("residual", nil), cfg("mhc", nil), cfg("residual", nil), cfg("mhc", nil)},
			[]string{"residual", "mhc", "residual", "mhc"}},
		{"ablation and inits", []model.Config{
			cfg("residual", nil), cfg("mhc", nil),
			cfg("mhc", set(func(c *model.Config) { c.Fixed.Res = true })),
			cfg("mhc", set(func(c *model.Config) { c.Init = "identity" })),
			cfg("mhc", set(func(c *model.Config) { c.Init = "uniform" })), // explicit default: same variant as "mhc"
		}, []string{"residual", "mhc", "mhc fixed=res", "mhc init=identity", "mhc"}},
		{"depth sweep", []model.Config{
			cfg("residual", nil), cfg("residual", set(func(c *model.Config) { c.Layers = 16 })),
			cfg("mhc", nil), cfg("mhc", set(func(c *model.Config) { c.Layers = 16 })),
		}, []string{"residual L=4", "residual L=16", "mhc L=4", "mhc L=16"}},
		{"base init", []model.Config{
			cfg("residual", nil), cfg("residual", set(func(c *model.Config) { c.BaseInit = "torch" })),
			cfg("mhc", set(func(c *model.Config) { c.BaseInit = "neox" })), // explicit default
		}, []string{"residual", "residual base=torch", "mhc"}},
		{"streams", []model.Config{cfg("residual", nil), cfg("mhc", set(func(c *model.Config) { c.Streams = 2 })), cfg("mhc", nil)},
			[]string{"residual", "mhc n=2", "mhc n=4"}},
		{"width: mlp follows d", []model.Config{cfg("hc", nil), cfg("hc", set(func(c *model.Config) { c.D = 256; c.MLPHidden = model.DefaultMLPHidden(256) }))},
			[]string{"hc d=128", "hc d=256"}},
	}
	for _, c := range cases {
		got := Labels(c.cfgs)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: Labels = %q, want %q", c.name, got, c.want)
		}
		// Order independence: reversed input, reversed output.
		rev := make([]model.Config, len(c.cfgs))
		for i := range c.cfgs {
			rev[len(rev)-1-i] = c.cfgs[i]
		}
		back := Labels(rev)
		for i := range got {
			if back[len(back)-1-i] != got[i] {
				t.Errorf("%s: Labels depends on the order: %q vs %q", c.name, back, got)
				break
			}
		}
	}
}
