package transfer

import (
	"context"
	"image"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"catsynth/affinity"
	"catsynth/internal/testscenes"
	"catsynth/models"
	"catsynth/models/gan"
	"catsynth/nn"
)

var (
	srcNames = []string{"sky", "grass", "road", "car", "tree"}
	tgtNames = []string{"heaven", "lawn", "street", "truck"}
)

// tinySource writes a tiny random source GAN's training state (one step of
// training so that every tensor is real) under dir and returns the model
// path and the loaded Source.
func tinySource(t testing.TB, dir, norm string, seed uint64) (string, models.Source) {
	t.Helper()
	return tinySourcePadded(t, dir, norm, "", seed)
}

// tinySourcePadded is tinySource with the generator's padding mode.
func tinySourcePadded(t testing.TB, dir, norm, padding string, seed uint64) (string, models.Source) {
	t.Helper()
	dev := testscenes.CPU()
	gc := gan.GeneratorConfig{LabelNC: len(srcNames), ZDim: 4, Channels: 4, NumBlocks: 2, H: 16, W: 16,
		SPADEHidden: 8, Norm: norm, Padding: padding, ClassNames: srcNames}
	dc := gan.DiscriminatorConfig{NumClasses: len(srcNames), Channels: 4, NumBlocks: 2}
	tr, err := gan.NewTrainer(dev, gc, dc, gan.TrainConfig{BatchSize: 2, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	r := rand.New(rand.NewPCG(seed, 1))
	lab := blobLabels(r, 2, 16, 16, len(srcNames))
	if _, err := tr.Step(models.Batch{N: 2, H: 16, W: 16, Labels: lab, Images: labelImages(lab, 2, 16, 16, len(srcNames))}); err != nil {
		t.Fatal(err)
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

// randomA returns a random row-stochastic target x source matrix with
// some exact zeros.
func randomA(r *rand.Rand, target, source []string) *affinity.Matrix {
	m := affinity.NewMatrix(target, source)
	for i := range m.W {
		sum := 0.0
		for j := range m.W[i] {
			if r.IntN(3) == 0 {
				continue
			}
			m.W[i][j] = r.Float64()
			sum += m.W[i][j]
		}
		if sum == 0 {
			m.W[i][r.IntN(len(source))] = 1
			sum = 1
		}
		for j := range m.W[i] {
			m.W[i][j] /= sum
		}
	}
	return m
}

// blobLabels draws b label maps of h x w with n classes as regions.
func blobLabels(r *rand.Rand, b, h, w, n int) []int32 {
	return testscenes.Labels(r, b, h, w, n, 3)
}

// labelImages makes images whose colour is a learnable function of the class.
func labelImages(lab []int32, b, h, w, n int) []float32 {
	return testscenes.Images(lab, b, h, w, n)
}

func targetBatch(r *rand.Rand, n int) models.Batch {
	lab := blobLabels(r, n, 16, 16, len(tgtNames))
	lab[3] = -1 // an unlabelled pixel
	return models.Batch{N: n, H: 16, W: 16, Labels: lab, Images: labelImages(lab, n, 16, 16, len(tgtNames))}
}

func data(t testing.TB, x *nn.Tensor) []float32 {
	t.Helper()
	d, err := x.Data()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func maxDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		d := float64(a[i] - b[i])
		if d < 0 {
			d = -d
		}
		m = max(m, d)
	}
	return m
}

// critic is the discriminator inside a GAN transfer model.
func critic(m *Model) *gan.Discriminator {
	return m.Tuner.(interface{ Critic() *gan.Discriminator }).Critic()
}

// plainGenerate runs a network on its own classes.
func plainGenerate(g models.Model, labels []int32, h, w int, seeds []uint64) ([]*image.RGBA, error) {
	return models.Conditioned{Net: g}.Generate(context.Background(), labels, h, w, seeds, nil)
}

// softmaxIfCAT is ASoftmax for CAT and "" for the baselines (which have no A).
func softmaxIfCAT(init string) string {
	if init == InitCAT {
		return ASoftmax
	}
	return ""
}
