package models

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// testRNG returns a generator with a logged seed.
func testRNG(t *testing.T) (*rand.Rand, uint64) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 1)), seed
}

func TestClassBalance(t *testing.T) {
	// 8 pixels: class 0 three times, class 2 four times, one ignored; class 1
	// absent. numel 8, 2 classes present: w0 = 8/(2*3), w2 = 8/(2*4).
	labels := []int32{0, 2, 2, -1, 0, 2, 0, 2}
	w, err := ClassBalance(labels, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]float64{0: 8.0 / 6, 2: 1, -1: 0}
	perClass := map[int32]float64{}
	for i, c := range labels {
		if math.Abs(float64(w[i])-want[c]) > 1e-6 {
			t.Errorf("pixel %d (class %d): weight %v, want %v", i, c, w[i], want[c])
		}
		perClass[c] += float64(w[i])
	}
	// Balanced: every present class carries the same total weight numel/present.
	for _, c := range []int32{0, 2} {
		if math.Abs(perClass[c]-4) > 1e-5 {
			t.Errorf("class %d carries total weight %v, want 4", c, perClass[c])
		}
	}
	if _, err := ClassBalance([]int32{0, 3}, 3); err == nil {
		t.Error("label 3 of 3 classes: no error")
	}
}

// TestLossCurve is the regression test for an endless line drawing loop:
// every slope must finish, and the curve must draw coloured pixels.
func TestLossCurve(t *testing.T) {
	r, _ := testRNG(t)
	var trace []Losses
	for i := range 300 {
		f := float32(r.Float64())
		trace = append(trace, Losses{"g": f * float32(i%7), "d_real": 1 - f, "d_fake": f * f, "label_mix": float32(i) / 300})
	}
	img := LossCurve(trace, 200, 100)
	coloured := 0
	for p := 0; p < len(img.Pix); p += 4 {
		if img.Pix[p] != img.Pix[p+1] || img.Pix[p+1] != img.Pix[p+2] {
			coloured++
		}
	}
	if coloured < 200 {
		t.Errorf("only %d coloured pixels in the loss curve", coloured)
	}
}
