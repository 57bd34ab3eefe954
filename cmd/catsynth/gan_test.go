package main

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"catsynth/dataset"
)

// writeLabelPNG writes a w x h gray label map whose pixels cycle through
// classes 0..n-1 in vertical bands, with pixel (1, 2) set to bad when bad >= 0.
func writeLabelPNG(t *testing.T, path string, w, h, n int, bad int32) {
	t.Helper()
	m := dataset.NewLabelMap(w, h)
	for i := range m.Pix {
		m.Pix[i] = int32((i % w) * n / w)
	}
	if bad >= 0 {
		m.Pix[2*w+1] = bad
	}
	b, err := dataset.EncodeLabel(m, 256)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTrainGANThenGenerate(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.safetensors.zst")
	ctx := context.Background()
	train := []string{"gan", "--backend", "cpu", "--data", "synth:source:n=8,size=32", "--preset", "tiny",
		"--steps", "2", "--batch", "2", "--out", model}
	if err := commands["train"].run(ctx, train); err != nil {
		t.Fatal(err)
	}
	// Resume for one more step.
	resume := append(append([]string(nil), train...), "--resume")
	for i, a := range resume {
		if a == "--steps" {
			resume[i+1] = "3"
		}
	}
	if err := commands["train"].run(ctx, resume); err != nil {
		t.Fatalf("resume: %v", err)
	}
	labels := filepath.Join(dir, "l.png")
	writeLabelPNG(t, labels, 48, 32, 23, -1)
	out := filepath.Join(dir, "o.png")
	gen := func(model string, extra ...string) error {
		args := append([]string{"--backend", "cpu", "--labels", labels, "--out", out}, extra...)
		if model != "" {
			args = append(args, "--model", model)
		}
		return commands["generate"].run(ctx, args)
	}
	read := func() []byte {
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() < 48 || b.Dy() < 32 {
			t.Fatalf("output %v", b)
		}
		p, _ := os.ReadFile(out)
		return p
	}
	for _, m := range []string{model, ""} { // the trained model, then the embedded default
		if err := gen(m, "--seed", "3"); err != nil {
			t.Fatalf("model %q: %v", m, err)
		}
		a := read()
		if err := gen(m, "--seed", "3"); err != nil {
			t.Fatal(err)
		}
		if string(read()) != string(a) {
			t.Errorf("model %q: same seed, different PNGs", m)
		}
		if err := gen(m, "--seed", "4"); err != nil {
			t.Fatal(err)
		}
		if string(read()) == string(a) {
			t.Errorf("model %q: different seeds, same PNG", m)
		}
	}
	if err := gen(model, "--n", "3"); err != nil {
		t.Fatal(err)
	}
	read()

	// Batch mode over a folder.
	in, outDir := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	os.Mkdir(in, 0o755)
	writeLabelPNG(t, filepath.Join(in, "a.png"), 32, 32, 23, -1)
	writeLabelPNG(t, filepath.Join(in, "b.png"), 64, 32, 23, -1)
	if err := commands["generate"].run(ctx, []string{"--backend", "cpu", "--model", model, "--labels", in, "--out", outDir}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.png", "b.png"} {
		if _, err := os.Stat(filepath.Join(outDir, f)); err != nil {
			t.Error(err)
		}
	}

	// Errors a user can cause.
	writeLabelPNG(t, labels, 32, 32, 23, 40)
	if err := gen(model); err == nil || !strings.Contains(err.Error(), "40") {
		t.Errorf("unknown class 40: err %v", err)
	} else {
		t.Log(err)
	}
	writeLabelPNG(t, labels, 30, 30, 23, -1)
	if err := gen(model); err == nil {
		t.Error("30x30 map for a model of multiples of 4: no error")
	}
	wrong := append([]string(nil), resume...)
	for i, a := range wrong {
		if a == "synth:source:n=8,size=32" {
			wrong[i] = "synth:coast:n=8,size=32"
		}
	}
	if err := commands["train"].run(ctx, wrong); err == nil || !strings.Contains(err.Error(), "classes") {
		t.Errorf("resume on a dataset with another class count: err %v", err)
	} else {
		t.Log(err)
	}
	small := []string{"gan", "--backend", "cpu", "--data", "synth:source:n=8,size=16", "--preset", "tiny",
		"--size", "32", "--steps", "1", "--out", filepath.Join(dir, "s.safetensors")}
	if err := commands["train"].run(ctx, small); err == nil || !strings.Contains(err.Error(), "smaller") {
		t.Errorf("16 px images for a 32 px crop: err %v", err)
	} else {
		t.Log(err)
	}
}
