package seg

import (
	"context"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"testing"

	"catsynth/dataset"
	"catsynth/nn"
)

// TestScorePairsMatchesEvaluate writes rendered scenes as "generated"
// images with their label maps, and checks that scoring the folders gives
// exactly the confusion of Evaluate on the dataset (the same placement),
// and that a strip of two copies side by side (generate --n 2) counts twice.
func TestScorePairsMatchesEvaluate(t *testing.T) {
	ds, err := dataset.Open("synth:coast:n=3,size=40")
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := nn.Open("cpu")
	cfg := tinyCfg
	cfg.Classes = len(ds.Classes())
	net, err := New(dev, cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Release()
	dir := t.TempDir()
	gen, strip, labs := filepath.Join(dir, "gen"), filepath.Join(dir, "strip"), filepath.Join(dir, "labels")
	for _, d := range []string{gen, strip, labs} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < ds.Len(); i++ {
		s, err := ds.Load(i)
		if err != nil {
			t.Fatal(err)
		}
		b, err := dataset.EncodeLabel(s.Label, cfg.Classes)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(labs, s.Name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := dataset.WritePNG(filepath.Join(gen, s.Name+".png"), s.Image); err != nil {
			t.Fatal(err)
		}
		w, h := s.Image.Rect.Dx(), s.Image.Rect.Dy()
		two := image.NewRGBA(image.Rect(0, 0, 2*w, h))
		draw.Draw(two, image.Rect(0, 0, w, h), s.Image, image.Point{}, draw.Src)
		draw.Draw(two, image.Rect(w, 0, 2*w, h), s.Image, image.Point{}, draw.Src)
		if err := dataset.WritePNG(filepath.Join(strip, s.Name+".png"), two); err != nil {
			t.Fatal(err)
		}
	}
	want, err := net.Evaluate(context.Background(), ds, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir    string
		copies int64
	}{{gen, 1}, {strip, 2}} {
		files, _ := filepath.Glob(filepath.Join(tc.dir, "*.png"))
		pairs, err := MatchPairs(files, labs)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := net.ScorePairs(context.Background(), pairs, ScoreOptions{Batch: 2})
		if err != nil {
			t.Fatal(err)
		}
		got := cm.Score()
		if got.Pixels != tc.copies*want.Pixels {
			t.Fatalf("%s: %d pixels, want %d", tc.dir, got.Pixels, tc.copies*want.Pixels)
		}
		for c := range want.IoU {
			if got.Present[c] != want.Present[c] || got.Present[c] && got.IoU[c] != want.IoU[c] {
				t.Fatalf("%s: class %d IoU %v, Evaluate %v", tc.dir, c, got.IoU[c], want.IoU[c])
			}
		}
	}
	// a generated image without its label map is an error naming it
	if err := os.WriteFile(filepath.Join(gen, "stray.png"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(gen, "*.png"))
	if _, err := MatchPairs(files, labs); err == nil {
		t.Fatal("unmatched generated image accepted")
	}
}

func TestTiles(t *testing.T) {
	for _, tc := range []struct {
		w, h, lw, lh, k int
	}{
		{64, 32, 32, 32, 2}, {32, 32, 32, 32, 1}, {64, 64, 32, 32, 1}, {96, 32, 32, 32, 3}, {50, 32, 32, 32, 0},
	} {
		ts, err := Tiles(image.NewRGBA(image.Rect(0, 0, tc.w, tc.h)), tc.lw, tc.lh)
		if tc.k == 0 {
			if err == nil {
				t.Errorf("%dx%d for %dx%d: no error", tc.w, tc.h, tc.lw, tc.lh)
			}
			continue
		}
		if err != nil || len(ts) != tc.k {
			t.Errorf("%dx%d for %dx%d: %d tiles, %v; want %d", tc.w, tc.h, tc.lw, tc.lh, len(ts), err, tc.k)
		}
	}
}
