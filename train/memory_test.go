package train

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/model"
)

// memoryConfigs are small configurations of every connection kind and
// option that changes the parameter layout or the buffers.
func memoryConfigs(t *testing.T) map[string]model.Config {
	t.Helper()
	base := smallConfig()
	out := map[string]model.Config{"residual": base}
	tied := base
	tied.Tie = true
	out["residual tied"] = tied
	for _, k := range []hyper.Kind{hyper.HC, hyper.MHC, hyper.MHCLite} {
		for _, contract := range []string{"sum", "learned"} {
			for _, n := range []int{2, 4} {
				c := base
				c.Kind, c.Streams, c.Contract = k, n, contract
				out[fmt.Sprintf("%s n=%d %s", k, n, contract)] = c
			}
		}
	}
	fixed := base
	fixed.Kind, fixed.Streams = hyper.MHC, 3
	if err := fixed.Fixed.UnmarshalText([]byte("pre,res")); err != nil {
		t.Fatal(err)
	}
	out["mhc fixed pre,res"] = fixed
	learned1 := base
	learned1.Contract = "learned"
	out["residual learned"] = learned1
	long := base // several causal attention row blocks, the last one short
	long.Seq = 2*model.AttnRowBlock + 9
	out["residual long"] = long
	for _, rc := range []int{1, 2, 3} { // recomputation: 3 blocks (6 sublayers)
		for _, k := range []hyper.Kind{hyper.Residual, hyper.MHC} {
			for _, scope := range []string{model.RecomputeAll, model.RecomputeStreams} {
				c := long
				c.Layers, c.Recompute, c.RecomputeScope = 3, rc, scope
				if k == hyper.MHC {
					c.Kind, c.Streams = k, 4
				}
				out[fmt.Sprintf("%s recompute %d %s", k, rc, scope)] = c
			}
		}
	}
	for name, c := range out {
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return out
}

// ParamCount agrees with the model that model.New builds, and the estimate
// of the buffers agrees with what model.New and NewAdamW really allocate:
// exactly in how it grows with the batch (the activations), and without
// over-counting in total (per-chunk scratch that does not grow with the
// model or the batch is left to the fixed overhead).
func TestEstimateMemory(t *testing.T) {
	alloc := func(cfg model.Config, batch int) (int64, *model.Model) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m, err := model.New(cfg, batch)
		if err != nil {
			t.Fatal(err)
		}
		opt := NewAdamW(m.Params, 0.9, 0.95, 1e-8, 0.1)
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(opt)
		return int64(after.TotalAlloc - before.TotalAlloc), m
	}
	for name, cfg := range memoryConfigs(t) {
		a1, m := alloc(cfg, 1)
		a5, _ := alloc(cfg, 5)
		if got, want := ParamCount(cfg), int64(m.NumParams()); got != want {
			t.Errorf("%s: ParamCount %d, model has %d", name, got, want)
		}
		e1, e5 := EstimateMemory(cfg, 1, true), EstimateMemory(cfg, 5, true)
		if d, want := e5.Activations-e1.Activations, a5-a1; math.Abs(float64(d-want)) > 0.03*float64(want) {
			t.Errorf("%s: activations grow by %d bytes from batch 1 to 5, model.New's by %d", name, d, want)
		}
		if buffers := e5.Total() - e5.Overhead; float64(buffers) > 1.02*float64(a5) {
			t.Errorf("%s: estimated %d bytes of buffers, model.New and NewAdamW allocated only %d", name, buffers, a5)
		}
		if e1.Optimizer != 2*e1.Weights || e1.Grads != e1.Weights || e1.Weights != 4*e1.Params {
			t.Errorf("%s: inconsistent parts %+v", name, e1)
		}
		if inf := EstimateMemory(cfg, 1, false); inf.Optimizer != 0 || inf.Total() != e1.Total()-e1.Optimizer {
			t.Errorf("%s: inference estimate %+v vs training %+v", name, inf, e1)
		}
	}
}

// Absurd sizes saturate instead of overflowing, and are refused with one
// line that gives the estimate and the memory available.
func TestCheckMemory(t *testing.T) {
	huge := model.Presets["tiny"].Config
	huge.D, huge.Layers, huge.MLPHidden = 16384, 64, model.DefaultMLPHidden(16384)
	wide := model.Presets["tiny"].Config
	cases := []struct {
		name  string
		cfg   model.Config
		batch int
		want  string
	}{
		{"d_model 16384, 64 layers", huge, 16, "d_model 16384, 64 layers"},
		{"batch 10^7", wide, 10_000_000, "batch 10000000"},
		{"batch 2^62", wide, 1 << 62, "batch 4611686018427387904"},
	}
	for _, c := range cases {
		est := EstimateMemory(c.cfg, c.batch, true)
		if est.Total() <= 0 || est.Activations < 0 {
			t.Errorf("%s: estimate overflowed: %+v", c.name, est)
		}
		err := CheckMemory(c.cfg, c.batch, true)
		var me *MemoryError
		if !errors.As(err, &me) {
			t.Fatalf("%s: CheckMemory = %v, want a *MemoryError", c.name, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, "available") || strings.Contains(msg, "\n") {
			t.Errorf("%s: %q", c.name, msg)
		}
	}
	if err := CheckMemory(smallConfig(), 4, true); err != nil {
		t.Errorf("a tiny model refused: %v", err)
	}
	if got := EstimateMemory(huge, 16, true).Params; got < 200e9 {
		t.Errorf("d_model 16384 × 64 layers: %d parameters, want over 200 G", got)
	}
}

// AvailableMemory reads MemAvailable and the tightest cgroup limit.
func TestAvailableMemory(t *testing.T) {
	write := func(root string, files map[string]string) {
		for name, body := range files {
			p := filepath.Join(root, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	meminfo := "MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\n"
	cases := []struct {
		name    string
		files   map[string]string
		want    int64
		wantSrc string
	}{
		{"no cgroup limit", map[string]string{
			"proc/meminfo":                        meminfo,
			"proc/self/cgroup":                    "0::/user.slice\n",
			"sys/fs/cgroup/user.slice/memory.max": "max\n",
		}, 20000000 * 1024, "MemAvailable"},
		{"cgroup v2 limit", map[string]string{
			"proc/meminfo":                     meminfo,
			"proc/self/cgroup":                 "0::/a/b\n",
			"sys/fs/cgroup/a/b/memory.max":     "4294967296\n",
			"sys/fs/cgroup/a/b/memory.current": "1073741824\n",
			"sys/fs/cgroup/a/b/memory.stat":    "anon 100\ninactive_file 536870912\n",
			"sys/fs/cgroup/a/memory.max":       "max\n",
		}, 4294967296 - 1073741824 + 536870912, "a/b/memory.max"},
		{"cgroup v2 parent is tighter", map[string]string{
			"proc/meminfo":                     meminfo,
			"proc/self/cgroup":                 "0::/a/b\n",
			"sys/fs/cgroup/a/b/memory.max":     "4294967296\n",
			"sys/fs/cgroup/a/memory.max":       "2147483648\n",
			"sys/fs/cgroup/a/memory.current":   "2000000000\n",
			"sys/fs/cgroup/a/b/memory.current": "100\n",
		}, 2147483648 - 2000000000, "a/memory.max"},
		{"cgroup v1 limit, namespaced mount", map[string]string{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824\n",
			"sys/fs/cgroup/memory/memory.usage_in_bytes": "73741824\n",
			"sys/fs/cgroup/memory/memory.stat":           "cache 5\ntotal_inactive_file 1000\n",
		}, 1073741824 - 73741824 + 1000, "memory.limit_in_bytes"},
		{"cgroup v1 unlimited", map[string]string{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": "4:memory:/x\n",
			"sys/fs/cgroup/memory/x/memory.limit_in_bytes": "9223372036854771712\n",
			"sys/fs/cgroup/memory/x/memory.usage_in_bytes": "7503872\n",
		}, 20000000 * 1024, "MemAvailable"},
		{"cgroup over its limit", map[string]string{
			"proc/meminfo":                 meminfo,
			"proc/self/cgroup":             "0::/\n",
			"sys/fs/cgroup/memory.max":     "1000\n",
			"sys/fs/cgroup/memory.current": "5000\n",
			"sys/fs/cgroup/memory.stat":    "inactive_file 0\n",
		}, 0, "memory.max"},
	}
	for _, c := range cases {
		root := t.TempDir()
		write(root, c.files)
		got, src, err := availableMemory(root)
		if err != nil || got != c.want || !strings.Contains(src, c.wantSrc) {
			t.Errorf("%s: %d from %q (%v), want %d from %q", c.name, got, src, err, c.want, c.wantSrc)
		}
	}
	if _, _, err := availableMemory(t.TempDir()); err == nil {
		t.Error("no meminfo: no error")
	}
	// The real machine: some memory, from a named source.
	if got, src, err := AvailableMemory(); err != nil || got <= 0 || src == "" {
		t.Errorf("AvailableMemory() = %d, %q, %v", got, src, err)
	}
}

func TestFormatBytes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{22 << 30, "22.0 GiB"}, {3 << 50, "3.0 PiB"}, {math.MaxInt64, "8.0 EiB"},
	}
	for _, c := range cases {
		if got := FormatBytes(c.n); got != c.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
