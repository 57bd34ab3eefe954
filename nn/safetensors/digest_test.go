package safetensors

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDigest: a file written with Digest reads back; a byte flipped
// anywhere in its header (a class name, a tensor name, a shape) or its data
// is refused naming the file; a file without a digest still reads; a stale
// digest in the metadata handed to the writer is replaced or dropped.
func TestDigest(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	data := func(n int) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(r.NormFloat64())
		}
		return d
	}
	tensors := []Tensor{{Name: "conv.weight", Shape: []int{4, 3}, Data: data(12)}, {Name: "bias", Shape: []int{5}, Data: data(5)}}
	meta := map[string]string{"class_names": `["sky","sea"]`, "format": "pt"}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opt  WriteOptions
	}{{"f32.safetensors", WriteOptions{Digest: true}}, {"f16.safetensors", WriteOptions{Digest: true, F16: true}},
		{"f32.safetensors.zst", WriteOptions{Digest: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := WriteFile(path, tensors, meta, tc.opt); err != nil {
				t.Fatal(err)
			}
			f, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := f.Metadata[DigestKey]; !strings.HasPrefix(d, "sha256:") || len(d) != 7+64 {
				t.Fatalf("digest entry %q", d)
			}
			if strings.HasSuffix(tc.name, ".zst") {
				return // the zstd frame's own checksum catches flips there first
			}
			raw, _ := os.ReadFile(path)
			hlen := int(le64(raw))
			hdr := string(raw[8 : 8+hlen])
			targets := map[string]int{
				"class name":  8 + strings.Index(hdr, `sky`) + 1,    // "sky" -> "s{y"-like rename
				"tensor name": 8 + strings.Index(hdr, `"bias"`) + 2, // renames the tensor
				"shape":       8 + strings.Index(hdr, `[5]`) + 1,
				"data":        8 + hlen + r.IntN(len(raw)-8-hlen),
			}
			for what, at := range targets {
				bad := bytes.Clone(raw)
				bad[at] ^= 0x02
				_, err := Decode(bad, path)
				if err == nil {
					t.Errorf("%s: a flipped byte at %d was accepted", what, at)
					continue
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("%s: %v does not name the file", what, err)
				}
				if what != "shape" && !strings.Contains(err.Error(), "checksum mismatch: the file is corrupt") {
					t.Errorf("%s: %v, want a checksum mismatch", what, err)
				}
			}
		})
	}
	// Without the option: no digest, and a stale one in meta is dropped;
	// with it, a stale one is replaced.
	stale := map[string]string{DigestKey: "sha256:00", "format": "pt"}
	for _, opt := range []WriteOptions{{}, {Digest: true}} {
		var buf bytes.Buffer
		if err := Encode(&buf, tensors, stale, opt); err != nil {
			t.Fatal(err)
		}
		f, err := Decode(buf.Bytes(), "mem")
		if err != nil {
			t.Fatalf("digest %v: %v", opt.Digest, err)
		}
		if _, has := f.Metadata[DigestKey]; has != opt.Digest {
			t.Errorf("digest %v: metadata %v", opt.Digest, f.Metadata)
		}
	}
	if stale[DigestKey] != "sha256:00" || len(stale) != 2 {
		t.Errorf("Encode changed the caller's metadata: %v", stale)
	}
}
