package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"catsynth/nn"
)

func init() {
	register(command{
		name:    "demo",
		summary: "the engine end to end: fit a small conv net to map a label map to an image",
		run:     runDemo,
	})
}

func runDemo(ctx context.Context, args []string) error {
	fs := newFlags("demo", "[--backend B] [--steps N] [--seed K]")
	backendName := fs.String("backend", "", "cpu, gpu or auto (default: $CATSYNTH_BACKEND, else auto)")
	steps := fs.Int("steps", 300, "training steps")
	seed := fs.Uint64("seed", 1, "seed of the label map, image and initial weights")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *steps < 1 {
		return fmt.Errorf("%w: --steps must be at least 1", errUsage)
	}
	dev, err := openDevice(*backendName)
	if err != nil {
		return err
	}
	fmt.Printf("fitting a 3-layer conv net to map a random label map to a random image (seed %d)\n", *seed)
	bar := newProgressBar(os.Stderr, *steps, "fit")
	start := time.Now()
	losses, err := nn.FitDemo(dev, *steps, *seed, func(step int, loss float32) {
		bar.Describe(fmt.Sprintf("fit loss %.4f", loss))
		_ = bar.Add(1)
	})
	_ = bar.Finish()
	if err != nil {
		return err
	}
	first, last := losses[0], losses[len(losses)-1]
	fmt.Printf("loss %.4f -> %.4f (%.1fx lower) in %d steps, %.2fs on %s\n",
		first, last, first/last, len(losses), time.Since(start).Seconds(), dev.Name())
	return nil
}
