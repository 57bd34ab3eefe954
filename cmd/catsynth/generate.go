package main

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"catsynth/models"

	"catsynth/dataset"
)

func init() {
	register(command{
		name:    "generate",
		summary: "images from label maps: generate [--model M] --labels L.png|DIR [--seed K] [--n 4] --out O.png|DIR",
		run:     runGenerate,
	})
}

func runGenerate(ctx context.Context, args []string) error {
	fs := newFlags("generate", "[--model M] --labels L.png|DIR [--seed K] [--n N] --out O.png|DIR")
	model := fs.String("model", "", modelHelp)
	labels := fs.String("labels", "", "label map PNG (one class index per pixel: 8/16-bit gray or paletted), or a folder of them")
	out := fs.String("out", "", "output PNG, or a folder when --labels is a folder")
	seed := fs.Uint64("seed", 1, "noise seed: image i uses seed+i")
	n := fs.Int("n", 1, "images per label map (side by side in one PNG when > 1)")
	backendName := fs.String("backend", "", "cpu, gpu or auto (default: $CATSYNTH_BACKEND, else auto)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *labels == "" || *out == "" {
		return fmt.Errorf("%w: --labels and --out are required", errUsage)
	}
	if *n < 1 || *n > 64 {
		return fmt.Errorf("%w: --n must be in 1..64", errUsage)
	}
	dev, err := openDevice(*backendName)
	if err != nil {
		return err
	}
	g, name, err := loadModel(dev, *model)
	if err != nil {
		return err
	}
	defer g.Release()
	h, w := g.Net.Size()
	adapted := ""
	if g.Layer != nil {
		adapted = fmt.Sprintf(" (adapted: %d target classes through its label layer)", len(g.Classes()))
	}
	fmt.Fprintf(os.Stderr, "model %s: %s, %d classes%s, %dx%d training size\n", name, g.Net.Kind(), len(g.Classes()), adapted, w, h)

	st, err := os.Stat(*labels)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return generateOne(ctx, g, *labels, *out, *seed, *n)
	}
	ents, err := os.ReadDir(*labels)
	if err != nil {
		return err
	}
	var pngs []string
	for _, e := range ents {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".png") {
			pngs = append(pngs, e.Name())
		}
	}
	sort.Strings(pngs)
	if len(pngs) == 0 {
		return fmt.Errorf("%s: no .png label maps", *labels)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	bar := newProgressBar(os.Stderr, len(pngs), "generate")
	for i, p := range pngs {
		if err := ctx.Err(); err != nil {
			finishBar(bar, err)
			return err
		}
		if err := generateOne(ctx, g, filepath.Join(*labels, p), filepath.Join(*out, p), *seed, *n); err != nil {
			finishBar(bar, err)
			return err
		}
		_ = bar.Set(i + 1)
	}
	finishBar(bar, nil)
	return nil
}

// generateOne generates n images from one label PNG and writes them side
// by side to out.
func generateOne(ctx context.Context, g models.Conditioned, labelPath, out string, seed uint64, n int) error {
	classes := len(g.Classes())
	m, err := dataset.DecodeLabelFile(labelPath, dataset.LabelFormat{NumClasses: classes})
	if err != nil {
		return fmt.Errorf("%w (the model knows %d classes: 0..%d)", err, classes, classes-1)
	}
	if err := g.Net.CheckSize(m.H, m.W); err != nil {
		return fmt.Errorf("%s: %w", labelPath, err)
	}
	labels := make([]int32, 0, n*len(m.Pix))
	for range n {
		labels = append(labels, m.Pix...)
	}
	imgs, err := g.Generate(ctx, labels, m.H, m.W, models.SeedRange(seed, n), nil)
	if err != nil {
		return fmt.Errorf("%s: %w", labelPath, err)
	}
	var img image.Image = imgs[0]
	if n > 1 {
		cells := make([]image.Image, n)
		for i, im := range imgs {
			cells[i] = im
		}
		img = models.Grid(cells, n)
	}
	if err := ensureDir(out); err != nil {
		return err
	}
	return models.WritePNG(out, img)
}
