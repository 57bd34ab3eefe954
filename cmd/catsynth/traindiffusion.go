package main

import (
	"context"
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
	c := tr.Model.Config
	// Each grid cell of a diffusion run costs a whole sampling run: four maps.
	return trainLoop(ctx, tr, ds, trainRun{out: *out, h: c.ImageSize, w: c.ImageSize, batch: *batch, seed: *seed, steps: *steps,
		ckptEvery: *ckptEvery, sampleEvery: *sampleEvery, f16: *f16, trace: trace, sampleCap: 4, lrHint: "a lower --lr", what: "EMA U-Net",
		banner: fmt.Sprintf("training diffusion %s on %s: %d classes, %d px, %.2fM parameters, batch %d, %d steps",
			*preset, ds.Name(), len(classes), c.ImageSize, float64(tr.Model.Params.Count())/1e6, *batch, *steps)})
}
