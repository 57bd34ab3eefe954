package safetensors

import (
	"bytes"
	"math"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode, which must never panic. When
// it accepts the input, the result must be self-consistent, and re-encoding
// it as F32 must decode to the same bits.
//
//	go test -run '^$' -fuzz FuzzDecode ./nn/safetensors
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	in := []Tensor{
		{Name: "conv.weight", Shape: []int{2, 1, 1, 2}, Data: []float32{1, -2, 0.5, 3}},
		{Name: "scalar", Data: []float32{7}},
		{Name: "empty", Shape: []int{0}, Data: []float32{}},
	}
	if err := Encode(&buf, in, map[string]string{"format": "pt"}, WriteOptions{}); err != nil {
		f.Fatal(err)
	}
	valid := bytes.Clone(buf.Bytes())
	f.Add(valid)
	buf.Reset()
	if err := Encode(&buf, in, nil, WriteOptions{F16: true}); err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Clone(buf.Bytes()))
	buf.Reset()
	if err := Encode(&buf, in, map[string]string{"class_names": `["sky"]`}, WriteOptions{Digest: true}); err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Clone(buf.Bytes())) // with a digest, which Decode verifies
	f.Add(zstdBytes(f, valid))
	f.Add(rawFile(`{"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}}`,
		1, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f))
	f.Add(valid[:len(valid)-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(data, "fuzz")
		if err != nil {
			return
		}
		for i, ts := range file.Tensors {
			n := 1
			for _, d := range ts.Shape {
				n *= d
			}
			if n != len(ts.Data) {
				t.Fatalf("tensor %q: shape %v but %d values", ts.Name, ts.Shape, len(ts.Data))
			}
			if i > 0 && file.Tensors[i-1].Name >= ts.Name {
				t.Fatalf("tensors not sorted or duplicated: %q, %q", file.Tensors[i-1].Name, ts.Name)
			}
		}
		var out bytes.Buffer
		if err := Encode(&out, file.Tensors, file.Metadata, WriteOptions{}); err != nil {
			// Names Encode refuses (empty) can come from foreign files.
			return
		}
		again, err := Decode(out.Bytes(), "re-encoded")
		if err != nil {
			t.Fatalf("re-encoded file does not decode: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("re-encoded: %d tensors, want %d", len(again.Tensors), len(file.Tensors))
		}
		for i, ts := range file.Tensors {
			g := again.Tensors[i]
			if g.Name != ts.Name || len(g.Data) != len(ts.Data) {
				t.Fatalf("re-encoded tensor %d: %q/%d, want %q/%d", i, g.Name, len(g.Data), ts.Name, len(ts.Data))
			}
			for j := range ts.Data {
				if math.Float32bits(g.Data[j]) != math.Float32bits(ts.Data[j]) {
					t.Fatalf("re-encoded %q[%d] = %v, want %v", ts.Name, j, g.Data[j], ts.Data[j])
				}
			}
		}
	})
}
