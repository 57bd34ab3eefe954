package diffusion

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/models"
	"catsynth/nn"
)

// tinyModel is the tiny U-Net with random output convs (so that its
// epsilon depends on every layer) behind the models.Model contract.
func tinyModel(t *testing.T, classes int) (*Model, uint64) {
	t.Helper()
	r, seed := testRNG(t)
	u, err := NewUNet(cpuDevice(), Tiny(classes), seed)
	if err != nil {
		t.Fatal(err)
	}
	randomizeZeroInit(r, u)
	t.Cleanup(u.Release)
	return NewModel(u), seed
}

// DDIM with eta 1 over all T steps is DDPM with the posterior variance:
// sigma_t^2 = (1 - abar_{t-1}) / (1 - abar_t) * beta_t, and the DDIM mean
// equals the posterior mean for any x0 prediction. With the same noise
// draws both samplers take the same path.
func TestDDIMEta1IsDDPMWithPosteriorVariance(t *testing.T) {
	r, seed := testRNG(t)
	cfg := Tiny(3)
	cfg.DiffusionSteps = 40 // every step of a short process
	u, err := NewUNet(cpuDevice(), cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	randomizeZeroInit(r, u)
	s, err := u.Sampler()
	if err != nil {
		t.Fatal(err)
	}
	// The variance channels at -1: the learned range's lower end, the
	// (clipped) posterior variance.
	s.Model = func(x *nn.Tensor, ts []float64, y *nn.Tensor) *nn.Tensor {
		out := u.Forward(x, ts, y)
		eps := nn.Narrow(out, 1, 0, 3)
		return nn.Concat([]*nn.Tensor{eps, nn.AddScalar(nn.MulScalar(eps, 0), -1)}, 1)
	}
	dev := u.Params.Device()
	y := dev.FromData(oneHotMap(r, 2, 3, 16, 16), 2, 3, 16, 16)
	ddim, err := s.Sample(context.Background(), y, SampleOptions{Method: MethodDDIM, Steps: 40, Eta: 1, Guidance: 1.5, Seeds: []uint64{3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	ddpm, err := s.Sample(context.Background(), y, SampleOptions{Method: MethodDDPM, Steps: 40, Guidance: 1.5, Seeds: []uint64{3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i := range ddim {
		worst = math.Max(worst, math.Abs(float64(ddim[i]-ddpm[i])))
	}
	t.Logf("max |DDIM(eta 1) - DDPM| over %d values: %.3g", len(ddim), worst)
	if worst > 1e-4 {
		t.Errorf("DDIM with eta 1 over all steps differs from DDPM with the posterior variance by %g", worst)
	}
	eta0, err := s.Sample(context.Background(), y, SampleOptions{Method: MethodDDIM, Steps: 40, Eta: 0, Guidance: 1.5, Seeds: []uint64{3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	apart := 0.0
	for i := range eta0 {
		apart = math.Max(apart, math.Abs(float64(eta0[i]-ddpm[i])))
	}
	if apart < 1e-2 {
		t.Errorf("DDIM with eta 0 is within %g of DDPM: the comparison cannot fail", apart)
	}
}

// A seed gives image i the same pixels whatever else is in the batch, and
// other seeds other images.
func TestGenerateSeeds(t *testing.T) {
	dev := cpuDevice()
	u, err := NewUNet(dev, Tiny(3), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	for _, p := range u.Params.All() {
		if strings.HasPrefix(p.Name, "out.2.") || strings.HasSuffix(p.Name, "out_layers.3.weight") {
			v := make([]float32, p.T.Numel())
			for i := range v {
				v[i] = float32(math.Sin(float64(i)*0.37)) * 0.01
			}
			p.T.Upload(v)
		}
	}
	m := NewModel(u)
	if err := m.SetSampling(models.Sampling{Steps: 5, Guidance: 1.5}); err != nil {
		t.Fatal(err)
	}
	lab := make([]int32, 2*16*16)
	for i := range lab {
		lab[i] = int32((i % 256 / 16) * 3 / 16) // three horizontal bands
	}
	c := models.Conditioned{Net: m}
	pair, err := c.Generate(context.Background(), lab, 16, 16, []uint64{11, 12}, nil)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := c.Generate(context.Background(), lab[256:], 16, 16, []uint64{12}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(pair[1].Pix) != string(alone[0].Pix) {
		t.Error("image 2 of a batch differs from the same map and seed alone")
	}
	if string(pair[0].Pix) == string(pair[1].Pix) {
		t.Error("two seeds gave the same image")
	}
}

func TestSamplingSettings(t *testing.T) {
	m, _ := tinyModel(t, 3)
	for _, tc := range []struct {
		s    models.Sampling
		want string // "" accepted
	}{
		{models.Sampling{}, ""},
		{models.Sampling{Steps: 10, Guidance: 3, Eta: 0.3}, ""},
		{models.Sampling{Method: MethodDDPM, Steps: 1000}, ""},
		{models.Sampling{Steps: 1001}, "1001 sampling steps"},
		{models.Sampling{Steps: -2}, "-2 sampling steps"},
		{models.Sampling{Guidance: 0.5}, "guidance 0.5"},
		{models.Sampling{Guidance: 21}, "guidance 21"},
		{models.Sampling{Guidance: math.NaN()}, "guidance NaN"},
		{models.Sampling{Eta: 1.5}, "eta 1.5"},
		{models.Sampling{Eta: -1}, "eta -1"},
		{models.Sampling{Method: MethodDDPM, Eta: 0.5}, "DDIM setting"},
		{models.Sampling{Method: "euler"}, `"euler"`},
	} {
		err := m.SetSampling(tc.s)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.s, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one naming %q", tc.s, err, tc.want)
		}
	}
	if got := m.Sampling(); got.Method != MethodDDPM || got.Steps != 1000 {
		t.Errorf("refused settings replaced the last good ones: %+v", got)
	}
	for _, sz := range [][2]int{{15, 16}, {0, 16}, {16, -16}} {
		if err := m.CheckSize(sz[0], sz[1]); err == nil || !strings.Contains(err.Error(), "multiples of 2") {
			t.Errorf("size %v: %v", sz, err)
		}
	}
	if err := m.CheckSize(48, 32); err != nil {
		t.Errorf("48x32: %v", err)
	}
}

// The family reads its files by kind: a model file, a training state (for
// transfer) and a resumed run that continues where it stopped; a GAN's
// file or a training state given as a model is refused by name.
func TestFamilyFilesAndResume(t *testing.T) {
	r, seed := testRNG(t)
	dev := cpuDevice()
	c := Tiny(3)
	c.ClassNames = []string{"sky", "sea", "sand"}
	u, err := NewUNet(dev, c, seed)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	tr, err := NewTrainer(u, TrainConfig{LR: 1e-3, EMADecay: 0.9, DropRate: 0.2, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	lab := make([]int32, 2*16*16)
	for i := range lab {
		lab[i] = int32(r.IntN(3))
	}
	batch := models.Batch{N: 2, H: 16, W: 16, Labels: lab, Images: randn(r, 2*3*16*16, 0.5)}
	for range 2 {
		if _, err := tr.Step(batch); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	model, state := filepath.Join(dir, "m.safetensors.zst"), filepath.Join(dir, "m.state.safetensors.zst")
	if err := tr.SaveModel(model, true); err != nil {
		t.Fatal(err)
	}
	if err := tr.SaveState(state, []models.Losses{{"loss": 1}, {"loss": 0.9}}); err != nil {
		t.Fatal(err)
	}
	cond, err := models.Load(dev, model)
	if err != nil {
		t.Fatal(err)
	}
	defer cond.Release()
	if cond.Net.Kind() != KindModel || strings.Join(cond.Net.Classes(), ",") != "sky,sea,sand" {
		t.Errorf("loaded a %s with classes %v", cond.Net.Kind(), cond.Net.Classes())
	}
	if _, ok := cond.Net.(models.Sampled); !ok {
		t.Error("the loaded model has no sampler settings")
	}
	if names, extra := cond.Net.LabelConvs(); extra != 0 || len(names) == 0 {
		t.Errorf("LabelConvs: %d names, %d extra", len(names), extra)
	}
	ck, err := nn.ReadCheckpoint(state)
	if err != nil {
		t.Fatal(err)
	}
	src, err := models.OpenSource(ck)
	if err != nil {
		t.Fatal(err)
	}
	if src.Kind() != KindModel || src.Steps() != 2 {
		t.Errorf("source: kind %s, %d steps", src.Kind(), src.Steps())
	}
	if _, err := src.Segmenter(dev); err == nil || !strings.Contains(err.Error(), "no source-class segmenter") {
		t.Errorf("a diffusion source's segmenter: %v", err)
	}
	if _, err := models.Load(dev, state); err == nil || !strings.Contains(err.Error(), "training state") {
		t.Errorf("a state file as a model: %v", err)
	}

	// Resume: the third step of a resumed run is the third step of an
	// uninterrupted one (same losses), not a replay of the first.
	res, trace, err := ResumeTrainer(dev, state, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Model.Release()
	defer res.Release()
	if res.Steps != 2 || len(trace) != 2 {
		t.Fatalf("resumed at step %d with %d losses", res.Steps, len(trace))
	}
	tr.reseed(2)                       // the stream a run resumed after two steps draws from
	for step := 3; step <= 4; step++ { // step 4 also depends on Adam's moments
		a, err := tr.Step(batch)
		if err != nil {
			t.Fatal(err)
		}
		b, err := res.Step(batch)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(a["loss"]-b["loss"])) > 1e-5 {
			t.Errorf("step %d: loss %g uninterrupted, %g resumed", step, a["loss"], b["loss"])
		}
	}
	if res.Steps != 4 {
		t.Errorf("resumed run at step %d after two more, want 4", res.Steps)
	}
}
