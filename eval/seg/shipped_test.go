package seg

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"catsynth/dataset"
	"catsynth/nn"
)

// TestShippedSegmenters loads every segmenter in weights/segmenters: its
// classes must be those of the synthetic domain it is named for, its
// held-out score and training record must be recorded, and on 8 scenes of
// its held-out seed range it must reach the recorded pixel accuracy (within
// 0.1: a small sample of the 200 scenes scored at training time).
func TestShippedSegmenters(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "weights", "segmenters", "*.safetensors.zst"))
	if len(files) == 0 {
		t.Fatal("no segmenters in weights/segmenters")
	}
	dev, err := nn.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := Load(dev, f)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Release()
			var rec struct {
				Data    string  `json:"data"`
				HeldOut string  `json:"heldout"`
				Steps   int     `json:"steps"`
				Seconds float64 `json:"seconds"`
			}
			if err := json.Unmarshal([]byte(s.Training), &rec); err != nil || s.HeldOut == nil || rec.HeldOut == "" {
				t.Fatalf("training record %q, held-out %v: %v", s.Training, s.HeldOut, err)
			}
			t.Logf("%s: %d steps in %.0f s on %s; held-out mIoU %.4f, pixel accuracy %.4f",
				f, rec.Steps, rec.Seconds, rec.Data, s.HeldOut.MeanIoU, s.HeldOut.PixelAccuracy)
			domain := strings.SplitN(filepath.Base(f), "-", 2)[0]
			ds, err := dataset.Open(strings.Replace(rec.HeldOut, "n=200", "n=8", 1))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(rec.Data, "synth:"+domain) || !slices.Equal(dataset.ClassNames(ds.Classes()), s.ClassNames) {
				t.Fatalf("trained on %s with classes %v, named for %s", rec.Data, s.ClassNames, domain)
			}
			r, err := s.Evaluate(context.Background(), ds, 8, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("8 held-out scenes: mIoU %.4f, pixel accuracy %.4f", r.MeanIoU, r.PixelAccuracy)
			if r.PixelAccuracy < s.HeldOut.PixelAccuracy-0.1 {
				t.Errorf("pixel accuracy %.4f, recorded %.4f", r.PixelAccuracy, s.HeldOut.PixelAccuracy)
			}
		})
	}
}
