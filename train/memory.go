package train

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/mhc-go/mhc/hyper"
	"github.com/mhc-go/mhc/kernels"
	"github.com/mhc-go/mhc/model"
)

// ParamCount returns the number of trainable parameters of the model that
// model.New(cfg, ·) builds (its NumParams), computed from cfg alone, without
// allocating anything. cfg must be valid (cfg.Validate). The count is exact
// below 2^53 and saturates at math.MaxInt64 for absurd sizes instead of
// overflowing.
func ParamCount(cfg model.Config) int64 {
	C, V, L, n, h := float64(cfg.D), float64(cfg.Vocab), float64(cfg.Layers), float64(cfg.Streams), float64(cfg.MLPHidden)
	perBlock := C + 3*C*C + C*C + C + 2*h*C + h*C // attention (norm, qkv, out) and MLP (norm, gate_up, down)
	perBlock += 2 * connParams(cfg)
	total := V*C + L*perBlock + C // wte, blocks, norm_f
	if !cfg.Tie {
		total += V * C // lm_head
	}
	if cfg.Contract == "learned" {
		total += n*n*C + n + 1 // head_conn.fn, base, scale
	}
	return sat(total)
}

// connParams is the parameter count of one sublayer's connection.
func connParams(cfg model.Config) float64 {
	C, n := float64(cfg.D), float64(cfg.Streams)
	switch cfg.Kind {
	case hyper.HC: // static_alpha, static_beta, dynamic_alpha, dynamic_beta, scale_alpha, scale_beta
		return n*(n+1) + n + C*(n+1) + C + 2
	case hyper.MHC, hyper.MHCLite: // phi, alpha, bias
		p := 2*n + connResLogits(cfg)
		return p*n*C + 3 + p
	}
	return 0
}

// connResLogits is R, the number of H_res logits per token: n² for mHC, n!
// for mHC-lite.
func connResLogits(cfg model.Config) float64 {
	n := float64(cfg.Streams)
	if cfg.Kind != hyper.MHCLite {
		return n * n
	}
	f := 1.0
	for i := 2; i <= cfg.Streams; i++ {
		f *= float64(i)
	}
	return f
}

// MemoryEstimate is the memory, in bytes, that a model of a given
// configuration and batch needs: what EstimateMemory returns and CheckMemory
// compares with AvailableMemory.
type MemoryEstimate struct {
	Params      int64 // number of trainable parameters (ParamCount)
	Weights     int64 // the parameters, float32
	Grads       int64 // their gradients (model.New always allocates them)
	Optimizer   int64 // AdamW's first and second moments; 0 when not training
	Activations int64 // forward and backward buffers for the batch (N = batch·seq tokens)
	Overhead    int64 // Go runtime, code, tokenizer tables and kernel scratch: a fixed allowance
}

// Total is the sum of the parts (saturating at math.MaxInt64).
func (e MemoryEstimate) Total() int64 {
	return satAdd(e.Weights, e.Grads, e.Optimizer, e.Activations, e.Overhead)
}

// memoryOverhead is the fixed allowance of MemoryEstimate.Overhead: a tiny
// training run's resident set on linux/amd64 is about 60 MiB beyond its
// buffers (Go runtime, binary, GPT-2 tables when used, worker scratch).
const memoryOverhead = 128 << 20

// EstimateMemory estimates the memory a model of cfg built for batches of
// batch sequences (model.New(cfg, batch)) takes, plus the AdamW moments when
// training. The activation term adds up the buffers model.New allocates:
// per sublayer its input and output, the residual states (n streams), the
// attention scores (packed causal row blocks, about batch·heads·seq²/2), the
// MLP's hidden buffers, the connection's per-token coefficients, the logits
// (N·vocab), and the backward scratch. With recomputation (cfg.Recompute =
// R sublayers per block) the residual states are kept only at the block
// boundaries plus one block's inner states; with scope "all" the sublayer
// inputs and outputs and the sublayer activations exist for one block only
// too. The corpus and its
// tokens are not included. Sizes are computed in floating point and
// saturate instead of overflowing, so absurd configurations give huge
// estimates, not wrong ones.
func EstimateMemory(cfg model.Config, batch int, training bool) MemoryEstimate {
	P := float64(ParamCount(cfg))
	N := float64(batch) * float64(cfg.Seq)
	C, V, L, H, T := float64(cfg.D), float64(cfg.Vocab), float64(cfg.Layers), float64(cfg.Heads), float64(cfg.Seq)
	n, h := float64(cfg.Streams), float64(cfg.MLPHidden)
	blk := min(model.AttnRowBlock, cfg.Seq)
	probs := float64(batch) * H * float64(kernels.AttnBlocks{T: cfg.Seq, Blk: model.AttnRowBlock}.Size())
	dprobs := float64(min(kernels.MaxChunks(), batch*cfg.Heads)) * float64(blk) * T
	var conn float64
	switch cfg.Kind {
	case hyper.HC: // mu, rstd (Nn each), th, coef, dcoef (Nn(n+1) each)
		conn = N * (2*n + 3*n*(n+1))
	case hyper.MHC, hyper.MHCLite: // proj, logit, dp (NP each), rstd, hpre, hpost, dhpost, hres, dhres
		p := 2*n + connResLogits(cfg)
		conn = N * (3*p + 1 + 3*n + 2*n*n)
	}
	attn := 5*N*C + probs // normed, qkv, att; scores
	mlp := N*C + 3*N*h    // normed, gate_up, act
	// Sublayers, their inputs and outputs, and the residual states: 2L of
	// each sublayer buffer and 2L+1 states, or with recomputation one
	// block's worth plus the block boundaries (see model.Config.Recompute).
	subs := 2 * L
	nAttn, nMLP, states, perSub := L, L, subs+1, subs
	if rc := min(cfg.Recompute, 2*cfg.Layers); rc > 0 {
		nb := float64((2*cfg.Layers + rc - 1) / rc)
		states = nb + float64(rc)
		if cfg.RecomputesAll() {
			a, f := recomputeSets(2*cfg.Layers, rc)
			nAttn, nMLP, perSub = float64(a), float64(f), float64(rc)
		}
	}
	floats := nAttn*attn + nMLP*mlp +
		states*n*N*C + perSub*2*N*C + // residual states; sublayer inputs and outputs
		subs*N + L*2*conn + // RMSNorm rstd (N per sublayer); connections
		N*C + 2*N*C + N*V + // embedding, contracted top state and final norm output, logits
		2*n*N*C + 2*N*C + // backward: residual-state ping-pong, du and dy
		N*C + 3*N*C + dprobs + N*C + 2*N*h + N*h + // shared scratch: datt, dqkv, dprobs, dnorm, dgu, dact
		N // final norm rstd
	if cfg.RecomputesAll() {
		floats += L * T * 3 * C // each attention's q, k, v of one sequence, for the Decoder
	}
	if cfg.Contract == "learned" {
		floats += 5 * N * n
	}
	ints := 2 * N * 2 // the model's and the trainer's inputs and targets (int32)
	e := MemoryEstimate{
		Params:      sat(P),
		Weights:     sat(4 * P),
		Grads:       sat(4 * P),
		Activations: sat(4*floats + 4*ints),
		Overhead:    memoryOverhead,
	}
	if training {
		e.Optimizer = sat(8 * P)
	}
	return e
}

// recomputeSets is how many attention and MLP activation sets a model of
// subs sublayers (attention at even, MLP at odd indices) needs with
// recomputation blocks of rc sublayers: the most of each kind in one block.
func recomputeSets(subs, rc int) (attn, mlp int) {
	for s := 0; s < subs; s += rc {
		var a, f int
		for l := s; l < min(s+rc, subs); l++ {
			if l%2 == 0 {
				a++
			} else {
				f++
			}
		}
		attn, mlp = max(attn, a), max(mlp, f)
	}
	return attn, mlp
}

// sat converts a non-negative size to int64, saturating (NaN, from an
// infinite product, saturates too).
func sat(x float64) int64 {
	if !(x < 1<<62) {
		return math.MaxInt64
	}
	return int64(x)
}

func satAdd(xs ...int64) int64 {
	var s int64
	for _, x := range xs {
		if s > math.MaxInt64-x {
			return math.MaxInt64
		}
		s += x
	}
	return s
}

// MemoryError is returned by CheckMemory when a configuration will not fit.
type MemoryError struct {
	Config    model.Config
	Batch     int
	Estimate  MemoryEstimate
	Available int64  // bytes available to this process
	Source    string // where Available comes from, e.g. "MemAvailable in /proc/meminfo"
}

// Error is one line with the estimate, its main parts and the memory
// available.
func (e *MemoryError) Error() string {
	est := e.Estimate
	train := ""
	if est.Optimizer > 0 {
		train = ", AdamW moments " + FormatBytes(est.Optimizer)
	}
	return fmt.Sprintf("train: d_model %d, %d layers, batch %d × seq %d needs about %s (%s parameters: weights %s, gradients %s%s; activations %s), but only %s is available (%s): choose a smaller model or batch",
		e.Config.D, e.Config.Layers, e.Batch, e.Config.Seq, FormatBytes(est.Total()), formatCount(est.Params),
		FormatBytes(est.Weights), FormatBytes(est.Grads), train, FormatBytes(est.Activations),
		FormatBytes(e.Available), e.Source)
}

// CheckMemory refuses, with a *MemoryError, a model of cfg for batches of
// batch sequences (with AdamW moments when training) whose EstimateMemory
// total exceeds AvailableMemory, so that it fails up front with the numbers
// instead of being killed by the out-of-memory killer halfway through
// allocating. When the available memory cannot be determined (no
// /proc/meminfo and no sysinfo), it does not refuse.
func CheckMemory(cfg model.Config, batch int, training bool) error {
	est := EstimateMemory(cfg, batch, training)
	avail, src, err := AvailableMemory()
	if err != nil {
		return nil
	}
	if est.Total() > avail {
		return &MemoryError{Config: cfg, Batch: batch, Estimate: est, Available: avail, Source: src}
	}
	return nil
}

// AvailableMemory returns how many bytes this process can still allocate
// without swapping or being killed, and where the number comes from: the
// smaller of the system's available memory (MemAvailable in /proc/meminfo,
// else free plus buffer memory from sysinfo(2)) and the headroom of the
// process's memory cgroup, if it has a limit (cgroup v2 memory.max minus
// memory.current, or v1 memory.limit_in_bytes minus memory.usage_in_bytes,
// with the cgroup's inactive file cache counted as free, since the kernel
// reclaims it first), checked for every ancestor cgroup too.
func AvailableMemory() (int64, string, error) {
	return availableMemory("/")
}

// availableMemory is AvailableMemory with /proc and /sys under root (for tests).
func availableMemory(root string) (int64, string, error) {
	avail, src, err := systemAvailable(root)
	if err != nil {
		return 0, "", err
	}
	if cg, cgSrc, ok := cgroupAvailable(root); ok && cg < avail {
		avail, src = cg, cgSrc
	}
	return avail, src, nil
}

func systemAvailable(root string) (int64, string, error) {
	b, err := os.ReadFile(filepath.Join(root, "proc/meminfo"))
	if err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 3 && f[0] == "MemAvailable:" && f[2] == "kB" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb >= 0 {
					return satAdd(kb, 0) * 1024, "MemAvailable in /proc/meminfo", nil
				}
			}
		}
	}
	if root != "/" { // tests: no fallback to the real machine
		return 0, "", errors.New("memory: no MemAvailable in meminfo")
	}
	return sysinfoAvailable()
}

// cgroupAvailable returns the smallest headroom of the process's memory
// cgroup and its ancestors that have a limit, and false if none has.
func cgroupAvailable(root string) (int64, string, bool) {
	b, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return 0, "", false
	}
	best, src, found := int64(math.MaxInt64), "", false
	consider := func(avail int64, where string) {
		if avail < best {
			best, src, found = max(avail, 0), where, true
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, path := parts[1], parts[2]
		switch {
		case parts[0] == "0" && ctrls == "": // cgroup v2
			for _, dir := range cgroupDirs(filepath.Join(root, "sys/fs/cgroup"), path) {
				limit, ok := readLimit(filepath.Join(dir, "memory.max"))
				if !ok {
					continue
				}
				used, _ := readLimit(filepath.Join(dir, "memory.current"))
				consider(limit-used+statValue(filepath.Join(dir, "memory.stat"), "inactive_file"), "cgroup "+filepath.Join(dir, "memory.max"))
			}
		case hasController(ctrls, "memory"): // cgroup v1
			for _, dir := range cgroupDirs(filepath.Join(root, "sys/fs/cgroup/memory"), path) {
				limit, ok := readLimit(filepath.Join(dir, "memory.limit_in_bytes"))
				if !ok || limit >= 1<<62 { // "unlimited" is a page-rounded MaxInt64
					continue
				}
				used, _ := readLimit(filepath.Join(dir, "memory.usage_in_bytes"))
				consider(limit-used+statValue(filepath.Join(dir, "memory.stat"), "total_inactive_file"), "cgroup "+filepath.Join(dir, "memory.limit_in_bytes"))
			}
		}
	}
	return best, src, found
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// cgroupDirs lists the directories of cgroup path and its ancestors under
// mount that exist. Inside a container the cgroup namespace may mount the
// process's own cgroup at mount itself, so mount is always included.
func cgroupDirs(mount, path string) []string {
	var dirs []string
	seen := map[string]bool{}
	for p := filepath.Clean("/" + path); ; p = filepath.Dir(p) {
		d := filepath.Join(mount, p)
		if info, err := os.Stat(d); err == nil && info.IsDir() && !seen[d] {
			dirs = append(dirs, d)
			seen[d] = true
		}
		if p == "/" {
			return dirs
		}
	}
}

// readLimit reads a cgroup file holding one number ("max" means no limit).
func readLimit(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

// statValue returns the value of key in a memory.stat file, or 0.
func statValue(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			if x, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && x > 0 {
				return x
			}
		}
	}
	return 0
}

// FormatBytes renders a byte count with a binary unit: "512 B", "1.5 KiB",
// "22.6 GiB", "3.1 PiB".
func FormatBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

// formatCount renders a count with an SI suffix: "919,936" → "0.92 M".
func formatCount(n int64) string {
	switch {
	case n >= 1e9:
		return strconv.FormatFloat(float64(n)/1e9, 'f', 2, 64) + " G"
	case n >= 1e6:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 2, 64) + " M"
	}
	return strconv.FormatInt(n, 10)
}

// checkpointMemory is CheckMemory for resuming the training of the
// checkpoint in dir with batches of batch sequences.
func checkpointMemory(dir string, batch int) error {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return err
	}
	if err := CheckMemory(cfg, batch, true); err != nil {
		return fmt.Errorf("train: %s: %w", dir, err)
	}
	return nil
}

// ResetPeakRSS returns freed memory to the OS and resets the kernel's
// peak-RSS counter of this process (Linux: /proc/self/clear_refs "5"), so
// that PeakRSS measures what follows alone (the next run or benchmark). Elsewhere it does nothing.
func ResetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// PeakRSS is VmHWM of /proc/self/status in bytes, 0 where unavailable.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}
