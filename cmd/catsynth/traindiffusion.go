package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"catsynth/dataset"
	"catsynth/models"
	"catsynth/models/diffusion"
)

func init() { trainers["diffusion"] = runTrainDiffusion }

func runTrainDiffusion(ctx context.Context, args []string) error {
	fs := newFlags("train diffusion", "--data SPEC --out M.safetensors.zst [flags]")
	data := fs.String("data", "synth:source", "dataset spec:\n"+dataset.SpecHelp)
	size := fs.Int("size", 0, "image size in pixels, square (default: the preset's)")
	out := fs.String("out", "", "model file to write (the EMA U-Net; the training state goes beside it)")
	preset := fs.String("preset", "sdm32", "model size: "+strings.Join(diffusion.PresetNames(), ", "))
	steps := fs.Int("steps", 100000, "total training steps")
	batch := fs.Int("batch", 8, "batch size")
	backendName := fs.String("backend", "", "cpu, gpu or auto (default: $CATSYNTH_BACKEND, else auto)")
	seed := fs.Uint64("seed", 1, "seed of weights, timesteps, noise and data order")
	lr := fs.Float64("lr", 1e-4, "AdamW learning rate")
	ema := fs.Float64("ema", 0.9999, "EMA decay of the weights used for sampling")
	drop := fs.Float64("label-drop", 0.2, "share of label maps zeroed, so that the model learns the unconditional epsilon classifier-free guidance needs")
	sampleEvery := fs.Int("sample-every", 1000, "write a sample grid every K steps")
	ckptEvery := fs.Int("ckpt-every", 500, "write a checkpoint every K steps")
	f16 := fs.Bool("f16", false, "store the model file as float16 (half the size)")
	resume := fs.Bool("resume", false, "continue from the training state beside --out")
	force := fs.Bool("force", false, "replace an existing model and training state at --out")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	if err := checkOutput(*out, *force, *resume, ""); err != nil {
		return err
	}
	if *steps < 1 || *batch < 1 || *size < 0 {
		return fmt.Errorf("%w: --steps and --batch must be at least 1, --size positive", errUsage)
	}
	ds, err := dataset.Open(*data)
	if err != nil {
		return err
	}
	if skips := dataset.Skipped(ds); len(skips) > 0 {
		fmt.Fprintln(os.Stderr, dataset.DescribeSkips(skips))
	}
	classes := dataset.ClassNames(ds.Classes())
	dev, err := openDevice(*backendName)
	if err != nil {
		return err
	}
	tc := diffusion.TrainConfig{LR: float32(*lr), EMADecay: float32(*ema), DropRate: *drop, Seed: *seed}
	var tr *diffusion.Trainer
	var trace []models.Losses
	if *resume {
		if tr, trace, err = diffusion.ResumeTrainer(dev, statePath(*out), &tc); err != nil {
			return err
		}
		if c := tr.Model.Config; c.NumClasses != len(classes) || (*size != 0 && *size != c.ImageSize) {
			tr.Release()
			tr.Model.Release()
			return fmt.Errorf("dataset %s has %d classes at --size %d, but the run being resumed has %d at %d px: resume with the run's settings",
				ds.Name(), len(classes), *size, c.NumClasses, c.ImageSize)
		}
		fmt.Fprintf(os.Stderr, "resuming at step %d of %d\n", tr.Steps, *steps)
	} else {
		mk, ok := diffusion.Presets[*preset]
		if !ok {
			return fmt.Errorf("%w: unknown --preset %q (have %s)", errUsage, *preset, strings.Join(diffusion.PresetNames(), ", "))
		}
		c := mk(len(classes))
		c.ClassNames = classes
		if *size != 0 {
			c.ImageSize = *size
		}
		u, err := diffusion.NewUNet(dev, c, *seed)
		if err != nil {
			return err
		}
		if tr, err = diffusion.NewTrainer(u, tc); err != nil {
			u.Release()
			return err
		}
	}
	defer tr.Model.Release()
	defer tr.Release()
	if err := ensureDir(*out); err != nil {
		return err
	}
	c := tr.Model.Config
	if err := checkImageSizes(ds, c.ImageSize, c.ImageSize); err != nil {
		return err
	}
	loader, err := dataset.NewLoader(ds, dataset.LoaderConfig{BatchSize: *batch, H: c.ImageSize, W: c.ImageSize, Seed: *seed,
		Shuffle: true, DropLast: ds.Len() >= *batch, Augment: dataset.Augment{Flip: true}})
	if err != nil {
		return err
	}
	next, stop := batches(ctx, loader, tr.Steps/max(loader.Len(), 1))
	defer stop()
	sample, err := next()
	if err != nil {
		return err
	}
	sample = firstN(sample, 4)
	fmt.Fprintf(os.Stderr, "training diffusion %s on %s: %d classes, %d px, %.2fM parameters, batch %d, %d steps\n",
		*preset, ds.Name(), len(classes), c.ImageSize, float64(tr.Model.Params.Count())/1e6, *batch, *steps)
	bar := newProgressBar(os.Stderr, *steps, "train")
	_ = bar.Set(tr.Steps)
	_, err = models.Train(ctx, tr, next, sample, trace, models.LoopOptions{
		Steps: *steps, CheckpointEvery: *ckptEvery, SampleEvery: *sampleEvery,
		ModelPath: *out, StatePath: statePath(*out), SampleDir: sideName(*out, "_samples"),
		LossCurvePath: sideName(*out, ".loss.png"), F16: *f16,
		SampleLabels: sampleLabels(sample, ds.Classes()),
		Progress:     loopProgress(bar),
	})
	finishBar(bar, err)
	if err != nil {
		if errors.Is(err, models.ErrNonFinite) {
			return fmt.Errorf("%w; stopped, the last good checkpoint is %s (resume with --resume, perhaps with a lower --lr)", err, *out)
		}
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (EMA U-Net, step %d), %s, samples in %s, loss curve %s\n",
		*out, tr.Steps, statePath(*out), sideName(*out, "_samples"), sideName(*out, ".loss.png"))
	return nil
}

// firstN keeps the first n items of a batch (the sample grids of a
// diffusion run: each cell costs a whole sampling run).
func firstN(b models.Batch, n int) models.Batch {
	if b.N <= n {
		return b
	}
	px := b.H * b.W
	return models.Batch{N: n, H: b.H, W: b.W, Images: b.Images[:n*3*px], Labels: b.Labels[:n*px]}
}
