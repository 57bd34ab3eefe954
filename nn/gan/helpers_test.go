package gan

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"catsynth/nn"
	"catsynth/nn/cpu"
)

func testRNG(t testing.TB) (*rand.Rand, uint64) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0x5eed)), seed
}

func cpuDevice() *nn.Device { return nn.NewDevice(cpu.New()) }

// tinyG is a 32 px generator small enough for CPU tests.
func tinyG(s int) GeneratorConfig {
	return GeneratorConfig{LabelNC: s, ZDim: 8, Channels: 4, NumBlocks: 3, H: 32, W: 32, SPADEHidden: 16}
}

// tinyD is a matching 32 px discriminator.
func tinyD(n int) DiscriminatorConfig {
	return DiscriminatorConfig{NumClasses: n, Channels: 4, NumBlocks: 3}
}

// blobLabels draws b label maps of h x w with n classes as a few
// axis-aligned rectangles (so classes form regions, as in real maps).
func blobLabels(r *rand.Rand, b, h, w, n int) []int32 {
	lab := make([]int32, b*h*w)
	for i := range b {
		img := lab[i*h*w : (i+1)*h*w]
		for j := range img {
			img[j] = int32(r.IntN(n))
		}
		for range 4 {
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

// labelImages makes images whose colour depends on the class (a learnable
// mapping), in [-1, 1].
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

func nanValue() float64 { return math.NaN() }
