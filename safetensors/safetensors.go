// Package safetensors reads and writes the safetensors tensor file format
// used by Hugging Face and PyTorch tooling.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON header
// (padded with spaces to a multiple of 8 by this writer), then the raw tensor
// bytes. The header maps each tensor name to its dtype, shape and
// [begin, end) byte range in the data buffer, plus an optional
// "__metadata__" object of string to string.
//
// The reader validates everything it is given (header size, JSON syntax,
// dtypes, shapes, byte ranges, duplicate names, and the per-tensor CRC-32C
// checksums this package writes under ChecksumKey) and returns a one-line
// error instead of panicking on malformed input. The writer is
// deterministic: the same tensors and metadata always produce the same
// bytes. Tensors are laid out contiguously in the order given; metadata
// keys are sorted.
//
// All tensor data is raw little-endian bytes in row-major order.
package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// MaxHeaderSize is the largest JSON header the reader accepts (100 MiB).
const MaxHeaderSize = 100 << 20

// metadataKey is the reserved header key holding the free-form metadata.
const metadataKey = "__metadata__"

// dtypeSizes maps each supported safetensors dtype to its size in bytes.
var dtypeSizes = map[string]int{
	"BOOL":    1,
	"U8":      1,
	"I8":      1,
	"F8_E4M3": 1,
	"F8_E5M2": 1,
	"U16":     2,
	"I16":     2,
	"F16":     2,
	"BF16":    2,
	"U32":     4,
	"I32":     4,
	"F32":     4,
	"U64":     8,
	"I64":     8,
	"F64":     8,
}

// DTypeSize returns the size in bytes of one element of the given dtype
// (for example 4 for "F32") and whether the dtype is known.
func DTypeSize(dtype string) (int, bool) {
	n, ok := dtypeSizes[dtype]
	return n, ok
}

// FormatError reports malformed safetensors data or an invalid tensor. Its
// message is one line: "safetensors: MSG", or "safetensors PATH: MSG" when
// the error came from reading or writing a file.
type FormatError struct {
	Path string // file involved, if any
	Msg  string // what is wrong, without the "safetensors" prefix
	Err  error  // the kind of problem, if classified (ErrChecksum), else nil
}

// Error returns the one-line description of the problem.
func (e *FormatError) Error() string {
	if e.Path != "" {
		return "safetensors " + e.Path + ": " + e.Msg
	}
	return "safetensors: " + e.Msg
}

// Unwrap returns the kind of problem (ErrChecksum), or nil.
func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(format string, args ...any) error {
	return &FormatError{Msg: fmt.Sprintf(format, args...)}
}

// withPath adds path to err: a *FormatError gets its Path set (keeping one
// prefix), anything else is wrapped as "safetensors PATH: err".
func withPath(path string, err error) error {
	if fe, ok := err.(*FormatError); ok && fe.Path == "" {
		return &FormatError{Path: path, Msg: fe.Msg, Err: fe.Err}
	}
	return fmt.Errorf("safetensors %s: %w", path, err)
}

// Tensor is one named tensor: its dtype (such as "F32"), its row-major shape
// and its raw little-endian bytes. A scalar has an empty shape.
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// numel returns the product of shape, or an error if a dimension is negative
// or the size in bytes (at most 8 per element) would overflow an int.
func numel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, formatErr("negative dimension %d in shape %v", d, shape)
		}
		if d == 0 {
			n = 0
			continue
		}
		if n > math.MaxInt/8/d {
			return 0, formatErr("shape %v is too large", shape)
		}
		n *= d
	}
	return n, nil
}

// Numel returns the number of elements, the product of Shape (1 for a
// scalar). It returns 0 if Shape has a negative or overflowing dimension.
func (t Tensor) Numel() int {
	n, err := numel(t.Shape)
	if err != nil {
		return 0
	}
	return n
}

// Validate checks that the dtype is known, the shape has no negative
// dimensions and len(Data) equals Numel times the dtype size.
func (t Tensor) Validate() error {
	size, ok := dtypeSizes[t.DType]
	if !ok {
		return formatErr("tensor %q: unknown dtype %q", t.Name, t.DType)
	}
	n, err := numel(t.Shape)
	if err != nil {
		return formatErr("tensor %q: %s", t.Name, err.(*FormatError).Msg)
	}
	if len(t.Data) != n*size {
		return formatErr("tensor %q: %s %v needs %d bytes, has %d", t.Name, t.DType, t.Shape, n*size, len(t.Data))
	}
	return nil
}

// F32 builds an "F32" tensor holding a copy of v. The caller's shape slice is
// copied too. Validate or Write report a shape that does not match len(v).
func F32(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: "F32", Shape: append([]int{}, shape...), Data: b}
}

// I32 builds an "I32" tensor holding a copy of v.
func I32(name string, shape []int, v []int32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return Tensor{Name: name, DType: "I32", Shape: append([]int{}, shape...), Data: b}
}

// Float32s returns the elements as a new []float32. F32 data is copied;
// BF16 and F16 data are widened exactly. Other dtypes are an error.
func (t Tensor) Float32s() ([]float32, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	switch t.DType {
	case "F32":
		out := make([]float32, len(t.Data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return out, nil
	case "BF16":
		out := make([]float32, len(t.Data)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.Data[2*i:])) << 16)
		}
		return out, nil
	case "F16":
		out := make([]float32, len(t.Data)/2)
		for i := range out {
			out[i] = f16ToF32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
		return out, nil
	}
	return nil, formatErr("tensor %q: cannot convert %s to float32", t.Name, t.DType)
}

// Int32s returns the elements of an "I32" tensor as a new []int32.
// Other dtypes are an error.
func (t Tensor) Int32s() ([]int32, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.DType != "I32" {
		return nil, formatErr("tensor %q: cannot convert %s to int32", t.Name, t.DType)
	}
	out := make([]int32, len(t.Data)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// f16ToF32 widens an IEEE 754 half-precision value to float32.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal half: value = mant * 2^-24, exact in float32.
	v := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}
