package safetensors

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestWriteReadFile(t *testing.T) {
	seed := uint64(11)
	t.Logf("seed %d", seed)
	in := randomTensors(rand.New(rand.NewPCG(seed, 3)))
	dir := t.TempDir()
	for _, name := range []string{"m.safetensors", "m.safetensors.zst"} {
		for _, f16 := range []bool{false, true} {
			path := filepath.Join(dir, name)
			if err := WriteFile(path, in, testMeta, WriteOptions{F16: f16}); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			zst := strings.HasSuffix(name, ".zst")
			if isZstd(raw) != zst {
				t.Fatalf("%s: zstd magic present = %v", name, isZstd(raw))
			}
			if zst {
				var h zstd.Header
				if err := h.Decode(raw); err != nil || !h.HasFCS {
					t.Errorf("%s: frame header %+v, err %v: want a content size", name, h, err)
				}
			}
			f, err := ReadFile(path)
			if err != nil {
				t.Fatalf("%s f16=%v: %v", name, f16, err)
			}
			checkRoundTrip(t, in, testMeta, f, f16)
			// Decode on the same bytes agrees with ReadFile.
			g, err := Decode(raw, path)
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, in, testMeta, g, f16)
		}
	}
	// Compression is found by magic bytes, not by name.
	src := filepath.Join(dir, "m.safetensors.zst")
	renamed := filepath.Join(dir, "renamed.bin")
	if err := os.Rename(src, renamed); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(renamed)
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, in, testMeta, f, true)
	// An uncompressed file named .zst is read too.
	plain := filepath.Join(dir, "plain.safetensors.zst")
	var buf bytes.Buffer
	if err := Encode(&buf, in, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err = ReadFile(plain); err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, in, nil, f, false)
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("directory holds %d entries, want 3 (temp files left?)", len(entries))
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := Encode(&buf, []Tensor{{Name: "w", Shape: []int{4}, Data: []float32{1, 2, 3, 4}}}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		path string
		want string
	}{
		{"missing", filepath.Join(dir, "nope.safetensors"), "no such file"},
		{"directory", dir, "is a directory"},
		{"empty", write("empty.safetensors", nil), "truncated"},
		{"truncated data", write("trunc.safetensors", good[:len(good)-5]), `truncated: tensor "w"`},
		{"truncated header", write("trunch.safetensors", good[:20]), "truncated: header length"},
		{"garbage named .zst", write("junk.safetensors.zst", []byte("this is not a model at all")), "does not start with the zstd magic"},
		{"bad zstd", write("bad.safetensors.zst", append([]byte(zstdMagic), 0xff, 0xff, 0xff, 0xff, 0xff)), "bad zstd stream"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadFile(c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
				t.Fatalf("error %v: want it to contain %q and %q", err, c.want, c.path)
			}
		})
	}
}

// TestWriteFileFailureKeepsOld checks atomicity: whatever fails, the
// previous file stays byte-for-byte and no temp file is left behind.
func TestWriteFileFailureKeepsOld(t *testing.T) {
	old := []Tensor{{Name: "old", Shape: []int{2}, Data: []float32{1, 2}}}
	big := []Tensor{{Name: "new", Shape: []int{1 << 16}, Data: make([]float32, 1<<16)}}
	dup := []Tensor{old[0], old[0]}
	cases := []struct {
		name    string
		file    string
		tensors []Tensor
		inject  error // fail the temp file's writes after 100 bytes
	}{
		{"invalid tensors", "m.safetensors", dup, nil},
		{"write fails", "m.safetensors", big, errors.New("injected: disk full")},
		{"write fails zstd", "m.safetensors.zst", big, errors.New("injected: disk full")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, c.file)
			if err := WriteFile(path, old, nil, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			if c.inject != nil {
				testWrapWriter = func(w io.Writer) io.Writer { return &failAfter{w: w, left: 100, err: c.inject} }
				defer func() { testWrapWriter = nil }()
			}
			err := WriteFile(path, c.tensors, nil, WriteOptions{})
			if err == nil {
				t.Fatal("WriteFile succeeded")
			}
			if c.inject != nil && !strings.Contains(err.Error(), c.inject.Error()) {
				t.Errorf("error %v does not carry the cause", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Error("the previous file changed")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("directory holds %d entries, want 1 (temp file left?)", len(entries))
			}
		})
	}
	t.Run("rename fails", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "taken")
		if err := os.Mkdir(target, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(target, "keep"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(target, old, nil, WriteOptions{}); err == nil {
			t.Fatal("WriteFile over a non-empty directory succeeded")
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("directory holds %d entries, want 1 (temp file left?)", len(entries))
		}
		if b, err := os.ReadFile(filepath.Join(target, "keep")); err != nil || string(b) != "x" {
			t.Errorf("the directory's content changed: %q %v", b, err)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		if err := WriteFile(filepath.Join(t.TempDir(), "no", "m.safetensors"), old, nil, WriteOptions{}); err == nil {
			t.Fatal("WriteFile into a missing directory succeeded")
		}
	})
}

// failAfter passes left bytes through, then fails.
type failAfter struct {
	w    io.Writer
	left int
	err  error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.w.Write(p[:f.left])
		f.left = 0
		return n, f.err
	}
	f.left -= len(p)
	return f.w.Write(p)
}

func TestWriteFileKeepsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	ts := []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}}
	if err := WriteFile(path, ts, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", st.Mode().Perm())
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, ts, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("replaced file mode %v, want 0600 kept", st.Mode().Perm())
	}
}
