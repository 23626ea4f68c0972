package data

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// iota32 returns the tokens 0, 1, ..., n-1, so a window's offset is its
// first token.
func iota32(n int) []int32 {
	t := make([]int32, n)
	for i := range t {
		t[i] = int32(i)
	}
	return t
}

// drain returns the next steps batches of l, inputs then targets.
func drain(t *testing.T, l *Loader, steps int) [][]int32 {
	t.Helper()
	var out [][]int32
	for range steps {
		in := make([]int32, l.Batch()*l.Seq())
		tg := make([]int32, l.Batch()*l.Seq())
		if err := l.Next(in, tg); err != nil {
			t.Fatal(err)
		}
		out = append(out, in, tg)
	}
	return out
}

func equalBatches(a, b [][]int32) bool {
	return slices.EqualFunc(a, b, func(x, y []int32) bool { return slices.Equal(x, y) })
}

func TestLoaderWindows(t *testing.T) {
	const n, batch, seq = 1000, 4, 16
	tokens := iota32(n)
	tests := []struct {
		name string
		new  func() (*Loader, error)
	}{
		{"random", func() (*Loader, error) { return NewLoader(tokens, batch, seq, 7) }},
		{"sequential", func() (*Loader, error) { return NewSequentialLoader(tokens, batch, seq) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tt.new()
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range slices.Collect(slices.Chunk(drain(t, l, 50), 2)) {
				in, tg := b[0], b[1]
				for r := range batch {
					off := in[r*seq]
					if off < 0 || int(off)+seq >= n {
						t.Fatalf("window offset %d out of range", off)
					}
					for j := range seq {
						if in[r*seq+j] != off+int32(j) || tg[r*seq+j] != off+int32(j)+1 {
							t.Fatalf("row %d is not a contiguous window with shifted targets", r)
						}
					}
				}
			}
			if l.Steps() != 50 {
				t.Errorf("Steps() = %d, want 50", l.Steps())
			}
		})
	}
}

func TestRandomLoaderDeterminism(t *testing.T) {
	tokens := iota32(5000)
	a, _ := NewLoader(tokens, 3, 32, 42)
	b, _ := NewLoader(tokens, 3, 32, 42)
	c, _ := NewLoader(tokens, 3, 32, 43)
	ba, bb, bc := drain(t, a, 20), drain(t, b, 20), drain(t, c, 20)
	if !equalBatches(ba, bb) {
		t.Error("same seed gave different batches")
	}
	if equalBatches(ba, bc) {
		t.Error("different seeds gave the same batches")
	}
	// Offsets cover the whole range [0, n-seq-1], including both ends.
	small := iota32(6)
	l, _ := NewLoader(small, 1, 3, 1)
	seen := map[int32]bool{}
	for _, b := range slices.Collect(slices.Chunk(drain(t, l, 200), 2)) {
		seen[b[0][0]] = true
	}
	if len(seen) != 3 || !seen[0] || !seen[2] {
		t.Errorf("offsets seen %v, want {0, 1, 2}", seen)
	}
}

func TestSequentialLoaderOrder(t *testing.T) {
	// 11 tokens, seq 3: windows at 0, 3, 6 (the window at 9 would need 13).
	l, err := NewSequentialLoader(iota32(11), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int32
	for _, b := range slices.Collect(slices.Chunk(drain(t, l, 4), 2)) {
		offs = append(offs, b[0][0], b[0][3])
	}
	if want := []int32{0, 3, 6, 0, 3, 6, 0, 3}; !slices.Equal(offs, want) {
		t.Errorf("sequential offsets %v, want %v", offs, want)
	}
}

func TestLoaderStateRestore(t *testing.T) {
	tokens := iota32(3000)
	tests := []struct {
		name string
		new  func() (*Loader, error)
	}{
		{"random", func() (*Loader, error) { return NewLoader(tokens, 2, 8, 99) }},
		{"sequential", func() (*Loader, error) { return NewSequentialLoader(tokens, 5, 64) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig, err := tt.new()
			if err != nil {
				t.Fatal(err)
			}
			drain(t, orig, 13)
			blob, err := json.Marshal(orig.State())
			if err != nil {
				t.Fatal(err)
			}
			want := drain(t, orig, 25)

			var st LoaderState
			if err := json.Unmarshal(blob, &st); err != nil {
				t.Fatal(err)
			}
			resumed, err := tt.new()
			if err != nil {
				t.Fatal(err)
			}
			drain(t, resumed, 3) // move it somewhere else first
			if err := resumed.Restore(st); err != nil {
				t.Fatal(err)
			}
			if resumed.Steps() != 13 {
				t.Errorf("Steps() after restore = %d, want 13", resumed.Steps())
			}
			if got := drain(t, resumed, 25); !equalBatches(got, want) {
				t.Error("restored loader does not continue identically")
			}
		})
	}
}

func TestLoaderRestoreErrors(t *testing.T) {
	tokens := iota32(100)
	rnd, _ := NewLoader(tokens, 2, 8, 1)
	seq, _ := NewSequentialLoader(tokens, 2, 8)
	good := rnd.State()
	tests := []struct {
		name    string
		l       *Loader
		mutate  func(*LoaderState)
		wantErr string
	}{
		{"mode", seq, func(*LoaderState) {}, "random loader"},
		{"batch", rnd, func(s *LoaderState) { s.Batch = 3 }, "batch 3"},
		{"seq", rnd, func(s *LoaderState) { s.Seq = 4 }, "seq 4"},
		{"tokens", rnd, func(s *LoaderState) { s.Tokens = 99 }, "99 tokens"},
		{"no rng", rnd, func(s *LoaderState) { s.RNG = nil }, "no RNG state"},
		{"bad rng", rnd, func(s *LoaderState) { s.RNG = []byte("junk") }, "RNG state"},
		{"steps", rnd, func(s *LoaderState) { s.Steps = -1 }, "negative step"},
		{"pos", seq, func(s *LoaderState) { *s = seq.State(); s.Pos = 12 }, "window index 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := good
			st.RNG = slices.Clone(good.RNG)
			tt.mutate(&st)
			before := tt.l.State()
			err := tt.l.Restore(st)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Restore error %v, want one containing %q", err, tt.wantErr)
			}
			after := tt.l.State()
			if !slices.Equal(before.RNG, after.RNG) || before.Pos != after.Pos || before.Steps != after.Steps {
				t.Error("failed Restore changed the loader")
			}
		})
	}
}

func TestLoaderErrors(t *testing.T) {
	tests := []struct {
		name         string
		n, batch, sq int
		wantErr      string
	}{
		{"too short", 64, 1, 64, "data: corpus too short: 64 tokens, need at least 65 for sequences of 64"},
		{"empty", 0, 1, 8, "data: corpus too short: 0 tokens, need at least 9 for sequences of 8"},
		{"zero batch", 100, 0, 8, "batch size 0"},
		{"zero seq", 100, 1, 0, "sequence length 0"},
		{"just enough", 65, 1, 64, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err1 := NewLoader(iota32(tt.n), tt.batch, tt.sq, 0)
			_, err2 := NewSequentialLoader(iota32(tt.n), tt.batch, tt.sq)
			for _, err := range []error{err1, err2} {
				if tt.wantErr == "" {
					if err != nil {
						t.Errorf("unexpected error %v", err)
					}
				} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want %q", err, tt.wantErr)
				}
			}
		})
	}
	l, _ := NewLoader(iota32(100), 2, 8, 0)
	if err := l.Next(make([]int32, 16), make([]int32, 15)); err == nil {
		t.Error("Next with a short targets buffer succeeded")
	}
	if l.Steps() != 0 {
		t.Error("failed Next counted a step")
	}
}

func TestLoaderNextAllocs(t *testing.T) {
	in, tg := make([]int32, 4*32), make([]int32, 4*32)
	for _, l := range []*Loader{
		must(NewLoader(iota32(1000), 4, 32, 5)),
		must(NewSequentialLoader(iota32(1000), 4, 32)),
	} {
		if a := testing.AllocsPerRun(100, func() { _ = l.Next(in, tg) }); a != 0 {
			t.Errorf("%s Next allocates %v times per call", l.Mode(), a)
		}
	}
}

func must(l *Loader, err error) *Loader {
	if err != nil {
		panic(err)
	}
	return l
}

func TestEvalWindows(t *testing.T) {
	tests := []struct {
		name    string
		n, seq  int
		max     int
		want    []int
		wantErr string
	}{
		{"all", 11, 3, 0, []int{0, 3, 6}, ""},
		{"exact fit", 10, 3, 0, []int{0, 3, 6}, ""},
		{"cap above count", 11, 3, 10, []int{0, 3, 6}, ""},
		{"thinned evenly", 101, 10, 3, []int{0, 30, 60}, ""},
		{"one", 101, 10, 1, []int{0}, ""},
		{"minimal", 5, 4, 0, []int{0}, ""},
		{"too short", 4, 4, 0, nil, "data: corpus too short: 4 tokens, need at least 5 for sequences of 4"},
		{"bad seq", 4, 0, 0, nil, "sequence length 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokens := iota32(tt.n)
			got, err := EvalWindows(tokens, tt.seq, tt.max)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("EvalWindows = %v, want %v", got, tt.want)
			}
			for _, off := range got {
				in, tg := Window(tokens, off, tt.seq)
				if len(in) != tt.seq || len(tg) != tt.seq || in[0] != int32(off) || tg[tt.seq-1] != int32(off+tt.seq) {
					t.Errorf("Window(%d) = %v, %v", off, in, tg)
				}
			}
		})
	}
	if in, tg := Window(iota32(10), 7, 3); in != nil || tg != nil {
		t.Error("Window past the end returned data")
	}
}
