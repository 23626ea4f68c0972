package kernels

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// useKernelPath makes p the active row without a self-check (tests that run
// the driver with a test micro-kernel) and returns a function restoring the
// previous row.
func useKernelPath(p *kernelPath) (restore func()) {
	old := curPath.Load()
	curPath.Store(p)
	return func() { curPath.Store(old) }
}

// withTable installs paths as the dispatch table (the runnable rows, best
// first, generic last) for the rest of the test, with the dispatcher's
// notices going to the returned buffer. Everything is restored at cleanup.
func withTable(t *testing.T, paths []*kernelPath) *bytes.Buffer {
	t.Helper()
	selMu.Lock()
	oldPaths, oldCur, oldErr, oldLog := kernelPaths, curPath.Load(), selErr, kernelLog
	var log bytes.Buffer
	kernelPaths, kernelLog = paths, &log
	selMu.Unlock()
	t.Cleanup(func() {
		selMu.Lock()
		kernelPaths, kernelLog, selErr = oldPaths, oldLog, oldErr
		curPath.Store(oldCur)
		selMu.Unlock()
	})
	return &log
}

// logLines splits the captured notices into lines.
func logLines(log *bytes.Buffer) []string {
	s := strings.TrimSuffix(log.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// withBrokenKernel returns a copy of the dispatch table in which the row
// called path is replaced by a fresh row (its self-check not yet run) whose
// kernels were altered by brk: the test hook that injects a broken kernel.
func withBrokenKernel(paths []*kernelPath, path string, brk func(p *kernelPath)) []*kernelPath {
	out := slices.Clone(paths)
	for i, p := range out {
		if p.name == path {
			np := newPath(p.name, p.gemm, p.vec)
			brk(np)
			out[i] = np
		}
	}
	return out
}

// bump adds 1 to element i of the array at p.
func bump(p *float32, i int) { *(*float32)(unsafe.Add(unsafe.Pointer(p), 4*i)) += 1 }

// breakGEMM makes a row's micro-kernels (packed and, if present, row-A and
// column-A) add 1 to the first element of every tile they write.
func breakGEMM(p *kernelPath) {
	k := *p.gemm
	fn := k.fn
	k.fn = func(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int) {
		fn(kc, a, b, c, ldc, alpha, beta, mode)
		bump(c, 0)
	}
	k.fnRowA, k.fnColA = bumped(k.fnRowA), bumped(k.fnColA)
	p.gemm = &k
}

// breakGEMMRowA and breakGEMMColA break only the row-A micro-kernel (full
// tiles of a non-transposed A) or only the column-A one (a transposed A),
// to show the self-check reaches each.
func breakGEMMRowA(p *kernelPath) {
	k := *p.gemm
	k.fnRowA = bumped(k.fnRowA)
	p.gemm = &k
}

func breakGEMMColA(p *kernelPath) {
	k := *p.gemm
	k.fnColA = bumped(k.fnColA)
	p.gemm = &k
}

// bumped wraps an in-place-A micro-kernel so that it adds 1 to the first
// element of every tile it writes (nil stays nil).
func bumped(f rowAKernelFunc) rowAKernelFunc {
	if f == nil {
		return nil
	}
	return func(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int, lda int) {
		f(kc, a, b, c, ldc, alpha, beta, mode, lda)
		bump(c, 0)
	}
}

// vecBreakers holds, for every loop of vecKernels, a breaker that wraps the
// loop so it is off by one element: axpy skips its last element(s) (it is
// called with n−1), the other elementwise loops add 1 to their last output
// element, and the reductions add one more (or a wrong) element's worth.
var vecBreakers = []struct {
	name string
	brk  func(v *vecKernels)
}{
	{"axpy", func(v *vecKernels) {
		f := v.axpy
		v.axpy = func(a float32, x, y *float32, n int) { f(a, x, y, n-1) }
	}},
	{"scale", func(v *vecKernels) {
		f := v.scale
		v.scale = func(a float32, x *float32, n int) { f(a, x, n); bump(x, n-1) }
	}},
	{"add", func(v *vecKernels) {
		f := v.add
		v.add = func(d, a, b *float32, n int) { f(d, a, b, n); bump(d, n-1) }
	}},
	{"dot", func(v *vecKernels) {
		f := v.dot
		v.dot = func(x, y *float32, n int) float32 { return f(x, y, n) + 1 }
	}},
	{"sumSquares", func(v *vecKernels) {
		f := v.sumSquares
		v.sumSquares = func(x *float32, n int) float64 { return f(x, n) + 1 }
	}},
	{"max", func(v *vecKernels) {
		f := v.max
		v.max = func(x *float32, n int) float32 { return f(x, n) + 1 }
	}},
	{"mulScaled", func(v *vecKernels) {
		f := v.mulScaled
		v.mulScaled = func(o, x, w *float32, n int, s float32) { f(o, x, w, n, s); bump(o, n-1) }
	}},
	{"expAffineSum", func(v *vecKernels) {
		f := v.expAffineSum
		v.expAffineSum = func(d, s *float32, n int, a, b float32) float64 { return f(d, s, n, a, b) + 1 }
	}},
	{"swiglu", func(v *vecKernels) {
		f := v.swiglu
		v.swiglu = func(o, g, u *float32, n int) { f(o, g, u, n); bump(o, n-1) }
	}},
	{"swigluBack", func(v *vecKernels) {
		f := v.swigluBack
		v.swigluBack = func(dg, du, dy, g, u *float32, n int) { f(dg, du, dy, g, u, n); bump(du, n-1) }
	}},
	{"adamw", func(v *vecKernels) {
		f := v.adamw
		v.adamw = func(p, g, m, vv *float32, n int, h adamHyper) { f(p, g, m, vv, n, h); bump(p, n-1) }
	}},
	{"rope", func(v *vecKernels) {
		f := v.rope
		v.rope = func(a, b, c, s *float32, n int, dir float32) { f(a, b, c, s, n, dir); bump(b, n-1) }
	}},
	{"ropeRows", func(v *vecKernels) {
		f := v.ropeRows
		v.ropeRows = func(x *float32, rows, stride, heads, hd int, c, s *float32, dir float32) {
			f(x, rows, stride, heads, hd, c, s, dir)
			bump(x, (rows-1)*stride+heads*hd-1)
		}
	}},
	{"dot3", func(v *vecKernels) {
		f := v.dot3
		v.dot3 = func(a, b, c *float32, n int) float32 { return f(a, b, c, n) + 1 }
	}},
	{"rmsNorm", func(v *vecKernels) {
		f := v.rmsNorm
		v.rmsNorm = func(o, rs, in, w *float32, rows, dim int, eps float32) {
			f(o, rs, in, w, rows, dim, eps)
			bump(o, rows*dim-1)
		}
	}},
	{"rmsNormBack", func(v *vecKernels) {
		f := v.rmsNormBack
		v.rmsNormBack = func(dx, dw, dy, x, w, rs *float32, rows, dim int, dimf float32) {
			f(dx, dw, dy, x, w, rs, rows, dim, dimf)
			bump(dx, rows*dim-1)
		}
	}},
	{"sinkExp", func(v *vecKernels) {
		f := v.sinkExp
		v.sinkExp = func(m *float64, n int) {
			f(m, n)
			*(*float64)(unsafe.Add(unsafe.Pointer(m), 8*(n*n*SinkLanes-1))) += 1
		}
	}},
	{"rmsBack", func(v *vecKernels) {
		f := v.rmsBack
		v.rmsBack = func(dx, dw, dy, x, w *float32, n int, rs, c float32) {
			f(dx, dw, dy, x, w, n, rs, c)
			bump(dw, n-1)
		}
	}},
}

// vecLoopNames returns the names of vecKernels' loop fields.
func vecLoopNames() []string {
	var names []string
	typ := reflect.TypeFor[vecKernels]()
	for i := range typ.NumField() {
		if typ.Field(i).Type.Kind() == reflect.Func {
			names = append(names, typ.Field(i).Name)
		}
	}
	return names
}

// TestVecChecksCoverEveryLoop: every loop a vector set can hold has a
// self-check and a breaker here (a loop added later without one fails).
func TestVecChecksCoverEveryLoop(t *testing.T) {
	var checks, breakers []string
	for _, c := range vecChecks {
		checks = append(checks, c.name)
	}
	for _, b := range vecBreakers {
		breakers = append(breakers, b.name)
	}
	pow2 := func(x int) bool { return x > 0 && x&(x-1) == 0 }
	for _, p := range kernelPaths {
		if p.vec.impl != pathGeneric && (!pow2(p.vec.blk) || !pow2(p.vec.ssBlk)) {
			t.Errorf("%s: vector blocks %d, %d are not powers of two", p.name, p.vec.blk, p.vec.ssBlk)
		}
	}
	for _, name := range vecLoopNames() {
		if !slices.Contains(checks, name) {
			t.Errorf("vecKernels.%s has no self-check in vecChecks", name)
		}
		if !slices.Contains(breakers, name) {
			t.Errorf("vecKernels.%s has no breaker in vecBreakers", name)
		}
	}
}

// TestSelfCheckRunnablePaths: every path this CPU can run passes its
// self-check, and the path selected at init was the first choice.
func TestSelfCheckRunnablePaths(t *testing.T) {
	if err := SelfCheck(); err != nil {
		t.Errorf("SelfCheck() = %v (init fell back to %s)", err, Path())
	}
	paths := Paths()
	if len(paths) == 0 || paths[len(paths)-1] != pathGeneric {
		t.Fatalf("Paths() = %v, want generic last", paths)
	}
	for _, name := range paths {
		// A fresh row, so the check really runs (and its cost can be seen).
		p := findPath(name)
		start := time.Now()
		err := checkPath(newPath(p.name, p.gemm, p.vec))
		t.Logf("%s (vector %s): self-check %v in %v", name, p.vec.impl, err, time.Since(start))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := CheckPath(name); err != nil {
			t.Errorf("CheckPath(%s) = %v", name, err)
		}
	}
	if err := CheckPath("bogus"); err == nil {
		t.Error("CheckPath(bogus) = nil")
	}
}

// TestSelfCheckCatchesBrokenKernels injects a broken kernel into each
// assembly path this CPU can run (its GEMM micro-kernel, and each of its
// vector loops in turn) and checks that selecting the path runs the
// self-check, which names the kernel in one log line and falls back to the
// next path.
func TestSelfCheckCatchesBrokenKernels(t *testing.T) {
	type tc struct {
		path, kernel string
		brk          func(p *kernelPath)
	}
	var cases []tc
	for _, p := range kernelPaths[:len(kernelPaths)-1] {
		cases = append(cases, tc{p.name, "gemm", breakGEMM})
		if p.gemm.fnRowA != nil {
			cases = append(cases, tc{p.name, "gemm", breakGEMMRowA})
		}
		if p.gemm.fnColA != nil {
			cases = append(cases, tc{p.name, "gemm", breakGEMMColA})
		}
		for _, b := range vecBreakers {
			if reflect.ValueOf(p.vec).FieldByName(b.name).IsNil() {
				continue // the path runs the Go loop: nothing to break
			}
			cases = append(cases, tc{p.name, b.name, func(p *kernelPath) { b.brk(&p.vec) }})
		}
	}
	if len(cases) == 0 {
		t.Skip("no assembly path on this CPU")
	}
	base := slices.Clone(kernelPaths)
	for _, c := range cases {
		t.Run(c.path+"/"+c.kernel, func(t *testing.T) {
			paths := withBrokenKernel(base, c.path, c.brk)
			log := withTable(t, paths)
			i := slices.IndexFunc(paths, func(p *kernelPath) bool { return p.name == c.path })
			next := paths[i+1].name

			got := selectKernels(c.path, "") // MHC_KERNELS=path
			if got != curPath.Load() || Path() != next {
				t.Fatalf("Path() = %s after a broken %s %s, want the fallback %s", Path(), c.path, c.kernel, next)
			}
			lines := logLines(log)
			want := c.path + " " + c.kernel + " self-check failed (max rel err "
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "mhc kernels: "+want) ||
				!strings.HasSuffix(lines[0], "); using "+next) {
				t.Fatalf("log = %q, want one line %q...\"); using %s\"", lines, "mhc kernels: "+want, next)
			}
			if err := SelfCheck(); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("SelfCheck() = %v, want it to contain %q", err, want)
			}
			if err := CheckPath(c.path); err == nil {
				t.Errorf("CheckPath(%s) = nil for the broken path", c.path)
			}
			// Switching to the broken path (the test hook) falls back the same way.
			log.Reset()
			ok, restore := setGEMMPath(c.path)
			defer restore()
			if ok || Path() != next {
				t.Errorf("setGEMMPath(%s) = %v, Path() = %s; want false, %s", c.path, ok, Path(), next)
			}
			if n := len(logLines(log)); n != 1 {
				t.Errorf("setGEMMPath logged %d lines, want 1", n)
			}
		})
	}
}

// TestSelfCheckFallbackChain: with every assembly path broken, selection
// walks the whole table down to generic, one log line per broken path.
func TestSelfCheckFallbackChain(t *testing.T) {
	paths := slices.Clone(kernelPaths)
	if len(paths) < 3 {
		t.Skip("fewer than two assembly paths on this CPU")
	}
	for _, p := range paths[:len(paths)-1] {
		paths = withBrokenKernel(paths, p.name, breakGEMM)
	}
	log := withTable(t, paths)
	selectKernels("", "")
	if Path() != pathGeneric {
		t.Fatalf("Path() = %s, want generic", Path())
	}
	lines := logLines(log)
	if len(lines) != len(paths)-1 {
		t.Fatalf("log = %q, want %d lines", lines, len(paths)-1)
	}
	for i, line := range lines {
		want := "mhc kernels: " + paths[i].name + " gemm self-check failed"
		if !strings.HasPrefix(line, want) || !strings.HasSuffix(line, "using "+paths[i+1].name) {
			t.Errorf("line %d = %q, want %q...using %s", i, line, want, paths[i+1].name)
		}
	}
}

// TestPathSelection covers the override variables: MHC_KERNELS wins over
// MHC_GEMM, names are case- and space-insensitive, and a path this machine
// cannot run (simulated by removing rows from the table) or an unknown
// name falls back to the best runnable path with one log line.
func TestPathSelection(t *testing.T) {
	all := slices.Clone(kernelPaths)
	generic := all[len(all)-1]
	find := func(name string) *kernelPath {
		for _, p := range all {
			if p.name == name {
				return p
			}
		}
		return nil
	}
	// Tables to select from: this machine's, and a generic-only one.
	tables := map[string][]*kernelPath{"here": all, "genericOnly": {generic}}
	type selCase struct {
		table               string
		kernelsEnv, gemmEnv string
		want                string // "" = the table's best row
		logs                string // substring of the one log line; "" = no line
	}
	tests := []selCase{
		{"here", "", "", "", ""},
		{"here", "generic", "", pathGeneric, ""},
		{"here", "", "generic", pathGeneric, ""},
		{"here", "", " GENERIC ", pathGeneric, ""},
		{"here", "generic", "avx2", pathGeneric, ""}, // MHC_KERNELS wins
		{"here", "", "bogus", "", "MHC_GEMM=bogus: unknown path"},
		{"here", "bogus", "generic", "", "MHC_KERNELS=bogus: unknown path"},
		{"genericOnly", "avx2", "", pathGeneric, "MHC_KERNELS=avx2: this CPU cannot run the avx2 path; using generic"},
		{"genericOnly", "", "AVX512", pathGeneric, "MHC_GEMM=AVX512: this CPU cannot run the avx512 path; using generic"},
		{"genericOnly", "", "", pathGeneric, ""},
	}
	for _, name := range []string{pathAVX2, pathAVX512} {
		if find(name) != nil {
			tests = append(tests, selCase{"here", name, "generic", name, ""}, selCase{"here", "", name, name, ""})
		}
	}
	for _, tc := range tests {
		t.Run(tc.table+"/"+tc.kernelsEnv+"/"+tc.gemmEnv, func(t *testing.T) {
			table := tables[tc.table]
			log := withTable(t, table)
			want := tc.want
			if want == "" {
				want = table[0].name
			}
			selectKernels(tc.kernelsEnv, tc.gemmEnv)
			if Path() != want || GEMMPath() != want {
				t.Errorf("Path() = %s, GEMMPath() = %s, want %s", Path(), GEMMPath(), want)
			}
			lines := logLines(log)
			switch {
			case tc.logs == "" && len(lines) != 0:
				t.Errorf("unexpected log %q", lines)
			case tc.logs != "" && (len(lines) != 1 || !strings.Contains(lines[0], tc.logs)):
				t.Errorf("log = %q, want one line containing %q", lines, tc.logs)
			}
		})
	}
}

// TestGenericIsEveryKernel: the generic path (MHC_GEMM=generic or
// MHC_KERNELS=generic) runs no assembly at all, GEMM or vector.
func TestGenericIsEveryKernel(t *testing.T) {
	for _, env := range [][2]string{{"generic", ""}, {"", "generic"}} {
		withTable(t, slices.Clone(kernelPaths))
		p := selectKernels(env[0], env[1])
		if p.gemm != &genericKernel || Path() != pathGeneric || VectorPath() != pathGeneric {
			t.Fatalf("env %q: Path %s, VectorPath %s, GEMM kernel %s", env, Path(), VectorPath(), p.gemm.name)
		}
		v := reflect.ValueOf(*vecs())
		for _, name := range vecLoopNames() {
			if !v.FieldByName(name).IsNil() {
				t.Errorf("env %q: generic path has a %s loop", env, name)
			}
		}
	}
}

// TestSetPathSwitchesEverything: the test hook switches GEMM and vector
// kernels together, and restore brings the previous row back.
func TestSetPathSwitchesEverything(t *testing.T) {
	before := curPath.Load()
	for _, name := range Paths() {
		ok, restore := setGEMMPath(name)
		if !ok {
			t.Fatalf("setGEMMPath(%s) failed: %v", name, CheckPath(name))
		}
		p := curPath.Load()
		if p.name != name || Path() != name || GEMMPath() != name || vecs() != &p.vec {
			t.Errorf("after setGEMMPath(%s): Path %s GEMMPath %s", name, Path(), GEMMPath())
		}
		wantVec := pathAVX2
		if name == pathAVX512 {
			wantVec = pathAVX512 // avx512Vec: AVX2 loops with the exp-based ones in AVX-512F
		}
		if name == pathGeneric || avx2Vec.impl == pathGeneric {
			wantVec = pathGeneric
		}
		if VectorPath() != wantVec {
			t.Errorf("%s: VectorPath() = %s, want %s", name, VectorPath(), wantVec)
		}
		restore()
		if curPath.Load() != before {
			t.Fatalf("restore after %s left %s active", name, Path())
		}
	}
	if ok, _ := setGEMMPath("nonsense"); ok {
		t.Fatal("unknown path accepted")
	}
}
