package gan

import (
	"math"
	"math/rand/v2"

	"catsynth/internal/testscenes"
)

// tinyG is a 32 px generator small enough for CPU tests.
func tinyG(s int) GeneratorConfig {
	return GeneratorConfig{LabelNC: s, ZDim: 8, Channels: 4, NumBlocks: 3, H: 32, W: 32, SPADEHidden: 16}
}

// tinyD is a matching 32 px discriminator.
func tinyD(n int) DiscriminatorConfig {
	return DiscriminatorConfig{NumClasses: n, Channels: 4, NumBlocks: 3}
}

// blobLabels draws b label maps of h x w with n classes as regions.
func blobLabels(r *rand.Rand, b, h, w, n int) []int32 {
	return testscenes.Labels(r, b, h, w, n, 4)
}

// labelImages makes images whose colour is a learnable function of the class.
func labelImages(lab []int32, b, h, w, n int) []float32 {
	return testscenes.Images(lab, b, h, w, n)
}

func nanValue() float64 { return math.NaN() }
