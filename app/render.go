package app

import (
	"context"
	"fmt"
	"image"
	"time"

	"catsynth/models"
)

// Render is one image to make: a label map (H*W bytes at the model's
// size) with the noise of Seed, and optionally regions on other styles.
type Render struct {
	Labels []byte
	Seed   uint64
	// Styles, when non-nil, holds H*W bytes: 0 for a pixel on Seed, k
	// for one on RegionSeeds[k-1] (a region given a new style). It needs
	// a model whose noise can vary over the image (models.Styler).
	Styles      []byte
	RegionSeeds []uint64
}

// Step reports the progress of a Render: Step of Steps, and for an
// iterative sampler its current estimate of the image (nil otherwise).
type Step struct {
	Step, Steps int
	Preview     *image.RGBA
}

// CanRestyle reports whether the model can give one region a new style.
func (s *Session) CanRestyle() bool {
	_, ok := s.net.(models.Styler)
	return s.net != nil && ok
}

// RenderImage makes the image of r, reporting each sampler step to
// progress (when non-nil) and stopping when ctx ends. It returns the
// image and the time it took.
func (s *Session) RenderImage(ctx context.Context, r Render, progress func(Step)) (*image.RGBA, time.Duration, error) {
	if s.net == nil {
		return nil, 0, ErrNoModel
	}
	idx, err := s.indices(r.Labels)
	if err != nil {
		return nil, 0, err
	}
	var onStep func(models.Progress)
	if progress != nil {
		onStep = func(p models.Progress) {
			st := Step{Step: p.Step, Steps: p.Steps}
			if p.Preview != nil {
				if imgs, err := models.ToImages(p.Preview); err == nil && len(imgs) > 0 {
					st.Preview = imgs[0]
				}
			}
			progress(st)
		}
	}
	if err := s.useNormStats(s.adapted && s.layer != nil); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	var imgs []*image.RGBA
	if r.Styles == nil || len(r.RegionSeeds) == 0 {
		imgs, err = s.model().Generate(ctx, idx, s.h, s.w, []uint64{r.Seed}, onStep)
	} else {
		var st models.StyleMap
		st, err = s.styleMap(r)
		if err == nil {
			imgs, err = s.model().GenerateStyled(ctx, idx, s.h, s.w, st, onStep)
		}
	}
	if err != nil {
		return nil, 0, err
	}
	return imgs[0], time.Since(start), nil
}

// styleMap turns a Render's style bytes into a models.StyleMap.
func (s *Session) styleMap(r Render) (models.StyleMap, error) {
	if len(r.Styles) != s.w*s.h {
		return models.StyleMap{}, fmt.Errorf("style map has %d pixels, the model makes %dx%d = %d", len(r.Styles), s.w, s.h, s.w*s.h)
	}
	st := models.StyleMap{Seeds: append([]uint64{r.Seed}, r.RegionSeeds...), Index: make([]int32, len(r.Styles))}
	for i, v := range r.Styles {
		if int(v) > len(r.RegionSeeds) {
			return models.StyleMap{}, fmt.Errorf("style map pixel (%d,%d) has style %d; %d region styles are set", i%s.w, i/s.w, v, len(r.RegionSeeds))
		}
		st.Index[i] = int32(v)
	}
	return st, nil
}
