// Package safetensors reads and writes model weights in the safetensors
// format, the de-facto weight format of the PyTorch ecosystem, optionally
// compressed with zstd (".safetensors.zst").
//
// The format: an 8-byte little-endian uint64 N, then N bytes of a JSON header
// (possibly padded with spaces so that the data starts 8-byte aligned), then
// the raw little-endian tensor data. The header maps each tensor name to
// {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} with offsets
// in bytes relative to the end of the header; the optional "__metadata__"
// key maps strings to strings. The tensors' byte ranges must tile the data
// section exactly: no gaps, no overlaps, nothing left over.
//
// In memory every tensor is float32 (catsynth computes in float32), in
// row-major order with PyTorch's shape, so OIHW conv weights converted from
// PyTorch load without transposes. Reading decodes F32, F16, BF16 and F64 to
// float32, and also integer and bool tensors (see [Decode]); writing stores
// F32, or F16 when [WriteOptions.F16] is set.
package safetensors

import (
	"fmt"
	"sort"
	"sync"
)

// Tensor is one named tensor. Data holds the elements in row-major order;
// len(Data) must equal the product of Shape (1 for a scalar, Shape == nil or
// empty).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// File is the decoded content of a safetensors file.
type File struct {
	// Tensors, sorted by name.
	Tensors []Tensor
	// Metadata is the header's "__metadata__" object; nil when the file
	// has none. catsynth stores model configs here as JSON strings.
	Metadata map[string]string
}

// Get returns the tensor called name (a pointer into f.Tensors) and whether
// it exists. It relies on f.Tensors being sorted by name, as Decode leaves
// it.
func (f *File) Get(name string) (*Tensor, bool) {
	i := sort.Search(len(f.Tensors), func(i int) bool { return f.Tensors[i].Name >= name })
	if i < len(f.Tensors) && f.Tensors[i].Name == name {
		return &f.Tensors[i], true
	}
	return nil, false
}

// WriteOptions controls how tensors are stored. The zero value stores
// float32.
type WriteOptions struct {
	// F16 stores every tensor as IEEE float16 (round to nearest even),
	// halving the file. Magnitudes above 65504 become ±Inf and below about
	// 6e-8 become 0; fine for weights, not for optimizer state.
	F16 bool
	// Digest stores a SHA-256 of the content under DigestKey in the
	// metadata, which readers verify. It costs one more pass over the
	// tensors before writing (the header, which holds the digest, comes
	// first). Without it an incoming DigestKey entry is dropped: it would
	// not match the new file.
	Digest bool
}

// maxHeaderLen is the largest JSON header accepted (100 MB). Real headers
// are kilobytes; a larger length means a corrupt or foreign file, and
// refusing it avoids a huge allocation.
const maxHeaderLen = 100 << 20

// metadataKey is the reserved header key holding string metadata.
const metadataKey = "__metadata__"

// dtype describes one safetensors element type.
type dtype struct {
	size int // bytes per element
	// convert decodes len(dst) little-endian elements from src
	// (len(src) == len(dst)*size) into dst.
	convert func(dst []float32, src []byte)
}

// dtypes lists the element types Decode accepts. F8 and complex types are
// not supported.
var dtypes = map[string]dtype{
	"F32": {4, func(d []float32, s []byte) {
		for i := range d {
			d[i] = f32frombits(le32(s[4*i:]))
		}
	}},
	"F16": {2, func(d []float32, s []byte) {
		tbl := f16Table()
		for i := range d {
			d[i] = tbl[le16(s[2*i:])]
		}
	}},
	"BF16": {2, func(d []float32, s []byte) {
		for i := range d {
			d[i] = BF16ToF32(le16(s[2*i:]))
		}
	}},
	"F64": {8, func(d []float32, s []byte) {
		for i := range d {
			d[i] = float32(f64frombits(le64(s[8*i:])))
		}
	}},
	"I64": {8, func(d []float32, s []byte) {
		for i := range d {
			d[i] = float32(int64(le64(s[8*i:])))
		}
	}},
	"U64": {8, func(d []float32, s []byte) {
		for i := range d {
			d[i] = float32(le64(s[8*i:]))
		}
	}},
	"I32": {4, func(d []float32, s []byte) {
		for i := range d {
			d[i] = float32(int32(le32(s[4*i:])))
		}
	}},
	"U32": {4, func(d []float32, s []byte) {
		for i := range d {
			d[i] = float32(le32(s[4*i:]))
		}
	}},
	"I16": {2, func(d []float32, s []byte) {
		for i := range d {
			d[i] = float32(int16(le16(s[2*i:])))
		}
	}},
	"U16": {2, func(d []float32, s []byte) {
		for i := range d {
			d[i] = float32(le16(s[2*i:]))
		}
	}},
	"I8": {1, func(d []float32, s []byte) {
		for i := range d {
			d[i] = float32(int8(s[i]))
		}
	}},
	"U8": {1, func(d []float32, s []byte) {
		for i := range d {
			d[i] = float32(s[i])
		}
	}},
	"BOOL": {1, func(d []float32, s []byte) {
		for i := range d {
			d[i] = 0
			if s[i] != 0 {
				d[i] = 1
			}
		}
	}},
}

// f16Table maps every half bit pattern to its float32 value (256 KiB, built
// on first use): a lookup is several times faster than F16ToF32's branches
// on mixed data.
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = F16ToF32(uint16(i))
	}
	return &t
})

// dtypeNames lists the supported dtypes for error messages.
const dtypeNames = "F32, F16, BF16, F64, I64, U64, I32, U32, I16, U16, I8, U8, BOOL"

// errorf formats an error that names the file.
func errorf(file, format string, args ...any) error {
	return fmt.Errorf("safetensors: %s: "+format, append([]any{file}, args...)...)
}
