package train

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sampleLog() Log {
	return Log{
		Steps: []StepRecord{
			{Step: 1, Loss: 5.5, LR: 1e-4, GradNorm: 2.25, Tokens: 512, TokPerS: 1234.5},
			{Step: 2, Loss: math.NaN(), LR: 2e-4, GradNorm: math.Inf(1), Tokens: 1024, TokPerS: 1000},
		},
		Evals: []EvalRecord{{Step: 2, Tokens: 1024, ValLoss: 4.75}},
		Gains: []Gains{{Step: 1, Tokens: 512, Fwd: []float64{1, 1.5}, Bwd: []float64{1, math.NaN()}, LogCol: []float64{0, 0.25},
			CompFwd: []float64{1, 2}, CompBwd: []float64{3, 4}, CompLogCol: []float64{0, 0.5},
			MaxCompFwd: 2, MaxCompBwd: 4, MaxCompLogCol: math.Inf(1), Matrices: [][]float64{{1, 0, 0, 1}, {0.5, 0.5, 0.5, 0.5}}}},
	}
}

func writeLog(t *testing.T, path string, lg Log) {
	t.Helper()
	m, err := OpenMetrics(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := []Record{lg.Steps[0], lg.Gains[0], lg.Steps[1], lg.Evals[0]}
	for _, r := range recs {
		if err := m.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// equalNaN compares records as printed, with ±Inf (written as JSON null)
// read as NaN and NaN equal to NaN.
func equalNaN(a, b any) bool {
	norm := strings.NewReplacer("+Inf", "NaN", "-Inf", "NaN")
	return norm.Replace(fmt.Sprintf("%+v", a)) == norm.Replace(fmt.Sprintf("%+v", b))
}

// Metrics round-trip: write → ReadMetrics → the same records, non-finite
// values as NaN; a torn last line is ignored and cut off when reopened.
func TestMetricsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), MetricsFile)
	want := sampleLog()
	writeLog(t, path, want)
	got, err := ReadMetrics(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if !equalNaN(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if !math.IsNaN(got.Steps[1].Loss) || !math.IsNaN(got.Gains[0].Bwd[1]) {
		t.Fatalf("null did not read back as NaN: %+v", got)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), `{"kind":"train","step":1,"loss":5.5,"lr":0.0001,"grad_norm":2.25,"tokens":512,"tok_per_s":1234.5}`+"\n") ||
		!strings.Contains(string(b), `"loss":null`) {
		t.Fatalf("unexpected encoding:\n%s", b)
	}

	// A crash in mid-write leaves a torn last line.
	torn := append(b, `{"kind":"train","step":3,"lo`...)
	if err := os.WriteFile(path, torn, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = ReadMetrics(path)
	if err != nil || !equalNaN(got, want) {
		t.Fatalf("torn line: %v\n%+v", err, got)
	}
	// Reopening cuts it off; records written after it read back.
	m, err := OpenMetrics(path)
	if err != nil {
		t.Fatal(err)
	}
	m.Write(StepRecord{Step: 3, Loss: 4, Tokens: 1536})
	m.Close()
	got, err = ReadMetrics(path)
	if err != nil || len(got.Steps) != 3 || got.Steps[2].Loss != 4 {
		t.Fatalf("after reopening: %v %+v", err, got.Steps)
	}

	// A malformed line that is not the last is an error naming the line.
	if err := os.WriteFile(path, append([]byte("{oops}\n"), b...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMetrics(path); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Fatalf("malformed first line: %v", err)
	}
	if _, err := ReadMetrics(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a run directory") {
		t.Fatalf("no metrics: %v", err)
	}
}

// A resumed run redoes the steps after its checkpoint: the last record of a
// step wins, in step order.
func TestMetricsResumeDedup(t *testing.T) {
	path := filepath.Join(t.TempDir(), MetricsFile)
	m, err := OpenMetrics(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []int{1, 2, 3, 2, 3, 4} {
		m.Write(StepRecord{Step: s, Loss: float64(10 * s)})
	}
	m.Write(StepRecord{Step: 2, Loss: 99})
	m.Close()
	got, err := ReadMetrics(path)
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, s := range got.Steps {
		steps = append(steps, s.Step)
	}
	if !reflect.DeepEqual(steps, []int{1, 2, 3, 4}) || got.Steps[1].Loss != 99 {
		t.Fatalf("dedup: %+v", got.Steps)
	}
}

// AppendJSON writes non-finite floats as null at any depth and otherwise
// matches encoding/json.
func TestAppendJSON(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	type inner struct {
		X float64 `json:"x"`
	}
	cases := []struct {
		in   any
		want string
	}{
		{map[string]any{"a": 1.5, "b": inf}, `{"a":1.5,"b":null}`},
		{map[string]any{"v": []float64{1, nan, -inf}}, `{"v":[1,null,null]}`},
		{map[string]any{"m": [][]float64{{inf}, {2}}, "s": "x", "n": 3}, `{"m":[[null],[2]],"n":3,"s":"x"}`},
		{struct {
			A string `json:"a"`
			inner
			B []int   `json:"b,omitempty"`
			C float32 `json:"-"`
		}{"q", inner{nan}, nil, 1}, `{"a":"q","x":null}`},
	}
	for _, c := range cases {
		b, err := AppendJSON(nil, c.in)
		if err != nil || string(b) != c.want {
			t.Errorf("AppendJSON(%+v) = %s, %v; want %s", c.in, b, err, c.want)
		}
	}
}
