// Package testgan makes tiny GAN fixtures for the tests of the packages
// above models/gan (the session core, the desktop app): a source model with
// its training state beside it, as `catsynth train gan` writes them, which
// is what a full transfer starts from. (models/gan's own tests use
// internal/testscenes, which therefore cannot import gan.)
package testgan

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"catsynth/internal/testscenes"
	"catsynth/models"
	"catsynth/models/gan"
	"catsynth/transfer"
)

// Source trains a tiny random GAN of the given classes at size x size
// pixels for one step (so that every tensor is real) and writes its model
// file and training state under dir; it returns the model file's path.
func Source(t testing.TB, dir string, classes []string, size int, seed uint64) string {
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
	model := filepath.Join(dir, "tiny-source.safetensors.zst")
	if err := tr.SaveModel(model, false); err != nil {
		t.Fatal(err)
	}
	if err := tr.SaveState(transfer.StatePath(model), nil); err != nil {
		t.Fatal(err)
	}
	return model
}
