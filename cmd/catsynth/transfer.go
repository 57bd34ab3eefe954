package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"catsynth/dataset/synth"
	"catsynth/eval/seg"
	"catsynth/modelref"
	"catsynth/models"
	"catsynth/weights/segmenters"

	"catsynth/affinity"
	"catsynth/dataset"
	"catsynth/nn"
	"catsynth/transfer"
)

func init() {
	register(command{
		name:    "transfer",
		summary: "adapt a source GAN to target classes: transfer --source M --target DATA --affinity A.json|METHOD --steps N --out T.safetensors.zst",
		run:     func(ctx context.Context, args []string) error { return runTransfer(ctx, args, os.Stderr) },
	})
}

// sourceSegmenter is the seg estimator's segmenter: the discriminator stored
// in the training state beside a source model, fake channel dropped.
func sourceSegmenter(dev *nn.Device, checkpoint string) (affinity.Segmenter, error) {
	src, err := modelref.Source(checkpoint)
	if err != nil {
		return nil, err
	}
	sg, err := src.Segmenter(dev)
	if err != nil && slices.Equal(src.Classes(), synth.SourceClasses) {
		// A family without a segmenter of its own (diffusion) on the
		// synthetic source classes: the embedded source-domain segmenter
		// knows exactly those classes.
		l, lerr := seg.LoadBytes(dev, segmenters.Source, modelref.EmbeddedPrefix+segmenters.SourceFile)
		if lerr != nil {
			return nil, errors.Join(err, lerr)
		}
		fmt.Fprintf(os.Stderr, "seg estimator: the source model has no segmenter of its own; using the embedded source-domain segmenter (%s)\n", segmenters.SourceFile)
		return loadedSegmenter{l}, nil
	}
	return sg, err
}

// loadedSegmenter runs a trained eval/seg segmenter as the seg estimator's
// source-class segmenter.
type loadedSegmenter struct{ *seg.Loaded }

func (l loadedSegmenter) InputSize() int { return l.Config.Size }

func (l loadedSegmenter) Segment(images *nn.Tensor) (out *nn.Tensor, err error) {
	err = nn.Catch(func() { out = l.Forward(images) })
	return out, err
}

// besidePrototypes is where the source prototypes of a model checkpoint are
// stored (M.prototypes.safetensors), or "" when spec is not a checkpoint.
func besidePrototypes(spec string) string {
	low := strings.ToLower(spec)
	if !strings.HasSuffix(low, ".safetensors") && !strings.HasSuffix(low, ".safetensors.zst") {
		return ""
	}
	return transfer.SidePath(spec, ".prototypes.safetensors")
}

type transferFlags struct {
	source, target, affinity, out, backend, prototypes, backbone string
	init, head, train, aLayer                                    string
	steps, batch, limit, sampleEvery, ckptEvery                  int
	trainA, freeA, trainSPADE, resume, f16, force                bool
	lrG, lrD, lrA, ema, labelMix, temperature                    float64
	seed                                                         uint64
}

func transferFlagSet(f *transferFlags) *flag.FlagSet {
	fs := newFlags("transfer", "--source M --target DATA --affinity A.json|METHOD --steps N --out T.safetensors.zst [flags]")
	fs.StringVar(&f.source, "source", "", "source model: "+modelHelp+"; its training state M.state.safetensors.zst must be beside it")
	fs.StringVar(&f.target, "target", "", "target dataset spec (images, label maps, classes)\n"+dataset.SpecHelp)
	fs.StringVar(&f.affinity, "affinity", "combined", "A.json, or an estimator: text, seg, vision, combined, onehot[:METHOD] (top-1 of METHOD, default combined)")
	fs.StringVar(&f.out, "out", "", "adapted model (a normal generator for target label maps); state, samples and A go beside it")
	fs.StringVar(&f.init, "init", transfer.InitCAT, "cat (source weights + A), finetune (source weights + a new random input layer), scratch (no source weights)")
	fs.StringVar(&f.head, "head", "", "discriminator head: reinit (new T+1 head; the default, and the only one for --a free and the baselines) or affinity (source head read through A; the default for --a frozen|softmax)")
	fs.StringVar(&f.train, "train", transfer.TrainAll, "all (G, D, and A unless --a frozen) or affinity (only A, and the SPADE convs with --train-spade; D frozen)")
	fs.StringVar(&f.aLayer, "a", "", "how CAT uses A: free (default with --train all: A starts a free input layer, no row constraint, trained at --lr-a, new D head), "+
		"frozen (A kept fixed; the default before issue 14, it lost the layout with the 64 px source on street), "+
		"softmax (A trained as a row softmax of logits; the default with --train affinity, and better than free with the weak 32 px source on an unseen domain); "+
		"docs/TRANSFER.md, \"The default A variant\"")
	fs.BoolVar(&f.trainA, "train-a", false, "the same as --a softmax (kept for old command lines)")
	fs.BoolVar(&f.freeA, "free-a", false, "the same as --a free, now the default (kept for old command lines)")
	fs.BoolVar(&f.trainSPADE, "train-spade", false, "with --train affinity: also train the SPADE/CLADE scale/shift convolutions")
	fs.IntVar(&f.steps, "steps", 1000, "total finetuning steps")
	fs.IntVar(&f.batch, "batch", 4, "batch size")
	fs.IntVar(&f.limit, "limit", 0, "use N target images (dataset.Limit with seed 0, the subset the estimators see); 0: all")
	fs.Float64Var(&f.lrG, "lr-g", 1e-4, "generator learning rate")
	fs.Float64Var(&f.lrD, "lr-d", 4e-4, "discriminator learning rate")
	fs.Float64Var(&f.lrA, "lr-a", 5e-3, "learning rate of A's logits (and of finetune's input layer)")
	fs.Float64Var(&f.temperature, "temperature", 1, "softmax temperature of a trained A")
	fs.Float64Var(&f.ema, "ema", 0.999, "EMA decay (ramped up as (1+k)/(10+k))")
	fs.Float64Var(&f.labelMix, "labelmix", 10, "LabelMix weight (0: off)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of new weights, noise and data order")
	fs.IntVar(&f.sampleEvery, "sample-every", 250, "write a sample grid every K steps")
	fs.IntVar(&f.ckptEvery, "ckpt-every", 250, "write a checkpoint every K steps")
	fs.BoolVar(&f.f16, "f16", false, "store the model file as float16")
	fs.BoolVar(&f.resume, "resume", false, "continue from the transfer state beside --out")
	fs.BoolVar(&f.force, "force", false, "replace an existing model and transfer state at --out")
	fs.StringVar(&f.backend, "backend", "", "cpu, gpu or auto")
	fs.StringVar(&f.prototypes, "prototypes", "", "vision estimator: source prototypes (default: beside the source model)")
	fs.StringVar(&f.backbone, "backbone", affinityBackbone, "vision estimator: "+backboneHelp)
	return fs
}

// aMode says how A is used, for the progress line.
func aMode(o transfer.Options) string {
	if o.Init != transfer.InitCAT {
		return "none"
	}
	return o.A
}

// options turns the flags into transfer.Options; --train-a and --free-a
// are the old spellings of --a softmax and --a free.
func (f *transferFlags) options() (transfer.Options, error) {
	a := f.aLayer
	for _, old := range []struct {
		set       bool
		flag, val string
	}{{f.trainA, "--train-a", transfer.ASoftmax}, {f.freeA, "--free-a", transfer.AFree}} {
		if !old.set {
			continue
		}
		if a != "" && a != old.val {
			return transfer.Options{}, fmt.Errorf("%w: %s means --a %s, but A is also given as %s: pick one", errUsage, old.flag, old.val, a)
		}
		a = old.val
	}
	return transfer.Options{Init: f.init, Head: f.head, Train: f.train, A: a, TrainSPADE: f.trainSPADE,
		Temperature: f.temperature, LRA: float32(f.lrA),
		Config: models.TrainConfig{BatchSize: f.batch, LRG: float32(f.lrG), LRD: float32(f.lrD), EMADecay: float32(f.ema),
			LambdaLabelMix: float32(f.labelMix), NoLabelMix: f.labelMix == 0, Seed: f.seed}}, nil
}

func runTransfer(ctx context.Context, args []string, stderr io.Writer) error {
	var f transferFlags
	fs := transferFlagSet(&f)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if f.out == "" || f.target == "" {
		return fmt.Errorf("%w: need --target and --out (and --source, default the embedded model)", errUsage)
	}
	if err := checkOutput(f.out, f.force, f.resume, f.source, f.target); err != nil {
		return err
	}
	if f.source == "" && !f.resume {
		name, _ := modelref.EmbeddedName("")
		f.source = modelref.EmbeddedPrefix + name
		fmt.Fprintf(stderr, "source: %s (the embedded default model; --source names another)\n", f.source)
	}
	if f.steps < 1 || f.batch < 1 || f.limit < 0 {
		return fmt.Errorf("%w: --steps and --batch must be at least 1, --limit not negative", errUsage)
	}
	ds, err := openTarget(f.target, f.limit)
	if err != nil {
		return err
	}
	target := dataset.ClassNames(ds.Classes())
	dev, err := openDevice(f.backend)
	if err != nil {
		return err
	}
	var m *transfer.Model
	var trace []models.Losses
	if f.resume {
		if m, trace, err = transfer.Resume(dev, transfer.StatePath(f.out)); err != nil {
			return err
		}
		if strings.Join(m.Target, "\x00") != strings.Join(target, "\x00") {
			m.Release()
			return fmt.Errorf("the model being resumed has target classes %v, the data %v", m.Target, target)
		}
		fmt.Fprintf(stderr, "resuming at step %d of %d\n", m.Steps(), f.steps)
	} else {
		if m, err = newTransferModel(ctx, dev, f, target, stderr); err != nil {
			return err
		}
	}
	defer m.Release()
	return trainTransfer(ctx, m, ds, f, trace, stderr)
}

// openTarget opens the target data, keeping limit images (seed 0) when
// limit > 0, and reports skipped files.
func openTarget(spec string, limit int) (dataset.Dataset, error) {
	ds, err := dataset.Open(spec)
	if err != nil {
		return nil, err
	}
	if skips := dataset.Skipped(ds); len(skips) > 0 {
		fmt.Fprintln(os.Stderr, dataset.DescribeSkips(skips))
	}
	if limit > 0 && limit < ds.Len() {
		return dataset.Limit(ds, limit, 0)
	}
	return ds, nil
}

// newTransferModel loads the source, gets A (file or estimator) and builds
// the model; the A used is written beside --out.
func newTransferModel(ctx context.Context, dev *nn.Device, f transferFlags, target []string, stderr io.Writer) (*transfer.Model, error) {
	o, err := f.options()
	if err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	src, err := modelref.Source(f.source)
	if err != nil {
		return nil, err
	}
	var A *affinity.Matrix
	if o.Init == "" || o.Init == transfer.InitCAT {
		if A, err = transferAffinity(ctx, f, target, src.Classes(), stderr); err != nil {
			return nil, err
		}
		if err := ensureDir(f.out); err != nil {
			return nil, err
		}
		p := sideName(f.out, ".affinity.json")
		if err := A.WriteJSONFile(p); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "A (%s) written to %s\n", A.Meta["method"], p)
	}
	return transfer.New(dev, src, target, A, o)
}

// transferAffinity reads A from a JSON file (checked against the classes,
// reordered when only the order differs) or estimates it.
func transferAffinity(ctx context.Context, f transferFlags, target, source []string, stderr io.Writer) (*affinity.Matrix, error) {
	spec := f.affinity
	if strings.HasSuffix(strings.ToLower(spec), ".json") {
		m, warn, err := affinity.ReadJSONFile(spec)
		if err != nil {
			return nil, err
		}
		for _, w := range warn {
			fmt.Fprintln(stderr, "warning:", w)
		}
		if err := m.CheckClasses(target, source); err != nil {
			r, rerr := m.Reorder(target, source)
			if rerr != nil {
				return nil, fmt.Errorf("%s does not fit the source model and the target data: %w", spec, err)
			}
			m = r
		}
		return m, nil
	}
	method, onehot := spec, false
	if rest, ok := strings.CutPrefix(spec, "onehot"); ok {
		onehot, method = true, strings.TrimPrefix(rest, ":")
		if method == "" {
			method = "combined"
		}
	}
	switch method {
	case "text", "seg", "vision", "combined":
	default:
		return nil, fmt.Errorf("%w: --affinity %q: want A.json, text, seg, vision, combined or onehot[:METHOD]", errUsage, spec)
	}
	af := affinityFlags{source: f.source, target: f.target, method: method, prototypes: f.prototypes,
		backbone: f.backbone, combine: affinity.CombineMean, n: f.limit, size: 128, backend: f.backend}
	if af.n == 0 {
		af.n = 100
	}
	m, err := affinityEstimate(ctx, af, target, source, stderr)
	if err != nil {
		return nil, err
	}
	if onehot {
		m = affinity.TopKRows(m, 1)
		m.SetMeta("method", "onehot:"+method)
	}
	return m, nil
}

// trainTransfer runs the finetuning loop with a progress bar, sample grids
// and atomic checkpoints.
func trainTransfer(ctx context.Context, m *transfer.Model, ds dataset.Dataset, f transferFlags, trace []models.Losses, stderr io.Writer) error {
	H, W := m.Net().Size()
	if err := checkImageSizes(ds, H, W); err != nil {
		return err
	}
	if err := ensureDir(f.out); err != nil {
		return err
	}
	if err := dataset.WriteNames(sideName(f.out, ".images.txt"), ds); err != nil {
		return err
	}
	loader, err := dataset.NewLoader(ds, dataset.LoaderConfig{BatchSize: f.batch, H: H, W: W, Seed: f.seed,
		Shuffle: true, DropLast: ds.Len() >= f.batch, Augment: dataset.Augment{Flip: true}})
	if err != nil {
		return err
	}
	next, stop := batches(ctx, loader, m.Steps()/max(loader.Len(), 1))
	defer stop()
	sample, err := next()
	if err != nil {
		return err
	}
	g, d := m.TrainableCount()
	fmt.Fprintf(stderr, "transfer (%s, head %s, train %s, A %s) to %s: %d target classes from %d images, %dx%d, trained parameters G %d / D %d, %d steps\n",
		m.Options.Init, m.Options.Head, m.Options.Train, aMode(m.Options),
		ds.Name(), m.T(), ds.Len(), W, H, g, d, f.steps)
	bar := newProgressBar(stderr, f.steps, "transfer")
	_ = bar.Set(m.Steps())
	_, err = transfer.Run(ctx, m, next, sample, trace, models.LoopOptions{
		Steps: f.steps, CheckpointEvery: f.ckptEvery, SampleEvery: f.sampleEvery,
		ModelPath: f.out, StatePath: transfer.StatePath(f.out), SampleDir: sideName(f.out, "_samples"), F16: f.f16,
		SampleLabels: sampleLabels(sample, ds.Classes()),
		Progress:     loopProgress(bar),
	})
	finishBar(bar, err)
	if err != nil {
		if errors.Is(err, models.ErrNonFinite) {
			return fmt.Errorf("%w; stopped, the last good checkpoint is %s (resume with --resume)", err, f.out)
		}
		return err
	}
	if m.Layer != nil && m.Layer.Trainable() {
		A, err := m.Matrix()
		if err != nil {
			return err
		}
		p := sideName(f.out, ".affinity-trained.json")
		if err := A.WriteJSONFile(p); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "trained A written to", p)
	}
	fmt.Fprintf(stderr, "wrote %s (step %d), state %s, samples in %s\nrun it on a target label map: catsynth generate --model %s --labels TARGET_LABEL.png --out out.png\n",
		f.out, m.Steps(), transfer.StatePath(f.out), sideName(f.out, "_samples"), f.out)
	return nil
}
