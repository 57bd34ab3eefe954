package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"catsynth/app"
	"catsynth/dataset"
	"catsynth/models"
	"catsynth/weights/backbones"
	"catsynth/weights/ganmodels"
	"catsynth/weights/glove"
	"catsynth/weights/segmenters"
)

// The few-shot transfer panel's state: the target set, the affinity
// matrix A and a finetuning run: of A alone (light: the session's, as the
// page runs it) or the full transfer of the CLI (generator and
// discriminator, app.TransferRun).
type transferState struct {
	target  app.TargetInfo
	matrix  *app.MatrixInfo
	heat    *image.RGBA // A as a T x S heatmap
	losses  []float64
	sample  *image.RGBA // the last finetuning preview
	running bool
	step    app.Progress
	cancel  context.CancelFunc
	steps   int  // finetuning steps per run
	full    bool // the next run is the full transfer

	// The full transfer: the run (used on the worker only), the step it
	// is to reach and the step it has reached; tuned says the session
	// now paints with the run's adapted model.
	run       *app.TransferRun
	runs      int // runs made so far, which names their files
	goal      int
	done      int
	tuned     bool
	modelPath string // the run's adapted model file (its state beside it)
}

// previewEvery is how often (steps) a full transfer run makes a sample
// preview.
const previewEvery = 5

var estimateMethods = [4]string{app.MethodText, app.MethodVision, app.MethodSeg, app.MethodCombined}

// readTargetFolder reads a folder of the folder format (classes.txt,
// images/, labels/) into files for the session.
func readTargetFolder(dir string) ([]app.File, error) {
	if _, err := os.Stat(filepath.Join(dir, "classes.txt")); err != nil {
		return nil, fmt.Errorf("%s has no classes.txt (one class name per line, as `catsynth data` writes it)", dir)
	}
	var files []app.File
	for _, sub := range []string{"", "images", "labels"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			if sub == "" {
				return nil, err
			}
			continue
		}
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			name := filepath.ToSlash(filepath.Join(sub, e.Name()))
			data, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				return nil, err
			}
			files = append(files, app.File{Name: name, Data: data})
		}
	}
	return files, nil
}

// isDatasetSpec reports whether a target path is for package dataset:
// an ADE20K, Cityscapes or COCO-Stuff folder (recognised by its layout)
// or a spec with its kind ("cityscapes:PATH:val", "synth:coast").
func isDatasetSpec(spec string) bool {
	kind, _, ok := strings.Cut(spec, ":")
	return (ok && len(kind) > 1) || dataset.DetectLayout(spec) != ""
}

// OpenTarget reads a target set into the session: a folder of the folder
// format, or a dataset as `catsynth transfer --target` takes it.
func (u *UI) OpenTarget(dir string) {
	u.setStatus("reading the target set %s ...", dir)
	u.w.Do(func(s *app.Session) {
		s.ClearTarget()
		var info app.TargetInfo
		var err error
		if isDatasetSpec(dir) {
			var ds dataset.Dataset
			if ds, err = dataset.Open(dir); err == nil {
				info, err = s.SetTargetDataset(ds)
			}
		} else {
			var files []app.File
			if files, err = readTargetFolder(dir); err == nil {
				info, err = s.AddTargetFiles(files)
			}
		}
		if err == nil && info.Added == 0 {
			msg := "no image with its label map"
			if len(info.Messages) > 0 {
				msg = info.Messages[0].File + ": " + info.Messages[0].Error
			}
			err = fmt.Errorf("%s holds no usable pair (%s)", dir, msg)
		}
		u.post(func() {
			if err != nil {
				u.setStatus("cannot use the target set: %v", err)
				return
			}
			u.tr.target, u.tr.matrix, u.tr.heat = info, nil, nil
			u.dropRun()
			u.showTransfer = true
			u.setStatus("target %s: %d pairs, %d classes (%d files skipped)", dir, len(info.Pairs), len(info.Classes), len(info.Messages))
		})
	})
}

// ensureAssets loads what the estimator of method needs from the
// embedded weights (the model's prototypes from beside its file).
func (u *UI) ensureAssets(s *app.Session, method, modelRef string) error {
	need := map[string]bool{
		app.KindGlove:      method == app.MethodText || method == app.MethodCombined,
		app.KindBackbone:   method == app.MethodVision || method == app.MethodCombined,
		app.KindPrototypes: method == app.MethodVision || method == app.MethodCombined,
		app.KindSegmenter:  method == app.MethodSeg || method == app.MethodCombined,
	}
	for kind, want := range need {
		if !want || (s.HasAsset(kind) && kind != app.KindPrototypes) {
			continue
		}
		var data []byte
		var name string
		var err error
		switch kind {
		case app.KindGlove:
			data, name = glove.Table, glove.File
		case app.KindBackbone:
			data, name = backbones.MobileNetV2, backbones.MobileNetV2File
		case app.KindSegmenter:
			data, name = segmenters.Source, segmenters.SourceFile
		case app.KindPrototypes:
			if n, ok := strings.CutPrefix(modelRef, "embedded:"); ok || modelRef == "" {
				if modelRef == "" {
					n, _, _ = ganmodels.Default()
				}
				data, err = ganmodels.Prototypes(n)
				name = n + ganmodels.PrototypesExt
			} else {
				name = strings.TrimSuffix(strings.TrimSuffix(modelRef, ".zst"), ".safetensors") + ganmodels.PrototypesExt
				data, err = os.ReadFile(name)
			}
		}
		if err != nil {
			if method == app.MethodCombined {
				continue // combined uses what it has and warns
			}
			return fmt.Errorf("the %s estimate needs %s: %w", method, name, err)
		}
		if err := s.LoadAsset(kind, data, name); err != nil {
			return err
		}
	}
	return nil
}

// EstimateA estimates the affinity matrix with one method.
func (u *UI) EstimateA(method string) {
	ref := u.modelRef
	u.setStatus("estimating A (%s) ...", method)
	u.w.Do(func(s *app.Session) {
		err := u.ensureAssets(s, method, ref)
		var m app.MatrixInfo
		if err == nil {
			m, err = s.Estimate(method)
		}
		u.post(func() {
			if err != nil {
				u.setStatus("cannot estimate A (%s): %v", method, err)
				return
			}
			u.setMatrix(m)
			u.setStatus("A estimated (%s)%s", method, warnings(m))
		})
	})
}

func warnings(m app.MatrixInfo) string {
	if len(m.Warnings) == 0 {
		return ""
	}
	return ": " + strings.Join(m.Warnings, "; ")
}

// setMatrix shows a new A; a full run made with the old one is not
// resumed.
func (u *UI) setMatrix(m app.MatrixInfo) {
	u.tr.matrix = &m
	u.tr.heat = heatmap(m)
	u.dropRun()
}

// dropRun forgets the full transfer run (its files stay until the app
// closes).
func (u *UI) dropRun() {
	u.tr.run, u.tr.goal, u.tr.done, u.tr.modelPath = nil, 0, 0, ""
}

// heatmap draws A: one row per target class, one column per source
// class, white (0) to dark blue (the row's largest weight).
func heatmap(m app.MatrixInfo) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, len(m.Source), len(m.Target)))
	for t, row := range m.W {
		top := 0.0
		for _, v := range row {
			top = max(top, v)
		}
		for s, v := range row {
			f := 0.0
			if top > 0 {
				f = v / top
			}
			img.Set(s, t, color.RGBA{uint8(255 - 225*f), uint8(255 - 190*f), uint8(255 - 90*f), 255})
		}
	}
	return img
}

// EditRow sets target class t's row of A to source class s alone (a
// click on the heatmap).
func (u *UI) EditRow(t, s int) {
	m := u.tr.matrix
	if m == nil || t < 0 || s < 0 || t >= len(m.Target) || s >= len(m.Source) {
		return
	}
	rows := make([][]float64, len(m.W))
	for i := range m.W {
		rows[i] = append([]float64(nil), m.W[i]...)
	}
	for j := range rows[t] {
		rows[t][j] = 0
	}
	rows[t][s] = 1
	u.w.Do(func(sess *app.Session) {
		mi, err := sess.SetAffinity(rows, "edited")
		u.post(func() {
			if err != nil {
				u.setStatus("cannot edit A: %v", err)
				return
			}
			u.setMatrix(mi)
			u.setStatus("A: %s now reads as %s", mi.Target[t], mi.Source[s])
		})
	})
}

// Finetune finetunes A on the target set with progress, the loss curve
// and sample previews; StopFinetune ends it after the current step. A
// second run resumes from the A the first one left.
func (u *UI) Finetune() {
	if u.tr.running {
		return
	}
	if u.tr.full {
		u.fullTransfer()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.tr.running, u.tr.cancel, u.tr.losses = true, cancel, nil
	steps := u.tr.steps
	u.w.Do(func(s *app.Session) {
		res, err := s.Finetune(ctx, app.FinetuneConfig{Steps: steps}, func(p app.Progress) {
			u.post(func() {
				u.tr.step = p
				u.tr.losses = append(u.tr.losses, p.Loss)
				if p.Preview != nil {
					u.tr.sample = p.Preview
				}
			})
		})
		info := s.Info()
		ex, _ := s.Examples(6)
		restyle := s.CanRestyle()
		u.post(func() {
			u.tr.running = false
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				u.setStatus("finetuning failed: %v", err)
				return
			}
			if len(res.Matrix.W) > 0 {
				u.setMatrix(res.Matrix)
			}
			u.modelLoaded(info, ex, restyle)
			how := "finished"
			if res.Stopped || err != nil {
				how = "stopped"
			}
			u.setStatus("finetuning %s after %d steps: loss %.4f -> %.4f, %.0f ms/step; painting in the target classes now",
				how, len(res.Losses), res.LossBefore, res.LossAfter, res.MsPerStep)
		})
	})
}

// StopFinetune stops a finetuning run after its current step.
func (u *UI) StopFinetune() {
	if u.tr.cancel != nil {
		u.tr.cancel()
	}
}

// SaveAdapted writes the adapted model: after a full transfer the run's
// model file and its transfer state beside path (so `catsynth transfer
// --resume --out path` continues it), else the session's (generator, A,
// target classes).
func (u *UI) SaveAdapted(path string) {
	if u.tr.tuned && u.tr.modelPath != "" {
		u.saveRun(u.tr.modelPath, path)
		return
	}
	u.w.Do(func(s *app.Session) {
		data, err := s.SaveAdapted()
		if err == nil {
			err = models.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(data); return err })
		}
		u.post(func() {
			if err != nil {
				u.setStatus("cannot save the adapted model: %v", err)
				return
			}
			u.setStatus("saved the adapted model to %s (open it like any model)", path)
		})
	})
}
