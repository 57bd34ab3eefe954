package app

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestRenderImage: a render without styles is Generate; a region style
// changes the image, most inside the region; a cancelled context and bad
// style maps are errors; progress is reported.
func TestRenderImage(t *testing.T) {
	s, _ := newSession(t, DefaultBindingLimit)
	if !s.CanRestyle() {
		t.Fatal("the GAN cannot restyle a region")
	}
	ex, err := s.Examples(1)
	if err != nil {
		t.Fatal(err)
	}
	labels := ex[0].Labels
	want, _, err := s.Generate(labels, 5)
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	got, _, err := s.RenderImage(context.Background(), Render{Labels: labels, Seed: 5}, func(Step) { steps++ })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Pix, want.Pix) || steps != 1 {
		t.Errorf("render without styles differs from Generate (%d progress calls)", steps)
	}
	styles := make([]byte, len(labels))
	for y := range 32 {
		for x := range 8 {
			styles[y*32+x] = 1
		}
	}
	re, _, err := s.RenderImage(context.Background(), Render{Labels: labels, Seed: 5, Styles: styles, RegionSeeds: []uint64{99}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var in, out int
	for y := range 32 {
		for x := range 32 {
			o := re.PixOffset(x, y)
			d := absDiff(re.Pix[o], want.Pix[o]) + absDiff(re.Pix[o+1], want.Pix[o+1]) + absDiff(re.Pix[o+2], want.Pix[o+2])
			if x < 8 {
				in += d
			} else if x >= 24 {
				out += d
			}
		}
	}
	t.Logf("difference inside the restyled strip %d, in a strip as wide far from it %d", in, out)
	if in == 0 || out >= in {
		t.Errorf("region style changed the region by %d and far from it by %d", in, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.RenderImage(ctx, Render{Labels: labels, Seed: 1}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled render: %v", err)
	}
	for _, tc := range []struct {
		name string
		r    Render
		want string
	}{
		{"short styles", Render{Labels: labels, Styles: []byte{0}, RegionSeeds: []uint64{1}}, "style map has 1 pixels"},
		{"unknown style", Render{Labels: labels, Styles: bytes.Repeat([]byte{3}, len(labels)), RegionSeeds: []uint64{1}}, "has style 3"},
		{"labels", Render{Labels: labels[:5]}, "has 5 pixels"},
	} {
		if _, _, err := s.RenderImage(context.Background(), tc.r, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
