package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"catsynth/affinity"
	"catsynth/internal/torchpeer"
	"catsynth/models"
	"catsynth/models/gan"
	"catsynth/nn"
	"catsynth/nn/cpu"
	"catsynth/transfer"
)

// TestTorchTrainer runs the PyTorch trainer (python/catsynth_train) on CPU
// with the tiny preset for a few steps, in one process and in two (torchrun,
// gloo), and checks that catsynth takes its files as its own: the model
// file loads through models.Load with exactly the Go generator's names and
// shapes and computes torch's image for torch's label map and noise; the
// state opens as a source, resumes in the Go trainer (every netG/netD/netEMA
// and Adam moment name) and trains a Go step; the trainer resumes its own
// state; `catsynth transfer` and `catsynth affinity --method seg` run from it.
// Skipped where no Python has torch.
func TestTorchTrainer(t *testing.T) {
	py := torchpeer.Python(t)
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
	}{
		{name: "one-process", launch: nil, tol: 1e-4},
		{name: "torchrun-2-f16", launch: torchrun, extra: []string{"--f16"}, tol: 5e-3, optional: true},
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
				cmd := exec.Command(py, append(append(args, tc.extra...), more...)...)
				cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OMP_WAIT_POLICY=passive")
				res, err := cmd.CombinedOutput()
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
			checkTorchState(t, transfer.StatePath(out), 2)
			if tc.optional {
				return
			}
			if res := train(3, "--resume"); !strings.Contains(res, "resuming") || !strings.Contains(res, "step 3/3") {
				t.Errorf("resume did not continue at step 3:\n%s", res)
			}
			checkTorchModel(t, out, check, 3, tc.tol)
			checkTorchState(t, transfer.StatePath(out), 3)

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
// resumes the Go trainer from it, takes one Go step, and compares the
// tensor names of a state the Go trainer writes with the torch one's.
func checkTorchState(t *testing.T, path string, step int) {
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
