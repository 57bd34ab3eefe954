package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"iter"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"catsynth/modelref"
	"catsynth/models"
	"catsynth/nn"
	"catsynth/nn/backend"

	"catsynth/dataset"
	"catsynth/models/gan"
)

// trainers are the model kinds `catsynth train KIND` knows; other files may
// add theirs in init.
var trainers = map[string]func(ctx context.Context, args []string) error{
	"gan": runTrainGAN,
}

func init() {
	register(command{
		name:    "train",
		summary: "train a model: train gan --data SPEC --size S --out M.safetensors.zst",
		run: func(ctx context.Context, args []string) error {
			var kinds []string
			for k := range trainers {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			if len(args) > 0 && isHelp(args[0]) {
				fmt.Fprintf(os.Stderr, "usage: catsynth train KIND [flags]; KIND is one of %s\nRun 'catsynth train KIND -h' for its flags.\n", strings.Join(kinds, ", "))
				return flag.ErrHelp
			}
			if len(args) == 0 || trainers[args[0]] == nil {
				return fmt.Errorf("%w: catsynth train KIND [flags]; KIND is one of %s", errUsage, strings.Join(kinds, ", "))
			}
			return trainers[args[0]](ctx, args[1:])
		},
	})
}

// parseSize reads "128" (square) or "512x256" (width x height).
func parseSize(s string) (h, w int, err error) {
	ws, hs, found := strings.Cut(s, "x")
	if !found {
		hs = ws
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("%w: --size %q: want S or WxH in pixels", errUsage, s)
	}
	return h, w, nil
}

// statePath is the training-state file kept beside a model file:
// m.safetensors.zst -> m.state.safetensors.zst.
func statePath(out string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(out, ".zst"), ".safetensors")
	return base + ".state.safetensors.zst"
}

func sideName(out, suffix string) string {
	return strings.TrimSuffix(strings.TrimSuffix(out, ".zst"), ".safetensors") + suffix
}

func runTrainGAN(ctx context.Context, args []string) error {
	fs := newFlags("train gan", "--data SPEC --size S|WxH --out M.safetensors.zst [flags]")
	data := fs.String("data", "synth:source", "dataset spec:\n"+dataset.SpecHelp)
	size := fs.String("size", "", "output size: S or WxH (default: the preset's)")
	out := fs.String("out", "", "model file to write (the EMA generator; the training state goes beside it)")
	preset := fs.String("preset", "source128", "model size: "+strings.Join(gan.PresetNames(), ", "))
	norm := fs.String("norm", "", "generator normalization: spade (default) or clade")
	noise := fs.String("noise", "", "how the noise enters: image (default, OASIS: one vector per image), pixel (one per pixel) or mixed (the image vector plus a smooth per-pixel part, a grid every 16 px)")
	steps := fs.Int("steps", 10000, "total training steps")
	batch := fs.Int("batch", 4, "batch size")
	backendName := fs.String("backend", "", "cpu, gpu or auto (default: $CATSYNTH_BACKEND, else auto)")
	padding := fs.String("padding", "", "how the generator's 3x3 convolutions fill their border: zeros (default, OASIS), reflect or replicate (no border for the network to read position from)")
	seed := fs.Uint64("seed", 1, "seed of weights, noise and data order")
	lrG := fs.Float64("lr-g", 1e-4, "generator learning rate")
	lrD := fs.Float64("lr-d", 4e-4, "discriminator learning rate")
	ema := fs.Float64("ema", 0.999, "EMA decay of the generator weights used for sampling")
	lambdaLM := fs.Float64("labelmix", 10, "LabelMix weight (0: off)")
	modeSeek := fs.Float64("mode-seek", 0, "mode-seeking weight (0: off): each map drawn twice per generator step, images that differ little for different noise are penalised (more seed diversity; the generator step costs twice)")
	sampleEvery := fs.Int("sample-every", 500, "write a sample grid every K steps")
	ckptEvery := fs.Int("ckpt-every", 500, "write a checkpoint every K steps")
	f16 := fs.Bool("f16", false, "store the model file as float16 (half the size)")
	resume := fs.Bool("resume", false, "continue from the training state beside --out")
	force := fs.Bool("force", false, "replace an existing model and training state at --out")
	initFrom := fs.String("init", "", "start from other weights: a training state file (G, D and EMA; same network, any size: progressive training), or a model file / embedded:NAME (its generator; D starts fresh, see --d-warmup)")
	exportSource := fs.String("export-source", "", "write the finetuning source of the training state beside --out (its EMA generator and discriminator, f16) to this file, and stop: what ships beside an embedded model")
	dOnly := fs.Bool("discriminator-only", false, "with --export-source: leave the generator out (it ships as the model file beside it)")
	dWarmup := fs.Int("d-warmup", 0, "train only the discriminator for the first K steps (for --init from a model file, whose D is new)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	if *exportSource != "" {
		if err := gan.ExportSource(statePath(*out), *exportSource, *dOnly); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s from %s\n", *exportSource, statePath(*out))
		return nil
	}
	if *exportSource == "" {
		if err := checkOutput(*out, *force, *resume, *initFrom); err != nil {
			return err
		}
	}
	if *resume && *initFrom != "" {
		return fmt.Errorf("%w: --resume continues a run, --init starts a new one from other weights; pick one", errUsage)
	}
	if *steps < 1 || *batch < 1 {
		return fmt.Errorf("%w: --steps and --batch must be at least 1", errUsage)
	}
	for _, lr := range []struct {
		flag string
		v    float64
	}{{"--lr-g", *lrG}, {"--lr-d", *lrD}} {
		if !(lr.v > 0) || math.IsInf(lr.v, 0) {
			return fmt.Errorf("%w: %s %v: a learning rate must be a positive finite number", errUsage, lr.flag, lr.v)
		}
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
	tc := gan.TrainConfig{BatchSize: *batch, LRG: float32(*lrG), LRD: float32(*lrD), EMADecay: float32(*ema),
		LambdaLabelMix: float32(*lambdaLM), NoLabelMix: *lambdaLM == 0, Seed: *seed, DWarmup: *dWarmup, LambdaModeSeek: float32(*modeSeek)}
	// --init from a model file: its generator's architecture, not the preset's.
	var initModel *nn.Checkpoint
	if *initFrom != "" && (strings.HasPrefix(*initFrom, modelref.EmbeddedPrefix) || !strings.Contains(*initFrom, ".state.")) {
		if initModel, _, err = modelref.Read(*initFrom); err != nil {
			return err
		}
		if k := initModel.Metadata[models.MetaKind]; k == gan.KindTrainState {
			initModel = nil // a state file after all
		}
	}
	var tr *gan.Trainer
	var trace []models.Losses
	if *resume {
		tr, trace, err = gan.ResumeTrainer(dev, statePath(*out), &tc)
		if err != nil {
			return err
		}
		if tr.G.Config.LabelNC != len(classes) {
			tr.Release()
			return fmt.Errorf("dataset %s has %d classes but the model being resumed has %d", ds.Name(), len(classes), tr.G.Config.LabelNC)
		}
		if err := checkResumeFlags(fs, tr.G.Config, *preset, *size, *noise, *padding, statePath(*out)); err != nil {
			tr.Release()
			return err
		}
		fmt.Fprintf(os.Stderr, "resuming at step %d of %d\n", tr.Steps, *steps)
	} else {
		p, err := gan.LookupPreset(*preset)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		h, w := 0, 0
		if *size != "" {
			if h, w, err = parseSize(*size); err != nil {
				return err
			}
		}
		gc, dc, err := p.Configs(classes, h, w, *norm)
		if err != nil {
			return err
		}
		gc.Noise, gc.Padding = *noise, *padding
		if initModel != nil {
			var mc gan.GeneratorConfig
			if err := json.Unmarshal(initModel.Config, &mc); err != nil {
				return fmt.Errorf("%s: config: %w", *initFrom, err)
			}
			if mc.LabelNC != len(classes) {
				return fmt.Errorf("%s has %d classes, dataset %s %d", *initFrom, mc.LabelNC, ds.Name(), len(classes))
			}
			if *size == "" {
				h, w = mc.H, mc.W
			}
			if _, dc, err = p.Configs(classes, h, w, mc.Norm); err != nil {
				return err
			}
			mc.H, mc.W, mc.ClassNames = h, w, classes
			if *noise != "" {
				mc.Noise = *noise
			}
			if *padding != "" {
				mc.Padding = *padding
			}
			gc = mc
		}
		if tr, err = gan.NewTrainer(dev, gc, dc, tc); err != nil {
			return err
		}
		switch {
		case initModel != nil:
			if err := tr.WarmStartGenerator(initModel); err != nil {
				tr.Release()
				return err
			}
			fmt.Fprintf(os.Stderr, "generator from %s; the discriminator starts fresh (trained alone for %d steps)\n", *initFrom, *dWarmup)
		case *initFrom != "":
			if err := tr.WarmStart(*initFrom); err != nil {
				tr.Release()
				return err
			}
			fmt.Fprintf(os.Stderr, "weights from %s\n", *initFrom)
		}
	}
	defer tr.Release()
	gc := tr.G.Config
	return trainLoop(ctx, tr, ds, trainRun{out: *out, h: gc.H, w: gc.W, batch: *batch, seed: *seed, steps: *steps,
		ckptEvery: *ckptEvery, sampleEvery: *sampleEvery, f16: *f16, trace: trace, lrHint: "lower learning rates", what: "EMA generator",
		banner: fmt.Sprintf("training %s on %s: %d classes, %dx%d, G %.2fM / D %.2fM parameters, batch %d, %d steps",
			*preset, ds.Name(), len(classes), gc.W, gc.H, float64(tr.G.Params().Count())/1e6, float64(tr.D.Params.Count())/1e6, *batch, *steps)})
}

// trainRun is what trainLoop needs beside the trainer and the dataset.
type trainRun struct {
	out                    string // the model file; state, samples and loss curve go beside it
	h, w, batch            int
	seed                   uint64
	steps                  int
	ckptEvery, sampleEvery int
	f16                    bool
	trace                  []models.Losses // the resumed run's losses
	sampleCap              int             // at most this many maps in the sample grids (0: the batch)
	banner                 string          // printed before the first step
	lrHint                 string          // what to lower after a non-finite loss
	what                   string          // what the model file holds, for the last line
}

// trainLoop is the part of `catsynth train KIND` every family shares: the
// loader, the fixed sample batch, the progress bar, models.Train with
// checkpoints, grids and loss curve beside r.out, and the errors that say
// which checkpoint is good.
func trainLoop(ctx context.Context, tr models.Learner, ds dataset.Dataset, r trainRun) error {
	if err := ensureDir(r.out); err != nil {
		return err
	}
	if err := checkImageSizes(ds, r.h, r.w); err != nil {
		return err
	}
	loader, err := dataset.NewLoader(ds, dataset.LoaderConfig{BatchSize: r.batch, H: r.h, W: r.w, Seed: r.seed,
		Shuffle: true, DropLast: ds.Len() >= r.batch, Augment: dataset.Augment{Flip: true}})
	if err != nil {
		return err
	}
	next, stop := batches(ctx, loader, tr.StepsDone()/max(loader.Len(), 1))
	defer stop()
	sample, err := next()
	if err != nil {
		return err
	}
	if r.sampleCap > 0 {
		sample = firstN(sample, r.sampleCap)
	}
	fmt.Fprintln(os.Stderr, r.banner)
	bar := newProgressBar(os.Stderr, r.steps, "train")
	_ = bar.Set(tr.StepsDone())
	_, err = models.Train(ctx, tr, next, sample, r.trace, models.LoopOptions{
		Steps: r.steps, CheckpointEvery: r.ckptEvery, SampleEvery: r.sampleEvery,
		ModelPath: r.out, StatePath: statePath(r.out), SampleDir: sideName(r.out, "_samples"),
		LossCurvePath: sideName(r.out, ".loss.png"), F16: r.f16,
		SampleLabels: sampleLabels(sample, ds.Classes()),
		Progress:     loopProgress(bar),
	})
	finishBar(bar, err)
	if err != nil {
		if errors.Is(err, models.ErrNonFinite) {
			return fmt.Errorf("%w; stopped, the last good checkpoint is %s (resume with --resume, perhaps with %s)", err, r.out, r.lrHint)
		}
		if errors.Is(err, backend.ErrDeviceLost) {
			return fmt.Errorf("%w; stopped, the last checkpoint is %s (resume with --resume once the device is back, or with --backend cpu)", err, r.out)
		}
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%s, step %d), %s, samples in %s, loss curve %s\n",
		r.out, r.what, tr.StepsDone(), statePath(r.out), sideName(r.out, "_samples"), sideName(r.out, ".loss.png"))
	return nil
}

// firstN keeps the first n items of a batch.
func firstN(b models.Batch, n int) models.Batch {
	if b.N <= n {
		return b
	}
	px := b.H * b.W
	return models.Batch{N: n, H: b.H, W: b.W, Images: b.Images[:n*3*px], Labels: b.Labels[:n*px]}
}

// checkImageSizes refuses a dataset whose images are smaller than the
// training size (the loader would upscale them, and the model would learn
// blur). It looks at up to 16 samples spread over the dataset.
func checkImageSizes(ds dataset.Dataset, h, w int) error {
	n := ds.Len()
	for k := range min(n, 16) {
		i := k * n / min(n, 16)
		s, err := ds.Load(i)
		if err != nil {
			return err
		}
		b := s.Image.Bounds()
		if b.Dx() < w || b.Dy() < h {
			return fmt.Errorf("%s: image %s is %dx%d, smaller than the %dx%d training crop (use a smaller --size)", ds.Name(), s.Name, b.Dx(), b.Dy(), w, h)
		}
	}
	return nil
}

// batches returns a function yielding batches forever (epoch after epoch,
// starting at epoch first) and a stop function.
func batches(ctx context.Context, l *dataset.Loader, first int) (func() (models.Batch, error), func()) {
	epoch := first
	var next func() (*dataset.Batch, error, bool)
	var stop func()
	start := func() {
		next, stop = iter.Pull2(l.Epoch(ctx, epoch))
	}
	start()
	get := func() (models.Batch, error) {
		for range 2 {
			b, err, ok := next()
			if err != nil {
				return models.Batch{}, err
			}
			if ok {
				return models.Batch{N: b.N, H: b.H, W: b.W, Images: b.Images, Labels: b.Labels}, nil
			}
			stop()
			epoch++
			start()
		}
		return models.Batch{}, errors.New("dataset yields no batches")
	}
	return get, func() { stop() }
}

// ensureDir makes the parent folder of path.
func ensureDir(path string) error { return os.MkdirAll(filepath.Dir(path), 0o755) }

// sampleLabels colours the label maps of the fixed sample batch for the
// sample grids of train gan and transfer.
func sampleLabels(sample models.Batch, classes []dataset.Class) func(i int) image.Image {
	return func(i int) image.Image {
		n := sample.H * sample.W
		m := &dataset.LabelMap{W: sample.W, H: sample.H, Pix: sample.Labels[i*n : (i+1)*n]}
		return dataset.Colorize(m, classes)
	}
}

// checkResumeFlags refuses a --preset or --size given with --resume that
// differs from the run being resumed: the state fixes the architecture and
// size, and silently ignoring the flags would train something else than asked.
func checkResumeFlags(fs *flag.FlagSet, c gan.GeneratorConfig, preset, size, noise, padding, state string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// The generator's input modes are part of the run: a flag that differs
	// would be ignored, so it is refused instead.
	for _, m := range []struct{ flag, want, have, def string }{
		{"noise", noise, c.Noise, gan.NoiseImage}, {"padding", padding, c.Padding, string(nn.PadZeros)}} {
		have := cmp.Or(m.have, m.def)
		if set[m.flag] && cmp.Or(m.want, m.def) != have {
			return fmt.Errorf("%w: --%s %s, but the run in %s has %s %s; --resume keeps it (drop --%s, or start a new run from its weights with --init %s)",
				errUsage, m.flag, m.want, state, m.flag, have, m.flag, state)
		}
	}
	if set["size"] {
		h, w, err := parseSize(size)
		if err != nil {
			return err
		}
		if h != c.H || w != c.W {
			return fmt.Errorf("%w: --size %s, but the run in %s is %dx%d; --resume keeps its size (drop --size, or start a new run with --force)", errUsage, size, state, c.W, c.H)
		}
	}
	if set["preset"] {
		p, err := gan.LookupPreset(preset)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if p.G.Channels != c.Channels || p.G.NumBlocks != c.NumBlocks || p.G.ZDim != c.ZDim || p.G.SPADEHidden != c.SPADEHidden {
			return fmt.Errorf("%w: --preset %s, but the run in %s has another architecture (%d blocks, %d channels); --resume keeps it (drop --preset, or start a new run with --force)", errUsage, preset, state, c.NumBlocks, c.Channels)
		}
	}
	return nil
}
