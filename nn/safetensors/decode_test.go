package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// rawFile builds a safetensors file by hand from a header string and data
// bytes, following the spec directly (length prefix, header padded with
// spaces to 8-byte alignment, data). It shares no code with Encode.
func rawFile(header string, data ...byte) []byte {
	for (8+len(header))%8 != 0 {
		header += " "
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

// TestDecodeGoldenLiteral decodes a file spelled out byte by byte.
func TestDecodeGoldenLiteral(t *testing.T) {
	file := []byte("\x38\x00\x00\x00\x00\x00\x00\x00" + // header length 56
		`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}` + "  " + // 54 bytes + 2 spaces
		"\x00\x00\xc0\x3f") // 1.5f
	f, err := Decode(file, "literal.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	want := []Tensor{{Name: "x", Shape: []int{1}, Data: []float32{1.5}}}
	if !reflect.DeepEqual(f.Tensors, want) || f.Metadata != nil {
		t.Fatalf("got %+v, metadata %v; want %+v", f.Tensors, f.Metadata, want)
	}
}

// TestDecodeGoldenTorchStyle decodes a file shaped like what
// safetensors.torch.save_file writes for a small model: "format":"pt"
// metadata, every dtype it can hold, tensors laid out by alignment rather
// than by name, a scalar I64 (BatchNorm's num_batches_tracked).
func TestDecodeGoldenTorchStyle(t *testing.T) {
	header := `{"h":{"dtype":"F16","shape":[2],"data_offsets":[36,40]},` +
		`"__metadata__":{"format":"pt"},` +
		`"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},` +
		`"conv.weight":{"dtype":"F32","shape":[1,1,1,2],"data_offsets":[16,24]},` +
		`"d":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},` +
		`"emb":{"dtype":"BF16","shape":[2],"data_offsets":[32,36]},` +
		`"empty":{"dtype":"F32","shape":[0,3],"data_offsets":[24,24]},` +
		`"i":{"dtype":"I32","shape":[2],"data_offsets":[24,32]}}`
	data := []byte{
		0x03, 0, 0, 0, 0, 0, 0, 0, // I64 3
		0, 0, 0, 0, 0, 0, 0xd0, 0x3f, // F64 0.25
		0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0, // F32 1, -2.5
		0xfd, 0xff, 0xff, 0xff, 0xa0, 0x86, 0x01, 0x00, // I32 -3, 100000
		0x80, 0xbf, 0x40, 0x40, // BF16 -1, 3
		0x00, 0x3c, 0x00, 0xb8, // F16 1, -0.5
	}
	f, err := Decode(rawFile(header, data...), "torch.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	want := []Tensor{
		{Name: "bn.num_batches_tracked", Shape: []int{}, Data: []float32{3}},
		{Name: "conv.weight", Shape: []int{1, 1, 1, 2}, Data: []float32{1, -2.5}},
		{Name: "d", Shape: []int{1}, Data: []float32{0.25}},
		{Name: "emb", Shape: []int{2}, Data: []float32{-1, 3}},
		{Name: "empty", Shape: []int{0, 3}, Data: []float32{}},
		{Name: "h", Shape: []int{2}, Data: []float32{1, -0.5}},
		{Name: "i", Shape: []int{2}, Data: []float32{-3, 100000}},
	}
	if !reflect.DeepEqual(f.Tensors, want) {
		t.Errorf("tensors:\n got %+v\nwant %+v", f.Tensors, want)
	}
	if !reflect.DeepEqual(f.Metadata, map[string]string{"format": "pt"}) {
		t.Errorf("metadata %v", f.Metadata)
	}
	for _, w := range want {
		got, ok := f.Get(w.Name)
		if !ok || got.Name != w.Name {
			t.Errorf("Get(%q) = %v, %v", w.Name, got, ok)
		}
	}
	if _, ok := f.Get("missing"); ok {
		t.Error("Get(missing) found something")
	}
}

// TestDecodeSmallInts covers the narrow integer and bool dtypes.
func TestDecodeSmallInts(t *testing.T) {
	header := `{"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]},` +
		`"i8":{"dtype":"I8","shape":[1],"data_offsets":[2,3]},` +
		`"u8":{"dtype":"U8","shape":[1],"data_offsets":[3,4]},` +
		`"i16":{"dtype":"I16","shape":[1],"data_offsets":[4,6]},` +
		`"u16":{"dtype":"U16","shape":[1],"data_offsets":[6,8]},` +
		`"u32":{"dtype":"U32","shape":[1],"data_offsets":[8,12]},` +
		`"u64":{"dtype":"U64","shape":[1],"data_offsets":[12,20]}}`
	data := []byte{0, 7, 0xff, 0xff, 0x00, 0x80, 0xff, 0xff, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	f, err := Decode(rawFile(header, data...), "ints.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{
		"b": {0, 1}, "i8": {-1}, "u8": {255}, "i16": {-32768}, "u16": {65535},
		"u32": {5}, "u64": {float32(math.Ldexp(1, 56))},
	}
	for name, w := range want {
		got, ok := f.Get(name)
		if !ok || !reflect.DeepEqual(got.Data, w) {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
}

func zstdBytes(t testing.TB, b []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

func TestDecodeErrors(t *testing.T) {
	f32 := func(name string, shape string, b, e int) string {
		return `"` + name + `":{"dtype":"F32","shape":` + shape + `,"data_offsets":[` + strconv.Itoa(b) + `,` + strconv.Itoa(e) + `]}`
	}
	valid := rawFile(`{`+f32("a", "[2]", 0, 8)+`}`, make([]byte, 8)...)
	hugeLen := binary.LittleEndian.AppendUint64(nil, 200<<20)
	hugeLen = append(hugeLen, `{}`...)
	shortHeader := binary.LittleEndian.AppendUint64(nil, 100)
	shortHeader = append(shortHeader, `{"a":{}}`...)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "truncated"},
		{"shorter than length", []byte{1, 0, 0}, "truncated"},
		{"header length beyond file", shortHeader, "truncated: header length is 100 bytes"},
		{"absurd header length", hugeLen, "exceeds the 104857600-byte limit"},
		{"zero header length", make([]byte, 8), "corrupt header JSON"},
		{"corrupt JSON", rawFile(`{"a":{"dtype":`), "corrupt header JSON"},
		{"not an object", rawFile(`[1,2]`), "not a JSON object"},
		{"garbage after object", rawFile(`{} x`), "after the header object"},
		{"second object", rawFile(`{}{}`), "after the header object"},
		{"entry not an object", rawFile(`{"a":3}`), `corrupt header JSON for tensor "a"`},
		{"shape not array", rawFile(`{"a":{"dtype":"F32","shape":3,"data_offsets":[0,0]}}`), `corrupt header JSON for tensor "a"`},
		{"fractional offset", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}`), `corrupt header JSON for tensor "a"`},
		{"unknown dtype", rawFile(`{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}`, 0), `unsupported dtype "Q4"`},
		{"f8 dtype", rawFile(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, 0), `unsupported dtype "F8_E4M3"`},
		{"missing dtype", rawFile(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "missing dtype"},
		{"missing shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, 0, 0, 0, 0), "missing shape"},
		{"missing offsets", rawFile(`{"a":{"dtype":"F32","shape":[1]}}`, 0, 0, 0, 0), "missing data_offsets"},
		{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, 0, 0, 0, 0), "must be [begin, end]"},
		{"offsets reversed", rawFile(`{`+f32("a", "[1]", 8, 4)+`}`, make([]byte, 8)...), "out of order"},
		{"negative offset", rawFile(`{`+f32("a", "[1]", -4, 0)+`}`, make([]byte, 4)...), "out of order"},
		{"overlap", rawFile(`{`+f32("a", "[2]", 0, 8)+`,`+f32("b", "[2]", 4, 12)+`}`, make([]byte, 12)...), `overlap tensor "a"`},
		{"same range twice", rawFile(`{`+f32("a", "[1]", 0, 4)+`,`+f32("b", "[1]", 0, 4)+`}`, make([]byte, 4)...), "overlap"},
		{"gap", rawFile(`{`+f32("a", "[1]", 0, 4)+`,`+f32("b", "[1]", 8, 12)+`}`, make([]byte, 12)...), "data bytes [4, 8) belong to no tensor"},
		{"not starting at zero", rawFile(`{`+f32("a", "[1]", 4, 8)+`}`, make([]byte, 8)...), "data bytes [0, 4) belong to no tensor"},
		{"trailing data", rawFile(`{`+f32("a", "[1]", 0, 4)+`}`, make([]byte, 8)...), "last 4 data bytes belong to no tensor"},
		{"data shorter than offsets", valid[:len(valid)-3], `truncated: tensor "a" needs data bytes [0, 8)`},
		{"shape product mismatch", rawFile(`{`+f32("a", "[3]", 0, 8)+`}`, make([]byte, 8)...), "needs 12 bytes"},
		{"bytes not a multiple of dtype", rawFile(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,3]}}`, 0, 0, 0), "needs 2 bytes"},
		{"shape overflows", rawFile(`{`+f32("a", "[65536,65536,65536,65536,16]", 0, 8)+`}`, make([]byte, 8)...), "needs more bytes"},
		{"negative dimension", rawFile(`{`+f32("a", "[-2]", 0, 8)+`}`, make([]byte, 8)...), "negative dimension"},
		{"duplicate names", rawFile(`{`+f32("a", "[1]", 0, 4)+`,`+f32("a", "[1]", 4, 8)+`}`, make([]byte, 8)...), `duplicate name "a"`},
		{"duplicate metadata", rawFile(`{"__metadata__":{},"__metadata__":{}}`), `duplicate name "__metadata__"`},
		{"metadata not strings", rawFile(`{"__metadata__":{"epoch":3}}`), "must map strings to strings"},
		{"bad zstd stream", append([]byte("\x28\xb5\x2f\xfd"), 0xde, 0xad, 0xbe, 0xef, 1, 2, 3), "bad zstd stream"},
		{"truncated zstd stream", zstdBytes(t, valid)[:12], "bad zstd stream"},
		{"zstd of truncated file", zstdBytes(t, valid[:len(valid)-1]), "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Decode(c.data, "model.safetensors")
			if err == nil {
				t.Fatalf("no error; decoded %+v", f)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "model.safetensors") {
				t.Fatalf("error %q: want it to contain %q and the file name", err, c.want)
			}
		})
	}
	if _, err := Decode(valid, "valid"); err != nil {
		t.Fatalf("the valid base case fails: %v", err)
	}
}

// TestDecodeAcceptsPadding checks header forms other writers produce.
func TestDecodeAcceptsPadding(t *testing.T) {
	for _, h := range []string{
		`{}`,                    // no tensors at all
		`{"__metadata__":null}`, // null metadata
		"{}\n\t  ",              // other whitespace padding
		`   {}`,                 // leading whitespace
		`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"extra":1}}`, // unknown field
	} {
		if _, err := Decode(rawFile(h), "pad"); err != nil {
			t.Errorf("header %q: %v", h, err)
		}
	}
	if !bytes.Equal(rawFile("{}")[8:], []byte("{}      ")) {
		t.Error("rawFile padding is wrong")
	}
}
