package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The records of metrics.jsonl, one JSON object per line with a "kind" key.
// Tokens means the same in every record: the cumulative number of training
// tokens (all micro-batches of all steps so far) when the record was made.
// Floats that are NaN or ±Inf (a diverged loss) are written as null and read
// back as NaN.

// StepRecord is one optimizer step (kind "train").
type StepRecord struct {
	Step     int     `json:"step"` // 1-based number of the step just done
	Loss     float64 `json:"loss"` // mean training loss over the step's micro-batches
	LR       float64 `json:"lr"`
	GradNorm float64 `json:"grad_norm"`        // global gradient norm before clipping
	Tokens   int64   `json:"tokens"`           // cumulative training tokens after this step
	TokPerS  float64 `json:"tok_per_s"`        // this step's throughput (wall clock)
	SyncS    float64 `json:"sync_s,omitempty"` // time in the gradient-sync point (data-parallel runs)
	// Skipped: the loss or gradient was not finite, so the update was
	// skipped; NonFinite names the first parameter with a non-finite
	// gradient ("loss" if only the loss was).
	Skipped   bool   `json:"skipped,omitempty"`
	NonFinite string `json:"non_finite,omitempty"`
}

// EvalRecord is one validation (kind "eval").
type EvalRecord struct {
	Step    int     `json:"step"`
	Tokens  int64   `json:"tokens"`
	ValLoss float64 `json:"val_loss"` // mean loss (nats/token) over the evaluation windows
}

// Gains (kind "gains", see gains.go) is the third record kind.

// Record is implemented by the three record kinds.
type Record interface{ kind() string }

func (StepRecord) kind() string { return "train" }
func (EvalRecord) kind() string { return "eval" }
func (Gains) kind() string      { return "gains" }

// Log is the content of a metrics.jsonl file, each kind in step order.
type Log struct {
	Steps []StepRecord
	Evals []EvalRecord
	Gains []Gains
}

// Metrics appends records to a metrics.jsonl file.
type Metrics struct {
	f         *os.File
	path      string
	buf, body []byte
}

// OpenMetrics opens path for appending, creating it if needed. A torn last
// line (a crash in mid-write) is cut off first so that new records start on a
// line of their own.
func OpenMetrics(path string) (*Metrics, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := cutTornLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("metrics %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, fmt.Errorf("metrics %s: %w", path, err)
	}
	return &Metrics{f: f, path: path}, nil
}

// cutTornLine truncates f after its last newline.
func cutTornLine(f *os.File) error {
	info, err := f.Stat()
	if err != nil || info.Size() == 0 {
		return err
	}
	size := info.Size()
	chunk := make([]byte, 4096)
	for end := size; end > 0; {
		start := max(0, end-int64(len(chunk)))
		n, err := f.ReadAt(chunk[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if i := bytes.LastIndexByte(chunk[:n], '\n'); i >= 0 {
			if keep := start + int64(i) + 1; keep != size {
				return f.Truncate(keep)
			}
			return nil
		}
		end = start
	}
	return f.Truncate(0)
}

// Write appends rec as one JSON line. A nil *Metrics discards.
func (m *Metrics) Write(rec Record) error {
	if m == nil {
		return nil
	}
	body, err := AppendJSON(m.body[:0], rec) // {"step":...}
	if err != nil {
		return fmt.Errorf("metrics %s: %w", m.path, err)
	}
	m.body = body
	m.buf = strconv.AppendQuote(append(m.buf[:0], `{"kind":`...), rec.kind())
	m.buf = append(append(append(m.buf, ','), body[1:]...), '\n')
	if _, err := m.f.Write(m.buf); err != nil {
		return fmt.Errorf("metrics %s: %w", m.path, err)
	}
	return nil
}

// Close closes the file.
func (m *Metrics) Close() error {
	if m == nil {
		return nil
	}
	return m.f.Close()
}

// ReadMetrics reads the metrics.jsonl of the run directory dir (or the file
// dir itself). A torn last line is ignored; a malformed line elsewhere is an
// error naming its number. Records of unknown kinds are skipped. A resumed run
// redoes the steps after its last checkpoint: for each kind and step the last
// record wins, so the log reads as one uninterrupted run.
func ReadMetrics(dir string) (Log, error) {
	path := dir
	if info, err := os.Stat(dir); err == nil && info.IsDir() {
		path = filepath.Join(dir, MetricsFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Log{}, fmt.Errorf("metrics %s: no such file (not a run directory?)", path)
		}
		return Log{}, fmt.Errorf("metrics: %w", err)
	}
	var lg Log
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		last := !bytes.HasSuffix(b, []byte{'\n'}) && bytes.HasSuffix(bytes.TrimSpace(b), text)
		if err := lg.add(text); err != nil {
			if last {
				break // torn by a crash in mid-write
			}
			return Log{}, fmt.Errorf("metrics %s:%d: %w", path, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return Log{}, fmt.Errorf("metrics %s: %w", path, err)
	}
	lg.Steps = lastPerStep(lg.Steps, func(r StepRecord) int { return r.Step })
	lg.Evals = lastPerStep(lg.Evals, func(r EvalRecord) int { return r.Step })
	lg.Gains = lastPerStep(lg.Gains, func(r Gains) int { return r.Step })
	return lg, nil
}

func (lg *Log) add(line []byte) error {
	var head struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return err
	}
	switch head.Kind {
	case "train":
		var r StepRecord
		if err := DecodeJSON(line, &r); err != nil {
			return err
		}
		lg.Steps = append(lg.Steps, r)
	case "eval":
		var r EvalRecord
		if err := DecodeJSON(line, &r); err != nil {
			return err
		}
		lg.Evals = append(lg.Evals, r)
	case "gains":
		var r Gains
		if err := DecodeJSON(line, &r); err != nil {
			return err
		}
		lg.Gains = append(lg.Gains, r)
	}
	return nil
}

// lastPerStep keeps the last record of each step, sorted by step (stable).
func lastPerStep[R any](rs []R, step func(R) int) []R {
	seen := map[int]int{}
	var out []R
	for _, r := range rs {
		if i, ok := seen[step(r)]; ok {
			out[i] = r
			continue
		}
		seen[step(r)] = len(out)
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b R) int { return step(a) - step(b) })
	return out
}

// AppendJSON appends the JSON encoding of v to buf, as encoding/json would
// (struct fields by their json tags, "-" skipped, embedded structs
// flattened), except that NaN and ±Inf floats, which JSON cannot represent,
// are written as null. It is the one place mhc turns non-finite numbers into
// JSON; DecodeJSON reads them back as NaN.
func AppendJSON(buf []byte, v any) ([]byte, error) {
	return appendValue(buf, reflect.ValueOf(v))
}

func appendValue(buf []byte, v reflect.Value) ([]byte, error) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(buf, "null"...), nil
		}
		return strconv.AppendFloat(buf, f, 'g', -1, v.Type().Bits()), nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return append(buf, "null"...), nil
		}
		if k := v.Type().Elem().Kind(); k != reflect.Float32 && k != reflect.Float64 && k != reflect.Slice && k != reflect.Interface {
			break
		}
		buf = append(buf, '[')
		for i := range v.Len() {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, v.Index(i)); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return append(buf, "null"...), nil
		}
		return appendValue(buf, v.Elem())
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			break
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(strconv.AppendQuote(buf, k.String()), ':')
			var err error
			if buf, err = appendValue(buf, v.MapIndex(k)); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case reflect.Struct:
		if _, ok := v.Interface().(json.Marshaler); ok {
			break
		}
		buf = append(buf, '{')
		first := true
		var err error
		if buf, err = appendFields(buf, v, &first); err != nil {
			return nil, err
		}
		return append(buf, '}'), nil
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}

func appendFields(buf []byte, v reflect.Value, first *bool) ([]byte, error) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		fv := v.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			var err error
			if buf, err = appendFields(buf, fv, first); err != nil {
				return nil, err
			}
			continue
		}
		name, omitEmpty := fieldName(f)
		if !f.IsExported() || name == "-" {
			continue
		}
		if omitEmpty && fv.IsZero() {
			continue
		}
		if !*first {
			buf = append(buf, ',')
		}
		*first = false
		buf = append(strconv.AppendQuote(buf, name), ':')
		var err error
		if buf, err = appendValue(buf, fv); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// fieldName is f's JSON key and whether it is omitted when zero.
func fieldName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("json")
	name, opts, _ := strings.Cut(tag, ",")
	if tag == "-" {
		return "-", false
	}
	if name == "" {
		name = f.Name
	}
	return name, strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
}

// DecodeJSON is json.Unmarshal into the struct pointed to by v, except that a
// null where a float (or an element of a float slice) is expected reads as
// NaN: the inverse of AppendJSON.
func DecodeJSON(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	return nullsToNaN(raw, reflect.ValueOf(v).Elem())
}

func nullsToNaN(raw map[string]json.RawMessage, v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			if err := nullsToNaN(raw, v.Field(i)); err != nil {
				return err
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, _ := fieldName(f)
		r, ok := raw[name]
		if !ok || !bytes.Contains(r, []byte("null")) {
			continue
		}
		if err := setNaNs(r, v.Field(i)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// setNaNs writes NaN into the float elements of v that are null in r.
func setNaNs(r json.RawMessage, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if string(bytes.TrimSpace(r)) == "null" {
			v.SetFloat(math.NaN())
		}
	case reflect.Slice:
		var elems []json.RawMessage
		if err := json.Unmarshal(r, &elems); err != nil || elems == nil {
			return err
		}
		for i := range min(len(elems), v.Len()) {
			if err := setNaNs(elems[i], v.Index(i)); err != nil {
				return err
			}
		}
	}
	return nil
}
