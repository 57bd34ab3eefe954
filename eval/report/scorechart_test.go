package report

import (
	"image"
	"image/color"
	"testing"
)

// runs returns, per image row, the number of pixels of colour c.
func runs(img *image.RGBA, c color.RGBA) []int {
	b := img.Bounds()
	out := make([]int, b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.RGBAAt(x, y) == c {
				out[y-b.Min.Y]++
			}
		}
	}
	return out
}

// blocks returns the largest count of each run of rows with nonzero counts
// (one bar, whose whisker and axis overdraw some of its pixels).
func blocks(xs []int) []int {
	var out []int
	for i, x := range xs {
		switch {
		case x == 0:
		case i == 0 || xs[i-1] == 0:
			out = append(out, x)
		default:
			out[len(out)-1] = max(out[len(out)-1], x)
		}
	}
	return out
}

// TestScoreChartBars: bar lengths are proportional to the means on the
// given scale, only the reference row takes the reference colour, and a
// whisker spans 2 x Spread.
func TestScoreChartBars(t *testing.T) {
	bars := []ScoreBar{{Label: "a", Mean: 80}, {Label: "finetune", Mean: 40, Reference: true}, {Label: "c", Mean: 20, Spread: 10}}
	img := ScoreChart("KID", "KID x1000", bars, 100, 0, "")
	blue := blocks(runs(img, colBar))
	if len(blue) != 2 {
		t.Fatalf("bar-coloured rows %v: want the two non-reference bars", blue)
	}
	if r := float64(blue[1]) / float64(blue[0]); r < 0.24 || r > 0.26 {
		t.Errorf("bar ratio %.3f (lengths %v), want 0.25", r, blue)
	}
	orange := blocks(runs(img, colReference))
	if len(orange) != 1 {
		t.Fatalf("reference-coloured rows %v: want one bar", orange)
	}
	if r := float64(orange[0]) / float64(blue[0]); r < 0.49 || r > 0.51 {
		t.Errorf("reference bar ratio %.3f, want 0.5", r)
	}
	// The whisker's horizontal line is the longest black run in c's row: 2
	// x 10 on a 100-wide scale of 300 px, plus its end pixel.
	longest := 0
	for _, n := range runs(img, colWhisker) {
		longest = max(longest, n)
	}
	if longest < 60 || longest > 75 { // text pixels on the same line add a few
		t.Errorf("whisker row has %d black pixels, want about 61", longest)
	}
}

// TestScoreChartLimit: the limit line is drawn only when asked for.
func TestScoreChartLimit(t *testing.T) {
	bars := []ScoreBar{{Label: "a", Mean: 0.3}}
	count := func(img *image.RGBA) int {
		n := 0
		for _, v := range runs(img, colLimit) {
			n += v
		}
		return n
	}
	if n := count(ScoreChart("mIoU", "mIoU", bars, 1, 0, "")); n != 0 {
		t.Errorf("no limit asked: %d limit pixels", n)
	}
	if n := count(ScoreChart("mIoU", "mIoU", bars, 1, 0.7, "ceiling")); n < 20 {
		t.Errorf("limit 0.7: only %d limit pixels", n)
	}
}

func TestNiceTop(t *testing.T) {
	cases := []struct {
		bars  []ScoreBar
		limit float64
		want  float64
	}{
		{[]ScoreBar{{Mean: 158, Spread: 6}}, 0, 200},
		{[]ScoreBar{{Mean: 85, Spread: 11}}, 0, 100},
		{[]ScoreBar{{Mean: 0.27}}, 0.714, 1},
		{[]ScoreBar{{Mean: 0.2}}, 0.426, 0.5},
		{[]ScoreBar{{Mean: 0.21}}, 0, 0.25},
		{nil, 0, 1},
	}
	for _, c := range cases {
		if got := niceTop(c.bars, c.limit); got < c.want*0.999 || got > c.want*1.001 {
			t.Errorf("niceTop(%v, %g) = %g, want %g", c.bars, c.limit, got, c.want)
		}
	}
}

func TestSideBySide(t *testing.T) {
	a, b := image.NewRGBA(image.Rect(0, 0, 3, 5)), image.NewRGBA(image.Rect(0, 0, 4, 2))
	fill(b, b.Bounds(), colBar)
	out := SideBySide(a, b)
	if out.Bounds().Dx() != 7 || out.Bounds().Dy() != 5 {
		t.Fatalf("size %v, want 7 x 5", out.Bounds())
	}
	if out.RGBAAt(3, 0) != colBar || out.RGBAAt(3, 3) != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("second image misplaced: %v at (3,0), %v at (3,3)", out.RGBAAt(3, 0), out.RGBAAt(3, 3))
	}
}
