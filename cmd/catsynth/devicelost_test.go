package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"catsynth/models"
	"catsynth/nn"
	"catsynth/nn/backend"
)

// TestTrainDeviceLost: a device lost in the middle of `train gan` (at
// several moments: during a step, during a checkpoint write) stops the run
// with an error that says so and names the device, and the checkpoint on
// disk still loads and resumes.
func TestTrainDeviceLost(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model several times")
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "m.safetensors.zst")
	ctx := context.Background()
	args := func(steps int, extra ...string) []string {
		return append([]string{"gan", "--backend", "cpu", "--data", "synth:source:n=8,size=32", "--preset", "tiny",
			"--steps", strconv.Itoa(steps), "--batch", "2", "--ckpt-every", "1", "--sample-every", "0", "--out", model}, extra...)
	}
	if err := commands["train"].run(ctx, args(1)); err != nil {
		t.Fatal(err)
	}
	// Downloads that succeed before the loss: 0 fails the first read of
	// the resumed run; the larger ones land inside later steps and
	// checkpoint writes (a checkpoint downloads every tensor).
	var last string
	for _, after := range []int{0, 1, 3, 10, 40, 150} {
		t.Setenv(nn.EnvLoseDeviceAfter, strconv.Itoa(after))
		trainErr := commands["train"].run(ctx, args(20, "--resume"))
		os.Unsetenv(nn.EnvLoseDeviceAfter)
		err := trainErr
		if err == nil {
			t.Fatalf("lost after %d downloads: train finished without an error", after)
		}
		if !errors.Is(err, backend.ErrDeviceLost) || !strings.Contains(err.Error(), "device lost: cpu") ||
			!strings.Contains(err.Error(), model) {
			t.Fatalf("lost after %d downloads: %v; want the device-lost error naming the device and the checkpoint", after, err)
		}
		ck, err := nn.ReadCheckpoint(model)
		if err != nil {
			t.Fatalf("lost after %d downloads: the checkpoint does not read: %v", after, err)
		}
		dev, _ := nn.Open("cpu")
		if _, err := models.LoadCheckpoint(dev, ck); err != nil {
			t.Fatalf("lost after %d downloads: the checkpoint does not load: %v", after, err)
		}
		dev.Close()
		st, err := nn.ReadCheckpoint(statePath(model))
		if err != nil {
			t.Fatalf("lost after %d downloads: the training state does not read: %v", after, err)
		}
		t.Logf("lost after %d downloads: %v (model step %s, state step %s)", after, trainErr, ck.Metadata[models.MetaStep], st.Metadata[models.MetaStep])
		last = ck.Metadata[models.MetaStep]
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			for _, e := range ents {
				if strings.Contains(e.Name(), ".tmp") {
					t.Errorf("lost after %d downloads: temp file %s left", after, e.Name())
				}
			}
		}
	}
	// The checkpoint left by the last loss resumes on a working device.
	n, err := strconv.Atoi(last)
	if err != nil {
		t.Fatalf("checkpoint step %q: %v", last, err)
	}
	if err := commands["train"].run(ctx, args(n+1, "--resume")); err != nil {
		t.Fatalf("resume after the losses: %v", err)
	}
}
