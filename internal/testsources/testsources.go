// Package testsources makes tiny finetuning sources for the tests of the
// packages above the model families (the session core, the desktop app): a
// model file with its training state beside it, as `catsynth train gan`
// and `catsynth train diffusion` write them, which is what a full transfer
// starts from. (The families' own tests use internal/testscenes, which
// therefore cannot import them.)
package testsources

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"catsynth/internal/testscenes"
	"catsynth/models"
	"catsynth/models/diffusion"
	"catsynth/models/gan"
	"catsynth/transfer"
)

// GAN trains a tiny random GAN of the given classes at size x size
// pixels for one step (so that every tensor is real) and writes its model
// file and training state under dir; it returns the model file's path.
func GAN(t testing.TB, dir string, classes []string, size int, seed uint64) string {
	t.Helper()
	dev := testscenes.CPU()
	gc := gan.GeneratorConfig{LabelNC: len(classes), ZDim: 4, Channels: 4, NumBlocks: 2, H: size, W: size,
		SPADEHidden: 8, ClassNames: classes}
	dc := gan.DiscriminatorConfig{NumClasses: len(classes), Channels: 4, NumBlocks: 2}
	tr, err := gan.NewTrainer(dev, gc, dc, gan.TrainConfig{BatchSize: 2, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	r := rand.New(rand.NewPCG(seed, 1))
	lab := testscenes.Labels(r, 2, size, size, len(classes), 3)
	b := models.Batch{N: 2, H: size, W: size, Labels: lab, Images: testscenes.Images(lab, 2, size, size, len(classes))}
	if _, err := tr.Step(b); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "tiny-gan-source.safetensors.zst")
	if err := tr.SaveModel(model, false); err != nil {
		t.Fatal(err)
	}
	if err := tr.SaveState(transfer.StatePath(model), nil); err != nil {
		t.Fatal(err)
	}
	return model
}

// Diffusion trains a tiny diffusion model (diffusion.Tiny, 16 px) of the
// given classes for two steps at a high learning rate (so that its
// zero-initialised output convolutions are no longer zero) and writes its
// model file and training state under dir; it returns the model file's
// path.
func Diffusion(t testing.TB, dir string, classes []string, seed uint64) string {
	t.Helper()
	dev := testscenes.CPU()
	c := diffusion.Tiny(len(classes))
	c.ClassNames = classes
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
	size := c.ImageSize
	for range 2 {
		lab := testscenes.Labels(r, 2, size, size, len(classes), 3)
		if _, err := tr.Step(models.Batch{N: 2, H: size, W: size, Labels: lab, Images: testscenes.Images(lab, 2, size, size, len(classes))}); err != nil {
			t.Fatal(err)
		}
	}
	model := filepath.Join(dir, "tiny-diffusion-source.safetensors.zst")
	if err := tr.SaveModel(model, false); err != nil {
		t.Fatal(err)
	}
	if err := tr.SaveState(transfer.StatePath(model), nil); err != nil {
		t.Fatal(err)
	}
	return model
}
