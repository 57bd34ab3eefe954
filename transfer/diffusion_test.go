package transfer

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"catsynth/affinity"
	"catsynth/internal/testscenes"
	"catsynth/models"
	"catsynth/models/diffusion"
)

// tinyDiffusionSource writes a tiny diffusion model's training state (two
// steps at a high learning rate, so that the zero-initialised output convs
// are no longer zero and images depend on the labels) and returns the
// model path and the loaded Source.
func tinyDiffusionSource(t testing.TB, dir string, seed uint64) (string, models.Source) {
	t.Helper()
	dev := testscenes.CPU()
	c := diffusion.Tiny(len(srcNames))
	c.ClassNames = srcNames
	u, err := diffusion.NewUNet(dev, c, seed)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	tr, err := diffusion.NewTrainer(u, diffusion.TrainConfig{LR: 1e-2, EMADecay: 0.5, DropRate: 0.2, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	r := rand.New(rand.NewPCG(seed, 1))
	for range 2 {
		lab := blobLabels(r, 2, 16, 16, len(srcNames))
		if _, err := tr.Step(models.Batch{N: 2, H: 16, W: 16, Labels: lab, Images: labelImages(lab, 2, 16, 16, len(srcNames))}); err != nil {
			t.Fatal(err)
		}
	}
	model := filepath.Join(dir, "src.safetensors.zst")
	if err := tr.SaveModel(model, false); err != nil {
		t.Fatal(err)
	}
	if err := tr.SaveState(StatePath(model), nil); err != nil {
		t.Fatal(err)
	}
	src, err := LoadSource(model)
	if err != nil {
		t.Fatal(err)
	}
	return model, src
}

// fastSampling makes a diffusion network sample in a few steps (tests).
func fastSampling(t testing.TB, net models.Model) {
	t.Helper()
	s, ok := net.(models.Sampled)
	if !ok {
		t.Fatalf("%s is not an iterative model", net.Kind())
	}
	if err := s.SetSampling(models.Sampling{Steps: 4, Guidance: 1.5, Eta: 0.5}); err != nil {
		t.Fatal(err)
	}
}

// CAT on the diffusion family: the exported T-class U-Net (A folded into
// every SPADE group norm's first convolution) samples the same images as
// the network behind the affinity layer, for a trained A and for
// finetune's free layer; another A gives other images.
func TestDiffusionFoldIsExact(t *testing.T) {
	for _, init := range []string{InitCAT, InitFinetune} {
		t.Run(init, func(t *testing.T) {
			r, seed := testscenes.RNG(t)
			_, src := tinyDiffusionSource(t, t.TempDir(), seed)
			dev := testscenes.CPU()
			A := randomA(r, tgtNames, srcNames)
			m, err := New(dev, src, tgtNames, A, Options{Init: init, A: softmaxIfCAT(init), Config: models.TrainConfig{Seed: seed, LRG: 1e-3}})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Release()
			for range 2 {
				if _, err := m.Step(targetBatch(r, 2)); err != nil {
					t.Fatal(err)
				}
			}
			fastSampling(t, m.Net())
			g, _, err := m.Export()
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			fastSampling(t, g)
			if g.Kind() != diffusion.KindModel || len(g.Classes()) != len(tgtNames) {
				t.Fatalf("exported a %s with %d label channels", g.Kind(), len(g.Classes()))
			}
			lab := blobLabels(r, 3, 16, 16, len(tgtNames))
			seeds := models.SeedRange(7, 3)
			want, err := m.Generate(lab, 16, 16, seeds)
			if err != nil {
				t.Fatal(err)
			}
			got, err := plainGenerate(g, lab, 16, 16, seeds)
			if err != nil {
				t.Fatal(err)
			}
			if d := imgDiff(want, got); d > 1 {
				t.Errorf("folded U-Net differs from the U-Net behind its label layer by %d levels", d)
			}
			B := randomA(r, tgtNames, srcNames)
			g2, err := Fold(dev, m.Net(), B.Flat(), tgtNames)
			if err != nil {
				t.Fatal(err)
			}
			defer g2.Release()
			fastSampling(t, g2)
			other, _ := plainGenerate(g2, lab, 16, 16, seeds)
			if imgDiff(want, other) <= 1 {
				t.Error("folding another A made the same images: the fold ignores A")
			}
		})
	}
}

// CAT with the identity A on the source classes samples exactly the
// source model's images (the layer passes one-hot maps through, and the
// null map of guidance stays the null map).
func TestDiffusionIdentityAGivesSource(t *testing.T) {
	r, seed := testscenes.RNG(t)
	model, fromState := tinyDiffusionSource(t, t.TempDir(), seed)
	// Without its state beside it the model file itself is the source
	// (models.ModelSourcer): its weights are the EMA weights the state's
	// finetuner starts from.
	if err := os.Remove(StatePath(model)); err != nil {
		t.Fatal(err)
	}
	fromModel, err := LoadSource(model)
	if err != nil {
		t.Fatalf("a diffusion model file without its state: %v", err)
	}
	for _, c := range []struct {
		name string
		src  models.Source
	}{{"state", fromState}, {"model file", fromModel}} {
		t.Run(c.name, func(t *testing.T) { identityAGivesSource(t, r, seed, model, c.src) })
	}
}

func identityAGivesSource(t *testing.T, r *rand.Rand, seed uint64, model string, src models.Source) {
	dev := testscenes.CPU()
	I := affinity.NewMatrix(srcNames, srcNames)
	for i := range I.W {
		I.W[i][i] = 1
	}
	m, err := New(dev, src, srcNames, I, Options{Init: InitCAT, Config: models.TrainConfig{Seed: seed}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	fastSampling(t, m.Net())
	plain, err := models.Load(dev, model)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Release()
	fastSampling(t, plain.Net)
	lab := blobLabels(r, 2, 16, 16, len(srcNames))
	seeds := models.SeedRange(3, 2)
	want, err := plainGenerate(plain.Net, lab, 16, 16, seeds)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Generate(lab, 16, 16, seeds)
	if err != nil {
		t.Fatal(err)
	}
	if d := imgDiff(want, got); d > 0 {
		t.Errorf("identity A differs from the source model by %d levels", d)
	}
}
