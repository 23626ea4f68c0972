package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
)

// File is a parsed safetensors file.
type File struct {
	// Tensors are sorted by their byte offset in the file.
	Tensors []Tensor
	// Metadata is the "__metadata__" object, or nil if the file has none.
	Metadata map[string]string
	// Checksummed reports whether the file carried per-tensor checksums
	// (ChecksumKey) and every tensor matched them. It is false for files
	// written by other tools; a mismatch makes Parse fail instead.
	Checksummed bool

	index map[string]int // name → position in Tensors
}

// Get returns the tensor with the given name and whether it exists.
func (f *File) Get(name string) (Tensor, bool) {
	if f.index == nil || len(f.index) != len(f.Tensors) {
		for _, t := range f.Tensors {
			if t.Name == name {
				return t, true
			}
		}
		return Tensor{}, false
	}
	i, ok := f.index[name]
	if !ok || f.Tensors[i].Name != name {
		return Tensor{}, false
	}
	return f.Tensors[i], true
}

// ReadFile reads and validates the safetensors file at path.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err) // *PathError names path
	}
	f, err := Parse(data)
	if err != nil {
		return nil, withPath(path, err)
	}
	return f, nil
}

// Read reads all of r and parses it as a safetensors file (see Parse).
func Read(r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return Parse(data)
}

// Parse validates data as a safetensors file and returns its tensors. The
// tensors' Data slices alias data (no copy is made). Validation covers the
// header length (at most MaxHeaderSize and within data), JSON syntax,
// duplicate names, dtypes, shapes, byte ranges (each within the data
// buffer, sized numel × dtype size, and not overlapping another) and, when
// the metadata has ChecksumKey, every tensor's checksum: a mismatch is an
// error wrapping ErrChecksum that names the tensor.
func Parse(data []byte) (*File, error) {
	f, err := parse(data)
	if err != nil {
		return nil, err
	}
	if f.Checksummed, err = verifyChecksums(f); err != nil {
		return nil, err
	}
	return f, nil
}

// entry is one tensor's header record. Numbers are kept raw so that only
// plain JSON integers are accepted.
type entry struct {
	DType   *string            `json:"dtype"`
	Shape   *[]json.RawMessage `json:"shape"`
	Offsets *[]json.RawMessage `json:"data_offsets"`
}

func parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, formatErr("file is %d bytes, too short for the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return nil, formatErr("header length %d exceeds limit %d", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, formatErr("header length %d exceeds file size %d", n, len(data))
	}
	hdr, buf := data[8:8+n], data[8+n:]

	dec := json.NewDecoder(bytes.NewReader(hdr))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, formatErr("header is not a JSON object")
	}
	f := &File{index: map[string]int{}}
	type span struct{ begin, end uint64 }
	var spans []span
	seenMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, formatErr("invalid header JSON: %v", err)
		}
		name, _ := tok.(string) // object keys are always strings
		if name == metadataKey {
			if seenMeta {
				return nil, formatErr("duplicate %q in header", metadataKey)
			}
			seenMeta = true
			if err := dec.Decode(&f.Metadata); err != nil {
				return nil, formatErr("invalid %s (want an object of strings): %v", metadataKey, err)
			}
			continue
		}
		if _, dup := f.index[name]; dup {
			return nil, formatErr("duplicate tensor name %q", name)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, formatErr("invalid header JSON at tensor %q: %v", name, err)
		}
		t, s, err := parseEntry(name, raw)
		if err != nil {
			return nil, err
		}
		f.index[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
		spans = append(spans, span{s[0], s[1]})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, formatErr("invalid header JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, formatErr("unexpected data after header JSON object")
	}

	// Check byte ranges in offset order; the File keeps that order.
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		sa, sb := spans[order[a]], spans[order[b]]
		return sa.begin < sb.begin || sa.begin == sb.begin && sa.end < sb.end
	})
	sorted := make([]Tensor, len(order))
	var prevEnd uint64
	prevName := ""
	for k, i := range order {
		t, s := f.Tensors[i], spans[i]
		if s.end > uint64(len(buf)) {
			return nil, formatErr("tensor %q: data_offsets [%d,%d] exceed data buffer of %d bytes", t.Name, s.begin, s.end, len(buf))
		}
		if k > 0 && s.begin < prevEnd {
			return nil, formatErr("tensor %q: data_offsets [%d,%d] overlap tensor %q ending at %d", t.Name, s.begin, s.end, prevName, prevEnd)
		}
		t.Data = buf[s.begin:s.end:s.end]
		sorted[k] = t
		f.index[t.Name] = k
		prevEnd, prevName = s.end, t.Name
	}
	f.Tensors = sorted
	return f, nil
}

// parseEntry validates one tensor record and returns the tensor (without
// data) and its [begin, end) byte range.
func parseEntry(name string, raw json.RawMessage) (Tensor, [2]uint64, error) {
	var e entry
	var none [2]uint64
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Tensor{}, none, formatErr("tensor %q: invalid entry: %v", name, err)
	}
	switch {
	case e.DType == nil:
		return Tensor{}, none, formatErr("tensor %q: missing dtype", name)
	case e.Shape == nil:
		return Tensor{}, none, formatErr("tensor %q: missing shape", name)
	case e.Offsets == nil:
		return Tensor{}, none, formatErr("tensor %q: missing data_offsets", name)
	}
	size, ok := dtypeSizes[*e.DType]
	if !ok {
		return Tensor{}, none, formatErr("tensor %q: unknown dtype %q", name, *e.DType)
	}
	shape := make([]int, len(*e.Shape))
	for i, r := range *e.Shape {
		d, err := strconv.ParseInt(string(r), 10, 0)
		if err != nil || d < 0 {
			return Tensor{}, none, formatErr("tensor %q: shape dimension %.32q is not a non-negative integer", name, r)
		}
		shape[i] = int(d)
	}
	numEl, err := numel(shape)
	if err != nil {
		return Tensor{}, none, formatErr("tensor %q: %s", name, err.(*FormatError).Msg)
	}
	if len(*e.Offsets) != 2 {
		return Tensor{}, none, formatErr("tensor %q: data_offsets has %d values, want 2", name, len(*e.Offsets))
	}
	var s [2]uint64
	for i, r := range *e.Offsets {
		v, err := strconv.ParseUint(string(r), 10, 64)
		if err != nil {
			return Tensor{}, none, formatErr("tensor %q: data_offsets value %.32q is not a non-negative integer", name, r)
		}
		s[i] = v
	}
	if s[1] < s[0] {
		return Tensor{}, none, formatErr("tensor %q: data_offsets [%d,%d] end before begin", name, s[0], s[1])
	}
	if want := uint64(numEl) * uint64(size); s[1]-s[0] != want {
		return Tensor{}, none, formatErr("tensor %q: data_offsets [%d,%d] span %d bytes, %s %v needs %d", name, s[0], s[1], s[1]-s[0], *e.DType, shape, want)
	}
	return Tensor{Name: name, DType: *e.DType, Shape: shape, Data: nil}, s, nil
}
