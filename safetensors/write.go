package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"unicode/utf8"
)

// Info describes a tensor without its data: what NewEncoder needs up front.
type Info struct {
	Name  string
	DType string
	Shape []int
	// CRC32C is the checksum of the tensor's data bytes (Checksum, or
	// ChecksumFloat32s for float32 values). NewEncoder records it in the
	// header and the Encoder checks the bytes it is given against it.
	CRC32C uint32
}

// Info returns the tensor's name, dtype, shape and the checksum of its data.
func (t Tensor) Info() Info {
	return Info{Name: t.Name, DType: t.DType, Shape: t.Shape, CRC32C: Checksum(t.Data)}
}

// Encoder streams a safetensors file: NewEncoder writes the header, then the
// caller writes each tensor's bytes in order (with Write or WriteFloat32s)
// and calls Close. Large tensors never need a second in-memory copy. The
// header's checksums come from the Infos, so they are known before the data
// is written; the Encoder sums the bytes as they pass and fails if a tensor
// does not match its declared checksum (for example, a buffer that changed
// between computing the checksum and writing it).
type Encoder struct {
	w       io.Writer
	infos   []Info
	ends    []int64 // end offset of each tensor in the data buffer
	pos     int64   // bytes of tensor data written so far
	total   int64   // bytes of tensor data expected
	cur     int     // index of the tensor being filled (the first with end > pos, or a zero-size one at pos)
	crc     uint32  // checksum of tensor cur's bytes written so far
	scratch []byte  // conversion buffer for WriteFloat32s
	err     error   // first write error; sticky
}

// NewEncoder validates infos and metadata, writes the header to w and
// returns an Encoder expecting exactly the tensors' bytes, in order. Tensor
// names must be unique, valid UTF-8 and not "__metadata__". The header's
// "__metadata__" holds metadata plus ChecksumKey, built from the infos'
// CRC32C (a ChecksumKey entry in metadata is replaced). Invalid input gives
// a *FormatError; errors from w are returned as they are, here and by the
// Encoder's methods.
func NewEncoder(w io.Writer, infos []Info, metadata map[string]string) (*Encoder, error) {
	e := &Encoder{w: w, infos: infos, ends: make([]int64, len(infos))}
	hdr, err := e.header(metadata)
	if err != nil {
		return nil, err
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return nil, err
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	return e, nil
}

// header validates the tensors and builds the space-padded JSON header:
// "__metadata__" first (keys sorted), then the tensors in the given order.
func (e *Encoder) header(metadata map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	md := make(map[string]string, len(metadata)+1)
	for k, v := range metadata {
		md[k] = v
	}
	sums := make([]uint32, len(e.infos))
	for i, t := range e.infos {
		sums[i] = t.CRC32C
	}
	md[ChecksumKey] = formatChecksums(sums)
	keys := make([]string, 0, len(md))
	for k := range md {
		if !utf8.ValidString(k) || !utf8.ValidString(md[k]) {
			return nil, formatErr("metadata %q: not valid UTF-8", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString(`"__metadata__":{`)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, k)
		b.WriteByte(':')
		writeJSONString(&b, md[k])
	}
	b.WriteByte('}')
	seen := make(map[string]bool, len(e.infos))
	var off int64
	for i, t := range e.infos {
		switch {
		case t.Name == metadataKey:
			return nil, formatErr("tensor name %q is reserved", t.Name)
		case !utf8.ValidString(t.Name):
			return nil, formatErr("tensor name %q: not valid UTF-8", t.Name)
		case seen[t.Name]:
			return nil, formatErr("duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
		size, ok := dtypeSizes[t.DType]
		if !ok {
			return nil, formatErr("tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		n, err := numel(t.Shape)
		if err != nil {
			return nil, formatErr("tensor %q: %s", t.Name, err.(*FormatError).Msg)
		}
		nb := int64(n) * int64(size)
		if off > math.MaxInt64-nb {
			return nil, formatErr("tensor %q: total data size overflows", t.Name)
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		writeJSONString(&b, t.Name)
		fmt.Fprintf(&b, `:{"dtype":%q,"shape":[`, t.DType)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d", d)
		}
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, off, off+nb)
		off += nb
		e.ends[i] = off
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > MaxHeaderSize {
		return nil, formatErr("header is %d bytes, limit %d", b.Len(), MaxHeaderSize)
	}
	e.total = off
	return b.Bytes(), nil
}

// writeJSONString appends s as a JSON string without HTML escaping.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // cannot fail for a string into a bytes.Buffer
	b.Truncate(b.Len() - 1) // drop the newline Encode appends
}

// Write appends raw little-endian tensor bytes. Tensors are filled in header
// order and a tensor may be written in several calls; writing more bytes than
// the header declares is an error.
func (e *Encoder) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if int64(len(p)) > e.total-e.pos {
		return 0, formatErr("write of %d bytes exceeds declared tensor data by %d", len(p), int64(len(p))-(e.total-e.pos))
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
		e.pos += int64(n)
		return n, err
	}
	if err := e.sum(p[:n]); err != nil {
		e.err = err
		return n, err
	}
	return n, nil
}

// sum adds p (the next bytes of tensor data) to the running checksums,
// checking each tensor that p completes, zero-size ones included.
func (e *Encoder) sum(p []byte) error {
	for {
		for e.cur < len(e.infos) && e.ends[e.cur] == e.pos {
			if t := e.infos[e.cur]; e.crc != t.CRC32C {
				return &FormatError{Err: ErrChecksum, Msg: fmt.Sprintf("tensor %q: data written does not match its declared checksum (crc32c %s, declared %s)",
					t.Name, formatChecksums([]uint32{e.crc}), formatChecksums([]uint32{t.CRC32C}))}
			}
			e.cur++
			e.crc = 0
		}
		if len(p) == 0 {
			return nil
		}
		k := min(int64(len(p)), e.ends[e.cur]-e.pos)
		e.crc = UpdateChecksum(e.crc, p[:k])
		e.pos += k
		p = p[k:]
	}
}

// WriteFloat32s appends v as little-endian float32 bytes, converting through
// a small buffer. The tensor being filled must have dtype "F32" and v must
// not run past its end.
func (e *Encoder) WriteFloat32s(v []float32) error {
	if len(v) == 0 {
		return nil
	}
	i := sort.Search(len(e.ends), func(i int) bool { return e.ends[i] > e.pos })
	if i == len(e.ends) {
		return formatErr("write of %d floats exceeds declared tensor data", len(v))
	}
	if t := e.infos[i]; t.DType != "F32" {
		return formatErr("tensor %q: WriteFloat32s on %s tensor", t.Name, t.DType)
	}
	if int64(len(v))*4 > e.ends[i]-e.pos {
		return formatErr("tensor %q: write of %d floats exceeds the tensor by %d bytes", e.infos[i].Name, len(v), int64(len(v))*4-(e.ends[i]-e.pos))
	}
	const chunk = 8192
	if e.scratch == nil {
		e.scratch = make([]byte, 4*chunk)
	}
	for len(v) > 0 {
		n := min(len(v), chunk)
		for j, x := range v[:n] {
			binary.LittleEndian.PutUint32(e.scratch[4*j:], math.Float32bits(x))
		}
		if _, err := e.Write(e.scratch[:4*n]); err != nil {
			return err
		}
		v = v[n:]
	}
	return nil
}

// Close reports an error if fewer bytes were written than the header
// declares, or if a trailing zero-size tensor was declared with a non-zero
// checksum. It does not close the underlying writer.
func (e *Encoder) Close() error {
	if e.err != nil {
		return e.err
	}
	if e.pos != e.total {
		return formatErr("wrote %d of %d bytes of tensor data", e.pos, e.total)
	}
	if err := e.sum(nil); err != nil {
		e.err = err
		return err
	}
	return nil
}

// Write writes tensors and metadata to w in safetensors format. Tensors are
// stored in the given order with contiguous offsets; each is validated first
// (known dtype, len(Data) matching the shape). Metadata may be nil; the
// tensors' checksums are added under ChecksumKey.
// Invalid input gives a *FormatError; errors from w are wrapped.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	err := write(w, tensors, metadata)
	if _, ok := err.(*FormatError); err != nil && !ok {
		err = fmt.Errorf("safetensors: %w", err)
	}
	return err
}

func write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	infos := make([]Info, len(tensors))
	for i, t := range tensors {
		if err := t.Validate(); err != nil {
			return err
		}
		infos[i] = t.Info()
	}
	e, err := NewEncoder(w, infos, metadata)
	if err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := e.Write(t.Data); err != nil {
			return err
		}
	}
	return e.Close()
}

// WriteFile writes tensors and metadata to path atomically (see
// WriteAtomic): readers see either the old file or the complete new one.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	return WriteAtomic(path, func(w io.Writer) error { return write(w, tensors, metadata) })
}

// WriteAtomic creates path by calling write on a buffered temporary file in
// the same directory, then syncing it to disk and renaming it over path (and
// syncing the directory). On any error the temporary file is removed and
// path is left untouched. The file gets mode 0644. Use it with NewEncoder to
// stream a large checkpoint to disk atomically. Errors name path.
func WriteAtomic(path string, write func(w io.Writer) error) (err error) {
	defer func() {
		if err != nil {
			err = withPath(path, err)
		}
	}()
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename durable. Not every platform can sync a directory, so a
	// failure here is not reported: the data itself is already on disk.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
