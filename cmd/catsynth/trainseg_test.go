package main

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/dataset"
	"catsynth/eval/report"
	"catsynth/eval/seg"
	"catsynth/nn"
)

func TestHeldOutSpec(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"synth:street", "synth:street:n=50,seed=1000,size=128"},
		{"synth:coast:n=9,seed=7,size=64", "synth:coast:n=50,seed=1007,size=64"},
		{"folder:/data/x", ""},
	} {
		got, err := heldOutSpec(tc.in, 50)
		if err != nil || got != tc.want {
			t.Errorf("heldOutSpec(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := heldOutSpec("synth:street:seed=x", 5); err == nil {
		t.Error("bad seed accepted")
	}
}

// TestTrainSegThenEvalReport runs `catsynth train seg` for a few steps of a
// tiny segmenter through the train command's dispatch, then `catsynth eval
// --miou --report` on rendered scenes standing in for generated images:
// the JSON must carry the mIoU with its recorded ceiling, and the report
// its HTML and PNGs.
func TestTrainSegThenEvalReport(t *testing.T) {
	tmp := t.TempDir()
	model := filepath.Join(tmp, "seg", "tiny.safetensors.zst")
	train := commands["train"].run
	err := train(context.Background(), []string{"seg", "--data", "synth:street:n=4,size=32", "--heldout-n", "3",
		"--size", "16", "--widths", "8,16", "--groups", "4", "--steps", "6", "--batch", "2", "--lr", "1e-2",
		"--backend", "cpu", "--quiet", "--out", model})
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := nn.Open("cpu")
	net, err := seg.Load(dev, model)
	if err != nil {
		t.Fatal(err)
	}
	net.Release()
	if net.HeldOut == nil || !strings.Contains(net.Training, `"steps":6`) {
		t.Fatalf("metadata: held-out %+v, training %s", net.HeldOut, net.Training)
	}

	// "generated" images: scenes of another seed with their label maps.
	ds, err := dataset.Open("synth:street:n=3,seed=5,size=32")
	if err != nil {
		t.Fatal(err)
	}
	gen, labs := filepath.Join(tmp, "gen"), filepath.Join(tmp, "labels")
	os.MkdirAll(gen, 0o755)
	os.MkdirAll(labs, 0o755)
	for i := 0; i < ds.Len(); i++ {
		s, _ := ds.Load(i)
		b, err := dataset.EncodeLabel(s.Label, len(ds.Classes()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(labs, s.Name+".png"), b, 0o644)
		if err := dataset.WritePNG(filepath.Join(gen, s.Name+".png"), s.Image); err != nil {
			t.Fatal(err)
		}
	}
	est, truth := filepath.Join(tmp, "est.json"), filepath.Join(tmp, "true.json")
	os.WriteFile(est, []byte(`[[0.7,0.3],[0.2,0.8]]`), 0o644)
	os.WriteFile(truth, []byte(`[[1,0],[1,0]]`), 0o644)
	out, rdir := filepath.Join(tmp, "r.json"), filepath.Join(tmp, "report")
	err = runEval(context.Background(), []string{"--miou", "--segmenter", model, "--generated", gen, "--labels", labs,
		"--backend", "cpu", "--affinity", est, "--affinity-truth", truth, "--json", out, "--report", rdir})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	var res struct {
		MIoU *struct {
			MIoU     float64 `json:"miou"`
			Tiles    int     `json:"tiles"`
			PerClass []struct {
				Class string   `json:"class"`
				IoU   *float64 `json:"iou"`
			} `json:"per_class"`
			Ceiling *seg.Summary `json:"ceiling"`
		} `json:"miou"`
	}
	if err := json.Unmarshal(b, &res); err != nil || res.MIoU == nil {
		t.Fatalf("JSON %s: %v", b, err)
	}
	m := res.MIoU
	if m.Tiles != 3 || m.MIoU < 0 || m.MIoU > 1 || len(m.PerClass) != len(ds.Classes()) || m.Ceiling == nil ||
		m.PerClass[0].Class != ds.Classes()[0].Name {
		t.Fatalf("mIoU report %s", b)
	}
	for _, f := range []string{report.FileHTML, report.FileJSON, report.FileIoU, report.FileSamples, report.FileAffinity} {
		p := filepath.Join(rdir, f)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".png") {
			if _, err := png.Decode(strings.NewReader(string(data))); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
	html, _ := os.ReadFile(filepath.Join(rdir, report.FileHTML))
	for _, want := range []string{`src="miou.png"`, `src="samples.png"`, `src="affinity.png"`, "mIoU ceiling", "affinity top-1"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report HTML lacks %q", want)
		}
	}
	if strings.Contains(string(html), "http://") || strings.Contains(string(html), "https://") {
		t.Error("report HTML links to the network")
	}

	for _, args := range [][]string{
		{"--miou", "--generated", gen, "--labels", labs},                     // no segmenter
		{"--miou", "--segmenter", model, "--generated", gen},                 // no labels
		{"--generated", gen},                                                 // nothing to do with it
		{"--miou", "--segmenter", est, "--generated", gen, "--labels", labs}, // not a segmenter
	} {
		if err := runEval(context.Background(), args); err == nil {
			t.Errorf("eval %v: no error", args)
		}
	}
	if err := train(context.Background(), []string{"seg", "--out", model, "--size", "30"}); err == nil {
		t.Error("size not divisible by 4 accepted")
	}
}
