package gan

import (
	"bytes"
	"context"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"catsynth/internal/testscenes"
	"catsynth/nn"

	"catsynth/models"
)

// trainTiny trains a tiny 32 px model for a few steps through Train and
// returns the trainer and the output paths.
func trainTiny(t *testing.T, steps int) (*Trainer, string, string) {
	t.Helper()
	r, seed := testscenes.RNG(t)
	dev := testscenes.CPU()
	const n, b = 4, 2
	gc := tinyG(n)
	gc.ClassNames = []string{"sky", "grass", "road", "tree"}
	tr, err := NewTrainer(dev, gc, tinyD(n), TrainConfig{BatchSize: b, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Release)
	dir := t.TempDir()
	next := func() (models.Batch, error) {
		lab := blobLabels(r, b, 32, 32, n)
		return models.Batch{N: b, H: 32, W: 32, Labels: lab, Images: labelImages(lab, b, 32, 32, n)}, nil
	}
	sample, _ := next()
	model, state := filepath.Join(dir, "m.safetensors.zst"), filepath.Join(dir, "m.state.safetensors.zst")
	calls := 0
	trace, err := models.Train(context.Background(), tr, next, sample, nil, models.LoopOptions{
		Steps: steps, CheckpointEvery: 2, SampleEvery: 2, ModelPath: model, StatePath: state,
		SampleDir: dir, LossCurvePath: filepath.Join(dir, "loss.png"),
		Progress: func(p models.StepProgress) { calls++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(trace) != steps || calls != steps {
		t.Fatalf("trace %d, progress calls %d, want %d", len(trace), calls, steps)
	}
	for _, f := range []string{model, state, filepath.Join(dir, "loss.png"), filepath.Join(dir, "samples_000002.png")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("missing output: %v", err)
		}
	}
	return tr, model, state
}

func TestTrainLoadGenerate(t *testing.T) {
	tr, model, state := trainTiny(t, 3)
	dev := tr.Dev
	g, err := LoadGenerator(dev, model)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	r, _ := testscenes.RNG(t)
	lab := blobLabels(r, 1, 32, 32, 4)
	gen := func(seed uint64) []byte {
		imgs, err := g.GenerateLabels(lab, 32, 32, []uint64{seed})
		if err != nil {
			t.Fatal(err)
		}
		return imgs[0].Pix
	}
	a, a2, b := gen(7), gen(7), gen(8)
	if !bytes.Equal(a, a2) {
		t.Error("same seed gave different images")
	}
	if bytes.Equal(a, b) {
		t.Error("different seeds gave the same image")
	}
	// A batch with seeds 7, 8 makes the same images as single runs.
	both, err := g.GenerateLabels(append(append([]int32(nil), lab...), lab...), 32, 32, models.SeedRange(7, 2))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(both[0].Pix, a) || !bytes.Equal(both[1].Pix, b) {
		t.Error("batched generation differs from single runs with the same seeds")
	}
	// The loaded model equals the trainer's EMA weights: same images.
	ema, err := tr.SampleEMA(lab, 32, 32, []uint64{7})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ema[0].Pix, a) {
		t.Error("loaded model and the trainer's EMA generate different images")
	}

	// Resume continues from the saved step with the same weights.
	tr2, trace, err := ResumeTrainer(dev, state, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Release()
	if tr2.Steps != 3 || len(trace) != 3 {
		t.Errorf("resumed at step %d with %d losses, want 3", tr2.Steps, len(trace))
	}
	ema2, err := tr2.SampleEMA(lab, 32, 32, []uint64{7})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ema2[0].Pix, a) {
		t.Error("resumed EMA generates a different image")
	}
	// The optimizers' moments and step counts come back too.
	want, got := tr.optimizerParams(), tr2.optimizerParams()
	for i := range want {
		w, _ := want[i].T.Data()
		g, _ := got[i].T.Data()
		if want[i].Name != got[i].Name || !slices.Equal(w, g) {
			t.Fatalf("optimizer state %s differs after resume", want[i].Name)
		}
	}
	if tr2.optG.Steps() != 3 || tr2.optD.Steps() != 3 {
		t.Errorf("resumed optimizers at steps %d, %d, want 3", tr2.optG.Steps(), tr2.optD.Steps())
	}
	if _, _, err := ResumeTrainer(dev, model, nil); err == nil {
		t.Error("resuming from a model file (not a state): no error")
	}
}

func TestGenerateErrors(t *testing.T) {
	dev := testscenes.CPU()
	g, err := NewGenerator(dev, tinyG(4), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	lab := make([]int32, 32*32)
	lab[3*32+5] = 9
	_, err = g.GenerateLabels(lab, 32, 32, []uint64{1})
	if err == nil || !strings.Contains(err.Error(), "class index 9") || !strings.Contains(err.Error(), "x 5, y 3") {
		t.Errorf("unknown class: err %v", err)
	} else {
		t.Log(err)
	}
	if _, err := g.GenerateLabels(make([]int32, 30*30), 30, 30, []uint64{1}); err == nil {
		t.Error("size not a multiple of 4: no error")
	}
	// Non-square maps of another size than training work.
	imgs, err := g.GenerateLabels(make([]int32, 16*48), 16, 48, []uint64{1})
	if err != nil || imgs[0].Bounds() != image.Rect(0, 0, 48, 16) {
		t.Errorf("48x16 map: %v, %v", err, imgs)
	}
}

func TestLoadGeneratorErrors(t *testing.T) {
	dev := testscenes.CPU()
	dir := t.TempDir()
	g, _ := NewGenerator(dev, tinyG(4), 1)
	defer g.Release()
	other, _ := NewGenerator(dev, tinyG(5), 1)
	defer other.Release()
	path := filepath.Join(dir, "m.safetensors")
	// Weights of a 5-class model under a 4-class config: a shape mismatch.
	if err := SaveGenerator(path, other.Params().All(), tinyG(4), stepMeta(0), false); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadGenerator(dev, path); err == nil {
		t.Error("mismatched weights: no error")
	} else {
		t.Log(err)
	}
	if _, err := LoadGenerator(dev, filepath.Join(dir, "none")); err == nil {
		t.Error("missing file: no error")
	}
	// Round trip in f16 keeps weights within half precision.
	if err := SaveGenerator(path+".zst", g.Params().All(), tinyG(4), stepMeta(5), true); err != nil {
		t.Fatal(err)
	}
	g2, err := LoadGenerator(dev, path+".zst")
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Release()
	for i, p := range g.Params().All() {
		a, _ := p.T.Data()
		b, _ := g2.Params().All()[i].T.Data()
		for j := range a {
			if d := a[j] - b[j]; d > 1e-3*(1+abs32(a[j])) || -d > 1e-3*(1+abs32(a[j])) {
				t.Fatalf("%s[%d]: %v after f16 round trip, was %v", p.Name, j, b[j], a[j])
			}
		}
	}
}

func abs32(x float32) float32 { return max(x, -x) }

func TestTrainStopsOnNaNKeepsCheckpoint(t *testing.T) {
	dev := testscenes.CPU()
	tr, err := NewTrainer(dev, tinyG(3), tinyD(3), TrainConfig{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	dir := t.TempDir()
	model := filepath.Join(dir, "m.safetensors")
	step := 0
	next := func() (models.Batch, error) {
		step++
		img := make([]float32, 3*32*32)
		if step == 3 {
			img[0] = float32(nanValue())
		}
		return models.Batch{N: 1, H: 32, W: 32, Labels: make([]int32, 32*32), Images: img}, nil
	}
	sample, _ := next()
	step = 0
	_, err = models.Train(context.Background(), tr, next, sample, nil, models.LoopOptions{Steps: 5, CheckpointEvery: 1, ModelPath: model})
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("err %v, want ErrNonFinite", err)
	}
	t.Log(err)
	g, err := LoadGenerator(dev, model)
	if err != nil {
		t.Fatalf("last good checkpoint: %v", err)
	}
	defer g.Release()
	ck, _ := os.ReadFile(model)
	if !bytes.Contains(ck, []byte(`"step":"2"`)) {
		t.Error("the checkpoint on disk is not the one of step 2")
	}
}

// TestWarmStart: a trainer at twice the size starts from a state file's
// weights (same parameters, fresh step count); other architectures and
// model files are refused.
func TestWarmStart(t *testing.T) {
	tr, model, state := trainTiny(t, 2)
	dev := tr.Dev
	gc, dc := tr.G.Config, tr.D.Config
	gc.H, gc.W = 64, 64
	big, err := NewTrainer(dev, gc, dc, TrainConfig{BatchSize: 1, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Release()
	if err := big.WarmStart(state); err != nil {
		t.Fatal(err)
	}
	if big.Steps != 0 {
		t.Errorf("warm start at step %d, want 0", big.Steps)
	}
	want, got := tr.stateParams(), big.stateParams()
	for i := range want {
		w, _ := want[i].T.Data()
		g, _ := got[i].T.Data()
		if want[i].Name != got[i].Name || !slices.Equal(w, g) {
			t.Fatalf("%s differs after the warm start", want[i].Name)
		}
	}
	wide := tr.G.Config
	wide.Channels *= 2
	other, err := NewTrainer(dev, wide, dc, TrainConfig{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	if err := other.WarmStart(state); err == nil || !strings.Contains(err.Error(), "netG.") {
		t.Errorf("warm start of a wider generator: %v, want the mismatching names", err)
	}
	if err := big.WarmStart(model); err == nil || !strings.Contains(err.Error(), "not a training state") {
		t.Errorf("warm start from a model file: %v", err)
	}
}

// TestWarmStartGenerator: a trainer starts G and its EMA from a model file
// (any size), keeps its fresh D, and with DWarmup trains only D for the
// first steps; another architecture is refused.
func TestWarmStartGenerator(t *testing.T) {
	tr, model, _ := trainTiny(t, 2)
	dev := tr.Dev
	ck, err := nn.ReadCheckpoint(model)
	if err != nil {
		t.Fatal(err)
	}
	gc, dc := tr.G.Config, tr.D.Config
	gc.H, gc.W = 64, 64
	r, seed := testscenes.RNG(t)
	big, err := NewTrainer(dev, gc, dc, TrainConfig{BatchSize: 1, Seed: seed, DWarmup: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Release()
	if err := big.WarmStartGenerator(ck); err != nil {
		t.Fatal(err)
	}
	snapshot := func(ps []*nn.Param) [][]float32 {
		var out [][]float32
		for _, p := range ps {
			d, _ := p.T.Data()
			out = append(out, d)
		}
		return out
	}
	same := func(a, b [][]float32) bool {
		for i := range a {
			if !slices.Equal(a[i], b[i]) {
				return false
			}
		}
		return true
	}
	ema := tr.EMA.Shadow()
	if !same(snapshot(ema), snapshot(big.G.Params().All())) || !same(snapshot(ema), snapshot(big.EMA.Shadow())) {
		t.Fatal("G or its EMA differ from the model file after the warm start")
	}
	trainable := func(ps *nn.Params) [][]float32 {
		var out [][]float32
		for _, x := range ps.Trainable() { // BatchNorm statistics move in any training forward
			d, _ := x.Data()
			out = append(out, d)
		}
		return out
	}
	g0, d0 := trainable(big.G.Params()), trainable(big.D.Params)
	n := tr.G.Config.LabelNC
	step := func() {
		lab := blobLabels(r, 1, 64, 64, n)
		if _, err := big.Step(models.Batch{N: 1, H: 64, W: 64, Labels: lab, Images: labelImages(lab, 1, 64, 64, n)}); err != nil {
			t.Fatal(err)
		}
	}
	step()
	step()
	if !same(g0, trainable(big.G.Params())) || same(d0, trainable(big.D.Params)) {
		t.Error("during the D warm-up G moved or D did not")
	}
	step()
	if same(g0, trainable(big.G.Params())) {
		t.Error("after the D warm-up G does not train")
	}
	wide := tr.G.Config
	wide.Channels *= 2
	other, err := NewTrainer(dev, wide, dc, TrainConfig{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	if err := other.WarmStartGenerator(ck); err == nil || !strings.Contains(err.Error(), "another architecture") {
		t.Errorf("warm start of a wider generator: %v", err)
	}
	pixel := tr.G.Config
	pixel.Noise = NoisePixel // the same weights, another input
	pt, err := NewTrainer(dev, pixel, dc, TrainConfig{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pt.Release()
	if err := pt.WarmStartGenerator(ck); err != nil {
		t.Errorf("per-pixel noise from a per-image model: %v", err)
	}
}

// TestExportSource: the slim source of a training state opens as a
// finetuning source with the state's configs and (f16-rounded) weights,
// and refuses to resume training.
func TestExportSource(t *testing.T) {
	tr, model, state := trainTiny(t, 2)
	out := filepath.Join(t.TempDir(), "tiny.source.safetensors.zst")
	if err := ExportSource(state, out, false); err != nil {
		t.Fatal(err)
	}
	full, _ := nn.ReadCheckpoint(state)
	slim, err := nn.ReadCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	src, err := openSource(slim)
	if err != nil {
		t.Fatal(err)
	}
	if src.Step != 2 || len(src.Names) != tr.G.Config.LabelNC {
		t.Errorf("source step %d, %d classes", src.Step, len(src.Names))
	}
	for _, name := range []string{"netEMA.fc.weight", "netD.layer_up_last.weight"} {
		a, _ := full.File.Get(name)
		b, ok := slim.File.Get(name)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		for i := range a.Data {
			if d := math.Abs(float64(a.Data[i] - b.Data[i])); d > 1e-3*math.Max(1, math.Abs(float64(a.Data[i]))) {
				t.Fatalf("%s[%d]: %g vs %g", name, i, a.Data[i], b.Data[i])
			}
		}
	}
	if _, ok := slim.File.Get("netG.fc.weight"); ok {
		t.Error("the slim source keeps the live generator")
	}
	if fi, _ := os.Stat(out); fi != nil {
		st, _ := os.Stat(state)
		t.Logf("state %d bytes, source %d", st.Size(), fi.Size())
	}
	if _, _, err := ResumeTrainer(tr.Dev, out, nil); err == nil {
		t.Error("a slim source resumed training")
	}
	// Without the generator, completed from the model file.
	donly := filepath.Join(t.TempDir(), "d.source.safetensors.zst")
	if err := ExportSource(state, donly, true); err != nil {
		t.Fatal(err)
	}
	dck, _ := nn.ReadCheckpoint(donly)
	if _, ok := dck.File.Get("netEMA.fc.weight"); ok {
		t.Error("discriminator-only source holds the generator")
	}
	mck, _ := nn.ReadCheckpoint(model)
	both, err := WithGenerator(dck, mck)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openSource(both); err != nil {
		t.Fatal(err)
	}
	if g, ok := both.File.Get("netEMA.fc.weight"); !ok || len(g.Data) == 0 {
		t.Error("completed source lacks the generator")
	}
}

// TestNaNWeightsRefused: a model file with a NaN weight is refused at load
// naming the tensor (it drew black images with exit 0).
func TestNaNWeightsRefused(t *testing.T) {
	_, model, _ := trainTiny(t, 2)
	ck, err := nn.ReadCheckpoint(model)
	if err != nil {
		t.Fatal(err)
	}
	ck.File.Tensors[3].Data[0] = float32(math.NaN())
	if _, err := generatorFrom(testscenes.CPU(), ck); err == nil || !strings.Contains(err.Error(), ck.File.Tensors[3].Name) {
		t.Errorf("NaN weight: %v", err)
	}
}
