package gan

import (
	"context"
	"encoding/json"
	"fmt"
	"image"

	"catsynth/models"
	"catsynth/nn"
)

// The models.Model methods of the generator.

// Kind is KindGenerator.
func (g *Generator) Kind() string { return KindGenerator }

// Classes names the S label channels (class i, when the file names none).
func (g *Generator) Classes() []string {
	out := make([]string, g.Config.LabelNC)
	for i := range out {
		if i < len(g.Config.ClassNames) {
			out[i] = g.Config.ClassNames[i]
		} else {
			out[i] = fmt.Sprintf("class %d", i)
		}
	}
	return out
}

// Size is the training size.
func (g *Generator) Size() (h, w int) { return g.Config.H, g.Config.W }

// CheckSize accepts any size divisible by 2^(NumBlocks-1).
func (g *Generator) CheckSize(h, w int) error { return g.Config.CheckSize(h, w) }

// Generate maps label maps (B, S, H, W) to images with noise z drawn from
// each image's seed (models.Noise), so the same seed and map give the same
// image on the same backend. The generator runs in its current mode
// (LoadGenerator leaves it in eval mode); progress is called once.
func (g *Generator) Generate(ctx context.Context, labels *nn.Tensor, seeds []uint64, progress func(models.Progress)) (*nn.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if labels.Rank() != 4 || labels.Dim(0) != len(seeds) || labels.Dim(1) != g.Config.LabelNC {
		return nil, fmt.Errorf("gan: Generate: label map %v for %d seeds, want (%d, %d, H, W)", labels.Shape(), len(seeds), len(seeds), g.Config.LabelNC)
	}
	if err := g.Config.CheckSize(labels.Dim(2), labels.Dim(3)); err != nil {
		return nil, err
	}
	var x *nn.Tensor
	err := nn.Catch(func() {
		x = g.Forward(labels, g.Noise(seeds, labels.Dim(2), labels.Dim(3)))
	})
	if err != nil {
		return nil, err
	}
	if progress != nil {
		progress(models.Progress{Step: 1, Steps: 1})
	}
	return x, nil
}

// Noise draws the noise of images made with seeds at h x w: one vector
// per image (NoiseImage), or a map (B, Z, H, W) (NoisePixel, NoiseMixed),
// from each image's seed; nil without noise.
func (g *Generator) Noise(seeds []uint64, h, w int) *nn.Tensor {
	c := g.Config
	dev := g.ps.Device()
	switch {
	case c.ZDim == 0:
		return nil
	case c.Noise == NoiseImage:
		return models.Noise(dev, c.ZDim, seeds)
	}
	m := c.ZDim * h * w
	z := make([]float32, len(seeds)*m)
	for i, s := range seeds {
		c.noiseMap(models.NoiseValues(c.noiseDraws(h, w), s), h, w, z[i*m:(i+1)*m])
	}
	return dev.FromData(z, len(seeds), c.ZDim, h, w)
}

// trainingNoise is a batch's noise for training from one seed (a fresh one
// per step suffices).
func (g *Generator) trainingNoise(b, h, w int, seed uint64) *nn.Tensor {
	c := g.Config
	dev := g.ps.Device()
	switch {
	case c.ZDim == 0:
		return nil
	case c.Noise == NoiseImage:
		return models.NoiseBatch(dev, b, c.ZDim, seed)
	}
	n, m := c.noiseDraws(h, w), c.ZDim*h*w
	v := models.NoiseValues(b*n, seed)
	z := make([]float32, b*m)
	for i := range b {
		c.noiseMap(v[i*n:(i+1)*n], h, w, z[i*m:(i+1)*m])
	}
	return dev.FromData(z, b, c.ZDim, h, w)
}

// mixedGrid is the size of NoiseMixed's grid of points at h x w: one per
// MixedCell pixels, plus the far edge, so every pixel lies between four.
func mixedGrid(h, w int) (gh, gw int) {
	return (h+MixedCell-1)/MixedCell + 1, (w+MixedCell-1)/MixedCell + 1
}

// noiseDraws is how many normal values one image's noise takes at h x w.
func (c GeneratorConfig) noiseDraws(h, w int) int {
	switch c.Noise {
	case NoisePixel:
		return c.ZDim * h * w
	case NoiseMixed:
		gh, gw := mixedGrid(h, w)
		return c.ZDim * (1 + gh*gw)
	}
	return c.ZDim
}

// noiseMap writes one image's noise map (Z, h, w) from its draws v into
// dst: the vector at every pixel (NoiseImage), a vector per pixel
// (NoisePixel), or the vector plus MixedPixelScale times the bilinear
// interpolation of a grid of vectors (NoiseMixed).
func (c GeneratorConfig) noiseMap(v []float32, h, w int, dst []float32) {
	hw := h * w
	switch c.Noise {
	case NoisePixel:
		copy(dst, v[:c.ZDim*hw])
		return
	case NoiseMixed:
		gh, gw := mixedGrid(h, w)
		for k := range c.ZDim {
			grid := v[c.ZDim+k*gh*gw : c.ZDim+(k+1)*gh*gw]
			plane := dst[k*hw : (k+1)*hw]
			for y := range h {
				gy, fy := y/MixedCell, float32(y%MixedCell)/MixedCell
				for x := range w {
					gx, fx := x/MixedCell, float32(x%MixedCell)/MixedCell
					top := grid[gy*gw+gx]*(1-fx) + grid[gy*gw+gx+1]*fx
					bottom := grid[(gy+1)*gw+gx]*(1-fx) + grid[(gy+1)*gw+gx+1]*fx
					plane[y*w+x] = v[k] + MixedPixelScale*(top*(1-fy)+bottom*fy)
				}
			}
		}
		return
	}
	for k := range c.ZDim {
		for p := range hw {
			dst[k*hw+p] = v[k]
		}
	}
}

// LabelConvs names fc's weight and the first conv of every SPADE; the
// first ZDim input channels of each are the noise.
func (g *Generator) LabelConvs() ([]string, int) {
	names := []string{"fc.weight"}
	for i, b := range g.Body {
		for _, n := range []struct {
			s    *nn.SPADE
			name string
		}{{b.Norm0, "norm_0"}, {b.Norm1, "norm_1"}, {b.NormS, "norm_s"}} {
			if n.s == nil {
				continue
			}
			for _, c := range n.s.LabelConvNames() {
				names = append(names, fmt.Sprintf("body.%d.%s.%s", i, n.name, c))
			}
		}
	}
	return names, g.Config.ZDim
}

// WithClasses builds an untrained generator of the same architecture for
// len(classes) label channels.
func (g *Generator) WithClasses(dev *nn.Device, classes []string, seed uint64) (models.Model, error) {
	c := g.Config
	c.LabelNC, c.ClassNames = len(classes), append([]string(nil), classes...)
	return NewGenerator(dev, c, seed)
}

// Save writes the generator as a model file (SaveGenerator) with meta
// added; meta's "step", when given, is the step recorded.
func (g *Generator) Save(path string, f16 bool, meta map[string]string) error {
	return SaveGenerator(path, g.ps.All(), g.Config, meta, f16)
}

// ConfigJSON is the GeneratorConfig as JSON.
func (g *Generator) ConfigJSON() ([]byte, error) { return json.Marshal(g.Config) }

// LargestBuffer implements models.Model (see LargestBuffer).
func (g *Generator) LargestBuffer(batch int) (int64, string) { return LargestBuffer(g.Config, batch) }

// GenerateLabels makes one image per seed from label maps of the
// generator's own classes (B*H*W indices, negative for none): a
// models.Conditioned without a label layer.
func (g *Generator) GenerateLabels(labels []int32, h, w int, seeds []uint64) ([]*image.RGBA, error) {
	return models.Conditioned{Net: g}.Generate(context.Background(), labels, h, w, seeds, nil)
}
