package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"catsynth/affinity"
	"catsynth/backbone"
	"catsynth/backbone/keras"
	"catsynth/dataset"
	"catsynth/eval"
	"catsynth/eval/report"
	"catsynth/eval/seg"
	"catsynth/weights/backbones"
)

func init() {
	register(command{
		name:    "eval",
		summary: "FID/KID between image folders (feature network named), affinity accuracy",
		run:     runEval,
	})
}

// defaultBackbone picks the feature network for FID/KID: the imported
// InceptionV3 when present in dir, else the MobileNetV2 there, else ""
// (the MobileNetV2 embedded in the binary).
func defaultBackbone(dir string) string {
	for _, m := range []string{"inception_v3", "mobilenet_v2"} {
		p := filepath.Join(dir, keras.BackboneFile(m))
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// minEvalImages is the fewest images per set FID/KID are computed from
// without --allow-small: below it their values are noise (FID is strongly
// biased even at hundreds of images).
const minEvalImages = 50

func readMatrix(path string) ([][]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m [][]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: want a JSON array of rows: %w", path, err)
	}
	return m, nil
}

func runEval(ctx context.Context, args []string) error {
	fs := newFlags("eval", "--real DIR --generated DIR [flags] | --miou --segmenter M --generated DIR --labels DIR | --affinity EST.json --affinity-truth TRUE.json; --report DIR renders HTML")
	real := fs.String("real", "", "folder of real images (.png, .jpg)")
	gen := fs.String("generated", "", "folder of generated images; DIR1,DIR2,... adds folders (e.g. other seeds) as sample-grid columns, the first is scored")
	bbPath := fs.String("backbone", "", "feature network checkpoint (default: weights/backbones/nsfwjs-inception_v3 if imported, else the embedded MobileNetV2)")
	modelsDir := fs.String("models", filepath.Join("weights", "backbones"), "folder searched for the default backbone")
	backendName := fs.String("backend", "", "cpu, gpu or auto (default: $CATSYNTH_BACKEND, else auto)")
	batch := fs.Int("batch", 8, "images per forward pass")
	subsets := fs.Int("kid-subsets", 100, "KID: number of random subsets")
	subsetSize := fs.Int("kid-size", 0, "KID: images per subset (0: min(1000, half the smaller set), so that subsets differ and the spread means something)")
	allowSmall := fs.Bool("allow-small", false, fmt.Sprintf("compute FID/KID from fewer than %d images per set (flagged in the report)", minEvalImages))
	seed := fs.Uint64("seed", 1, "KID: seed of the subset draws")
	noFID := fs.Bool("no-fid", false, "skip FID (it needs many images to mean much)")
	noKID := fs.Bool("no-kid", false, "with --no-fid: skip KID too, so the feature network does not run and --real only fills the report's sample grid (KID comes free whenever FID runs)")
	miou := fs.Bool("miou", false, "score generated images with --segmenter against the label maps in --labels (generated NAME.png vs label NAME.png)")
	segPath := fs.String("segmenter", "", "segmenter file for --miou (catsynth train seg; shipped in weights/segmenters/)")
	labels := fs.String("labels", "", "folder of label maps NAME.png (or a dataset folder with labels/ and classes.txt)")
	affEst := fs.String("affinity", "", "estimated affinity matrix (affinity JSON with class names, or a JSON array of T rows of S values summing to 1)")
	affTrue := fs.String("affinity-truth", "", "ground-truth affinity matrix (same shape)")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	reportDir := fs.String("report", "", "write an HTML report with PNG charts and sample grids to this folder")
	samples := fs.Int("samples", 6, "rows of the report's sample grid")
	model := fs.String("model", "", "score a model on held-out label maps instead (stripes, seed diversity): "+modelHelp)
	data := fs.String("data", "", "with --model: the held-out maps and their real images (default synth:source at the model's size)")
	n := fs.Int("n", 16, "with --model: label maps")
	seedsN := fs.Int("seeds", 4, "with --model: seeds per map")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model != "" {
		return evalModel(ctx, *model, *data, *backendName, *n, *seedsN, os.Stdout)
	}
	var genDirs []string
	if *gen != "" {
		genDirs = strings.Split(*gen, ",")
	}
	first := ""
	if len(genDirs) > 0 {
		first = genDirs[0]
	}
	images := *real != ""
	if images && first == "" {
		return fmt.Errorf("%w: --real needs --generated", errUsage)
	}
	if *miou && (first == "" || *segPath == "" || *labels == "") {
		return fmt.Errorf("%w: --miou needs --segmenter, --generated and --labels", errUsage)
	}
	if first != "" && !images && !*miou && *reportDir == "" {
		return fmt.Errorf("%w: --generated needs --real (FID/KID), --miou, or --report", errUsage)
	}
	if (*affEst == "") != (*affTrue == "") {
		return fmt.Errorf("%w: --affinity and --affinity-truth go together", errUsage)
	}
	if !images && !*miou && *affEst == "" && *reportDir == "" {
		fs.Usage()
		return fmt.Errorf("%w: nothing to evaluate", errUsage)
	}
	start := time.Now()
	rep := &eval.Report{Time: start.UTC()}
	res := &report.Results{Report: rep}
	var affMat *affinity.Matrix
	if *affEst != "" {
		est, m, named, err := readAffinity(*affEst)
		if err != nil {
			return err
		}
		truth, tm, tnamed, err := readAffinity(*affTrue)
		if err != nil {
			return err
		}
		if named && tnamed {
			// both name their classes: compare rows and columns by name
			if tm, err = tm.Reorder(m.Target, m.Source); err != nil {
				return fmt.Errorf("%s vs %s: %w", *affEst, *affTrue, err)
			}
			truth = tm.W
		}
		s, err := eval.ScoreAffinity(est, truth)
		if err != nil {
			return err
		}
		rep.Affinity = &s
		affMat = m
	}
	if images && !(*noFID && *noKID) {
		if *subsets < 1 || *subsetSize < 0 || *batch < 1 {
			return fmt.Errorf("%w: --kid-subsets and --batch must be at least 1, --kid-size not negative", errUsage)
		}
		if err := evalImages(ctx, rep, *real, first, *bbPath, *modelsDir, *backendName, *batch, !*noFID, *allowSmall,
			eval.KIDOptions{Subsets: *subsets, SubsetSize: *subsetSize, Seed: *seed}); err != nil {
			return err
		}
	}
	var segClasses []string
	if *miou {
		var err error
		if segClasses, err = evalMIoU(ctx, res, *segPath, first, *labels, *backendName, *batch); err != nil {
			return err
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	res.WriteTable(os.Stdout)
	if *jsonOut != "" {
		if err := res.WriteJSON(*jsonOut); err != nil {
			return err
		}
	}
	if *reportDir != "" {
		return writeReport(res, *reportDir, *labels, *real, genDirs, segClasses, *samples, affMat)
	}
	return nil
}

// readAffinity reads an affinity matrix: the affinity package's JSON (with
// class names, drawn with them in the report; named is true) or a bare
// array of rows (classes named t0.., s0..).
func readAffinity(path string) (rows [][]float64, m *affinity.Matrix, named bool, err error) {
	if m, _, err := affinity.ReadJSONFile(path); err == nil {
		return m.W, m, true, nil
	}
	if rows, err = readMatrix(path); err != nil {
		return nil, nil, false, err
	}
	if len(rows) == 0 {
		return nil, nil, false, fmt.Errorf("%s: empty matrix", path)
	}
	t, s := make([]string, len(rows)), make([]string, len(rows[0]))
	for i := range t {
		t[i] = fmt.Sprintf("t%d", i)
	}
	for j := range s {
		s[j] = fmt.Sprintf("s%d", j)
	}
	m = affinity.NewMatrix(t, s)
	for i, r := range rows {
		if len(r) != len(s) {
			return nil, nil, false, fmt.Errorf("%s: row %d has %d values, row 0 has %d", path, i, len(r), len(s))
		}
		copy(m.W[i], r)
	}
	return rows, m, false, nil
}

func evalImages(ctx context.Context, rep *eval.Report, real, gen, bbPath, modelsDir, backendName string, batch int, fid, allowSmall bool, ko eval.KIDOptions) error {
	var files [2][]string
	for i, dir := range []string{real, gen} {
		var err error
		if files[i], err = eval.ImageFiles(dir); err != nil {
			return err
		}
	}
	if n := min(len(files[0]), len(files[1])); n < minEvalImages {
		if !allowSmall {
			return fmt.Errorf("%w: FID/KID from %d real and %d generated images would mean nothing: they need at least %d images per set (--allow-small computes them anyway, flagged)",
				errUsage, len(files[0]), len(files[1]), minEvalImages)
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("only %d images per set (under %d): FID and KID are not meaningful", n, minEvalImages))
	}
	if bbPath == "" {
		bbPath = defaultBackbone(modelsDir)
	}
	dev, err := openDevice(backendName)
	if err != nil {
		return err
	}
	var net *backbone.Net
	if bbPath == "" {
		bbPath = "embedded:" + backbones.MobileNetV2File
		net, err = backbone.LoadBytes(dev, backbones.MobileNetV2, bbPath)
	} else {
		net, err = backbone.Load(dev, bbPath)
	}
	if err != nil {
		return err
	}
	defer net.Release()
	rep.FeatureNetwork, rep.FeatureSource = net.Spec.Name, net.Spec.Source
	rep.Backend = dev.Name()
	if fd := net.Layout.Shapes[net.Spec.Features]; len(fd) == 1 {
		rep.FeatureDim = fd[0]
	}
	fmt.Fprintf(os.Stderr, "feature network: %s (%s)\n", net.Spec.Name, bbPath)
	sets := map[string]eval.Features{}
	for i, s := range []struct{ key, dir string }{{"real", real}, {"generated", gen}} {
		paths := files[i]
		f, err := eval.ExtractFeatures(ctx, net, paths, eval.ExtractOptions{Batch: batch,
			Progress: countProgress(os.Stderr, s.key+" images", 0)})
		if err != nil {
			return err
		}
		sets[s.key] = f
	}
	rep.Real, rep.Generated = real, gen
	rep.NumReal, rep.NumGenerated = len(sets["real"]), len(sets["generated"])
	if ko.SubsetSize == 0 {
		ko.SubsetSize = max(2, min(1000, min(rep.NumReal, rep.NumGenerated)/2))
	}
	kid, err := eval.KID(sets["generated"], sets["real"], ko)
	if err != nil {
		return err
	}
	rep.KID = &kid
	if fid {
		v, err := eval.FID(sets["generated"], sets["real"])
		switch {
		case err == nil:
			rep.FID = &v
			if n := min(rep.NumReal, rep.NumGenerated); n < rep.FeatureDim {
				rep.Notes = append(rep.Notes, fmt.Sprintf("FID from %d images in %d dimensions is strongly biased: compare KID", n, rep.FeatureDim))
			}
		case errors.Is(err, context.Canceled):
			return err
		default:
			rep.Notes = append(rep.Notes, "FID skipped: "+err.Error())
		}
	}
	return nil
}

// evalMIoU scores the generated images in genDir against the label maps in
// labels with the segmenter at segPath and stores the result (and the
// segmenter's recorded held-out ceiling) in res. It returns the segmenter's
// class names.
func evalMIoU(ctx context.Context, res *report.Results, segPath, genDir, labels, backendName string, batch int) ([]string, error) {
	dev, err := openDevice(backendName)
	if err != nil {
		return nil, err
	}
	net, err := seg.Load(dev, segPath)
	if err != nil {
		return nil, err
	}
	defer net.Release()
	labelDir, classesFile := seg.LabelDir(labels)
	format := dataset.LabelFormat{NumClasses: net.Config.Classes}
	if classesFile != "" {
		if err := checkClassesFile(classesFile, net.ClassNames); err != nil {
			return nil, err
		}
	}
	files, err := eval.ImageFiles(genDir)
	if err != nil {
		return nil, err
	}
	pairs, err := seg.MatchPairs(files, labelDir)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "segmenter: %s (%d classes, %d px)\n", segPath, net.Config.Classes, net.Config.Size)
	cm, err := net.ScorePairs(ctx, pairs, seg.ScoreOptions{Format: format, Batch: batch,
		Progress: countProgress(os.Stderr, "mIoU images", 0)})
	if err != nil {
		return nil, err
	}
	r := cm.Score()
	r.Classes = net.ClassNames
	m := report.NewMIoU(r)
	m.Segmenter, m.Size = filepath.Base(segPath), net.Config.Size
	m.Generated, m.Labels, m.Images = genDir, labelDir, len(pairs)
	m.Tiles = int(r.Pixels+r.Ignored) / (net.Config.Size * net.Config.Size)
	m.Ceiling = net.HeldOut
	if net.Training != "" {
		var t struct {
			Data string `json:"data"`
		}
		if json.Unmarshal([]byte(net.Training), &t) == nil {
			m.SegmenterData = t.Data
		}
	}
	res.MIoU = m
	if res.Backend == "" {
		res.Backend = dev.Name()
	}
	return net.ClassNames, nil
}

// checkClassesFile fails when a labels folder's classes.txt names other
// classes than the segmenter: the label indices would mean other things.
func checkClassesFile(path string, names []string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cs, _, err := dataset.ParseClasses(f, path)
	if err != nil {
		return err
	}
	if got := dataset.ClassNames(cs); !slices.Equal(got, names) {
		return fmt.Errorf("%s lists %d classes (%s...), the segmenter has %d (%s...): label indices would not match",
			path, len(got), strings.Join(got[:min(3, len(got))], ", "), len(names), strings.Join(names[:min(3, len(names))], ", "))
	}
	return nil
}

// writeReport renders res as an HTML page with PNGs in dir, with a sample
// grid of up to n names from the first generated folder.
func writeReport(res *report.Results, dir, labels, real string, genDirs, classes []string, n int, aff *affinity.Matrix) error {
	p := report.Page{Affinity: aff}
	if len(genDirs) > 0 && n > 0 {
		names, err := report.SampleNames(genDirs[0], n)
		if err != nil {
			return err
		}
		src := report.SampleSources{RealDir: real, GeneratedDirs: genDirs}
		if labels != "" {
			labelDir, classesFile := seg.LabelDir(labels)
			if classes == nil {
				if classesFile == "" {
					return fmt.Errorf("%w: --report with --labels needs --segmenter or a classes.txt to know the classes", errUsage)
				}
				f, err := os.Open(classesFile)
				if err != nil {
					return err
				}
				cs, _, err := dataset.ParseClasses(f, classesFile)
				f.Close()
				if err != nil {
					return err
				}
				classes = dataset.ClassNames(cs)
			}
			src.LabelDir, src.Format = labelDir, dataset.LabelFormat{NumClasses: len(classes)}
			p.Classes = report.ClassColors(classes, classesFile)
			if src.RealDir == "" {
				if st, err := os.Stat(filepath.Join(labels, "images")); err == nil && st.IsDir() {
					src.RealDir = filepath.Join(labels, "images")
				}
			}
		}
		if p.Samples, p.SeedNames, err = report.LoadSamples(names, src); err != nil {
			return err
		}
	}
	files, err := report.Write(dir, res, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "report: %s (%s)\n", filepath.Join(dir, report.FileHTML), strings.Join(files, ", "))
	return nil
}
