package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"catsynth/dataset"
	"catsynth/eval/seg"
)

// `catsynth train seg` registers itself in train.go's trainers map.
func init() { trainers["seg"] = runTrainSeg }

// segTraining is the record stored in a segmenter's "training" metadata.
type segTraining struct {
	Data      string    `json:"data"`
	HeldOut   string    `json:"heldout,omitempty"`
	Steps     int       `json:"steps"`
	Batch     int       `json:"batch"`
	LR        float64   `json:"lr"`
	Balance   float64   `json:"balance"`
	Seed      uint64    `json:"seed"`
	Backend   string    `json:"backend"`
	Seconds   float64   `json:"seconds"`
	FirstLoss float32   `json:"first_loss"`
	LastLoss  float32   `json:"last_loss"` // mean of the last 20 steps
	Weights   []float32 `json:"class_weights"`
	Time      time.Time `json:"time"`
}

// heldOutSpec derives a held-out spec from a synth spec: the same domain and
// render size, n scenes from a seed range the training set does not use
// (training seed + 1000). Other kinds have no automatic held-out set.
func heldOutSpec(spec string, n int) (string, error) {
	rest, ok := strings.CutPrefix(spec, "synth:")
	if !ok {
		return "", nil
	}
	dom, opts, _ := strings.Cut(rest, ":")
	seed, size := uint64(0), "128"
	if opts != "" {
		for _, kv := range strings.Split(opts, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "seed":
				s, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return "", fmt.Errorf("%w: --data %q: seed %q", errUsage, spec, v)
				}
				seed = s
			case "size":
				size = v
			}
		}
	}
	return fmt.Sprintf("synth:%s:n=%d,seed=%d,size=%s", dom, n, seed+1000, size), nil
}

func parseWidths(s string) ([]int, error) {
	var ws []int
	for _, f := range strings.Split(s, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || w < 1 {
			return nil, fmt.Errorf("%w: --widths %q: want comma-separated channel counts", errUsage, s)
		}
		ws = append(ws, w)
	}
	return ws, nil
}

func runTrainSeg(ctx context.Context, args []string) error {
	fs := newFlags("train seg", "--data SPEC --out M.safetensors.zst [flags]")
	data := fs.String("data", "synth:source", "training dataset spec\n"+dataset.SpecHelp)
	heldout := fs.String("heldout", "", "held-out dataset spec scored at the end (default for synth: same domain, seed+1000)")
	heldoutN := fs.Int("heldout-n", 200, "scenes in the default synth held-out set")
	out := fs.String("out", "", "segmenter file to write (.safetensors or .safetensors.zst)")
	size := fs.Int("size", 64, "square input size in pixels")
	widths := fs.String("widths", "32,64,128", "U-Net channel widths, finest level first")
	groups := fs.Int("groups", 8, "GroupNorm groups")
	steps := fs.Int("steps", 2000, "training steps")
	batch := fs.Int("batch", 8, "batch size")
	lr := fs.Float64("lr", 2e-3, "Adam learning rate")
	balance := fs.Float64("balance", 0.5, "class balance: loss weight ~ frequency^-balance (0: plain CE)")
	seed := fs.Uint64("seed", 1, "seed of weights and data order")
	ckptEvery := fs.Int("ckpt-every", 200, "write the model every K steps (atomically)")
	f16 := fs.Bool("f16", true, "store weights as float16")
	cache := fs.String("cache", "auto", "keep loaded samples in memory: on, off, or auto (on for synth: scenes then render once)")
	backendName := fs.String("backend", "", "cpu, gpu or auto (default: $CATSYNTH_BACKEND, else auto)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	if *steps < 1 || *batch < 1 || *size < 1 {
		return fmt.Errorf("%w: --steps, --batch and --size must be at least 1", errUsage)
	}
	ws, err := parseWidths(*widths)
	if err != nil {
		return err
	}
	cfgNet := seg.Config{Widths: ws, Groups: *groups, Size: *size}
	ds, err := dataset.Open(*data)
	if err != nil {
		return err
	}
	classes := dataset.ClassNames(ds.Classes())
	cfgNet.Classes = len(classes)
	if err := cfgNet.Check(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *heldout == "" {
		if *heldout, err = heldOutSpec(*data, *heldoutN); err != nil {
			return err
		}
	}
	switch *cache {
	case "on":
		ds = seg.Cached(ds)
	case "auto":
		if strings.HasPrefix(*data, "synth:") {
			ds = seg.Cached(ds)
		}
	case "off":
	default:
		return fmt.Errorf("%w: --cache %q: want on, off or auto", errUsage, *cache)
	}
	loader, err := dataset.NewLoader(ds, dataset.LoaderConfig{BatchSize: *batch, H: *size, W: *size, Seed: *seed,
		Shuffle: true, DropLast: ds.Len() >= *batch, Augment: dataset.Augment{MinScale: 0.7, Flip: true}})
	if err != nil {
		return err
	}
	dev, err := openDevice(*backendName)
	if err != nil {
		return err
	}
	if dir := filepath.Dir(*out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}

	// Class weights from the pixel counts of up to 256 training samples.
	var counts []int64
	for i := 0; i < min(256, ds.Len()); i++ {
		s, err := ds.Load(i)
		if err != nil {
			return err
		}
		c := seg.ClassCounts(s.Label.Pix, len(classes))
		if counts == nil {
			counts = c
		} else {
			for k := range c {
				counts[k] += c[k]
			}
		}
	}
	var weights []float32
	if *balance > 0 {
		weights = seg.ClassWeights(counts, *balance)
	}

	net, err := seg.New(dev, cfgNet, *seed)
	if err != nil {
		return err
	}
	defer net.Release()
	fmt.Fprintf(os.Stderr, "segmenter: %d classes, widths %v, %d px, %d parameters; data %s\n",
		len(classes), ws, *size, net.Params.Count(), ds.Name())
	rec := segTraining{Data: *data, HeldOut: *heldout, Steps: *steps, Batch: *batch, LR: *lr, Balance: *balance,
		Seed: *seed, Backend: dev.Name(), Weights: weights, Time: time.Now().UTC()}
	start := time.Now()
	var bar *progressBar
	if !*quiet {
		bar = newProgressBar(os.Stderr, *steps, "train seg")
	}
	save := func(extra map[string]string) error {
		rec.Seconds = time.Since(start).Seconds()
		b, _ := json.Marshal(rec)
		meta := map[string]string{seg.MetaTraining: string(b)}
		for k, v := range extra {
			meta[k] = v
		}
		return net.Save(*out, classes, meta, *f16)
	}
	losses, err := seg.Train(ctx, net, loader, seg.TrainOptions{Steps: *steps, LR: float32(*lr), Weights: weights,
		CheckpointEvery: *ckptEvery,
		Checkpoint:      func(int) error { return save(nil) },
		Progress: func(step int, loss float32) {
			if step == 1 {
				rec.FirstLoss = loss
			}
			if bar != nil {
				bar.Describe(fmt.Sprintf("train seg  loss %.4f", loss))
				_ = bar.Set(step)
			}
		}})
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return err
	}
	tail := losses[max(0, len(losses)-20):]
	for _, l := range tail {
		rec.LastLoss += l / float32(len(tail))
	}
	fmt.Fprintf(os.Stderr, "trained %d steps in %s: loss %.4f -> %.4f (last 20 steps)\n", len(losses),
		time.Since(start).Round(time.Second), rec.FirstLoss, rec.LastLoss)
	extra := map[string]string{}
	if *heldout != "" {
		hds, err := dataset.Open(*heldout)
		if err != nil {
			return err
		}
		if len(hds.Classes()) != len(classes) {
			return fmt.Errorf("%w: held-out set has %d classes, training set %d", errUsage, len(hds.Classes()), len(classes))
		}
		progress := func(int, int) {}
		if !*quiet {
			progress = countProgress(os.Stderr, "held-out "+hds.Name()+" images", 0)
		}
		res, err := net.Evaluate(ctx, hds, *batch, progress)
		if err != nil {
			return err
		}
		res.WriteTable(os.Stdout)
		b, _ := json.Marshal(res.Summary())
		extra[seg.MetaHeldOut] = string(b)
	}
	if err := save(extra); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", *out)
	return nil
}
