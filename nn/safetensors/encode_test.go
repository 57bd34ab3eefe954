package safetensors

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// randomTensors returns tensors of assorted shapes (scalar, empty, 1-4 D)
// with values spread over several magnitudes, plus the special values.
func randomTensors(r *rand.Rand) []Tensor {
	shapes := [][]int{nil, {0}, {3}, {2, 5}, {4, 3, 3, 3}, {1, 0, 2}, {7, 1}}
	var ts []Tensor
	for i, s := range shapes {
		n := 1
		for _, d := range s {
			n *= d
		}
		data := make([]float32, n)
		for j := range data {
			data[j] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3)))
		}
		ts = append(ts, Tensor{Name: "layer." + string(rune('a'+len(shapes)-i)) + ".weight", Shape: s, Data: data})
	}
	ts = append(ts, Tensor{Name: "special", Shape: []int{6}, Data: []float32{
		0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 65504, 1e-7}})
	return ts
}

func sameShape(a, b []int) bool { return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b)) }

// checkRoundTrip compares decoded tensors with the originals: bit-exact
// for F32, F16-rounded (and within half an F16 ulp) for F16.
func checkRoundTrip(t *testing.T, in []Tensor, meta map[string]string, f *File, f16 bool) {
	t.Helper()
	if len(f.Tensors) != len(in) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(in))
	}
	for i := 1; i < len(f.Tensors); i++ {
		if f.Tensors[i-1].Name >= f.Tensors[i].Name {
			t.Fatalf("tensors not sorted: %q before %q", f.Tensors[i-1].Name, f.Tensors[i].Name)
		}
	}
	for _, w := range in {
		g, ok := f.Get(w.Name)
		if !ok {
			t.Fatalf("tensor %q missing", w.Name)
		}
		if !sameShape(g.Shape, w.Shape) || len(g.Data) != len(w.Data) {
			t.Fatalf("%q: shape %v len %d, want %v len %d", w.Name, g.Shape, len(g.Data), w.Shape, len(w.Data))
		}
		for j, v := range w.Data {
			got := g.Data[j]
			if !f16 {
				if math.Float32bits(got) != math.Float32bits(v) {
					t.Fatalf("%q[%d] = %v, want %v", w.Name, j, got, v)
				}
				continue
			}
			if want := F16ToF32(F32ToF16(v)); math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("%q[%d] = %v, want f16(%v) = %v", w.Name, j, got, v, want)
			}
			// Independent bound: within 2^-11 relative in the normal range.
			if a := math.Abs(float64(v)); a >= 0x1p-14 && a <= 65504 {
				if math.Abs(float64(got)-float64(v)) > a*0x1p-11 {
					t.Fatalf("%q[%d] = %v, too far from %v", w.Name, j, got, v)
				}
			}
		}
	}
	if len(meta) == 0 {
		if len(f.Metadata) != 0 {
			t.Fatalf("metadata %v, want none", f.Metadata)
		}
	} else if !reflect.DeepEqual(f.Metadata, meta) {
		t.Fatalf("metadata %v, want %v", f.Metadata, meta)
	}
}

var testMeta = map[string]string{
	"format": "pt",
	"config": `{"channels": [64, 128], "name": "oasis \"tiny\"", "ü": "ñ\n"}`,
	"":       "empty key",
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	seed := uint64(7)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	in := randomTensors(r)
	for _, f16 := range []bool{false, true} {
		for _, meta := range []map[string]string{nil, testMeta} {
			var buf bytes.Buffer
			if err := Encode(&buf, in, meta, WriteOptions{F16: f16}); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			if n := 8 + int(le64(b)); n%8 != 0 {
				t.Errorf("data section starts at %d, not 8-byte aligned", n)
			}
			f, err := Decode(b, "mem")
			if err != nil {
				t.Fatalf("f16=%v meta=%v: %v", f16, meta != nil, err)
			}
			checkRoundTrip(t, in, meta, f, f16)
			wantSize := 0
			for _, ts := range in {
				wantSize += len(ts.Data)
			}
			if f16 {
				wantSize *= 2
			} else {
				wantSize *= 4
			}
			if got := len(b) - 8 - int(le64(b)); got != wantSize {
				t.Errorf("f16=%v: data section %d bytes, want %d", f16, got, wantSize)
			}
		}
	}
}

// TestEncodeGolden pins the encoder's bytes against a file written out by
// hand from the spec.
func TestEncodeGolden(t *testing.T) {
	in := []Tensor{
		{Name: "b", Shape: []int{2}, Data: []float32{1, -2.5}},
		{Name: "a", Shape: nil, Data: []float32{0.5}},
	}
	meta := map[string]string{"k": "v"}
	cases := []struct {
		f16  bool
		want []byte
	}{
		{false, rawFile(`{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`,
			0, 0, 0, 0x3f, 0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0)},
		{true, rawFile(`{"__metadata__":{"k":"v"},"a":{"dtype":"F16","shape":[],"data_offsets":[0,2]},"b":{"dtype":"F16","shape":[2],"data_offsets":[2,6]}}`,
			0x00, 0x38, 0x00, 0x3c, 0x00, 0xc1)},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		if err := Encode(&buf, in, meta, WriteOptions{F16: c.f16}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), c.want) {
			t.Errorf("f16=%v:\n got %q\nwant %q", c.f16, buf.Bytes(), c.want)
		}
	}
	if in[0].Name != "b" {
		t.Error("Encode reordered the caller's slice")
	}
}

func TestEncodeErrors(t *testing.T) {
	cases := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"empty name", []Tensor{{Name: "", Shape: []int{1}, Data: []float32{1}}}, "empty name"},
		{"reserved name", []Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, "reserved"},
		{"duplicate", []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{2}}}, `duplicate tensor name "a"`},
		{"shape mismatch", []Tensor{{Name: "a", Shape: []int{2, 2}, Data: []float32{1}}}, "has 4 elements but Data has 1"},
		{"negative dim", []Tensor{{Name: "a", Shape: []int{-1}, Data: nil}}, "negative dimension"},
		{"huge shape", []Tensor{{Name: "a", Shape: []int{math.MaxInt / 2, 4}, Data: nil}}, "too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Encode(&buf, c.tensors, nil, WriteOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", buf.Len())
			}
		})
	}
	fail := errors.New("disk full")
	err := Encode(&failWriter{after: 10, err: fail}, []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}}, nil, WriteOptions{})
	if !errors.Is(err, fail) {
		t.Errorf("writer error not returned: %v", err)
	}
}

// failWriter fails every write once more than after bytes were requested.
type failWriter struct {
	after, n int
	err      error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.after {
		return 0, w.err
	}
	w.n += len(p)
	return len(p), nil
}

// TestRoundTripChunked uses tensors larger than the conversion chunks, on
// both the single-copy F32 path and the portable byte-by-byte path (the
// one big-endian hosts take).
func TestRoundTripChunked(t *testing.T) {
	seed := uint64(5)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 4))
	data := make([]float32, 300001)
	for i := range data {
		data[i] = float32(r.NormFloat64())
	}
	in := []Tensor{{Name: "big", Shape: []int{300001}, Data: data}, {Name: "small", Shape: []int{1}, Data: []float32{2}}}
	defer func(v bool) { hostLittleEndian = v }(hostLittleEndian)
	first := map[bool][]byte{}
	for _, native := range []bool{true, false} {
		hostLittleEndian = native
		for _, f16 := range []bool{false, true} {
			var buf bytes.Buffer
			if err := Encode(&buf, in, nil, WriteOptions{F16: f16}); err != nil {
				t.Fatal(err)
			}
			if prev, ok := first[f16]; !ok {
				first[f16] = buf.Bytes()
			} else if !bytes.Equal(prev, buf.Bytes()) {
				t.Fatalf("f16=%v: the portable path writes different bytes", f16)
			}
			f, err := Decode(buf.Bytes(), "chunked")
			if err != nil {
				t.Fatalf("native=%v f16=%v: %v", native, f16, err)
			}
			checkRoundTrip(t, in, nil, f, f16)
		}
	}
}
