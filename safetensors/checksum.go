package safetensors

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"strconv"
	"strings"
)

// ChecksumKey is the "__metadata__" key under which this package records a
// checksum of every tensor's data: the CRC-32C (Castagnoli polynomial, as
// computed by Checksum) of the tensor's raw bytes, as 8 lowercase hex
// digits, one per tensor, comma-separated, in the order of the tensors'
// data_offsets (the order the writer lays them out in). A file without
// tensors records the empty string.
//
// Write and NewEncoder always set it (a value passed in the metadata is
// replaced). Parse verifies it when present and fails with an error that
// wraps ErrChecksum and names the first damaged tensor. Files without it
// (written by other tools, such as PyTorch's safetensors) are read
// unverified; File.Checksummed tells them apart.
const ChecksumKey = "crc32c"

// ErrChecksum is wrapped by the errors of Parse (and ReadFile) when a
// tensor's data does not match the checksum in the header, and by the
// Encoder's when the bytes written do not match the declared checksum.
var ErrChecksum = errors.New("checksum mismatch")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum returns the CRC-32C (Castagnoli) of data, the checksum recorded
// under ChecksumKey.
func Checksum(data []byte) uint32 { return crc32.Checksum(data, castagnoli) }

// UpdateChecksum returns the checksum of the bytes summed by crc followed by
// p: Checksum(a+b) == UpdateChecksum(Checksum(a), b).
func UpdateChecksum(crc uint32, p []byte) uint32 { return crc32.Update(crc, castagnoli, p) }

// ChecksumFloat32s returns the checksum of the little-endian bytes of v (the
// Data of F32(name, shape, v)) without building them all at once.
func ChecksumFloat32s(v []float32) uint32 {
	var buf [4 << 10]byte
	var crc uint32
	for len(v) > 0 {
		n := min(len(v), len(buf)/4)
		for i, x := range v[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
		crc = UpdateChecksum(crc, buf[:4*n])
		v = v[n:]
	}
	return crc
}

// formatChecksums renders sums as the ChecksumKey metadata value.
func formatChecksums(sums []uint32) string {
	var b strings.Builder
	b.Grow(9 * len(sums))
	for i, s := range sums {
		if i > 0 {
			b.WriteByte(',')
		}
		h := strconv.FormatUint(uint64(s), 16)
		b.WriteString("00000000"[len(h):])
		b.WriteString(h)
	}
	return b.String()
}

// parseChecksums parses a ChecksumKey value holding n checksums.
func parseChecksums(s string, n int) ([]uint32, error) {
	if s == "" {
		if n == 0 {
			return nil, nil
		}
		return nil, formatErr("%s metadata lists 0 checksums for %d tensors", ChecksumKey, n)
	}
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, formatErr("%s metadata lists %d checksums for %d tensors", ChecksumKey, len(parts), n)
	}
	out := make([]uint32, n)
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 16, 32)
		if err != nil || len(p) != 8 || strings.ToLower(p) != p {
			return nil, formatErr("%s metadata: checksum %d is %.16q, want 8 lowercase hex digits", ChecksumKey, i, p)
		}
		out[i] = uint32(v)
	}
	return out, nil
}

// verifyChecksums checks the tensors (in data order) against the
// ChecksumKey metadata, if there is one, and reports whether there was.
func verifyChecksums(f *File) (bool, error) {
	s, ok := f.Metadata[ChecksumKey]
	if !ok {
		return false, nil
	}
	sums, err := parseChecksums(s, len(f.Tensors))
	if err != nil {
		return false, err
	}
	for i, t := range f.Tensors {
		if got := Checksum(t.Data); got != sums[i] {
			return false, &FormatError{Err: ErrChecksum, Msg: "tensor " + strconv.Quote(t.Name) + ": data does not match its checksum (crc32c " +
				formatChecksums([]uint32{got}) + ", header records " + formatChecksums([]uint32{sums[i]}) + "): the file is damaged"}
		}
	}
	return true, nil
}
