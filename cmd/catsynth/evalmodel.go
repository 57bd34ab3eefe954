package main

import (
	"context"
	"fmt"
	"image"
	"io"

	"catsynth/backbone"
	"catsynth/dataset"
	"catsynth/eval"
	"catsynth/models"
	"catsynth/weights/backbones"
)

// evalModel reports what a model draws on held-out label maps without
// reference folders: its stripes against the real images of the same
// maps (eval.StripeRatio) and how much the seed changes an image
// (eval.Diversity across seeds of one map, beside real images of
// different maps as the reference).
func evalModel(ctx context.Context, spec, data, backendName string, n, seeds int, stdout io.Writer) error {
	if n < 2 || seeds < 2 {
		return fmt.Errorf("%w: --n and --seeds must be at least 2", errUsage)
	}
	dev, err := openDevice(backendName)
	if err != nil {
		return err
	}
	g, name, err := loadModel(dev, spec)
	if err != nil {
		return err
	}
	defer g.Release()
	h, w := g.Net.Size()
	if data == "" {
		data = fmt.Sprintf("synth:source:n=%d,seed=7,size=%d", n, h)
	}
	ds, err := dataset.Open(data)
	if err != nil {
		return err
	}
	if ds.Len() < n {
		return fmt.Errorf("%s has %d samples, --n asks for %d", data, ds.Len(), n)
	}
	net, err := backbone.LoadBytes(dev, backbones.MobileNetV2, "embedded:"+backbones.MobileNetV2File)
	if err != nil {
		return err
	}
	defer net.Release()
	embed := func(imgs []image.Image) (eval.Features, error) {
		s := net.Spec
		var px []float32
		for _, im := range imgs {
			px = append(px, eval.ResizeRGB(im, s.InputH, s.InputW)...)
		}
		return eval.Embed(net, px, len(imgs))
	}
	var real, gen []image.Image
	var seedDiv, seedPix float64
	progress := countProgress(stdout, "maps", 0)
	for i := range n {
		smp, err := ds.Load(i)
		if err != nil {
			return err
		}
		if smp.Label.W != w || smp.Label.H != h {
			return fmt.Errorf("%s: %s is %dx%d, the model makes %dx%d", data, smp.Name, smp.Label.W, smp.Label.H, w, h)
		}
		labels := make([]int32, 0, seeds*w*h)
		for range seeds {
			labels = append(labels, smp.Label.Pix...)
		}
		imgs, err := g.Generate(ctx, labels, h, w, models.SeedRange(1, seeds), nil)
		if err != nil {
			return err
		}
		var cells []image.Image
		for _, im := range imgs {
			cells = append(cells, im)
		}
		f, err := embed(cells)
		if err != nil {
			return err
		}
		seedDiv += eval.Diversity(f) / float64(n)
		seedPix += eval.PixelDiversity(cells) / float64(n)
		real, gen = append(real, smp.Image), append(gen, cells[0])
		progress(i+1, n)
	}
	rf, err := embed(real)
	if err != nil {
		return err
	}
	gf, err := embed(gen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "model %s on %d maps of %s, %d seeds each (features: MobileNetV2):\n", name, n, data, seeds)
	fmt.Fprintf(stdout, "  stripes: %.2f x the real images' (column/row-mean high-pass energy; 1 = as real)\n", eval.StripeRatio(gen, real))
	fmt.Fprintf(stdout, "  seed diversity: %.3f (mean feature distance between seeds of one map)\n", seedDiv)
	fmt.Fprintf(stdout, "  map diversity: generated %.3f, real %.3f (between different maps: the data's spread)\n", eval.Diversity(gf), eval.Diversity(rf))
	fmt.Fprintf(stdout, "  in pixels (mean |RGB difference|, 0-255): seeds of one map %.1f, real images of different maps %.1f\n", seedPix, eval.PixelDiversity(real))
	return nil
}
