package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"catsynth/models"

	"catsynth/backbone"
	"catsynth/dataset"
	"catsynth/eval"
	"catsynth/eval/seg"
	"catsynth/modelref"
	"catsynth/models/diffusion"
	"catsynth/nn"
	"catsynth/transfer"
	"catsynth/weights/backbones"
)

// tbRow is one row of the transfer benchmark: how the model is built.
// Every row runs every seed of --seeds.
type tbRow struct {
	Name     string           `json:"name"`
	Affinity string           `json:"affinity,omitempty"` // estimator of A: text, seg, vision, combined, onehot
	Options  transfer.Options `json:"options"`
	// Page rows train as the web page's light mode does (app.Session's
	// Finetune: A only, the L1 loss against the target images, G frozen,
	// no discriminator) instead of package transfer's GAN losses.
	Page bool `json:"page,omitempty"`
}

// tbRows are the benchmark's rows (docs/TRANSFER.md). Each CAT row names
// its A variant, so a row keeps its meaning when the default of
// transfer.Options changes (the rows without a suffix have a frozen A, the
// default when the benchmark's results were first taken).
var tbRows = []tbRow{
	{Name: "scratch", Options: transfer.Options{Init: transfer.InitScratch}},
	{Name: "finetune", Options: transfer.Options{Init: transfer.InitFinetune}},
	{Name: "onehot", Affinity: "onehot", Options: transfer.Options{A: transfer.AFrozen}},
	{Name: "CAT-seg", Affinity: "seg", Options: transfer.Options{A: transfer.AFrozen}},
	{Name: "CAT-text", Affinity: "text", Options: transfer.Options{A: transfer.AFrozen}},
	{Name: "CAT-vision", Affinity: "vision", Options: transfer.Options{A: transfer.AFrozen}},
	{Name: "CAT-combined", Affinity: "combined", Options: transfer.Options{A: transfer.AFrozen}},
	{Name: "CAT-combined-trainedA", Affinity: "combined", Options: transfer.Options{A: transfer.ASoftmax}},
	{Name: "CAT-combined-freeA", Affinity: "combined", Options: transfer.Options{A: transfer.AFree}},
	{Name: "CAT-combined-reinit", Affinity: "combined", Options: transfer.Options{A: transfer.AFrozen, Head: transfer.HeadReinit}},
	{Name: "affinity-only", Affinity: "combined", Options: transfer.Options{Train: transfer.TrainAffinity, A: transfer.ASoftmax}},
	{Name: "page-light", Affinity: "combined", Page: true},
}

// tbConfig configures the benchmark.
type tbConfig struct {
	source, out, backbone, prototypes, backend string
	domains                                    []string
	shots                                      []int
	seeds                                      []uint64
	only                                       []string
	steps, batch, heldout, segSteps, gridN     int
	// sampling is what an iterative (diffusion) model renders the held-out
	// maps with; the zero value keeps the model's own settings.
	sampling models.Sampling
	// resume keeps the finished rows of a results.json already in out.
	resume bool
	// features embeds images for FID/KID; nil: the backbone.
	features func(imgs []*image.RGBA) (eval.Features, error)
	featName string
	stdout   io.Writer
	stderr   io.Writer
}

// tbResult is one trained row on one setting and seed.
type tbResult struct {
	Domain     string         `json:"domain"`
	Shots      int            `json:"shots"`
	Row        string         `json:"row"`
	Seed       uint64         `json:"seed"`
	FID        float64        `json:"fid"`
	KID        eval.KIDResult `json:"kid"`
	MIoU       float64        `json:"miou"`
	Ceiling    float64        `json:"miou_ceiling"`
	Seconds    float64        `json:"train_seconds"`
	StepMS     float64        `json:"ms_per_step"`
	RenderS    float64        `json:"render_seconds_per_image"` // held-out images, mean over the batch
	TrainG     int            `json:"trained_params_g"`
	TrainD     int            `json:"trained_params_d"`
	PeakHeapMB float64        `json:"peak_heap_mb"`
	// Sampling is the sampler that rendered the held-out maps (diffusion).
	Sampling *models.Sampling `json:"sampling,omitempty"`
	Skipped  string           `json:"skipped,omitempty"`
}

// tbEstimate is an estimator's accuracy against a domain's ground truth.
type tbEstimate struct {
	Domain string  `json:"domain"`
	Shots  int     `json:"shots"`
	Method string  `json:"method"`
	Top1   float64 `json:"top1"`
	MeanTV float64 `json:"mean_tv"`
	Rows   int     `json:"rows"`
	Note   string  `json:"note,omitempty"`
}

// tbReport is everything the benchmark writes to results.json.
type tbReport struct {
	Source    string       `json:"source"`
	Steps     int          `json:"steps"`
	Batch     int          `json:"batch"`
	Seeds     []uint64     `json:"seeds"`
	Heldout   int          `json:"heldout"`
	Features  string       `json:"feature_network"`
	Hardware  string       `json:"hardware"`
	Started   time.Time    `json:"started"`
	Seconds   float64      `json:"seconds"`
	Rows      []tbRow      `json:"rows"`
	Results   []tbResult   `json:"results"`
	Estimates []tbEstimate `json:"estimates"`
	Grids     []string     `json:"grids"`
	Charts    []string     `json:"charts,omitempty"` // chart-DOMAIN-N.png: KID and mIoU per row
}

func runBenchTransfer(ctx context.Context, args []string) error {
	c := tbConfig{stdout: os.Stdout, stderr: os.Stderr}
	fs := newFlags("bench transfer", "--source M [--domains coast,street] [--shots 25,100] [--steps N] --out DIR")
	fs.StringVar(&c.source, "source", "", "source model (training state beside it)")
	fs.StringVar(&c.out, "out", "bench-transfer", "folder for results.json, results.md and the grids")
	domains := fs.String("domains", "coast,street", "synthetic target domains")
	shots := fs.String("shots", "25,100", "target training images per setting")
	seeds := fs.String("seeds", "1,2", "seeds (every row runs each)")
	only := fs.String("rows", "", "run only these rows (comma-separated names; default all)")
	fs.IntVar(&c.steps, "steps", 2000, "finetuning steps per row")
	fs.IntVar(&c.batch, "batch", 4, "batch size")
	fs.IntVar(&c.heldout, "heldout", 100, "held-out target label maps (and real images) for FID/KID/mIoU")
	fs.IntVar(&c.segSteps, "seg-steps", 1500, "training steps of each domain's evaluation segmenter")
	fs.IntVar(&c.gridN, "grid", 6, "held-out label maps shown in each grid")
	fs.StringVar(&c.backbone, "backbone", affinityBackbone, "feature network for FID/KID and the vision estimator")
	fs.StringVar(&c.prototypes, "prototypes", "", "source prototypes for CAT-vision (default: beside the source model)")
	fs.StringVar(&c.backend, "backend", "", "cpu, gpu or auto")
	fs.IntVar(&c.sampling.Steps, "sample-steps", 20, "diffusion sources: DDIM steps per held-out image")
	fs.Float64Var(&c.sampling.Guidance, "guidance", diffusion.DefaultGuidance, "diffusion sources: classifier-free guidance scale (1 is off)")
	fs.Float64Var(&c.sampling.Eta, "eta", 0, "diffusion sources: DDIM eta")
	fs.BoolVar(&c.resume, "resume", false, "keep the rows already in --out/results.json (same settings) and run the rest")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.sampling.Method = diffusion.MethodDDIM
	if c.source == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: bench transfer needs --source M", errUsage)
	}
	c.domains = splitList(*domains)
	c.only = splitList(*only)
	for _, s := range splitList(*shots) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("%w: --shots %q", errUsage, *shots)
		}
		c.shots = append(c.shots, n)
	}
	for _, s := range splitList(*seeds) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: --seeds %q", errUsage, *seeds)
		}
		c.seeds = append(c.seeds, n)
	}
	if len(c.domains) == 0 || len(c.shots) == 0 || len(c.seeds) == 0 || c.steps < 1 || c.heldout < 2 {
		return fmt.Errorf("%w: need domains, shots, seeds, --steps >= 1 and --heldout >= 2", errUsage)
	}
	_, err := benchTransfer(ctx, c)
	return err
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// benchTransfer runs every setting and writes the report.
func benchTransfer(ctx context.Context, c tbConfig) (*tbReport, error) {
	start := time.Now()
	dev, err := openDevice(c.backend)
	if err != nil {
		return nil, err
	}
	// modelref opens model files and embedded:NAME alike, as `transfer` does.
	src, err := modelref.Source(c.source)
	if err != nil {
		return nil, err
	}
	// With no --prototypes the vision estimator looks beside the source
	// (or in the embedded model) itself (visionEstimate).
	if c.features == nil {
		var net *backbone.Net
		if c.backbone == "" { // the default: the embedded MobileNetV2, as the vision estimator's
			net, err = backbone.LoadBytes(dev, backbones.MobileNetV2, "embedded:"+backbones.MobileNetV2File)
		} else {
			net, err = backbone.Load(dev, c.backbone)
		}
		if err != nil {
			return nil, fmt.Errorf("FID/KID feature network: %w", err)
		}
		c.featName = net.Spec.Name
		c.features = func(imgs []*image.RGBA) (eval.Features, error) { return embedImages(net, imgs) }
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return nil, err
	}
	rep := &tbReport{Source: c.source, Steps: c.steps, Batch: c.batch, Seeds: c.seeds, Heldout: c.heldout,
		Features: c.featName, Hardware: hardware(dev), Started: start}
	for _, r := range tbRows {
		if wanted(c.only, r.Name) {
			rep.Rows = append(rep.Rows, r)
		}
	}
	done := map[tbKey]tbResult{}
	var before float64 // seconds of the runs resumed from
	if c.resume {
		prev, err := readTBReport(filepath.Join(c.out, "results.json"), rep)
		if err != nil {
			return nil, err
		}
		if prev != nil {
			before = prev.Seconds
			for _, r := range prev.Results {
				done[tbKey{r.Domain, r.Shots, r.Row, r.Seed}] = r
			}
			fmt.Fprintf(c.stderr, "resuming: %d finished rows in %s\n", len(done), c.out)
		}
	}
	save := func() error {
		rep.Seconds = before + time.Since(start).Seconds()
		_, err := writeTBFiles(c, rep)
		return err
	}
	for _, dom := range c.domains {
		if err := benchDomain(ctx, dev, c, src, dom, rep, done, save); err != nil {
			return rep, fmt.Errorf("%s: %w", dom, err)
		}
	}
	rep.Seconds = before + time.Since(start).Seconds()
	return rep, writeTBReport(c, rep)
}

// tbKey names one finished row of the benchmark.
type tbKey struct {
	dom   string
	shots int
	row   string
	seed  uint64
}

// readTBReport reads the results.json of an earlier run to resume it, nil
// when there is none. Its settings must be those of rep: other steps,
// batch, held-out maps or source would mix incomparable rows in one table.
func readTBReport(path string, rep *tbReport) (*tbReport, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var prev tbReport
	if err := json.Unmarshal(b, &prev); err != nil {
		return nil, fmt.Errorf("bench transfer: resume: %s: %w", path, err)
	}
	if prev.Source != rep.Source || prev.Steps != rep.Steps || prev.Batch != rep.Batch || prev.Heldout != rep.Heldout || prev.Features != rep.Features {
		return nil, fmt.Errorf("bench transfer: resume: %s was written with source %s, %d steps, batch %d, %d held-out maps, features %q; this run has %s, %d, %d, %d, %q: give another --out or the same settings",
			path, prev.Source, prev.Steps, prev.Batch, prev.Heldout, prev.Features, rep.Source, rep.Steps, rep.Batch, rep.Heldout, rep.Features)
	}
	return &prev, nil
}

func wanted(only []string, name string) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if o == name {
			return true
		}
	}
	return false
}

// heldOut is a domain's evaluation data at the model size.
type heldOut struct {
	labels  []int32 // N*H*W
	images  []*image.RGBA
	feats   eval.Features
	n, h, w int
	seg     *seg.Net
	ceiling float64
	classes []dataset.Class
}

// benchDomain runs every row of every setting of one domain; rows in done
// are taken from an earlier run (their grid strips from disk), and save is
// called after each new row so that a stopped run loses at most one row.
func benchDomain(ctx context.Context, dev *nn.Device, c tbConfig, src models.Source, dom string, rep *tbReport,
	done map[tbKey]tbResult, save func() error) error {
	h, w := src.Size()
	ho, err := loadHeldOut(ctx, dev, c, dom, h, w)
	if err != nil {
		return err
	}
	defer ho.seg.Release()
	rel, err := dataset.SynthRelation(dom)
	if err != nil {
		return err
	}
	for _, shots := range c.shots {
		spec := fmt.Sprintf("synth:%s:n=%d,seed=1,size=%d", dom, shots, h)
		ds, err := dataset.Open(spec)
		if err != nil {
			return err
		}
		target := dataset.ClassNames(ds.Classes())
		ests, err := tbEstimates(ctx, c, spec, shots, target, src.Classes(), rel, dom, rep)
		if err != nil {
			return err
		}
		grid := [][]*image.RGBA{}
		for _, r := range rep.Rows {
			for si, seed := range c.seeds {
				strip := filepath.Join(c.out, "rows", fmt.Sprintf("%s-%d-%s.png", dom, shots, r.Name))
				if res, ok := done[tbKey{dom, shots, r.Name, seed}]; ok {
					rep.Results = append(rep.Results, res)
					if si == 0 && res.Skipped == "" {
						imgs, err := readStrip(strip, ho.h, ho.w)
						if err != nil {
							return fmt.Errorf("resume: %w", err)
						}
						grid = append(grid, imgs)
					}
					continue
				}
				res, imgs, err := benchRow(ctx, dev, c, src, ds, r, ests, seed, ho)
				res.Domain, res.Shots, res.Row, res.Seed = dom, shots, r.Name, seed
				if err != nil {
					return fmt.Errorf("%s, %d images, seed %d: %w", r.Name, shots, seed, err)
				}
				rep.Results = append(rep.Results, res)
				fmt.Fprintf(c.stderr, "%s %d %-22s seed %d: FID %.1f KID %.4f mIoU %.3f (ceiling %.3f) %.0f ms/step %s\n",
					dom, shots, r.Name, seed, res.FID, res.KID.Mean, res.MIoU, res.Ceiling, res.StepMS, res.Skipped)
				if si == 0 && imgs != nil {
					grid = append(grid, imgs[:min(c.gridN, len(imgs))])
					if err := writeStrip(strip, imgs[:min(c.gridN, len(imgs))]); err != nil {
						return err
					}
				}
				if err := save(); err != nil {
					return err
				}
			}
		}
		name := fmt.Sprintf("grid-%s-%d.png", dom, shots)
		if err := writeTBGrid(filepath.Join(c.out, name), ho, grid, c.gridN); err != nil {
			return err
		}
		rep.Grids = append(rep.Grids, name)
		_, groups := groupResults(rep.Results)
		k := tbSetting{dom, shots}
		chart, err := writeTBChart(c, rep.Rows, k, groups[k])
		if err != nil {
			return err
		}
		if chart != "" {
			rep.Charts = append(rep.Charts, chart)
		}
	}
	return nil
}

// loadHeldOut renders the held-out maps and images (seed 1001, never used
// for training), embeds the real images and trains the domain's
// evaluation segmenter on separate data (seed 5000), with its ceiling.
func loadHeldOut(ctx context.Context, dev *nn.Device, c tbConfig, dom string, h, w int) (*heldOut, error) {
	ds, err := dataset.Open(fmt.Sprintf("synth:%s:n=%d,seed=1001,size=%d", dom, c.heldout, h))
	if err != nil {
		return nil, err
	}
	ho := &heldOut{n: ds.Len(), h: h, w: w, classes: ds.Classes()}
	for i := range ds.Len() {
		s, err := ds.Load(i)
		if err != nil {
			return nil, err
		}
		img, lab := seg.PlaceSample(s, h)
		ho.labels = append(ho.labels, lab...)
		ho.images = append(ho.images, models.ImagesFromCHW(img, 1, h, w)[0])
	}
	if ho.feats, err = c.features(ho.images); err != nil {
		return nil, err
	}
	train, err := dataset.Open(fmt.Sprintf("synth:%s:n=%d,seed=5000,size=%d", dom, max(200, c.heldout), h))
	if err != nil {
		return nil, err
	}
	cfg := seg.Config{Classes: len(ho.classes), Size: h, Widths: []int{16, 32, 64}}
	if ho.seg, err = seg.New(dev, cfg, 5000); err != nil {
		return nil, err
	}
	counts := make([]int64, cfg.Classes)
	ld, err := dataset.NewLoader(train, dataset.LoaderConfig{BatchSize: 8, H: h, W: h, Seed: 5000, Shuffle: true, Augment: dataset.Augment{Flip: true}})
	if err != nil {
		return nil, err
	}
	for b, err := range ld.Epoch(ctx, 0) {
		if err != nil {
			return nil, err
		}
		for i, v := range seg.ClassCounts(b.Labels, cfg.Classes) {
			counts[i] += v
		}
	}
	segSteps := max(c.segSteps, 1)
	progress := countProgress(c.stderr, dom+": evaluation segmenter", 50)
	if _, err := seg.Train(ctx, ho.seg, ld, seg.TrainOptions{Steps: segSteps, Weights: seg.ClassWeights(counts, 0.5),
		Progress: func(step int, _ float32) { progress(step, segSteps) }}); err != nil {
		return nil, err
	}
	cm := seg.NewConfusion(cfg.Classes)
	if err := scoreImages(ho.seg, cm, ho.images, ho.labels, h, w); err != nil {
		return nil, err
	}
	ho.ceiling = cm.Score().MeanIoU
	fmt.Fprintf(c.stderr, "%s: evaluation segmenter trained %d steps, held-out mIoU (ceiling) %.3f\n", dom, c.segSteps, ho.ceiling)
	return ho, nil
}
