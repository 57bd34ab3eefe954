package models

import (
	"context"
	"fmt"
	"image"

	"catsynth/nn"
)

// StyleMap gives each pixel the seed its noise is drawn from, so that one
// painted region can take a new style while the rest of the image keeps
// its own (OASIS's spatial noise allows this; a model whose noise is one
// vector per image cannot).
type StyleMap struct {
	// Seeds are the styles in use.
	Seeds []uint64
	// Index holds B*H*W entries: each pixel's style, an index into Seeds.
	Index []int32
}

// Check fails when the map does not cover b maps of h x w or an index is
// out of range.
func (m StyleMap) Check(b, h, w int) error {
	if len(m.Index) != b*h*w {
		return fmt.Errorf("models: style map has %d pixels for %d maps of %dx%d", len(m.Index), b, w, h)
	}
	for i, v := range m.Index {
		if v < 0 || int(v) >= len(m.Seeds) {
			return fmt.Errorf("models: style map pixel %d has style %d of %d", i, v, len(m.Seeds))
		}
	}
	return nil
}

// Styler is implemented by models whose noise may vary over the image.
// GenerateStyled is Generate with each pixel's noise drawn from its
// style's seed: with every pixel of image i on style i it equals Generate
// with those seeds.
type Styler interface {
	GenerateStyled(ctx context.Context, labels *nn.Tensor, styles StyleMap, progress func(Progress)) (*nn.Tensor, error)
}

// ErrNoStyles is returned when a model cannot vary its noise over the image.
var ErrNoStyles = fmt.Errorf("models: this model cannot restyle one region (its noise is one vector per image)")

// GenerateStyled is Generate with a style map (see Styler), for b =
// len(styles.Index)/(h*w) maps; ErrNoStyles when the network is not a
// Styler.
func (c Conditioned) GenerateStyled(ctx context.Context, labels []int32, h, w int, styles StyleMap, progress func(Progress)) ([]*image.RGBA, error) {
	st, ok := c.Net.(Styler)
	if !ok {
		return nil, ErrNoStyles
	}
	if h*w == 0 || len(styles.Index)%(h*w) != 0 {
		return nil, fmt.Errorf("models: style map has %d pixels, not a whole number of %dx%d maps", len(styles.Index), w, h)
	}
	b := len(styles.Index) / (h * w)
	if err := styles.Check(b, h, w); err != nil {
		return nil, err
	}
	return c.generate(ctx, labels, b, h, w, func(src *nn.Tensor) (*nn.Tensor, error) {
		return st.GenerateStyled(ctx, src, styles, progress)
	})
}
