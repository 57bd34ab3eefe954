package seg

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"catsynth/dataset"
	"catsynth/internal/testgpu"
	"catsynth/nn"
)

// devices returns the backends the pipeline tests run on: cpu always, gpu
// when an adapter opens (required under CATSYNTH_REQUIRE_GPU=1).
func devices(t *testing.T) map[string]*nn.Device {
	t.Helper()
	out := map[string]*nn.Device{}
	cpu, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	out["cpu"] = cpu
	if gpu := testgpu.Optional(t); gpu != nil {
		out["gpu"] = gpu
	}
	return out
}

var tinyCfg = Config{Widths: []int{8, 16}, Groups: 4, Size: 16}

// TestTrainTinyLossFalls trains a tiny segmenter on four fixed synthetic
// street scenes (16 px) for a few steps on each backend: the loss must fall,
// the checkpoint must round-trip with identical predictions, and a
// held-out evaluation must run and give a mIoU in [0, 1].
func TestTrainTinyLossFalls(t *testing.T) {
	ds, err := dataset.Open("synth:street:n=4,size=32")
	if err != nil {
		t.Fatal(err)
	}
	ds = Cached(ds)
	classes := dataset.ClassNames(ds.Classes())
	counts := make([]int64, len(classes))
	for i := 0; i < ds.Len(); i++ {
		s, err := ds.Load(i)
		if err != nil {
			t.Fatal(err)
		}
		for c, n := range ClassCounts(s.Label.Pix, len(classes)) {
			counts[c] += n
		}
	}
	const seed, steps = 3, 25
	t.Logf("seed %d", seed)
	for name, dev := range devices(t) {
		t.Run(name, func(t *testing.T) {
			cfg := tinyCfg
			cfg.Classes = len(classes)
			n, err := New(dev, cfg, seed)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Release()
			l, err := dataset.NewLoader(ds, dataset.LoaderConfig{BatchSize: 4, H: 16, W: 16, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			ckpts := 0
			losses, err := Train(context.Background(), n, l, TrainOptions{Steps: steps, LR: 1e-2,
				Weights: ClassWeights(counts, 0.5), CheckpointEvery: 10,
				Checkpoint: func(int) error { ckpts++; return nil }})
			if err != nil {
				t.Fatal(err)
			}
			if len(losses) != steps || ckpts != 3 {
				t.Fatalf("%d losses, %d checkpoints", len(losses), ckpts)
			}
			first := (losses[0] + losses[1] + losses[2]) / 3
			last := (losses[steps-1] + losses[steps-2] + losses[steps-3]) / 3
			t.Logf("loss %.4f -> %.4f", first, last)
			if !(last < 0.7*first) {
				t.Fatalf("loss did not fall: %v", losses)
			}

			res, err := n.Evaluate(context.Background(), ds, 3, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !(res.MeanIoU >= 0 && res.MeanIoU <= 1) || res.Pixels != 4*16*16 {
				t.Fatalf("mIoU %v over %d pixels", res.MeanIoU, res.Pixels)
			}
			t.Logf("training-set mIoU %.3f, pixel accuracy %.3f", res.MeanIoU, res.PixelAccuracy)

			path := filepath.Join(t.TempDir(), "tiny.safetensors.zst")
			if err := n.Save(path, classes, map[string]string{MetaHeldOut: mustJSON(t, res.Summary())}, false); err != nil {
				t.Fatal(err)
			}
			back, err := Load(dev, path)
			if err != nil {
				t.Fatal(err)
			}
			defer back.Release()
			if back.HeldOut == nil || math.Abs(back.HeldOut.MeanIoU-res.MeanIoU) > 1e-12 {
				t.Fatalf("held-out record %+v, want mIoU %v", back.HeldOut, res.MeanIoU)
			}
			s, _ := ds.Load(0)
			img, _ := PlaceSample(s, 16)
			a, err := n.Predict(img, 1, 16, 16)
			if err != nil {
				t.Fatal(err)
			}
			b, err := back.Predict(img, 1, 16, 16)
			if err != nil {
				t.Fatal(err)
			}
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("pixel %d: %d before save, %d after load", i, a[i], b[i])
				}
			}
		})
	}
}

// TestPredictErrors: bad sizes, bad configs and foreign checkpoints are
// errors, not panics.
func TestPredictErrors(t *testing.T) {
	dev, _ := nn.Open("cpu")
	cfg := tinyCfg
	cfg.Classes = 3
	n, err := New(dev, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Release()
	for _, tc := range []struct {
		name       string
		num, h, w  int
		valuesSize int
	}{
		{"odd size", 1, 15, 16, 3 * 15 * 16},
		{"short data", 1, 16, 16, 10},
		{"no images", 0, 16, 16, 0},
	} {
		if _, err := n.Predict(make([]float32, tc.valuesSize), tc.num, tc.h, tc.w); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := New(dev, Config{Classes: 3, Widths: []int{6}, Groups: 4}, 1); err == nil {
		t.Error("width not divisible by groups accepted")
	}
	if _, err := New(dev, Config{Classes: 3, Size: 30}, 1); err == nil {
		t.Error("size not divisible by 4 for three levels accepted")
	}
	bad := filepath.Join(t.TempDir(), "notseg.safetensors")
	if err := nn.SaveParams(bad, n.Params.All(), nn.SaveOptions{Config: n.Config}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dev, bad); err == nil {
		t.Error("checkpoint without segmenter kind accepted")
	}
}
