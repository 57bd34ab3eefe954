package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"catsynth/eval"
	"catsynth/eval/backbone"
	"catsynth/eval/keras"
)

func init() {
	register(command{
		name:    "eval",
		summary: "FID/KID between image folders (feature network named), affinity accuracy",
		run:     runEval,
	})
}

// defaultBackbone picks the feature network for FID/KID: the imported
// InceptionV3 when present, else the MobileNetV2 shipped in the repository.
func defaultBackbone(dir string) (string, error) {
	for _, m := range []string{"inception_v3", "mobilenet_v2"} {
		p := filepath.Join(dir, keras.BackboneFile(m))
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no backbone in %s: run 'catsynth import tfjs' (or pass --backbone FILE)", dir)
}

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
	fs := newFlags("eval", "--real DIR --generated DIR [flags] | --affinity EST.json --affinity-truth TRUE.json")
	real := fs.String("real", "", "folder of real images (.png, .jpg)")
	gen := fs.String("generated", "", "folder of generated images")
	bbPath := fs.String("backbone", "", "feature network checkpoint (default: models/backbones/nsfwjs-inception_v3 if imported, else nsfwjs-mobilenet_v2)")
	modelsDir := fs.String("models", filepath.Join("models", "backbones"), "folder searched for the default backbone")
	backendName := fs.String("backend", "", "cpu, gpu or auto (default: $CATSYNTH_BACKEND, else auto)")
	batch := fs.Int("batch", 8, "images per forward pass")
	subsets := fs.Int("kid-subsets", 100, "KID: number of random subsets")
	subsetSize := fs.Int("kid-size", 0, "KID: images per subset (0: min(1000, both sets))")
	seed := fs.Uint64("seed", 1, "KID: seed of the subset draws")
	noFID := fs.Bool("no-fid", false, "skip FID (it needs many images to mean much)")
	affEst := fs.String("affinity", "", "estimated affinity matrix (JSON, T rows of S values summing to 1)")
	affTrue := fs.String("affinity-truth", "", "ground-truth affinity matrix (same shape)")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	images := *real != "" || *gen != ""
	if images && (*real == "" || *gen == "") {
		return fmt.Errorf("%w: --real and --generated go together", errUsage)
	}
	if (*affEst == "") != (*affTrue == "") {
		return fmt.Errorf("%w: --affinity and --affinity-truth go together", errUsage)
	}
	if !images && *affEst == "" {
		fs.Usage()
		return fmt.Errorf("%w: nothing to evaluate", errUsage)
	}
	start := time.Now()
	rep := &eval.Report{Time: start.UTC()}
	if *affEst != "" {
		est, err := readMatrix(*affEst)
		if err != nil {
			return err
		}
		truth, err := readMatrix(*affTrue)
		if err != nil {
			return err
		}
		s, err := eval.ScoreAffinity(est, truth)
		if err != nil {
			return err
		}
		rep.Affinity = &s
	}
	if images {
		if err := evalImages(ctx, rep, *real, *gen, *bbPath, *modelsDir, *backendName, *batch, !*noFID,
			eval.KIDOptions{Subsets: *subsets, SubsetSize: *subsetSize, Seed: *seed}); err != nil {
			return err
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.WriteTable(os.Stdout)
	if *jsonOut != "" {
		return rep.WriteJSON(*jsonOut)
	}
	return nil
}

func evalImages(ctx context.Context, rep *eval.Report, real, gen, bbPath, modelsDir, backendName string, batch int, fid bool, ko eval.KIDOptions) error {
	if bbPath == "" {
		var err error
		if bbPath, err = defaultBackbone(modelsDir); err != nil {
			return err
		}
	}
	dev, err := openDevice(backendName)
	if err != nil {
		return err
	}
	net, err := backbone.Load(dev, bbPath)
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
	for _, s := range []struct{ key, dir string }{{"real", real}, {"generated", gen}} {
		paths, err := eval.ImageFiles(s.dir)
		if err != nil {
			return err
		}
		f, err := eval.ExtractFeatures(ctx, net, paths, eval.ExtractOptions{Batch: batch, Progress: func(done, total int) {
			fmt.Fprintf(os.Stderr, "\r%s: %d/%d images", s.key, done, total)
		}})
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return err
		}
		sets[s.key] = f
	}
	rep.Real, rep.Generated = real, gen
	rep.NumReal, rep.NumGenerated = len(sets["real"]), len(sets["generated"])
	if ko.SubsetSize == 0 {
		ko.SubsetSize = min(1000, rep.NumReal, rep.NumGenerated)
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
