package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"catsynth/dataset/synth"
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
	fs := newFlags("generate", "[--model M] [--labels L.png|DIR] [--seed K] [--n N] [--out O.png|DIR]\n"+
		"  without --labels: an example label map of the model's domain (out_labels.png) and its image (out.png)")
	model := fs.String("model", "", modelHelp)
	labels := fs.String("labels", "", "label map PNG (one class index per pixel: 8/16-bit gray or paletted), or a folder of them")
	out := fs.String("out", "", "output PNG (default out.png), or a folder when --labels is a folder")
	seed := fs.Uint64("seed", 1, "noise seed: image i uses seed+i")
	n := fs.Int("n", 1, "images per label map (side by side in one PNG when > 1)")
	backendName := fs.String("backend", "", "cpu, gpu or auto (default: $CATSYNTH_BACKEND, else auto)")
	steps := fs.Int("steps", 0, "diffusion models: sampling steps (default 25; 10-50 for interactive use)")
	guidance := fs.Float64("guidance", 0, "diffusion models: classifier-free guidance scale (default 1.5; 1 is off)")
	eta := fs.Float64("eta", 0, "diffusion models: DDIM noise, 0 (deterministic) to 1")
	sampler := fs.String("sampler", "", "diffusion models: ddim (default) or ddpm")
	if err := fs.Parse(args); err != nil {
		return err
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
	if err := setSampling(g.Net, fs, models.Sampling{Method: *sampler, Steps: *steps, Guidance: *guidance, Eta: *eta}); err != nil {
		return err
	}

	if *labels == "" {
		if *out == "" {
			*out = "out.png"
		}
		lp := strings.TrimSuffix(*out, filepath.Ext(*out)) + "_labels.png"
		if err := writeExample(g, lp, *seed); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "no --labels: wrote an example label map of the model's classes to %s (edit it, or paint one, and pass --labels)\n", lp)
		*labels = lp
	}
	st, err := os.Stat(*labels)
	if err != nil {
		return err
	}
	if err := checkOutput(*out, true, false, *labels); err != nil {
		return err
	}
	warnVocabulary(g.Classes(), *labels, st.IsDir())
	if !st.IsDir() {
		if *out == "" {
			*out = "out.png"
		}
		if err := generateOne(ctx, g, *labels, *out, *seed, *n); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", *out)
		return nil
	}
	if *out == "" {
		return fmt.Errorf("%w: --labels is a folder, so --out must name the output folder", errUsage)
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
	if err := checkGenerateMemory(g.Net, m.H, m.W, n, labelPath); err != nil {
		return err
	}
	labels := make([]int32, 0, n*len(m.Pix))
	for range n {
		labels = append(labels, m.Pix...)
	}
	var progress func(models.Progress)
	if _, iterative := g.Net.(models.Sampled); iterative {
		var bar *progressBar
		progress = func(p models.Progress) {
			if bar == nil {
				bar = newProgressBar(os.Stderr, p.Steps, "sample")
			}
			_ = bar.Set(p.Step)
			if p.Step == p.Steps {
				finishBar(bar, nil)
			}
		}
	}
	imgs, err := g.Generate(ctx, labels, m.H, m.W, models.SeedRange(seed, n), progress)
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

// writeExample writes a label map to start from at the model's size: a
// synthetic source scene when the model speaks the synthetic source
// vocabulary, else bands of its first classes. It is an 8-bit gray PNG of
// class indices, as --labels reads it.
func writeExample(g models.Conditioned, path string, seed uint64) error {
	h, w := g.Net.Size()
	classes := g.Classes()
	var m *dataset.LabelMap
	if slices.Equal(classes, synth.SourceClasses) {
		ds, err := dataset.OpenSynth(dataset.SynthConfig{Domain: "source", N: 1, Seed: seed, W: w, H: h})
		if err != nil {
			return err
		}
		smp, err := ds.Load(0)
		if err != nil {
			return err
		}
		m = smp.Label
	} else {
		m = dataset.NewLabelMap(w, h)
		bands := min(len(classes), 4)
		for i := range m.Pix {
			m.Pix[i] = int32((i / w) * bands / h)
		}
	}
	b, err := dataset.EncodeLabel(m, len(classes))
	if err != nil {
		return err
	}
	if err := ensureDir(path); err != nil {
		return err
	}
	return models.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// warnVocabulary warns when the label maps come with a classes.txt (the
// folder format: beside them or one folder up) whose names are not the
// model's: class indices of another vocabulary would be read as the
// model's classes.
func warnVocabulary(model []string, labels string, isDir bool) {
	dir := labels
	if !isDir {
		dir = filepath.Dir(labels)
	}
	for _, p := range []string{filepath.Join(dir, "classes.txt"), filepath.Join(filepath.Dir(dir), "classes.txt")} {
		fh, err := os.Open(p)
		if err != nil {
			continue
		}
		cs, _, err := dataset.ParseClasses(fh, p)
		fh.Close()
		if err != nil {
			return
		}
		if names := dataset.ClassNames(cs); !slices.Equal(names, model) {
			fmt.Fprintf(os.Stderr, "warning: %s lists %d classes (%s ...) that are not the model's %d (%s ...): the label maps' indices will be read as the model's classes; adapt the model to them first (catsynth transfer)\n",
				p, len(names), strings.Join(names[:min(3, len(names))], ", "), len(model), strings.Join(model[:min(3, len(model))], ", "))
		}
		return
	}
}

// setSampling applies the sampler flags given on the command line to an
// iterative model, and refuses them for a one-shot one.
func setSampling(net models.Model, fs *flag.FlagSet, s models.Sampling) error {
	var given []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "steps", "guidance", "eta", "sampler":
			given = append(given, "--"+f.Name)
		}
	})
	sm, ok := net.(models.Sampled)
	if !ok {
		if len(given) > 0 {
			return fmt.Errorf("%w: %s: a %s draws its image in one pass; these flags are for diffusion models", errUsage, strings.Join(given, ", "), net.Kind())
		}
		return nil
	}
	cur := sm.Sampling()
	if s.Method == "" {
		s.Method = cur.Method
	}
	if s.Steps == 0 {
		s.Steps = cur.Steps
	}
	if s.Guidance == 0 {
		s.Guidance = cur.Guidance
	}
	if err := sm.SetSampling(s); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	s = sm.Sampling()
	fmt.Fprintf(os.Stderr, "sampling: %s, %d steps, guidance %g, eta %g\n", s.Method, s.Steps, s.Guidance, s.Eta)
	return nil
}

// maxGenerateBuffer bounds the largest single buffer generate allocates:
// the model's LargestBuffer scaled from its training size to the label
// map's. Peak memory is about 25 times that buffer (the default model at
// 1024x1024: 348 MiB, 8.1 GB in all), so the limit keeps a run near 12 GB
// and refuses a 4096x4096 map for every embedded model before allocating.
const maxGenerateBuffer = 512 << 20

// checkGenerateMemory refuses, naming the limit, a label map too large to
// generate from (see maxGenerateBuffer).
func checkGenerateMemory(m models.Model, h, w, n int, path string) error {
	th, tw := m.Size()
	need, what := m.LargestBuffer(n)
	if th <= 0 || tw <= 0 || need <= 0 {
		return nil
	}
	scaled := float64(need) * float64(h) * float64(w) / float64(th*tw)
	if scaled > maxGenerateBuffer {
		return fmt.Errorf("%s: a %dx%d label map (%d image(s)) needs about %.0f MiB for one buffer (%s at training size %dx%d, scaled), over generate's limit of %d MiB (about 12 GB of memory in all): use a smaller label map or fewer --n",
			path, w, h, n, scaled/(1<<20), what, tw, th, maxGenerateBuffer>>20)
	}
	return nil
}
