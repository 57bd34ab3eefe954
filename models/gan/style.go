package gan

import (
	"context"
	"fmt"

	"catsynth/models"
	"catsynth/nn"
)

// GenerateStyled is Generate with each pixel's noise drawn from its
// style's seed (models.Styler): OASIS's noise enters the generator as a
// map beside the labels, so a region with another seed gets another
// style while the rest keeps its own. With every pixel of image i on
// seed i it makes what Generate makes with those seeds.
func (g *Generator) GenerateStyled(ctx context.Context, labels *nn.Tensor, styles models.StyleMap, progress func(models.Progress)) (*nn.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := g.Config
	if labels.Rank() != 4 || labels.Dim(1) != c.LabelNC {
		return nil, fmt.Errorf("gan: GenerateStyled: label map %v, want (B, %d, H, W)", labels.Shape(), c.LabelNC)
	}
	b, h, w := labels.Dim(0), labels.Dim(2), labels.Dim(3)
	if err := c.CheckSize(h, w); err != nil {
		return nil, err
	}
	if err := styles.Check(b, h, w); err != nil {
		return nil, err
	}
	var x *nn.Tensor
	err := nn.Catch(func() {
		x = g.Forward(labels, g.styledNoise(styles, b, h, w))
	})
	if err != nil {
		return nil, err
	}
	if progress != nil {
		progress(models.Progress{Step: 1, Steps: 1})
	}
	return x, nil
}

// styledNoise is the noise map (B, Z, H, W) of a style map: at each pixel
// the value Noise draws there for the pixel's seed (the image vector, the
// pixel's own vector, or their mix); nil without noise.
func (g *Generator) styledNoise(styles models.StyleMap, b, h, w int) *nn.Tensor {
	c := g.Config
	if c.ZDim == 0 {
		return nil
	}
	hw := h * w
	maps := make([][]float32, len(styles.Seeds))
	for i, s := range styles.Seeds {
		maps[i] = make([]float32, c.ZDim*hw)
		c.noiseMap(models.NoiseValues(c.noiseDraws(h, w), s), h, w, maps[i])
	}
	z := make([]float32, b*c.ZDim*hw)
	for bi := range b {
		for p := range hw {
			m := maps[styles.Index[bi*hw+p]]
			for k := range c.ZDim {
				z[(bi*c.ZDim+k)*hw+p] = m[k*hw+p]
			}
		}
	}
	return g.ps.Device().FromData(z, b, c.ZDim, h, w)
}
