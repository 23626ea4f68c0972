package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// raw builds a file from a header string and a data buffer, without padding.
func raw(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func mustWrite(t *testing.T, tensors []Tensor, md map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tensors, md); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		md      map[string]string
	}{
		{"empty", nil, nil},
		{"metadata only", nil, map[string]string{"format": "pt"}},
		{"f32 matrix", []Tensor{F32("w", []int{2, 3}, []float32{1, 2, 3, 4, 5, -6})}, nil},
		{"scalar", []Tensor{F32("s", nil, []float32{3.5})}, map[string]string{"a": "b", "<&>": "\"quoted\"\n"}},
		{"zero-size", []Tensor{F32("z", []int{0, 4}, nil), I32("i", []int{2}, []int32{-1, 7})}, nil},
		{"mixed dtypes", []Tensor{
			{Name: "b", DType: "BF16", Shape: []int{2}, Data: []byte{0x80, 0x3f, 0x00, 0xc0}},
			{Name: "u8", DType: "U8", Shape: []int{3}, Data: []byte{1, 2, 3}},
			{Name: "i64", DType: "I64", Shape: []int{1}, Data: []byte{1, 0, 0, 0, 0, 0, 0, 0}},
			{Name: "unicode é", DType: "F64", Shape: []int{1, 1}, Data: make([]byte, 8)},
		}, map[string]string{"step": "10"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := mustWrite(t, tc.tensors, tc.md)
			if len(data)%8 != 0 && len(tc.tensors) == 0 {
				t.Errorf("file length %d not a multiple of 8", len(data))
			}
			if n := binary.LittleEndian.Uint64(data); n%8 != 0 {
				t.Errorf("header length %d not a multiple of 8", n)
			}
			f, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(f.Tensors) != len(tc.tensors) {
				t.Fatalf("got %d tensors, want %d", len(f.Tensors), len(tc.tensors))
			}
			for i, want := range tc.tensors {
				got := f.Tensors[i]
				if got.Name != want.Name || got.DType != want.DType || !bytes.Equal(got.Data, want.Data) ||
					len(got.Shape) != len(want.Shape) || (len(want.Shape) > 0 && !reflect.DeepEqual(got.Shape, want.Shape)) {
					t.Errorf("tensor %d = %+v, want %+v", i, got, want)
				}
				if g, ok := f.Get(want.Name); !ok || g.Name != want.Name {
					t.Errorf("Get(%q) = %v, %v", want.Name, g.Name, ok)
				}
			}
			want := map[string]string{ChecksumKey: wantChecksums(tc.tensors)}
			for k, v := range tc.md {
				want[k] = v
			}
			if !reflect.DeepEqual(f.Metadata, want) || !f.Checksummed {
				t.Errorf("metadata = %v (checksummed %v), want %v", f.Metadata, f.Checksummed, want)
			}
			if _, ok := f.Get("missing"); ok {
				t.Error("Get(missing) found something")
			}
			// Read (io.Reader) agrees with Parse.
			f2, err := Read(bytes.NewReader(data))
			if err != nil || len(f2.Tensors) != len(f.Tensors) {
				t.Errorf("Read: %v", err)
			}
			// Deterministic: writing again gives identical bytes.
			if again := mustWrite(t, tc.tensors, tc.md); !bytes.Equal(again, data) {
				t.Error("second Write produced different bytes")
			}
		})
	}
}

func TestWriteGolden(t *testing.T) {
	data := mustWrite(t, []Tensor{
		F32("b", []int{1}, []float32{1}),
		I32("a", []int{2}, []int32{1, -1}),
	}, map[string]string{"z": "1", "a": "2"})
	// CRC-32C of float32 1 (00 00 80 3f) and of int32 {1, -1}, computed
	// independently by a bitwise CRC-32C (reflected polynomial 0x82F63B78)
	// in Python whose check value for "123456789" is e3069283.
	wantHdr := `{"__metadata__":{"a":"2","crc32c":"dd54c4ab,728c7b95","z":"1"},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},` +
		`"a":{"dtype":"I32","shape":[2],"data_offsets":[4,12]}}`
	wantHdr += strings.Repeat(" ", (8-len(wantHdr)%8)%8)
	want := raw(wantHdr, []byte{0, 0, 0x80, 0x3f, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	if !bytes.Equal(data, want) {
		t.Errorf("got\n%q\nwant\n%q", data, want)
	}
}

func TestParseOffsetOrder(t *testing.T) {
	// Header order differs from offset order; File.Tensors follow offsets.
	data := raw(`{"late":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"early":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{10, 20})
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Tensors[0].Name != "early" || f.Tensors[1].Name != "late" {
		t.Errorf("order = %s, %s", f.Tensors[0].Name, f.Tensors[1].Name)
	}
	if late, _ := f.Get("late"); late.Data[0] != 20 {
		t.Errorf("late = %v", late.Data)
	}
}

func TestParseErrors(t *testing.T) {
	ok := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "too short"},
		{"empty", nil, "too short"},
		{"header over limit", func() []byte {
			b := make([]byte, 16)
			binary.LittleEndian.PutUint64(b, MaxHeaderSize+1)
			return b
		}(), "exceeds limit"},
		{"header over file", func() []byte { b := raw(ok, make([]byte, 8)); binary.LittleEndian.PutUint64(b, 1000); return b }(), "exceeds file size"},
		{"huge header length", func() []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, math.MaxUint64); return b }(), "exceeds limit"},
		{"not json", raw("hello", nil), "not a JSON object"},
		{"array", raw("[]", nil), "not a JSON object"},
		{"truncated", raw(`{"a":{"dtype":"F32"`, nil), "invalid header JSON"},
		{"trailing", raw(ok+`{}`, make([]byte, 8)), "after header"},
		{"duplicate", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 2)), "duplicate tensor name"},
		{"duplicate metadata", raw(`{"__metadata__":{},"__metadata__":{}}`, nil), "duplicate"},
		{"bad metadata", raw(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"missing dtype", raw(`{"a":{"shape":[1],"data_offsets":[0,1]}}`, []byte{0}), "missing dtype"},
		{"missing shape", raw(`{"a":{"dtype":"U8","data_offsets":[0,1]}}`, []byte{0}), "missing shape"},
		{"null shape", raw(`{"a":{"dtype":"U8","shape":null,"data_offsets":[0,1]}}`, []byte{0}), "missing shape"},
		{"missing offsets", raw(`{"a":{"dtype":"U8","shape":[1]}}`, []byte{0}), "missing data_offsets"},
		{"unknown field", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}}`, []byte{0}), "unknown field"},
		{"entry not object", raw(`{"a":3}`, nil), "invalid entry"},
		{"unknown dtype", raw(`{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), "unknown dtype"},
		{"negative dim", raw(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, []byte{0}), "non-negative"},
		{"float dim", raw(`{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}`, []byte{0}), "non-negative"},
		{"string dim", raw(`{"a":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}`, []byte{0}), "non-negative"},
		{"huge dims", raw(`{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}`, []byte{0}), "too large"},
		{"three offsets", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, []byte{0}), "want 2"},
		{"negative offset", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, []byte{0}), "non-negative"},
		{"end before begin", raw(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}`, []byte{0}), "end before begin"},
		{"wrong size", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 8)), "needs 8"},
		{"past buffer", raw(ok, make([]byte, 4)), "exceed data buffer"},
		{"overflow offsets", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,0]}}`, nil), "end before begin"},
		{"overlap", raw(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`, make([]byte, 3)), "overlap"},
		{"empty inside other", raw(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[0],"data_offsets":[1,1]}}`, make([]byte, 3)), "overlap"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.data)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", f)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "safetensors: ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line containing %q", msg, tc.want)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		md      map[string]string
		want    string
	}{
		{"short data", []Tensor{F32("a", []int{3}, []float32{1, 2})}, nil, "needs 12 bytes, has 8"},
		{"unknown dtype", []Tensor{{Name: "a", DType: "F12", Shape: []int{1}, Data: []byte{0}}}, nil, "unknown dtype"},
		{"negative dim", []Tensor{{Name: "a", DType: "U8", Shape: []int{-1}}}, nil, "negative"},
		{"duplicate", []Tensor{F32("a", nil, []float32{1}), F32("a", nil, []float32{1})}, nil, "duplicate"},
		{"reserved", []Tensor{F32("__metadata__", nil, []float32{1})}, nil, "reserved"},
		{"bad utf8 name", []Tensor{F32("\xff", nil, []float32{1})}, nil, "UTF-8"},
		{"bad utf8 metadata", nil, map[string]string{"k": "\xff"}, "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.tensors, tc.md)
			var fe *FormatError
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &fe) {
				t.Errorf("Write error = %v, want FormatError containing %q", err, tc.want)
			}
		})
	}
}

func TestFloat32s(t *testing.T) {
	tests := []struct {
		name    string
		t       Tensor
		want    []float32
		wantErr string
	}{
		{"f32", F32("a", []int{3}, []float32{1, -2.5, float32(math.Inf(1))}), []float32{1, -2.5, float32(math.Inf(1))}, ""},
		{"bf16", Tensor{Name: "b", DType: "BF16", Shape: []int{3}, Data: []byte{0x80, 0x3f, 0x20, 0xc0, 0x80, 0x7f}},
			[]float32{1, -2.5, float32(math.Inf(1))}, ""},
		{"f16", Tensor{Name: "h", DType: "F16", Shape: []int{5}, Data: []byte{0x00, 0x3c, 0x00, 0xc1, 0x01, 0x00, 0x00, 0x80, 0x00, 0x7c}},
			[]float32{1, -2.5, 5.9604645e-08, float32(math.Copysign(0, -1)), float32(math.Inf(1))}, ""},
		{"i32", I32("i", []int{1}, []int32{1}), nil, "cannot convert I32"},
		{"bad length", Tensor{Name: "x", DType: "F32", Shape: []int{2}, Data: make([]byte, 4)}, nil, "needs 8 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.t.Float32s()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(tc.want[i]) {
					t.Errorf("[%d] = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
	if v, err := I32("i", []int{2}, []int32{-3, 4}).Int32s(); err != nil || !reflect.DeepEqual(v, []int32{-3, 4}) {
		t.Errorf("Int32s = %v, %v", v, err)
	}
	if _, err := F32("f", nil, []float32{1}).Int32s(); err == nil {
		t.Error("Int32s on F32 succeeded")
	}
	// NaN survives the BF16 widening.
	nan, _ := Tensor{Name: "n", DType: "BF16", Shape: []int{1}, Data: []byte{0xc0, 0x7f}}.Float32s()
	if !math.IsNaN(float64(nan[0])) {
		t.Errorf("bf16 NaN widened to %v", nan[0])
	}
}

func TestEncoderStreaming(t *testing.T) {
	big := make([]float32, 20000) // more than one conversion chunk
	for i := range big {
		big[i] = float32(i) * 0.5
	}
	infos := []Info{{"big", "F32", []int{len(big)}, ChecksumFloat32s(big)}, {"ids", "I32", []int{2}, Checksum(I32("", nil, []int32{5, 6}).Data)},
		{"tail", "F32", []int{2}, ChecksumFloat32s([]float32{7, 8})}}
	var buf bytes.Buffer
	e, err := NewEncoder(&buf, infos, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WriteFloat32s(big[:5]); err != nil { // partial writes are fine
		t.Fatal(err)
	}
	if err := e.WriteFloat32s(big[5:]); err != nil {
		t.Fatal(err)
	}
	if err := e.WriteFloat32s([]float32{1}); err == nil || !strings.Contains(err.Error(), "on I32 tensor") {
		t.Errorf("WriteFloat32s into I32: %v", err)
	}
	if _, err := e.Write(I32("", nil, []int32{5, 6}).Data); err != nil {
		t.Fatal(err)
	}
	if err := e.WriteFloat32s([]float32{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "exceeds the tensor") {
		t.Errorf("overlong WriteFloat32s: %v", err)
	}
	if err := e.Close(); err == nil || !strings.Contains(err.Error(), "wrote") {
		t.Errorf("early Close: %v", err)
	}
	if err := e.WriteFloat32s([]float32{7, 8}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Write([]byte{0}); err == nil {
		t.Error("write past the end succeeded")
	}
	if err := e.WriteFloat32s([]float32{9}); err == nil {
		t.Error("WriteFloat32s past the end succeeded")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	want := mustWrite(t, []Tensor{F32("big", []int{len(big)}, big), I32("ids", []int{2}, []int32{5, 6}), F32("tail", []int{2}, []float32{7, 8})}, nil)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Error("streamed bytes differ from Write")
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, io.ErrShortWrite
	}
	w.after--
	return len(p), nil
}

func TestWriteIOError(t *testing.T) {
	ts := []Tensor{F32("a", []int{1}, []float32{1})}
	for after := 0; after < 3; after++ {
		if err := Write(&failWriter{after: after}, ts, nil); !errors.Is(err, io.ErrShortWrite) || !strings.HasPrefix(err.Error(), "safetensors: ") {
			t.Errorf("after %d writes: err = %v", after, err)
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	ts := []Tensor{F32("w", []int{2, 2}, []float32{1, 2, 3, 4})}
	if err := WriteFile(path, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Tensors[0].Float32s(); !reflect.DeepEqual(v, []float32{1, 2, 3, 4}) {
		t.Errorf("read back %v", v)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("stat: %v %v", st.Mode(), err)
	}

	// A failing write leaves the old file and no temporary files behind.
	bad := []Tensor{F32("w", []int{3}, []float32{1})}
	err = WriteFile(path, bad, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "safetensors "+path+": tensor") {
		t.Errorf("WriteFile bad = %v", err)
	}
	if _, err := ReadFile(path); err != nil {
		t.Errorf("old file damaged: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir has %d entries, want 1", len(entries))
	}

	if _, err := ReadFile(filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("ReadFile missing = %v", err)
	}
	if err := os.WriteFile(path, []byte("garbage!"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); err == nil || !strings.HasPrefix(err.Error(), "safetensors "+path+": header length") {
		t.Errorf("ReadFile garbage = %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir"), ts, nil); err == nil {
		t.Error("WriteFile into missing dir succeeded")
	}
}

// TestPythonFile reads a file written by the numpy writer in
// bench/torch_gpt.py (compact JSON, header not in offset order).
func TestPythonFile(t *testing.T) {
	f, err := ReadFile("testdata/python.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["format"] != "pt" || f.Checksummed {
		t.Errorf("metadata = %v, checksummed %v (want a file without checksums)", f.Metadata, f.Checksummed)
	}
	tok, ok := f.Get("tokens")
	if !ok {
		t.Fatal("no tokens")
	}
	ids, err := tok.Int32s()
	if err != nil || !reflect.DeepEqual(ids, []int32{0, 1, 2, 255}) || !reflect.DeepEqual(tok.Shape, []int{1, 4}) {
		t.Errorf("tokens = %v %v %v", ids, tok.Shape, err)
	}
	lg, _ := f.Get("logits")
	v, err := lg.Float32s()
	if err != nil || len(v) != 24 || v[0] != -1 || v[23] != 1.875 || !reflect.DeepEqual(lg.Shape, []int{1, 4, 6}) {
		t.Errorf("logits = %v %v %v", v, lg.Shape, err)
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// survives a Write/Parse round trip unchanged.
func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	_ = Write(&buf, []Tensor{F32("a", []int{2}, []float32{1, 2}), I32("b", nil, []int32{3})}, map[string]string{"k": "v"})
	f.Add(buf.Bytes())
	f.Add(raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"b":{"dtype":"BF16","shape":[0],"data_offsets":[0,0]}}`, []byte{1, 2, 3}))
	f.Add(raw(`{}`, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		var out bytes.Buffer
		if err := Write(&out, file.Tensors, file.Metadata); err != nil {
			t.Fatalf("re-Write of parsed file: %v", err)
		}
		again, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("re-Parse: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) || !again.Checksummed {
			t.Fatalf("round trip changed the tensor count or lost the checksums")
		}
		// The writer adds (or keeps) the checksums and changes nothing else.
		want := map[string]string{ChecksumKey: wantChecksums(file.Tensors)}
		for k, v := range file.Metadata {
			if k != ChecksumKey {
				want[k] = v
			} else if v != want[k] {
				t.Fatalf("parsed file's verified checksums %q differ from its data's %q", v, want[k])
			}
		}
		if !reflect.DeepEqual(again.Metadata, want) {
			t.Fatalf("round trip metadata %v, want %v", again.Metadata, want)
		}
		for i, a := range file.Tensors {
			b := again.Tensors[i]
			if a.Name != b.Name || a.DType != b.DType || !bytes.Equal(a.Data, b.Data) || len(a.Shape) != len(b.Shape) {
				t.Fatalf("round trip changed tensor %d: %+v vs %+v", i, a, b)
			}
			for j := range a.Shape {
				if a.Shape[j] != b.Shape[j] {
					t.Fatalf("round trip changed shape of %q", a.Name)
				}
			}
		}
	})
}

// wantChecksums is the ChecksumKey value for tensors laid out in order.
func wantChecksums(tensors []Tensor) string {
	var parts []string
	for _, t := range tensors {
		parts = append(parts, fmt.Sprintf("%08x", Checksum(t.Data)))
	}
	return strings.Join(parts, ",")
}

func TestChecksum(t *testing.T) {
	cases := []struct {
		data []byte
		want uint32
	}{
		{nil, 0},
		{[]byte("123456789"), 0xe3069283}, // the CRC-32C check value
		{[]byte{0, 0, 0x80, 0x3f}, 0xdd54c4ab},
	}
	for _, c := range cases {
		if got := Checksum(c.data); got != c.want {
			t.Errorf("Checksum(%q) = %08x, want %08x", c.data, got, c.want)
		}
		if got := UpdateChecksum(Checksum(c.data[:len(c.data)/2]), c.data[len(c.data)/2:]); got != c.want {
			t.Errorf("UpdateChecksum in two halves of %q = %08x, want %08x", c.data, got, c.want)
		}
	}
	big := make([]float32, 3000) // more than one conversion buffer
	for i := range big {
		big[i] = float32(i) - 0.25
	}
	for _, n := range []int{0, 1, 1023, 1024, 1025, len(big)} {
		if got, want := ChecksumFloat32s(big[:n]), Checksum(F32("", nil, big[:n]).Data); got != want {
			t.Errorf("ChecksumFloat32s of %d floats = %08x, want %08x", n, got, want)
		}
	}
}

// Every single-bit flip in the data of a checksummed file is an error that
// wraps ErrChecksum and names the damaged tensor; flips in its checksum list
// are errors too.
func TestParseDetectsDamage(t *testing.T) {
	tensors := []Tensor{
		F32("wte.weight", []int{3, 2}, []float32{1, 2, 3, 4, 5, 6}),
		I32("empty", []int{0}, nil),
		F32("norm", []int{2}, []float32{-1, 0.5}),
	}
	good := mustWrite(t, tensors, map[string]string{"format": "mhc"})
	f, err := Parse(good)
	if err != nil || !f.Checksummed {
		t.Fatalf("good file: %v (checksummed %v)", err, f != nil && f.Checksummed)
	}
	hdrEnd := 8 + int(binary.LittleEndian.Uint64(good))
	owner := func(off int) string { // tensor holding data byte off
		switch {
		case off < 24:
			return "wte.weight"
		default:
			return "norm"
		}
	}
	for i := hdrEnd; i < len(good); i++ {
		for bit := range 8 {
			bad := bytes.Clone(good)
			bad[i] ^= 1 << bit
			_, err := Parse(bad)
			if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), `"`+owner(i-hdrEnd)+`"`) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("flip of bit %d of data byte %d: %v", bit, i-hdrEnd, err)
			}
		}
	}
	sums := bytes.Index(good, []byte(`"crc32c":"`)) + len(`"crc32c":"`)
	for i := sums; i < sums+3*9-1; i++ {
		for bit := range 8 {
			bad := bytes.Clone(good)
			bad[i] ^= 1 << bit
			if _, err := Parse(bad); err == nil {
				t.Fatalf("flip of bit %d of checksum list byte %d accepted", bit, i-sums)
			}
		}
	}
	for _, tc := range []struct{ value, want string }{
		{"", "0 checksums for 3"},
		{"00000000", "1 checksums for 3"},
		{"0000000g,00000000,00000000", "8 lowercase hex"},
		{"ABCDEF01,00000000,00000000", "8 lowercase hex"},
		{"0,00000000,00000000", "8 lowercase hex"},
	} {
		var b bytes.Buffer
		hdr := `{"__metadata__":{"crc32c":"` + tc.value + `"},"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},` +
			`"b":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"c":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}`
		b.Write(raw(hdr, nil))
		if _, err := Parse(b.Bytes()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("checksums %q: %v, want %q", tc.value, err, tc.want)
		}
	}
	// ReadFile names the file and keeps the error's kind.
	path := filepath.Join(t.TempDir(), "m.safetensors")
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 0x80
	os.WriteFile(path, bad, 0o644)
	if _, err := ReadFile(path); !errors.Is(err, ErrChecksum) || !strings.HasPrefix(err.Error(), "safetensors "+path+`: tensor "norm"`) {
		t.Errorf("ReadFile of a damaged file: %v", err)
	}
}

// The Encoder refuses data that does not match the declared checksums,
// including zero-size tensors declared with a non-zero checksum.
func TestEncoderChecksumMismatch(t *testing.T) {
	cases := []struct {
		name  string
		infos []Info
		write [][]float32
		want  string
	}{
		{"changed data", []Info{{"a", "F32", []int{2}, ChecksumFloat32s([]float32{1, 2})}}, [][]float32{{1, 3}}, `"a"`},
		{"second tensor", []Info{{"a", "F32", []int{1}, ChecksumFloat32s([]float32{1})}, {"b", "F32", []int{1}, 7}}, [][]float32{{1}, {2}}, `"b"`},
		{"zero-size, declared non-zero", []Info{{"a", "F32", []int{1}, ChecksumFloat32s([]float32{1})}, {"z", "F32", []int{0}, 1}}, [][]float32{{1}}, `"z"`},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		e, err := NewEncoder(&buf, c.infos, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range c.write {
			if err = e.WriteFloat32s(v); err != nil {
				break
			}
		}
		if err == nil {
			err = e.Close()
		}
		if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a checksum error naming %s", c.name, err, c.want)
		}
	}
}
