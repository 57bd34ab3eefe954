package safetensors

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchModel is about 100 MB of float32 in 200 tensors of 512 KiB, the
// size of a mid-sized generator checkpoint, with weight-like random values
// (fixed seed) so that zstd sees realistic, poorly compressible data.
func benchModel() []Tensor {
	r := rand.New(rand.NewPCG(1, 1))
	ts := make([]Tensor, 200)
	for i := range ts {
		data := make([]float32, 128<<10)
		for j := range data {
			data[j] = float32(r.NormFloat64() * 0.02)
		}
		ts[i] = Tensor{Name: "block." + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".weight", Shape: []int{128, 1024}, Data: data}
	}
	return ts
}

func benchWrite(b *testing.B, name string, opt WriteOptions) string {
	path := filepath.Join(b.TempDir(), name)
	if err := WriteFile(path, benchModel(), map[string]string{"format": "pt"}, opt); err != nil {
		b.Fatal(err)
	}
	return path
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// benchBytes is the model's float32 payload; every benchmark reports MB/s
// of it, whatever the stored size, so the numbers compare.
const benchBytes = 200 * 128 << 10 * 4

// BenchmarkReadFile reports MB/s of float32 payload; compare F32 with
// BenchmarkOSReadFile on the same file to see how close to I/O bound it is.
func BenchmarkReadFile(b *testing.B) {
	for _, c := range []struct {
		name string
		file string
		opt  WriteOptions
	}{
		{"F32", "m.safetensors", WriteOptions{}},
		{"F16", "m.safetensors", WriteOptions{F16: true}},
		{"F32zst", "m.safetensors.zst", WriteOptions{}},
		{"F32digest", "m.safetensors", WriteOptions{Digest: true}},
		{"F16digest", "m.safetensors", WriteOptions{F16: true, Digest: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := benchWrite(b, c.file, c.opt)
			b.SetBytes(benchBytes)
			b.ResetTimer()
			for b.Loop() {
				if _, err := ReadFile(path); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(fileSize(b, path))/1e6, "file-MB")
		})
	}
}

// BenchmarkOSReadFile is the baseline: reading the same 100 MB F32 file
// into one []byte with no decoding.
func BenchmarkOSReadFile(b *testing.B) {
	path := benchWrite(b, "m.safetensors", WriteOptions{})
	b.SetBytes(benchBytes)
	b.ResetTimer()
	for b.Loop() {
		if _, err := os.ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteFile includes the fsync, so it depends on the disk.
func BenchmarkWriteFile(b *testing.B) {
	ts := benchModel()
	for _, c := range []struct {
		name string
		file string
		opt  WriteOptions
	}{
		{"F32", "m.safetensors", WriteOptions{}},
		{"F16", "m.safetensors", WriteOptions{F16: true}},
		{"F32zst", "m.safetensors.zst", WriteOptions{}},
		{"F32digest", "m.safetensors", WriteOptions{Digest: true}},
		{"F16digest", "m.safetensors", WriteOptions{F16: true, Digest: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), c.file)
			b.SetBytes(benchBytes)
			for b.Loop() {
				if err := WriteFile(path, ts, nil, c.opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(fileSize(b, path))/1e6, "file-MB")
		})
	}
}

// BenchmarkEncode measures conversion and layout alone (to io.Discard).
func BenchmarkEncode(b *testing.B) {
	ts := benchModel()
	for _, c := range []struct {
		name string
		opt  WriteOptions
	}{{"F32", WriteOptions{}}, {"F16", WriteOptions{F16: true}}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(benchBytes)
			for b.Loop() {
				if err := Encode(io.Discard, ts, nil, c.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
