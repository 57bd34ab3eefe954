package main

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"catsynth/nn/safetensors"

	"github.com/klauspost/compress/zstd"
)

// rawPNG builds a PNG by hand (so that headers can lie): w x h, 8- or
// 16-bit gray or 8-bit RGB, every pixel's samples = fill.
func rawPNG(w, h, depth int, rgb bool, fill byte) []byte {
	chunk := func(b *bytes.Buffer, typ string, data []byte) {
		binary.Write(b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ctype, samples := byte(0), 1
	if rgb {
		ctype, samples = 2, 3
	}
	var ihdr bytes.Buffer
	binary.Write(&ihdr, binary.BigEndian, [2]uint32{uint32(w), uint32(h)})
	ihdr.Write([]byte{byte(depth), ctype, 0, 0, 0})
	row := bytes.Repeat([]byte{fill}, w*samples*depth/8)
	var raw bytes.Buffer
	for range min(h, 4096) {
		raw.WriteByte(0)
		raw.Write(row)
	}
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk(&out, "IHDR", ihdr.Bytes())
	chunk(&out, "IDAT", zlibBytes(raw.Bytes()))
	chunk(&out, "IEND", nil)
	return out.Bytes()
}

// dirHash hashes every file under dir (path, mode and bytes), so that a
// refused command can be shown to have changed nothing.
func dirHash(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := d.Info()
		sum := ""
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			sum = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		rel, _ := filepath.Rel(dir, p)
		lines = append(lines, rel+" "+info.Mode().String()+" "+sum)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// badFixtures writes the catalogue's inputs into dir.
func badFixtures(t *testing.T, dir string) {
	t.Helper()
	if _, se, code := runCLI(t, dir, "train", "gan", "--data", "synth:source:n=4,size=32", "--preset", "tiny", "--size", "32",
		"--steps", "1", "--batch", "1", "--sample-every", "0", "--out", "m.safetensors.zst"); code != 0 {
		t.Fatalf("training the fixture model: %s", se)
	}
	model, err := os.ReadFile(filepath.Join(dir, "m.safetensors.zst"))
	if err != nil {
		t.Fatal(err)
	}
	plain := func(header string) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, uint64(len(header)))
		b.WriteString(header)
		b.Write(make([]byte, 8))
		return b.Bytes()
	}
	var ok bytes.Buffer
	safetensors.Encode(&ok, []safetensors.Tensor{{Name: "w", Shape: []int{2}, Data: []float32{1, 2}}}, nil, safetensors.WriteOptions{})
	flipped := bytes.Clone(ok.Bytes())
	flipped[10] ^= 0x40 // inside the JSON header
	hugeHeader := bytes.Clone(ok.Bytes())
	binary.LittleEndian.PutUint64(hugeHeader, 1<<40)
	zw, _ := zstd.NewWriter(nil)
	files := map[string][]byte{
		"lab.png":                    rawPNG(32, 32, 8, false, 1),
		"lab16.png":                  rawPNG(32, 32, 16, false, 2),
		"rgb.png":                    rawPNG(32, 32, 8, true, 90),
		"trunc.png":                  rawPNG(32, 32, 8, false, 1)[:60],
		"empty.png":                  {},
		"text.png":                   []byte("hello, this is a text file and not an image\n"),
		"huge.png":                   rawPNG(30000, 30000, 8, false, 0)[:200],
		"beyond.png":                 rawPNG(32, 32, 8, false, 200),
		"odd.png":                    rawPNG(33, 17, 8, false, 1),
		"big4096.png":                rawPNG(4096, 4096, 8, false, 1),
		"trunc.safetensors.zst":      model[:len(model)/2],
		"text.safetensors":           []byte("not a model\n"),
		"flipped.safetensors":        flipped,
		"hugeheader.safetensors":     hugeHeader,
		"hugeheader.safetensors.zst": zw.EncodeAll(hugeHeader, nil),
		"badjson.safetensors":        plain(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`),
		"nan.json":                   []byte(`{"source":["a"],"rows":{"x":{"a":NaN}}}`),
		"neg.json":                   []byte(`{"source":["a"],"rows":{"x":{"a":-1}}}`),
		"shape.json":                 []byte(`{"source":["a"],"rows":{"x":[1,2]}}`),
		"missing.json":               []byte(`{"source":["sky"],"rows":{"sky":{"sky":1}}}`),
		"big.json":                   append([]byte(`{"source":["a"],"rows":{"x":{"a":1}}`), append(bytes.Repeat([]byte(" "), 17<<20), '}')...),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Folder datasets: images without labels, mismatched sizes, bad classes files.
	folder := func(name, classes string, img, lab []byte) {
		os.MkdirAll(filepath.Join(dir, name, "images"), 0o755)
		os.MkdirAll(filepath.Join(dir, name, "labels"), 0o755)
		os.WriteFile(filepath.Join(dir, name, "classes.txt"), []byte(classes), 0o644)
		os.WriteFile(filepath.Join(dir, name, "images", "a.png"), img, 0o644)
		if lab != nil {
			os.WriteFile(filepath.Join(dir, name, "labels", "a.png"), lab, 0o644)
		}
	}
	folder("nolabels", "sky\nsea\n", rawPNG(32, 32, 8, true, 9), nil)
	folder("mismatch", "sky\nsea\n", rawPNG(32, 32, 8, true, 9), rawPNG(16, 32, 8, false, 1))
	folder("emptyclasses", "", rawPNG(32, 32, 8, true, 9), rawPNG(32, 32, 8, false, 1))
	folder("dupclasses", "sky\nsea\nsky\n", rawPNG(32, 32, 8, true, 9), rawPNG(32, 32, 8, false, 1))
	folder("midbom", "sky\n\ufeffsea\n", rawPNG(32, 32, 8, true, 9), rawPNG(32, 32, 8, false, 1))
	os.WriteFile(filepath.Join(dir, "afile"), []byte("x"), 0o644)
}

// TestBadInputCatalogue runs the binary on each bad input of the
// catalogue in docs/RELIABILITY.md: each must fail with a message naming the
// file or the limit, and leave every file in the directory as it was.
func TestBadInputCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary 40 times")
	}
	dir := t.TempDir()
	badFixtures(t, dir)
	gen := func(extra ...string) []string {
		return append([]string{"generate", "--model", "m.safetensors.zst", "--out", "o.png"}, extra...)
	}
	train := func(extra ...string) []string {
		a := map[string]string{"--data": "synth:source:n=4,size=32", "--preset": "tiny", "--size": "32", "--steps": "1", "--batch": "1", "--out": "n.safetensors.zst"}
		for i := 0; i+1 < len(extra); i += 2 {
			a[extra[i]] = extra[i+1]
		}
		args := []string{"train", "gan"}
		for _, k := range []string{"--data", "--preset", "--size", "--steps", "--batch", "--out", "--lr-g", "--backend", "--noise", "--padding"} {
			if v, ok := a[k]; ok && v != "" {
				args = append(args, k, v)
			}
		}
		if len(extra)%2 == 1 {
			args = append(args, extra[len(extra)-1])
		}
		return args
	}
	tr := func(extra ...string) []string {
		return append([]string{"transfer", "--source", "m.safetensors.zst", "--target", "synth:coast:n=2,size=32", "--steps", "1", "--batch", "1", "--out", "t.safetensors.zst"}, extra...)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"16-bit label map, values beyond the classes", gen("--labels", "lab16.png"), []string{"lab16.png", "not a class"}},
		{"RGB image as a label map", gen("--labels", "rgb.png"), []string{"rgb.png", "colour image"}},
		{"truncated PNG", gen("--labels", "trunc.png"), []string{"trunc.png", "not a readable PNG"}},
		{"empty PNG", gen("--labels", "empty.png"), []string{"empty.png", "not a readable PNG"}},
		{"not a PNG", gen("--labels", "text.png"), []string{"text.png", "not a PNG"}},
		{"PNG header claiming 30000x30000", gen("--labels", "huge.png"), []string{"huge.png", "30000x30000", "limit of 67108864 pixels"}},
		{"label values beyond the classes", gen("--labels", "beyond.png"), []string{"beyond.png", "label 200 is not a class"}},
		{"size the model cannot take", gen("--labels", "odd.png"), []string{"odd.png", "multiples of 4"}},
		{"4096x4096 label map", gen("--labels", "big4096.png"), []string{"big4096.png", "limit of 512 MiB"}},
		{"missing label file", gen("--labels", "nope.png"), []string{"nope.png"}},
		{"truncated .zst model", gen("--labels", "lab.png", "--model", "trunc.safetensors.zst"), []string{"trunc.safetensors.zst", "zstd"}},
		{"text file as a model", gen("--labels", "lab.png", "--model", "text.safetensors"), []string{"text.safetensors", "limit"}},
		{"bit-flipped safetensors header", gen("--labels", "lab.png", "--model", "flipped.safetensors"), []string{"flipped.safetensors"}},
		{"huge safetensors header", gen("--labels", "lab.png", "--model", "hugeheader.safetensors"), []string{"hugeheader.safetensors", "limit"}},
		{"huge header inside .zst", gen("--labels", "lab.png", "--model", "hugeheader.safetensors.zst"), []string{"hugeheader.safetensors.zst", "limit"}},
		{"malformed header JSON", gen("--labels", "lab.png", "--model", "badjson.safetensors"), []string{"badjson.safetensors"}},
		{"training state as a model", gen("--labels", "lab.png", "--model", "m.state.safetensors.zst"), []string{"m.state.safetensors.zst", "not a model file"}},
		{"generate --n 0", gen("--labels", "lab.png", "--n", "0"), []string{"--n must be in 1..64"}},
		{"generate --n -3", gen("--labels", "lab.png", "--n", "-3"), []string{"--n must be in 1..64"}},
		{"unknown --backend", gen("--labels", "lab.png", "--backend", "tpu"), []string{`unknown backend "tpu"`}},
		{"--out equal to --labels", gen("--labels", "lab.png", "--out", "lab.png"), []string{"lab.png", "also an input"}},
		{"--out under a file", gen("--labels", "lab.png", "--out", "afile/o.png"), []string{"afile"}},
		{"synth:...:n=0", train("--data", "synth:source:n=0,size=32"), []string{"n=0", "n must be at least 1"}},
		{"train --steps 0", train("--steps", "0"), []string{"--steps"}},
		{"train --steps -2", train("--steps", "-2"), []string{"--steps"}},
		{"train --size 0", train("--size", "0"), []string{"--size"}},
		{"train --lr-g NaN", train("--lr-g", "NaN"), []string{"--lr-g", "positive finite"}},
		{"train unknown --backend", train("--backend", "tpu"), []string{`unknown backend "tpu"`}},
		{"train onto a model without --resume", train("--out", "m.safetensors.zst"), []string{"m.safetensors.zst", "--force replaces it"}},
		{"--resume with another --size", train("--out", "m.safetensors.zst", "--size", "64", "--steps", "3", "--resume"), []string{"m.state.safetensors.zst", "--size 64"}},
		{"--resume with another --preset", train("--out", "m.safetensors.zst", "--preset", "source64", "--size", "", "--steps", "3", "--resume"), []string{"m.state.safetensors.zst", "--preset source64"}},
		{"--resume with another --padding", train("--out", "m.safetensors.zst", "--padding", "reflect", "--steps", "3", "--resume"), []string{"m.state.safetensors.zst", "--padding reflect", "has padding zeros"}},
		{"--resume with another --noise", train("--out", "m.safetensors.zst", "--noise", "mixed", "--steps", "3", "--resume"), []string{"m.state.safetensors.zst", "--noise mixed", "has noise image"}},
		{"train unknown --padding", train("--padding", "circular"), []string{`unknown padding "circular"`}},
		{"folder with images but no labels", train("--data", "nolabels"), []string{"nolabels"}},
		{"image and label sizes differ", train("--data", "mismatch"), []string{"a.png", "16x32"}},
		{"classes.txt empty", train("--data", "emptyclasses"), []string{"classes.txt", "no classes"}},
		{"classes.txt with a name twice", train("--data", "dupclasses"), []string{"classes.txt", "line 3", `"sky" already named on line 1`}},
		{"classes.txt with a byte-order mark inside", train("--data", "midbom"), []string{"classes.txt", "line 2", "byte-order mark"}},
		{"data synth --size 0", []string{"data", "synth", "--size", "0", "--n", "2", "--out", "s"}, []string{"--size 0", "8..4096"}},
		{"data synth --n 0", []string{"data", "synth", "--n", "0", "--out", "s"}, []string{"--n must be positive"}},
		{"affinity JSON with NaN", tr("--affinity", "nan.json"), []string{"nan.json", "invalid character 'N'"}},
		{"affinity JSON with a negative weight", tr("--affinity", "neg.json"), []string{"neg.json", "negative"}},
		{"affinity JSON of the wrong shape", tr("--affinity", "shape.json"), []string{"shape.json", "must be an object"}},
		{"affinity JSON missing classes", tr("--affinity", "missing.json"), []string{"missing.json", "missing"}},
		{"affinity JSON over 16 MiB", tr("--affinity", "big.json"), []string{"big.json", "limit of 16 MiB"}},
		{"transfer --steps -1", tr("--steps", "-1"), []string{"--steps"}},
		{"transfer onto its source", tr("--out", "m.safetensors.zst"), []string{"m.safetensors.zst", "also an input"}},
		{"transfer from a text file", tr("--source", "text.safetensors"), []string{"text.safetensors", "limit"}},
		{"transfer from a truncated model", tr("--source", "trunc.safetensors.zst"), []string{"trunc.safetensors.zst"}},
	} {
		before := dirHash(t, dir)
		_, se, code := runCLI(t, dir, tc.args...)
		if code == 0 {
			t.Errorf("%s: exit 0, want a refusal\n%s", tc.name, se)
		}
		for _, w := range tc.want {
			if !strings.Contains(se, w) {
				t.Errorf("%s: message does not name %q:\n%s", tc.name, w, se)
			}
		}
		if after := dirHash(t, dir); after != before {
			t.Errorf("%s: the directory changed", tc.name)
		}
	}
}

func zlibBytes(b []byte) []byte {
	var out bytes.Buffer
	zw := zlib.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}
