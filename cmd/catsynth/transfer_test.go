package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"catsynth/models"

	"catsynth/affinity"
	"catsynth/dataset"
	"catsynth/dataset/synth"
	"catsynth/eval"
	"catsynth/modelref"
	"catsynth/models/gan"
	"catsynth/nn"
	"catsynth/nn/cpu"
	"catsynth/transfer"
)

// tinyTransferSource writes a 16 px source GAN over the synthetic source
// classes (one training step, random otherwise) with its state beside it.
func tinyTransferSource(t testing.TB, dir string) string {
	t.Helper()
	dev := nn.NewDevice(cpu.New())
	S := len(synth.SourceClasses)
	gc := gan.GeneratorConfig{LabelNC: S, ZDim: 4, Channels: 4, NumBlocks: 2, H: 16, W: 16, SPADEHidden: 8,
		Norm: gan.NormCLADE, ClassNames: synth.SourceClasses}
	dc := gan.DiscriminatorConfig{NumClasses: S, Channels: 4, NumBlocks: 2}
	tr, err := gan.NewTrainer(dev, gc, dc, gan.TrainConfig{BatchSize: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	lab := make([]int32, 256)
	for i := range lab {
		lab[i] = int32(i % S)
	}
	if _, err := tr.Step(models.Batch{N: 1, H: 16, W: 16, Labels: lab, Images: make([]float32, 3*256)}); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "src.safetensors.zst")
	if err := tr.SaveModel(model, false); err != nil {
		t.Fatal(err)
	}
	if err := tr.SaveState(transfer.StatePath(model), nil); err != nil {
		t.Fatal(err)
	}
	return model
}

func runTr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var se bytes.Buffer
	err := runTransfer(context.Background(), append([]string{"--backend", "cpu", "--batch", "2", "--sample-every", "0", "--ckpt-every", "0"}, args...), &se)
	return se.String(), err
}

// TestTransferCommand: CAT with an estimated A trains, writes a model that
// gan.LoadGenerator runs on target labels, resumes; every baseline runs.
func TestTransferCommand(t *testing.T) {
	affinitySegmenter = sourceSegmenter
	dir := t.TempDir()
	src := tinyTransferSource(t, dir)
	const data = "synth:coast:n=4,size=16"
	out := filepath.Join(dir, "t", "coast.safetensors.zst")
	if se, err := runTr(t, "--source", src, "--target", data, "--affinity", "combined", "--steps", "2", "--out", out); err != nil {
		t.Fatalf("%v\n%s", err, se)
	} else if !strings.Contains(se, "head reinit, train all, A free") {
		t.Errorf("the default is not CAT with a free A and a new head:\n%s", se)
	}
	for _, p := range []string{out, transfer.StatePath(out), sideName(out, ".affinity.json"), sideName(out, "_samples/samples_000002.png"), sideName(out, ".images.txt")} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	A, _, err := affinity.ReadJSONFile(sideName(out, ".affinity.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(A.Meta["method"], "seg") || !strings.Contains(A.Meta["method"], "text") {
		t.Errorf("combined A used %q, want text and seg (the source discriminator)", A.Meta["method"])
	}
	g, err := gan.LoadGenerator(nn.NewDevice(cpu.New()), out)
	if err != nil {
		t.Fatal(err)
	}
	T := len(A.Target)
	if g.Config.LabelNC != T {
		t.Errorf("model has %d classes, target %d", g.Config.LabelNC, T)
	}
	lab := make([]int32, 256)
	for i := range lab {
		lab[i] = int32(i % T)
	}
	if _, err := g.GenerateLabels(lab, 16, 16, []uint64{1}); err != nil {
		t.Error(err)
	}
	g.Release()
	se, err := runTr(t, "--source", src, "--target", data, "--steps", "3", "--out", out, "--resume")
	if err != nil || !strings.Contains(se, "resuming at step 2") {
		t.Errorf("resume: %v\n%s", err, se)
	}
	for i, tc := range [][]string{
		{"--init", "scratch"}, {"--init", "finetune"}, {"--affinity", "onehot:text"},
		{"--affinity", "text", "--train", "affinity", "--train-a", "--train-spade"},
		{"--affinity", "text", "--train-a", "--head", "reinit"},
		{"--affinity", "text", "--a", "frozen"}, {"--affinity", "text", "--free-a"},
	} {
		o := filepath.Join(dir, fmt.Sprintf("mode%d", i), "m.safetensors.zst") // a new file each: existing ones are refused
		if se, err := runTr(t, append([]string{"--source", src, "--target", data, "--steps", "1", "--out", o}, tc...)...); err != nil {
			t.Errorf("%v: %v\n%s", tc, err, se)
		}
	}
}

// writeFolder writes a folder dataset of n 16x16 images whose labels go
// up to maxLabel, with the given classes.txt lines (nil: no file).
func writeFolder(t *testing.T, dir string, classes []string, maxLabel int) string {
	t.Helper()
	for _, sub := range []string{"images", "labels"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		img := image.NewRGBA(image.Rect(0, 0, 16, 16))
		lab := image.NewGray(image.Rect(0, 0, 16, 16))
		for p := range 256 {
			img.Pix[4*p], img.Pix[4*p+3] = uint8(p), 255
			lab.Pix[p] = uint8(p % (maxLabel + 1))
		}
		for sub, im := range map[string]image.Image{"images": img, "labels": lab} {
			var buf bytes.Buffer
			if err := png.Encode(&buf, im); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, sub, "x"+string(rune('0'+i))+".png"), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if classes != nil {
		if err := os.WriteFile(filepath.Join(dir, "classes.txt"), []byte(strings.Join(classes, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestTransferBadInput: clear errors for the list of bad inputs.
func TestTransferBadInput(t *testing.T) {
	dir := t.TempDir()
	src := tinyTransferSource(t, dir)
	classes := []string{"sky", "ocean", "beach"}
	good := writeFolder(t, filepath.Join(dir, "good"), classes, 2)
	writeA := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	srcJSON := `"source": ["` + strings.Join(synth.SourceClasses, `","`) + `"]`
	okRows := `"sky": {"sky": 1}, "ocean": {"sea": 1}`
	// A valid model file without its training state beside it.
	alone := filepath.Join(dir, "alone.safetensors.zst")
	srcBytes, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, srcBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"classes file missing", []string{"--target", writeFolder(t, filepath.Join(dir, "nocls"), nil, 2)}, "classes.txt"},
		{"duplicate class names", []string{"--target", writeFolder(t, filepath.Join(dir, "dup"), []string{"sky", "sky", "beach"}, 2)}, "already named on line 1"},
		{"label beyond classes", []string{"--target", writeFolder(t, filepath.Join(dir, "big"), classes, 5)}, "is not a class"},
		{"affinity shape", []string{"--affinity", writeA("shape.json", `{"format": "catsynth-affinity/1", `+srcJSON+`, "rows": {`+okRows+`}}`)}, "beach"},
		{"affinity names", []string{"--affinity", writeA("names.json", `{"format": "catsynth-affinity/1", `+srcJSON+`, "rows": {`+okRows+`, "shore": {"sand": 1}}}`)}, "shore"},
		{"negative entry", []string{"--affinity", writeA("neg.json", `{"format": "catsynth-affinity/1", `+srcJSON+`, "rows": {`+okRows+`, "beach": {"sand": -1}}}`)}, "negative"},
		{"vision without prototypes", []string{"--affinity", "vision"}, "prototypes"},
		{"source without state", []string{"--source", alone}, "discriminator"},
		{"unknown estimator", []string{"--affinity", "magic"}, "magic"},
		{"unknown A variant", []string{"--a", "sharp"}, `A "sharp"`},
		{"old and new A flags disagree", []string{"--train-a", "--a", "free"}, "pick one"},
		{"free A with the source head", []string{"--head", "affinity"}, "use head reinit, or A frozen or softmax"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--source", src, "--target", good, "--steps", "1", "--out", filepath.Join(t.TempDir(), "m.safetensors.zst")}, tc.args...)
			se, err := runTr(t, args...)
			if err == nil {
				t.Fatalf("no error\n%s", se)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			t.Log(err)
		})
	}
	t.Run("rows normalised with a warning", func(t *testing.T) {
		p := writeA("sum.json", `{"format": "catsynth-affinity/1", `+srcJSON+`, "rows": {"sky": {"sky": 3, "cloud": 1}, "ocean": {"sea": 1}, "beach": {"sand": 1}}}`)
		se, err := runTr(t, "--source", src, "--target", good, "--steps", "1", "--affinity", p, "--out", filepath.Join(t.TempDir(), "m.safetensors.zst"))
		if err != nil {
			t.Fatalf("%v\n%s", err, se)
		}
		if !strings.Contains(se, "warning") || !strings.Contains(se, "normalised") {
			t.Errorf("no normalisation warning:\n%s", se)
		}
	})
}

// TestBenchTransferSmall is the make-test version of `bench transfer`: a
// tiny random source, one domain, 4 images, 2 steps, every row; it checks
// the pipeline end to end (tables, grids, estimator scores), not quality.
// FID/KID use a colour-moment stand-in feature (the real networks take
// minutes on CPU).
func TestBenchTransferSmall(t *testing.T) {
	affinitySegmenter = sourceSegmenter
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	src := tinyTransferSource(t, dir)
	var stdout bytes.Buffer
	rep, err := benchTransfer(context.Background(), tbConfig{
		source: src, out: filepath.Join(dir, "bench"), backend: "cpu", domains: []string{"coast"}, shots: []int{4},
		seeds: []uint64{seed, seed + 1}, steps: 2, batch: 2, heldout: 6, segSteps: 2, gridN: 3,
		features: colourMoments, featName: "colour moments (test stand-in)", stdout: &stdout, stderr: &bytes.Buffer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	for _, r := range rep.Results {
		runs[r.Row]++
		if r.Skipped == "" && (r.MIoU < 0 || r.MIoU > 1 || r.StepMS <= 0 || r.KID.Subsets == 0) {
			t.Errorf("%s: implausible result %+v", r.Row, r)
		}
	}
	for _, row := range tbRows {
		if runs[row.Name] != 2 {
			t.Errorf("row %s ran %d times, want once per seed (2)", row.Name, runs[row.Name])
		}
	}
	coast, err := dataset.Open("synth:coast:n=1")
	if err != nil {
		t.Fatal(err)
	}
	source, err := modelref.Source(src)
	if err != nil {
		t.Fatal(err)
	}
	logits := len(coast.Classes()) * len(source.Classes())
	for _, r := range rep.Results {
		// The page's light mode trains A's T x S logits and nothing else.
		if r.Row == "page-light" && (r.TrainG != logits || r.TrainD != 0 || r.Seconds <= 0) {
			t.Errorf("page-light: trained params %d / %d in %.2f s, want the coast A's logits only", r.TrainG, r.TrainD, r.Seconds)
		}
	}
	var methods []string
	for _, e := range rep.Estimates {
		if e.Note == "" {
			methods = append(methods, e.Method)
		}
	}
	if got := strings.Join(methods, ","); got != "text,seg,combined,onehot" {
		t.Errorf("scored estimators %s (vision has no prototypes here)", got)
	}
	for _, f := range []string{"results.json", "results.md", "grid-coast-4.png", "chart-coast-4.png"} {
		if _, err := os.Stat(filepath.Join(dir, "bench", f)); err != nil {
			t.Error(err)
		}
	}
	if got := strings.Join(rep.Charts, ","); got != "chart-coast-4.png" {
		t.Errorf("charts %q, want the setting's one chart", got)
	}
	if cfg, err := png.DecodeConfig(mustOpen(t, filepath.Join(dir, "bench", "chart-coast-4.png"))); err != nil || cfg.Height < 20*len(rep.Rows) {
		t.Errorf("chart: %v, %+v: want a readable PNG with a bar per row (%d rows)", err, cfg, len(rep.Rows))
	}
	if !strings.Contains(stdout.String(), "CAT-combined-trainedA") || !strings.Contains(stdout.String(), "### Targets") {
		t.Errorf("table lacks rows:\n%s", stdout.String())
	}
}

// colourMoments is a cheap 6-d image feature (per-channel mean and
// spread) standing in for a feature network in tests.
func colourMoments(imgs []*image.RGBA) (eval.Features, error) {
	r := rand.New(rand.NewPCG(1, 2))
	out := make(eval.Features, len(imgs))
	for i, im := range imgs {
		f := make([]float64, 6)
		n := float64(len(im.Pix) / 4)
		for p := 0; p < len(im.Pix); p += 4 {
			for c := range 3 {
				v := float64(im.Pix[p+c]) / 255
				f[c] += v / n
				f[3+c] += v * v / n
			}
		}
		f[5] += 1e-6 * r.Float64() // keeps the covariance non-singular for identical images
		out[i] = f
	}
	return out, nil
}

// TestBenchTransferEmbeddedSource: `bench transfer --source embedded:NAME`
// opens the shipped model with its shipped discriminator and prototypes
// (as `transfer` does), so the vision estimator is scored too. One row,
// one step; the pipeline, not quality.
func TestBenchTransferEmbeddedSource(t *testing.T) {
	dir := t.TempDir()
	rep, err := benchTransfer(context.Background(), tbConfig{
		source: "embedded:source64", out: filepath.Join(dir, "bench"), backend: "cpu", domains: []string{"coast"}, shots: []int{2},
		seeds: []uint64{1}, only: []string{"CAT-vision"}, steps: 1, batch: 2, heldout: 4, segSteps: 1, gridN: 2,
		features: colourMoments, featName: "colour moments (test stand-in)", stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Row != "CAT-vision" || rep.Results[0].Skipped != "" {
		t.Fatalf("results %+v, want one CAT-vision row that ran", rep.Results)
	}
	vision := false
	for _, e := range rep.Estimates {
		vision = vision || e.Method == "vision" && e.Note == ""
	}
	if !vision {
		t.Errorf("the vision estimator was not scored (the embedded prototypes were not found): %+v", rep.Estimates)
	}
}

// TestBenchTransferTargets: the targets table picks the CAT row with the
// lowest mean KID and marks each of issue 14's targets met or missed.
func TestBenchTransferTargets(t *testing.T) {
	res := func(row string, shots int, kid, miou float64) tbResult {
		return tbResult{Domain: "coast", Shots: shots, Row: row, KID: eval.KIDResult{Mean: kid / 1000}, MIoU: miou, Ceiling: 0.5}
	}
	cases := []struct {
		name    string
		results []tbResult
		want    []string
	}{
		{"all met", []tbResult{res("finetune", 100, 80, 0.30), res("CAT-text", 100, 70, 0.45), res("CAT-vision", 100, 50, 0.41)},
			[]string{"| coast | 100 | CAT-vision | 50.00 vs 80.00: -38% (met) | 0.410 vs 0.300: +0.110 (met) | 82% (met) |"}},
		{"all missed, 25 images have no ceiling target", []tbResult{res("finetune", 25, 80, 0.30), res("CAT-text", 25, 70, 0.32), res("scratch", 25, 10, 0.1)},
			[]string{"| coast | 25 | CAT-text | 70.00 vs 80.00: -12% (missed) | 0.320 vs 0.300: +0.020 (missed) | — |"}},
		{"seeds are averaged", []tbResult{res("finetune", 100, 80, 0.30), res("CAT-text", 100, 40, 0.30), res("CAT-text", 100, 80, 0.30)},
			[]string{"60.00 vs 80.00: -25% (met)", "+0.000 (missed)", "60% (missed)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := &tbReport{Rows: tbRows, Results: tc.results}
			keys, groups := groupResults(tc.results)
			var b strings.Builder
			writeTBTargets(&b, rep, keys, groups)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("table lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}

// mustOpen opens path for reading, closed when the test ends.
func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
