package gan

import (
	"fmt"
	"image"

	"catsynth/nn"
)

// InputClasses is the number of classes label maps given to Generate may
// use: InputNC when a LabelMap hook is set, else the source classes S.
func (g *Generator) InputClasses() int {
	if g.LabelMap != nil && g.InputNC > 0 {
		return g.InputNC
	}
	return g.Config.LabelNC
}

// OneHotLabels uploads b label maps (B*H*W class indices, negative =
// unlabelled) as a one-hot map (B, n, H, W); unlabelled pixels are all
// zeros. An index >= n is an error naming the image and pixel.
func OneHotLabels(dev *nn.Device, labels []int32, b, h, w, n int) (*nn.Tensor, error) {
	if len(labels) != b*h*w {
		panic(fmt.Sprintf("gan: OneHotLabels: %d labels for %dx%dx%d", len(labels), b, h, w))
	}
	idx := make([]float32, len(labels))
	for i, c := range labels {
		if int(c) >= n {
			p := i % (h * w)
			return nil, fmt.Errorf("gan: label map %d has class index %d at pixel (x %d, y %d), but the model knows only classes 0..%d",
				i/(h*w), c, p%w, p/w, n-1)
		}
		idx[i] = float32(c)
	}
	return nn.OneHot(dev.FromData(idx, b, h, w), n), nil
}

// SeedRange returns the n seeds first, first+1, ...: image i of a batch
// generated with SeedRange(k, n) is the image a single run with seed k+i
// makes.
func SeedRange(first uint64, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = first + uint64(i)
	}
	return s
}

// noiseForSeeds stacks one Noise vector per seed into (len(seeds), Z).
func noiseForSeeds(dev *nn.Device, zdim int, seeds []uint64) *nn.Tensor {
	v := make([]float32, 0, len(seeds)*zdim)
	for _, s := range seeds {
		v = append(v, noiseValues(zdim, s)...)
	}
	return dev.FromData(v, len(seeds), zdim)
}

// Generate makes one image per seed from label maps (B*H*W class indices
// in [0, InputClasses()) or negative, B = len(seeds)): image i is
// conditioned on map i and noise drawn from seeds[i], so the same seed and
// map give the same image on the same backend. The generator runs in its
// current mode (LoadGenerator leaves it in eval mode). Errors: a size the
// generator cannot make, unknown class indices, device memory.
func (g *Generator) Generate(labels []int32, h, w int, seeds []uint64) (imgs []*image.RGBA, err error) {
	b := len(seeds)
	if b == 0 {
		return nil, nil
	}
	if err := g.Config.CheckSize(h, w); err != nil {
		return nil, err
	}
	if len(labels) != b*h*w {
		return nil, fmt.Errorf("gan: Generate: %d label values for %d maps of %dx%d", len(labels), b, w, h)
	}
	dev := g.Params.Device()
	var inner error
	dev.NoGrad(func() {
		s := dev.Scope()
		defer s.Close()
		err = nn.Catch(func() {
			var y *nn.Tensor
			if y, inner = OneHotLabels(dev, labels, b, h, w, g.InputClasses()); inner != nil {
				return
			}
			var z *nn.Tensor
			if g.Config.ZDim > 0 {
				z = noiseForSeeds(dev, g.Config.ZDim, seeds)
			}
			imgs, inner = ToImages(g.Forward(y, z))
		})
	})
	if err == nil {
		err = inner
	}
	return imgs, err
}
