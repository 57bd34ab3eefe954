package main

import (
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"catsynth/affinity"
	"catsynth/dataset"
	"catsynth/internal/torchpeer"
	"catsynth/models"
	"catsynth/models/gan"
	"catsynth/nn"
	"catsynth/nn/cpu"
	"catsynth/transfer"
)

// TestTorchTrainer runs the PyTorch trainer (python/catsynth_train) on CPU
// with the tiny preset for a few steps, in one process and in two (torchrun,
// gloo, bf16 autocast), and checks that catsynth takes its files as its own: the model
// file loads through models.Load with exactly the Go generator's names and
// shapes and computes torch's image for torch's label map and noise; the
// state opens as a source, resumes in the Go trainer (every netG/netD/netEMA
// and Adam moment name) and trains a Go step; the trainer resumes its own
// state; `catsynth transfer` and `catsynth affinity --method seg` run from it.
// Skipped where no Python has torch, numpy and PIL.
func TestTorchTrainer(t *testing.T) {
	py := torchpeer.PythonWith(t, "PIL")
	script, err := filepath.Abs("../../python/catsynth_train/train_gan.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := dataSynth(context.Background(), []string{"--domain", "source", "--n", "6", "--size", "32", "--out", data}, io.Discard); err != nil {
		t.Fatal(err)
	}
	// torch 1.13's torchrun on Python 3.11 cannot parse redirect setting 0
	// (an IntFlag change): --redirects 1 --tee 1 keeps stdout on the console.
	torchrun := []string{"-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "--redirects", "1", "--tee", "1", "--log_dir", filepath.Join(dir, "torchrun")}
	cases := []struct {
		name     string
		launch   []string
		extra    []string
		tol      float64 // Go image vs torch image, max abs
		optional bool    // skipped when the launcher is missing
		short    bool    // the first parity check only (no resume, transfer or affinity)
	}{
		{name: "one-process", launch: nil, tol: 1e-4},
		// two processes, bf16 autocast, an f16 model file
		{name: "torchrun-2-bf16-f16", launch: torchrun, extra: []string{"--amp", "bf16", "--f16"}, tol: 5e-3, optional: true},
		// reflect padding in every 3x3 conv, SPADE's included: torch's
		// padding_mode and nn.PadEdges must fill the border alike
		{name: "reflect-spade", extra: []string{"--padding", "reflect", "--norm", "spade"}, tol: 1e-4, short: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.optional {
				if err := exec.Command(py, "-m", "torch.distributed.run", "--help").Run(); err != nil {
					t.Skipf("%s has no torch.distributed.run: %v", py, err)
				}
			}
			out := filepath.Join(dir, tc.name, "m.safetensors")
			check := filepath.Join(dir, tc.name, "check.safetensors")
			train := func(steps int, more ...string) string {
				args := append(append([]string{}, tc.launch...), script, "--data", data, "--preset", "tiny", "--steps", fmt.Sprint(steps),
					"--batch", "2", "--out", out, "--device", "cpu", "--workers", "0", "--log-every", "1", "--seed", "7", "--check-out", check)
				// A run takes seconds; a hung one (the trainer's own teardown
				// watchdog should prevent it) fails here instead of eating the
				// suite's timeout.
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, py, append(append(args, tc.extra...), more...)...)
				cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OMP_WAIT_POLICY=passive")
				res, err := cmd.CombinedOutput()
				if ctx.Err() != nil {
					t.Fatalf("%s: still running after 5 minutes (killed)\n%s", strings.Join(cmd.Args, " "), res)
				}
				if err != nil {
					t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, res)
				}
				t.Logf("%s", res)
				return string(res)
			}
			res := train(2)
			if tc.launch != nil && !strings.Contains(res, "weights identical on all 2 processes") {
				t.Errorf("no sign that the 2 processes stayed in sync:\n%s", res)
			}
			checkTorchModel(t, out, check, 2, tc.tol)
			checkTorchState(t, transfer.StatePath(out), check, 2)
			if tc.optional || tc.short {
				return
			}
			if res := train(3, "--resume"); !strings.Contains(res, "resuming") || !strings.Contains(res, "step 3/3") {
				t.Errorf("resume did not continue at step 3:\n%s", res)
			}
			checkTorchModel(t, out, check, 3, tc.tol)
			checkTorchState(t, transfer.StatePath(out), check, 3)

			tout := filepath.Join(dir, "transfer", "coast.safetensors")
			if se, err := runTr(t, "--source", out, "--target", "synth:coast:n=4,size=32", "--steps", "1", "--out", tout); err != nil {
				t.Fatalf("transfer from the torch-trained source: %v\n%s", err, se)
			}
			if _, err := gan.LoadGenerator(nn.NewDevice(cpu.New()), tout); err != nil {
				t.Errorf("transferred model: %v", err)
			}
			aout := filepath.Join(dir, "A.json")
			if _, se, err := runAff(t, "--source", out, "--target", "synth:coast:n=2,size=32", "--method", "seg", "--backend", "cpu", "--out", aout); err != nil {
				t.Fatalf("affinity --method seg: %v\n%s", err, se)
			}
			A, _, err := affinity.ReadJSONFile(aout)
			if err != nil {
				t.Fatal(err)
			}
			if A.Meta["method"] != "seg" {
				t.Errorf("affinity method %q, want seg (the torch-trained discriminator)", A.Meta["method"])
			}
		})
	}
}

// checkTorchModel loads the torch trainer's model file as catsynth does and
// compares the Go generator's image with the one torch wrote to check.
func checkTorchModel(t *testing.T, path, check string, step int, tol float64) {
	t.Helper()
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if k := ck.Metadata[models.MetaKind]; k != gan.KindGenerator {
		t.Errorf("%s: kind %q, want %q", path, k, gan.KindGenerator)
	}
	if s := ck.Metadata[models.MetaStep]; s != fmt.Sprint(step) {
		t.Errorf("%s: step %q, want %d", path, s, step)
	}
	dev := nn.NewDevice(cpu.New())
	m, err := models.Load(dev, path)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := m.Net.(*gan.Generator)
	if !ok {
		t.Fatalf("%s loads as %T, want *gan.Generator", path, m.Net)
	}
	defer g.Release()
	// the names and shapes of a Go generator of the same config, exactly
	fresh, err := gan.NewGenerator(dev, g.Config, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Release()
	want := map[string]string{}
	for _, p := range fresh.Params().All() {
		want[p.Name] = fmt.Sprint(p.T.Shape())
	}
	got := map[string]string{}
	for _, st := range ck.File.Tensors {
		got[st.Name] = fmt.Sprint(normalShape(st.Shape))
	}
	if d := diffNames(want, got); d != "" {
		t.Errorf("%s: names and shapes differ from the Go generator's:\n%s", path, d)
	}
	ref, err := nn.ReadCheckpoint(check)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) ([]float32, []int) {
		st, ok := ref.File.Get(name)
		if !ok {
			t.Fatalf("%s has no %q", check, name)
		}
		return st.Data, st.Shape
	}
	oh, ohShape := get("onehot")
	img, _ := get("image")
	z, zShape := get("z")
	var out []float32
	dev.NoGrad(func() {
		out, err = g.Forward(dev.FromData(oh, ohShape...), dev.FromData(z, zShape...)).Data()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(img) {
		t.Fatalf("Go image has %d values, torch's %d", len(out), len(img))
	}
	var diff, mean float64
	for i := range out {
		diff = math.Max(diff, math.Abs(float64(out[i]-img[i])))
		mean += math.Abs(float64(img[i]))
	}
	t.Logf("%s: %d tensors, image %v, mean |x| %.3f, Go vs torch max abs diff %.3g", filepath.Base(path), len(ck.File.Tensors), ohShape, mean/float64(len(img)), diff)
	if diff > tol || math.IsNaN(diff) {
		t.Errorf("Go and torch images differ by %g (tolerance %g)", diff, tol)
	}
}

// checkTorchState opens the torch trainer's state as a transfer source,
// compares its discriminator's logits and N+1 loss on real images with
// torch's (check), resumes the Go trainer from it, takes one Go step, and
// compares the tensor names of a state the Go trainer writes with the
// torch one's.
func checkTorchState(t *testing.T, path, check string, step int) {
	t.Helper()
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := models.OpenSource(ck)
	if err != nil {
		t.Fatal(err)
	}
	if src.Steps() != step || len(src.Classes()) != 23 {
		t.Errorf("source: step %d, %d classes; want %d and 23", src.Steps(), len(src.Classes()), step)
	}
	dev := nn.NewDevice(cpu.New())
	checkTorchDiscriminator(t, dev, src, check)
	tr, trace, err := gan.ResumeTrainer(dev, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	if len(trace) != step {
		t.Errorf("loss trace of %d steps, want %d", len(trace), step)
	}
	goState := filepath.Join(t.TempDir(), "go.state.safetensors")
	if err := tr.SaveState(goState, trace); err != nil {
		t.Fatal(err)
	}
	gk, err := nn.ReadCheckpoint(goState)
	if err != nil {
		t.Fatal(err)
	}
	names := func(c *nn.Checkpoint) map[string]string {
		m := map[string]string{}
		for _, st := range c.File.Tensors {
			m[st.Name] = fmt.Sprint(normalShape(st.Shape))
		}
		return m
	}
	if d := diffNames(names(gk), names(ck)); d != "" {
		t.Errorf("%s: tensors differ from a Go trainer's state:\n%s", path, d)
	}
	h, w := tr.G.Config.H, tr.G.Config.W
	lab := make([]int32, 2*h*w)
	for i := range lab {
		lab[i] = int32((i % w) * 23 / w)
	}
	l, err := tr.Step(models.Batch{N: 2, H: h, W: w, Labels: lab, Images: make([]float32, 2*3*h*w)})
	if err != nil {
		t.Fatalf("a Go step after resuming the torch state: %v", err)
	}
	if tr.Steps != step+1 {
		t.Errorf("Go trainer at step %d after one step from %d", tr.Steps, step)
	}
	t.Logf("Go step %d from the torch state: %v", tr.Steps, l)
}

// checkTorchDiscriminator runs the source's discriminator (eval mode) on
// the real images torch ran its own on, and compares logits and the
// class-balanced N+1 loss of their labels.
func checkTorchDiscriminator(t *testing.T, dev *nn.Device, src models.Source, check string) {
	t.Helper()
	gs, ok := src.(*gan.Source)
	if !ok {
		t.Fatalf("source is %T, want *gan.Source", src)
	}
	d, err := gs.LoadDiscriminator(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	ref, err := nn.ReadCheckpoint(check)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) ([]float32, []int) {
		st, ok := ref.File.Get(name)
		if !ok {
			t.Fatalf("%s has no %q", check, name)
		}
		return st.Data, st.Shape
	}
	real, rs := get("real")
	labF, ls := get("labels")
	want, _ := get("d_logits")
	wantLoss, _ := get("d_loss")
	labels := make([]int32, len(labF))
	for i, v := range labF {
		labels[i] = int32(v)
	}
	weights, err := models.ClassBalance(labels, d.Config.NumClasses)
	if err != nil {
		t.Fatal(err)
	}
	var logits []float32
	var loss float32
	dev.NoGrad(func() {
		lg := d.Forward(dev.FromData(real, rs...))
		l := gan.AdvLoss(lg, dev.FromData(gan.N1Targets(labels, true), ls...), dev.FromData(weights, ls...))
		logits, err = lg.Data()
		if err == nil {
			var v []float32
			v, err = l.Data()
			loss = v[0]
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(logits) != len(want) {
		t.Fatalf("Go logits %d values, torch %d", len(logits), len(want))
	}
	var diff float64
	for i := range want {
		diff = math.Max(diff, math.Abs(float64(logits[i]-want[i])))
	}
	t.Logf("discriminator on %v: Go vs torch logits max abs diff %.3g, N+1 loss Go %.6f torch %.6f", rs, diff, loss, wantLoss[0])
	if diff > 1e-4 || math.IsNaN(diff) {
		t.Errorf("Go and torch discriminator logits differ by %g (tolerance 1e-4)", diff)
	}
	if rel := math.Abs(float64(loss-wantLoss[0])) / math.Max(math.Abs(float64(wantLoss[0])), 1e-6); rel > 1e-5 || math.IsNaN(rel) {
		t.Errorf("class-balanced N+1 loss: Go %g, torch %g", loss, wantLoss[0])
	}
}

// normalShape is a tensor shape with scalars as [] (torch writes
// num_batches_tracked as a 0-d tensor, so does catsynth).
func normalShape(s []int) []int {
	if len(s) == 0 {
		return []int{}
	}
	return s
}

// diffNames lists the names missing from got, unknown in it, and shape
// mismatches; "" when they agree.
func diffNames(want, got map[string]string) string {
	var lines []string
	for n, s := range want {
		if g, ok := got[n]; !ok {
			lines = append(lines, "missing "+n+" "+s)
		} else if g != s {
			lines = append(lines, fmt.Sprintf("%s: %s, want %s", n, g, s))
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			lines = append(lines, "unknown "+n)
		}
	}
	sort.Strings(lines)
	if len(lines) > 20 {
		lines = append(lines[:20], fmt.Sprintf("... %d more", len(lines)-20))
	}
	return strings.Join(lines, "\n")
}

// TestTorchTrainerInputs: the PyTorch trainer reads the ADE20K layout with
// catsynth's class names (its ade20k_classes.txt must match package
// dataset), and refuses bad input naming the file, without touching what
// is already saved.
func TestTorchTrainerInputs(t *testing.T) {
	py := torchpeer.PythonWith(t, "PIL")
	script, err := filepath.Abs("../../python/catsynth_train/train_gan.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// an ADE20K-style root: images/training/*.jpg, annotations/training/*.png (0 unlabelled, 1..150)
	ade := filepath.Join(dir, "ade")
	for i := range 2 {
		img := image.NewRGBA(image.Rect(0, 0, 40, 32))
		lab := image.NewGray(image.Rect(0, 0, 40, 32))
		for p := range 40 * 32 {
			img.Pix[4*p], img.Pix[4*p+1], img.Pix[4*p+3] = uint8(p), uint8(50*i), 255
			lab.Pix[p] = uint8((p/7 + i) % 151)
		}
		writeImage(t, filepath.Join(ade, "images", "training", fmt.Sprintf("ADE_train_%d.jpg", i)), img)
		writeImage(t, filepath.Join(ade, "annotations", "training", fmt.Sprintf("ADE_train_%d.png", i)), lab)
	}
	// a folder whose second label map holds a class beyond classes.txt
	bad := writeFolder(t, filepath.Join(dir, "bad"), []string{"a", "b"}, 1)
	badLab := image.NewGray(image.Rect(0, 0, 16, 16))
	badLab.Pix[3*16+5] = 7
	writeImage(t, filepath.Join(bad, "labels", "x1.png"), badLab)
	existing := filepath.Join(dir, "kept.safetensors")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(py, append([]string{script, "--device", "cpu", "--workers", "0", "--steps", "1", "--batch", "2"}, args...)...)
		cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OMP_WAIT_POLICY=passive")
		res, err := cmd.CombinedOutput()
		return string(res), err
	}

	// the runs are mostly PyTorch starting up: side by side they take half the time
	t.Run("group", func(t *testing.T) {
		t.Run("ade20k", func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(dir, "ade.safetensors")
			if res, err := run("--data", "ade20k:"+ade, "--preset", "tiny", "--size", "16", "--out", out); err != nil {
				t.Fatalf("ADE20K layout: %v\n%s", err, res)
			}
			ds, err := dataset.OpenADE20K(ade, "")
			if err != nil {
				t.Fatal(err)
			}
			ck, err := nn.ReadCheckpoint(out)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, c := range ds.Classes() {
				want = append(want, c.Name)
			}
			if strings.Join(ck.ClassNames, "|") != strings.Join(want, "|") {
				t.Errorf("ADE20K class names of the torch model differ from package dataset's:\n%v\n%v", ck.ClassNames, want)
			}

		})
		for _, tc := range []struct {
			name string
			args []string
			want []string // in the error output
		}{
			{"label beyond the classes (in a loader process)", []string{"--data", bad, "--preset", "tiny", "--size", "16", "--workers", "1", "--out", filepath.Join(dir, "b.safetensors")},
				[]string{"x1.png", "pixel (5,3)", "label 7", "2 classes"}},
			{"no classes.txt", []string{"--data", filepath.Join(dir, "ade"), "--out", filepath.Join(dir, "c.safetensors")},
				[]string{"classes.txt"}},
			{"images smaller than the model", []string{"--data", bad, "--preset", "tiny", "--out", filepath.Join(dir, "d.safetensors")},
				[]string{"16x16", "smaller", "32x32"}},
			{"existing model without --resume", []string{"--data", bad, "--preset", "tiny", "--size", "16", "--out", existing},
				[]string{"kept.safetensors exists", "--resume"}},
			{"resume without a state", []string{"--data", bad, "--preset", "tiny", "--size", "16", "--out", existing, "--resume"},
				[]string{"kept.state.safetensors.zst"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				res, err := run(tc.args...)
				if err == nil {
					t.Fatalf("no error\n%s", res)
				}
				for _, w := range tc.want {
					if !strings.Contains(res, w) {
						t.Errorf("error lacks %q:\n%s", w, res)
					}
				}
				if strings.Contains(res, "Traceback") {
					t.Errorf("a traceback instead of a message:\n%s", res)
				}
				t.Logf("%s", strings.TrimSpace(res))
			})
		}
	})
	if b, err := os.ReadFile(existing); err != nil || string(b) != "keep me" {
		t.Errorf("the existing file was touched: %q, %v", b, err)
	}
}

// writeImage encodes img as PNG, or JPEG for a .jpg name, creating folders.
func writeImage(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	} else {
		err = png.Encode(f, img)
	}
	if err != nil {
		t.Fatal(err)
	}
}
