package transfer

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"catsynth/affinity"
	"catsynth/nn"
	"catsynth/nn/cpu"
	"catsynth/nn/gan"
)

func testRNG(t testing.TB) (*rand.Rand, uint64) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0x5eed)), seed
}

func cpuDevice() *nn.Device { return nn.NewDevice(cpu.New()) }

var (
	srcNames = []string{"sky", "grass", "road", "car", "tree"}
	tgtNames = []string{"heaven", "lawn", "street", "truck"}
)

// tinySource writes a tiny random source GAN's training state (one step of
// training so that every tensor is real) under dir and returns the model
// path and the loaded Source.
func tinySource(t testing.TB, dir, norm string, seed uint64) (string, *Source) {
	t.Helper()
	dev := cpuDevice()
	gc := gan.GeneratorConfig{LabelNC: len(srcNames), ZDim: 4, Channels: 4, NumBlocks: 2, H: 16, W: 16,
		SPADEHidden: 8, Norm: norm, ClassNames: srcNames}
	dc := gan.DiscriminatorConfig{NumClasses: len(srcNames), Channels: 4, NumBlocks: 2}
	tr, err := gan.NewTrainer(dev, gc, dc, gan.TrainConfig{BatchSize: 2, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	r := rand.New(rand.NewPCG(seed, 1))
	lab := blobLabels(r, 2, 16, 16, len(srcNames))
	if _, err := tr.Step(gan.Batch{N: 2, H: 16, W: 16, Labels: lab, Images: labelImages(lab, 2, 16, 16, len(srcNames))}); err != nil {
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

// blobLabels draws b label maps with n classes as rectangles over noise.
func blobLabels(r *rand.Rand, b, h, w, n int) []int32 {
	lab := make([]int32, b*h*w)
	for i := range b {
		img := lab[i*h*w : (i+1)*h*w]
		for j := range img {
			img[j] = int32(r.IntN(n))
		}
		for range 3 {
			c := int32(r.IntN(n))
			y0, x0 := r.IntN(h), r.IntN(w)
			y1, x1 := y0+1+r.IntN(h-y0), x0+1+r.IntN(w-x0)
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					img[y*w+x] = c
				}
			}
		}
	}
	return lab
}

// labelImages colours each class differently, in [-1, 1].
func labelImages(lab []int32, b, h, w, n int) []float32 {
	img := make([]float32, b*3*h*w)
	for i := range b {
		for p := range h * w {
			c := lab[i*h*w+p]
			for ch := range 3 {
				v := float32(-1)
				if c >= 0 {
					v = float32((int(c)*(ch+2))%n)/float32(n)*2 - 1
				}
				img[(i*3+ch)*h*w+p] = v
			}
		}
	}
	return img
}

func targetBatch(r *rand.Rand, n int) gan.Batch {
	lab := blobLabels(r, n, 16, 16, len(tgtNames))
	lab[3] = -1 // an unlabelled pixel
	return gan.Batch{N: n, H: 16, W: 16, Labels: lab, Images: labelImages(lab, n, 16, 16, len(tgtNames))}
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
