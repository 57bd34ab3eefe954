package main

// Tests of the built binary as a newcomer runs it: from a temporary
// directory outside the repository, with nothing but defaults, stderr not
// a terminal.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/dataset"
	"catsynth/models"
	"catsynth/models/diffusion"
	"catsynth/nn"
	"catsynth/nn/safetensors"
	"catsynth/weights/ganmodels"
)

// cliBinary is the catsynth binary built once for the CLI tests.
var cliBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "catsynth-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cliBinary = filepath.Join(dir, "catsynth")
	if out, err := exec.Command("go", "build", "-o", cliBinary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the binary: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runCLI runs the binary in dir (a fresh temp dir when "") and returns its
// stdout, stderr and exit code.
func runCLI(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cmd := exec.Command(cliBinary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CATSYNTH_BACKEND=cpu")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestEveryHelpExitsZero: every command and subcommand prints its usage
// with -h and exits 0.
func TestEveryHelpExitsZero(t *testing.T) {
	var names [][]string
	for n := range commands {
		names = append(names, []string{n})
	}
	names = append(names, []string{"data", "synth"}, []string{"data", "stats"}, []string{"train", "gan"}, []string{"train", "seg"},
		[]string{"import", "tfjs"}, []string{"affinity", "prototypes"}, []string{"bench", "transfer"})
	for _, n := range names {
		_, se, code := runCLI(t, "", append(n, "-h")...)
		if code != 0 || !strings.Contains(strings.ToLower(se), "usage") {
			t.Errorf("%s -h: exit %d, stderr %q", strings.Join(n, " "), code, se)
		}
	}
	if _, se, _ := runCLI(t, "", "train", "gan", "-h"); strings.Contains(se, "see catsynth train gan -h") {
		t.Error("train gan -h sends the reader to itself")
	}
}

// TestGenerateWithDefaults: no flags at all writes an example label map
// of the embedded model's domain and its image, and says so; progress in
// a log is plain lines, not redrawn bars.
func TestGenerateWithDefaults(t *testing.T) {
	dir := t.TempDir()
	_, se, code := runCLI(t, dir, "generate")
	if code != 0 || !strings.Contains(se, "example label map") {
		t.Fatalf("generate: exit %d\n%s", code, se)
	}
	for _, f := range []string{"out.png", "out_labels.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	// A folder of label maps: one progress display, without carriage returns.
	lab := filepath.Join(dir, "labels")
	os.Mkdir(lab, 0o755)
	for _, n := range []string{"a.png", "b.png"} {
		b, _ := os.ReadFile(filepath.Join(dir, "out_labels.png"))
		os.WriteFile(filepath.Join(lab, n), b, 0o644)
	}
	_, se, code = runCLI(t, dir, "generate", "--labels", "labels", "--out", "gen")
	if code != 0 || strings.Contains(se, "\r") || !strings.Contains(se, "generate: 2/2") {
		t.Errorf("generate a folder: exit %d, stderr %q", code, se)
	}
	// A folder without --out is refused with the reason.
	if _, se, code := runCLI(t, dir, "generate", "--labels", "labels"); code != 2 || !strings.Contains(se, "--out") {
		t.Errorf("folder without --out: exit %d, %q", code, se)
	}
}

// TestGenerateWarnsOfAnotherVocabulary: label maps whose classes.txt is not
// the model's class list get a warning.
func TestGenerateWarnsOfAnotherVocabulary(t *testing.T) {
	dir := t.TempDir()
	if _, se, code := runCLI(t, dir, "data", "synth", "--domain", "coast", "--n", "1", "--size", "128", "--out", "coast"); code != 0 {
		t.Fatalf("data synth: %s", se)
	}
	_, se, code := runCLI(t, dir, "generate", "--labels", "coast/labels", "--out", "gen")
	if code != 0 || !strings.Contains(se, "not the model's") {
		t.Errorf("exit %d, no vocabulary warning:\n%s", code, se)
	}
}

// writeAdapted writes an adapted model file as the page saves it: the
// embedded tiny32 network with a T x S label layer sending every target
// class to one source class.
func writeAdapted(t *testing.T, path string, target []string) {
	t.Helper()
	data, err := ganmodels.Bytes("tiny32")
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Decode(data, "tiny32")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		S int `json:"semantic_nc"`
	}
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &cfg); err != nil {
		t.Fatal(err)
	}
	w := make([]float32, len(target)*cfg.S)
	for i := range target {
		w[i*cfg.S+i] = 1
	}
	tensors := append(f.Tensors, safetensors.Tensor{Name: models.AdaptedLayerTensor, Shape: []int{len(target), cfg.S}, Data: w})
	var tc []models.TargetClass
	for _, n := range target {
		tc = append(tc, models.TargetClass{Name: n, Color: "#336699"})
	}
	tj, _ := json.Marshal(tc)
	meta := map[string]string{"format": "pt", "config": f.Metadata["config"], models.MetaKind: models.KindAdapted,
		models.MetaModelKind: "oasis-generator", models.MetaTargetClasses: string(tj)}
	if err := safetensors.WriteFile(path, tensors, meta, safetensors.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestAdaptedModelFromThePage: a model adapted in the page runs in
// `generate` on target label maps, and a label beyond the target classes
// is refused naming the class count.
func TestAdaptedModelFromThePage(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "adapted.safetensors.zst")
	writeAdapted(t, model, []string{"ocean", "meadow"})
	m := dataset.NewLabelMap(32, 32)
	for i := range m.Pix {
		m.Pix[i] = int32(i / (32 * 16))
	}
	b, _ := dataset.EncodeLabel(m, 2)
	os.WriteFile(filepath.Join(dir, "l.png"), b, 0o644)
	_, se, code := runCLI(t, dir, "generate", "--model", model, "--labels", "l.png", "--out", "o.png")
	if code != 0 || !strings.Contains(se, "adapted: 2 target classes") {
		t.Fatalf("generate with an adapted model: exit %d\n%s", code, se)
	}
	fh, err := os.Open(filepath.Join(dir, "o.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(fh)
	fh.Close()
	if err != nil || img.Bounds() != image.Rect(0, 0, 32, 32) {
		t.Fatalf("image %v, %v", err, img.Bounds())
	}
	m.Pix[5] = 2
	b, _ = dataset.EncodeLabel(m, 3)
	os.WriteFile(filepath.Join(dir, "bad.png"), b, 0o644)
	if _, se, code := runCLI(t, dir, "generate", "--model", model, "--labels", "bad.png", "--out", "o2.png"); code == 0 || !strings.Contains(se, "2 classes") {
		t.Errorf("label 2 of 2 target classes: exit %d, %s", code, se)
	}
}

// TestAffinityWithNothingButTheBinary: from outside the repository, the
// vision estimate runs on the embedded default model's stored prototypes
// with the embedded MobileNetV2; a missing --source means that model.
func TestAffinityWithNothingButTheBinary(t *testing.T) {
	dir := t.TempDir()
	_, se, code := runCLI(t, dir, "affinity", "--target", "synth:coast:n=2", "--method", "vision", "--n", "2", "--out", "A.json")
	if code != 0 || !strings.Contains(se, "embedded:") {
		t.Fatalf("affinity: exit %d\n%s", code, se)
	}
	if _, err := os.Stat(filepath.Join(dir, "A.json")); err != nil {
		t.Error(err)
	}
}

// TestDataStatsOfAPublishedLayout: a bare path laid out as ADE20K is
// recognised (no "missing classes file"), and only the classes present are
// listed unless --all.
func TestDataStatsOfAPublishedLayout(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "ADEChallengeData2016")
	for _, d := range []string{"images/training", "annotations/training"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	var ib bytes.Buffer
	jpeg.Encode(&ib, img, nil)
	os.WriteFile(filepath.Join(root, "images/training/ADE_1.jpg"), ib.Bytes(), 0o644)
	lab := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range lab.Pix {
		lab.Pix[i] = uint8(1 + i%2) // ADE20K values 1, 2: wall, building
	}
	var lb bytes.Buffer
	png.Encode(&lb, lab)
	os.WriteFile(filepath.Join(root, "annotations/training/ADE_1.png"), lb.Bytes(), 0o644)
	out, se, code := runCLI(t, dir, "data", "stats", "ADEChallengeData2016")
	if code != 0 || !strings.Contains(out, "ade20k:") || !strings.Contains(out, "wall") || strings.Contains(out, " sky ") {
		t.Fatalf("data stats: exit %d\n%s\n%s", code, out, se)
	}
	if !strings.Contains(out, "148 of 150 classes do not occur") {
		t.Errorf("no note of the absent classes:\n%s", out)
	}
	if all, _, _ := runCLI(t, dir, "data", "stats", "--all", "ADEChallengeData2016"); !strings.Contains(all, "sky") {
		t.Errorf("--all lacks absent classes:\n%s", all)
	}
}

// TestTransferFromTheEmbeddedModel: the embedded default ships its
// discriminator, so the seg estimator and a transfer run from any
// directory with nothing but the target data.
func TestTransferFromTheEmbeddedModel(t *testing.T) {
	dir := t.TempDir()
	if _, se, code := runCLI(t, dir, "affinity", "--target", "synth:coast:n=2,size=128", "--method", "seg", "--n", "2"); code != 0 {
		t.Fatalf("affinity --method seg: exit %d\n%s", code, se)
	}
	_, se, code := runCLI(t, dir, "transfer", "--target", "synth:coast:n=2,size=128", "--steps", "1", "--batch", "1", "--out", "a.safetensors.zst")
	if code != 0 || !strings.Contains(se, "embedded default model") {
		t.Fatalf("transfer: exit %d\n%s", code, se)
	}
	if _, se, code := runCLI(t, dir, "generate", "--model", "a.safetensors.zst"); code != 0 {
		t.Errorf("generate with the transferred model: exit %d\n%s", code, se)
	}
}

// TestEveryEmbeddedModelTransfers: every model the binary ships can be
// estimated on (--method seg: a GAN's shipped discriminator, or for a
// diffusion model the embedded source-domain segmenter) and transferred
// from, from a directory with nothing but the binary.
func TestEveryEmbeddedModelTransfers(t *testing.T) {
	for _, name := range ganmodels.Names() {
		if name == "source128" {
			continue // the default: TestTransferFromTheEmbeddedModel
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ck, err := nn.DecodeCheckpoint(mustEmbedded(t, name), name)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := models.Inspect(ck)
			if err != nil {
				t.Fatal(err)
			}
			target := fmt.Sprintf("synth:coast:n=2,size=%d", spec.H)
			src := "embedded:" + name
			if _, se, code := runCLI(t, dir, "affinity", "--source", src, "--target", target, "--method", "seg", "--n", "2", "--out", "a.json"); code != 0 {
				t.Fatalf("affinity --method seg: exit %d\n%s", code, se)
			}
			if _, se, code := runCLI(t, dir, "transfer", "--source", src, "--target", target, "--affinity", "a.json", "--steps", "1", "--batch", "1", "--out", "t.safetensors.zst"); code != 0 {
				t.Fatalf("transfer: exit %d\n%s", code, se)
			}
			gen := []string{"generate", "--model", "t.safetensors.zst"}
			if spec.Kind == diffusion.KindModel {
				gen = append(gen, "--steps", "2")
			}
			if _, se, code := runCLI(t, dir, gen...); code != 0 {
				t.Errorf("generate with the transferred model: exit %d\n%s", code, se)
			}
		})
	}
}

func mustEmbedded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := ganmodels.Bytes(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNoWindowSystemNoise is the regression test for the GPU probe printing
// "error: XDG_RUNTIME_DIR is invalid or not set" five times on every
// command of a headless machine.
func TestNoWindowSystemNoise(t *testing.T) {
	cmd := exec.Command(cliBinary, "generate", "--backend", "auto")
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") && !strings.HasPrefix(kv, "CATSYNTH_BACKEND=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(string(out), "XDG_RUNTIME_DIR") {
		t.Errorf("stderr has the window-system noise:\n%s", out)
	}
}

// TestOutputsNeverDestroyInputs: generate onto its label maps, transfer
// onto its source, and train onto an existing model without --resume are
// refused naming the file; nothing on disk changes.
func TestOutputsNeverDestroyInputs(t *testing.T) {
	dir := t.TempDir()
	if _, se, code := runCLI(t, dir, "generate"); code != 0 {
		t.Fatal(se)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "out_labels.png"))
	model := filepath.Join(dir, "m.safetensors.zst")
	os.WriteFile(model, []byte("keep me"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"generate onto its labels", []string{"generate", "--labels", "out_labels.png", "--out", "out_labels.png"}, "also an input"},
		{"transfer onto its source", []string{"transfer", "--source", model, "--target", "synth:coast:n=2", "--out", model}, "also an input"},
		{"train onto a model", []string{"train", "gan", "--preset", "tiny", "--data", "synth:source:n=4,size=32", "--size", "32", "--steps", "1", "--out", model}, "--force replaces it"},
	} {
		_, se, code := runCLI(t, dir, tc.args...)
		if code != 2 || !strings.Contains(se, tc.want) {
			t.Errorf("%s: exit %d, %q", tc.name, code, se)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "out_labels.png")); !bytes.Equal(before, after) {
		t.Error("the label map changed")
	}
	if b, _ := os.ReadFile(model); string(b) != "keep me" {
		t.Error("the model file changed")
	}
}
