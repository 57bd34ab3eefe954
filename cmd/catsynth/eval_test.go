package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/backbone"
	"catsynth/eval"
	"catsynth/nn"
)

// writePNGs writes n random smooth 32x32 images to dir; bright adds to every
// channel (clamped), giving a shifted copy of the same set.
func writePNGs(t *testing.T, dir string, seed uint64, n int, bright float64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		fx, fy, ph := r.Float64()*6, r.Float64()*6, r.Float64()*6
		for y := range 32 {
			for x := range 32 {
				v := func(c float64) uint8 {
					f := 0.5 + 0.4*math.Sin(fx*float64(x)/32+fy*float64(y)/32+ph+c) + bright
					return uint8(255 * min(max(f, 0), 1))
				}
				img.Set(x, y, color.RGBA{v(0), v(2), v(4), 255})
			}
		}
		f, err := os.Create(filepath.Join(dir, "img"+string(rune('a'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// tinyBackbone writes a small random feature network (conv, relu, global
// pool: 16-d features of 32x32 images), so the command test runs in
// milliseconds; the real networks are checked in backbone/keras.
func tinyBackbone(t *testing.T, path string, seed uint64) {
	t.Helper()
	dev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	spec := backbone.Spec{Name: "tiny test network", InputC: 3, InputH: 32, InputW: 32, Features: "gap", Output: "gap",
		Nodes: []backbone.Node{
			{Name: "input", Op: backbone.OpInput},
			{Name: "conv", Op: backbone.OpConv, Inputs: []string{"input"}, Out: 16, KH: 3, KW: 3, StrideH: 2, StrideW: 2, Same: true, Bias: true, Act: backbone.ActRelu},
			{Name: "gap", Op: backbone.OpGAP, Inputs: []string{"conv"}},
		}}
	net, err := backbone.New(dev, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Release()
	r := rand.New(rand.NewPCG(seed, 1))
	for _, p := range net.Params() {
		data := make([]float32, p.T.Numel())
		for i := range data {
			data[i] = float32(r.NormFloat64() * 0.3)
		}
		if err := net.SetParam(p.Name, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := net.Save(path, false); err != nil {
		t.Fatal(err)
	}
}

func TestEvalCommand(t *testing.T) {
	const seed = 9
	t.Logf("seed %d", seed)
	tmp := t.TempDir()
	bb := filepath.Join(tmp, "tiny.safetensors")
	tinyBackbone(t, bb, seed)
	real, same, shifted := filepath.Join(tmp, "real"), filepath.Join(tmp, "same"), filepath.Join(tmp, "shifted")
	writePNGs(t, real, seed, 5, 0)
	writePNGs(t, same, seed, 5, 0)
	writePNGs(t, shifted, seed, 5, 0.35)
	run := func(gen string) eval.Report {
		out := filepath.Join(tmp, filepath.Base(gen)+".json")
		err := runEval(context.Background(), []string{"--real", real, "--generated", gen, "--backbone", bb,
			"--backend", "cpu", "--kid-subsets", "10", "--allow-small", "--json", out})
		if err != nil {
			t.Fatal(err)
		}
		return readReport(t, out)
	}
	a, b := run(same), run(shifted)
	if a.FeatureNetwork != "tiny test network" || a.FeatureDim != 16 {
		t.Errorf("report names feature network %q (dim %d)", a.FeatureNetwork, a.FeatureDim)
	}
	if a.FID == nil || b.FID == nil || a.KID == nil || b.KID == nil {
		t.Fatalf("missing metrics: %+v %+v", a, b)
	}
	t.Logf("identical: FID %.4g KID %.4g; shifted: FID %.4g KID %.4g", *a.FID, a.KID.Mean, *b.FID, b.KID.Mean)
	if *a.FID > 1e-3*(*b.FID) || *b.FID <= 0 {
		t.Errorf("FID identical %g, shifted %g: want ~0 and clearly positive", *a.FID, *b.FID)
	}
	if b.KID.Mean <= a.KID.Mean {
		t.Errorf("KID shifted %g not above identical %g", b.KID.Mean, a.KID.Mean)
	}
	// The default subset is half the smaller set, so subsets differ and the
	// spread is an honest one (it was the whole set: "± 0.000" by construction).
	if b.KID.SubsetSize != 2 || b.KID.Std <= 0 {
		t.Errorf("KID on 5 images per set: subsets of %d with std %g, want subsets of 2 and a positive spread", b.KID.SubsetSize, b.KID.Std)
	}
}

func TestEvalAffinityAndUsage(t *testing.T) {
	tmp := t.TempDir()
	est, truth := filepath.Join(tmp, "est.json"), filepath.Join(tmp, "true.json")
	os.WriteFile(est, []byte(`[[0.7,0.3],[0.2,0.8]]`), 0o644)
	os.WriteFile(truth, []byte(`[[1,0],[1,0]]`), 0o644)
	out := filepath.Join(tmp, "r.json")
	if err := runEval(context.Background(), []string{"--affinity", est, "--affinity-truth", truth, "--json", out}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	var rep eval.Report
	if err := json.Unmarshal(b, &rep); err != nil || rep.Affinity == nil {
		t.Fatalf("report %s: %v", b, err)
	}
	if math.Abs(rep.Affinity.Top1-0.5) > 1e-12 || math.Abs(rep.Affinity.MeanTV-(0.3+0.8)/2) > 1e-12 {
		t.Errorf("affinity %+v, want top1 0.5, TV 0.55", *rep.Affinity)
	}
	for _, args := range [][]string{{}, {"--real", tmp}, {"--affinity", est}} {
		if err := runEval(context.Background(), args); err == nil {
			t.Errorf("args %v: no error", args)
		}
	}
}

// TestEvalNoFeatures: --no-fid --no-kid writes no distance and needs no
// feature network (none is given, and the folder searched has none).
func TestEvalNoFeatures(t *testing.T) {
	const seed = 4
	t.Logf("seed %d", seed)
	tmp := t.TempDir()
	real, gen := filepath.Join(tmp, "real"), filepath.Join(tmp, "gen")
	writePNGs(t, real, seed, 3, 0)
	writePNGs(t, gen, seed, 3, 0.2)
	out := filepath.Join(tmp, "r.json")
	err := runEval(context.Background(), []string{"--real", real, "--generated", gen, "--no-fid", "--no-kid",
		"--models", filepath.Join(tmp, "none"), "--backend", "cpu", "--report", filepath.Join(tmp, "rep"), "--json", out})
	if err != nil {
		t.Fatal(err)
	}
	rep := readReport(t, out)
	if rep.FID != nil || rep.KID != nil {
		t.Errorf("distances computed with --no-fid --no-kid: %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(tmp, "rep", "index.html")); err != nil {
		t.Errorf("no report: %v", err)
	}
}

// readReport reads the JSON report `catsynth eval --json` wrote.
func readReport(t *testing.T, path string) eval.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep eval.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestEvalRefusesTinySets: FID/KID of a handful of images are refused with
// the minimum named (they printed plausible-looking numbers for garbage),
// and bad KID settings are refused.
func TestEvalRefusesTinySets(t *testing.T) {
	tmp := t.TempDir()
	real, gen := filepath.Join(tmp, "real"), filepath.Join(tmp, "gen")
	writePNGs(t, real, 1, 8, 0)
	writePNGs(t, gen, 2, 8, 0)
	err := runEval(context.Background(), []string{"--real", real, "--generated", gen, "--backend", "cpu"})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at least %d images", minEvalImages)) {
		t.Errorf("8 against 8 images: %v", err)
	}
	err = runEval(context.Background(), []string{"--real", real, "--generated", gen, "--backend", "cpu", "--kid-size", "-5"})
	if err == nil || !strings.Contains(err.Error(), "--kid-size") {
		t.Errorf("--kid-size -5: %v", err)
	}
}
