package affinity

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/nn"
)

// codeFeatures is a feature extractor at stride 2 whose feature at a cell is
// table[code] for the code written in the cell's top-left pixel (see
// codedBatch); ignored pixels get zeros.
func codeFeatures(table [][]float32) FeatureFunc {
	return func(img *nn.Tensor) (*nn.Tensor, error) {
		d, err := img.Data()
		if err != nil {
			return nil, err
		}
		n, H, W, D := img.Dim(0), img.Dim(2), img.Dim(3), len(table[0])
		h, w := H/2, W/2
		out := make([]float32, n*D*h*w)
		for i := 0; i < n; i++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					v := d[i*3*H*W+(2*y)*W+2*x]
					if v < 0 {
						continue
					}
					c := int(math.Round(float64(v) * 10))
					for j := 0; j < D; j++ {
						out[((i*D+j)*h+y)*w+x] = table[c][j]
					}
				}
			}
		}
		return img.Device().FromData(out, n, D, h, w), nil
	}
}

func randTable(r *rand.Rand, n, d int) [][]float32 {
	t := make([][]float32, n)
	for i := range t {
		t[i] = make([]float32, d)
		for j := range t[i] {
			t[i][j] = float32(r.NormFloat64())
		}
	}
	return t
}

func TestVisionCoincidingPrototypes(t *testing.T) {
	r := testRNG(t)
	dev := cpuDevice()
	source := []string{"sky", "sea", "sand", "rock", "tree"}
	target := []string{"ocean", "beach", "cliff"}
	f := []int{1, 2, 3} // target class t looks exactly like source class f[t]
	table := randTable(r, len(source), 6)
	fx := codeFeatures(table)
	sp, err := ComputePrototypes(context.Background(), dev, fx, "toy", batchesOf(codedBatch(r, 2, 8, 8, len(source), true)), source)
	if err != nil {
		t.Fatal(err)
	}
	for s := range source {
		for j, v := range sp.Vec[s] {
			if !near(v, float64(table[s][j]), 1e-6) {
				t.Fatalf("source prototype %s[%d] = %v, want %v", source[s], j, v, table[s][j])
			}
		}
	}
	// store and reload the source prototypes, as the browser would get them
	path := filepath.Join(t.TempDir(), "proto.safetensors")
	if err := sp.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	sp2, err := LoadPrototypes(path)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := ComputePrototypes(context.Background(), dev, fx, "toy", batchesOf(codedBatch(r, 3, 8, 8, len(target), false, f...)), target)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []VisionOptions{{}, {Temperature: 1}, {TopK: 2}} {
		m, warn, err := VisionEstimate(tp, sp2, o)
		if err != nil || len(warn) != 0 {
			t.Fatalf("%v %v", err, warn)
		}
		for ti := range target {
			if m.Argmax(ti) != f[ti] {
				t.Errorf("%+v: %s -> %s, want %s", o, target[ti], source[m.Argmax(ti)], source[f[ti]])
			}
		}
	}
}

// TestPrototypeMasking: the masked mean weighs each feature cell by how many
// of its pixels carry the class, so a class smaller than a cell survives.
func TestPrototypeMasking(t *testing.T) {
	p, err := NewPrototypes([]string{"a", "b"}, "toy")
	if err != nil {
		t.Fatal(err)
	}
	// one image 2x4 labels, features 1x2 (D=1): cell 0 covers x 0..1, cell 1 x 2..3
	labels := []int32{0, 0, 0, 1, 0, 0, 0, -1}
	feat := []float32{10, 20}
	if err := p.Add(feat, 1, 1, 1, 2, labels, 2, 4); err != nil {
		t.Fatal(err)
	}
	// a: 4 pixels in cell 0 (10) and 2 in cell 1 (20) -> 40/3; b: 1 pixel in cell 1
	if !near(p.Vec[0][0], 80.0/6, 1e-12) || p.Vec[1][0] != 20 || p.Pixels[1] != 1 {
		t.Errorf("prototypes %v pixels %v", p.Vec, p.Pixels)
	}
	if err := p.Add(feat, 1, 2, 1, 1, labels, 2, 4); err == nil {
		t.Error("dimension change: no error")
	}
}

func TestVisionErrors(t *testing.T) {
	mk := func(names []string, dim int, ex string, vecs ...[]float64) *Prototypes {
		p, err := NewPrototypes(names, ex)
		if err != nil {
			t.Fatal(err)
		}
		p.Dim = dim
		copy(p.Vec, vecs)
		return p
	}
	src := mk([]string{"x", "y"}, 2, "toy", []float64{1, 0}, nil)
	m, warn, err := VisionEstimate(mk([]string{"a"}, 2, "toy", []float64{0, 1}), src, VisionOptions{})
	if err != nil || len(warn) != 1 || !strings.Contains(warn[0], `"y"`) || m.W[0][1] != 0 || m.W[0][0] != 1 {
		t.Errorf("missing source prototype: %v %q %v", err, warn, m)
	}
	// A target class without pixels gets a uniform row and a warning.
	m, warn, err = VisionEstimate(mk([]string{"a", "b"}, 2, "toy", []float64{0, 1}, nil), src, VisionOptions{})
	if err != nil || len(warn) != 2 || !strings.Contains(warn[1], `"b" has no pixel`) || m.W[1][0] != 0.5 || m.W[1][1] != 0.5 || m.W[0][0] != 1 {
		t.Errorf("target class without pixels: %v %q %v", err, warn, m)
	}
	cases := []struct {
		name     string
		tgt, src *Prototypes
		want     string
	}{
		{"dims", mk([]string{"a"}, 3, "toy", []float64{1, 0, 0}), src, "3 dimensions, source 2"},
		{"extractor", mk([]string{"a"}, 2, "other", []float64{1, 0}), src, `from "other"`},
		{"no target pixels", mk([]string{"a"}, 2, "toy", nil), src, "no target class has a prototype"},
		{"no source", mk([]string{"a"}, 2, "toy", []float64{1, 0}), mk([]string{"x"}, 2, "toy", nil), "no source class has a prototype"},
	}
	for _, c := range cases {
		if _, _, err := VisionEstimate(c.tgt, c.src, VisionOptions{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	_, err = LoadPrototypes(filepath.Join(t.TempDir(), "none.safetensors"))
	if err == nil || !strings.Contains(err.Error(), "no stored source prototypes") {
		t.Errorf("missing file: %v", err)
	}
	empty, _ := NewPrototypes([]string{"a"}, "toy")
	if err := empty.SaveFile(filepath.Join(t.TempDir(), "e.safetensors")); err == nil {
		t.Error("saving empty prototypes: no error")
	}
}
