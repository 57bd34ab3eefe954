package report

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Glyph size of basicfont.Face7x13 at scale 1, in pixels.
const charW, charH = 7, 13

var (
	colBar     = color.RGBA{49, 130, 189, 255}  // generated
	colCeiling = color.RGBA{189, 189, 189, 255} // real held-out ceiling
	colAxis    = color.RGBA{90, 90, 90, 255}
	colGrid    = color.RGBA{230, 230, 230, 255}
)

// drawText draws s with its top-left corner at (x, y) in basicfont 7x13,
// magnified by scale (nearest neighbour).
func drawText(dst *image.RGBA, s string, x, y, scale int, c color.Color) {
	if s == "" {
		return
	}
	w := len(s) * charW
	tmp := image.NewAlpha(image.Rect(0, 0, w, charH))
	d := font.Drawer{Dst: tmp, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixed.P(0, 11)}
	d.DrawString(s)
	r, g, b, _ := c.RGBA()
	col := color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
	bounds := dst.Bounds()
	for ty := 0; ty < charH; ty++ {
		for tx := 0; tx < w; tx++ {
			if tmp.AlphaAt(tx, ty).A < 128 {
				continue
			}
			for sy := 0; sy < scale; sy++ {
				for sx := 0; sx < scale; sx++ {
					if p := image.Pt(x+tx*scale+sx, y+ty*scale+sy); p.In(bounds) {
						dst.SetRGBA(p.X, p.Y, col)
					}
				}
			}
		}
	}
}

func fill(dst *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(dst, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// Bar is one class of the IoU chart. Value or Ceiling nil: not defined
// (the class is absent), drawn as "n/a".
type Bar struct {
	Label   string
	Value   *float64
	Ceiling *float64
}

// IoUChart draws a horizontal bar chart of per-class IoU in [0, 1]: one row
// per class, a dark bar for the generated images and, when any ceiling is
// given, a thin grey bar under it for the segmenter on real held-out images;
// the value is written at the end of the bar, and a legend and an axis with
// ticks at 0, 0.25, ..., 1 frame it.
func IoUChart(title string, bars []Bar) *image.RGBA {
	hasCeil := false
	nameLen := 0
	for _, b := range bars {
		hasCeil = hasCeil || b.Ceiling != nil
		nameLen = max(nameLen, len(b.Label))
	}
	const pad, plotW, rowH = 12, 420, 24
	left := pad + nameLen*charW + pad
	top := pad + 2*charH + pad // title
	if hasCeil {
		top += charH + pad // legend
	}
	W := left + plotW + 6*charW + pad
	W = max(W, pad+len(title)*2*charW+pad)
	H := top + len(bars)*rowH + 2*charH + pad
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fill(img, img.Bounds(), color.White)
	drawText(img, title, pad, pad, 2, color.Black)
	if hasCeil {
		y := pad + 2*charH + pad/2
		fill(img, image.Rect(left, y+3, left+14, y+11), colBar)
		drawText(img, "generated images", left+20, y, 1, color.Black)
		x := left + 20 + 17*charW + 2*pad
		fill(img, image.Rect(x, y+3, x+14, y+11), colCeiling)
		drawText(img, "real held-out images (ceiling)", x+20, y, 1, color.Black)
	}
	bottom := top + len(bars)*rowH
	for i := 0; i <= 4; i++ {
		x := left + i*plotW/4
		fill(img, image.Rect(x, top, x+1, bottom), colGrid)
		lbl := fmt.Sprintf("%.2f", float64(i)/4)
		drawText(img, lbl, x-len(lbl)*charW/2, bottom+4, 1, colAxis)
	}
	drawText(img, "IoU", left+plotW/2-charW, bottom+4+charH, 1, colAxis)
	for i, b := range bars {
		y := top + i*rowH
		drawText(img, b.Label, left-pad-len(b.Label)*charW, y+(rowH-charH)/2, 1, color.Black)
		barH := rowH - 8
		if hasCeil {
			barH = rowH - 12
		}
		txt := "n/a"
		if b.Value != nil {
			v := clamp01(*b.Value)
			fill(img, image.Rect(left, y+4, left+int(v*plotW+0.5), y+4+barH), colBar)
			txt = fmt.Sprintf("%.2f", *b.Value)
		}
		if b.Ceiling != nil {
			v := clamp01(*b.Ceiling)
			fill(img, image.Rect(left, y+4+barH+1, left+int(v*plotW+0.5), y+rowH-3), colCeiling)
		}
		tx := left + 4
		if b.Value != nil {
			tx = left + int(clamp01(*b.Value)*plotW+0.5) + 4
		}
		drawText(img, txt, tx, y+4+(barH-charH)/2, 1, color.Black)
	}
	fill(img, image.Rect(left, top, left+1, bottom), colAxis)
	fill(img, image.Rect(left, bottom, left+plotW+1, bottom+1), colAxis)
	return img
}

func clamp01(v float64) float64 { return max(0, min(1, v)) }

// WritePNG writes img to path.
func WritePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ScoreBar is one row of a ScoreChart: a mean over seeds and its spread.
type ScoreBar struct {
	Label  string
	Mean   float64
	Spread float64 // standard deviation over seeds; 0 draws no whisker
	// Reference marks the row the others are judged against (drawn in
	// another colour), e.g. plain finetuning in the transfer benchmark.
	Reference bool
}

var (
	colReference = color.RGBA{230, 85, 13, 255}
	colWhisker   = color.RGBA{0, 0, 0, 255}
	colLimit     = color.RGBA{120, 120, 120, 255}
)

// ScoreChart draws a horizontal bar chart of scores on [0, top]: one bar per
// row with a whisker of ± Spread and the mean written beside it. limit > 0
// draws a vertical line at that score named limitName (the segmenter's
// ceiling on mIoU, say). top <= 0 picks a round number above every bar,
// whisker and the limit, so the panels of one setting can share or not
// share a scale as the caller chooses.
func ScoreChart(title, axis string, bars []ScoreBar, top, limit float64, limitName string) *image.RGBA {
	if top <= 0 {
		top = niceTop(bars, limit)
	}
	nameLen := 0
	for _, b := range bars {
		nameLen = max(nameLen, len(b.Label))
	}
	const pad, plotW, rowH = 12, 300, 20
	left := pad + nameLen*charW + pad
	plotTop := pad + 2*charH + pad
	W := max(left+plotW+12*charW+pad, pad+len(title)*2*charW+pad)
	H := plotTop + len(bars)*rowH + 2*charH + pad
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fill(img, img.Bounds(), color.White)
	drawText(img, title, pad, pad, 2, color.Black)
	bottom := plotTop + len(bars)*rowH
	xOf := func(v float64) int { return left + int(max(0, min(v, top))/top*plotW+0.5) }
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		x := xOf(v)
		fill(img, image.Rect(x, plotTop, x+1, bottom), colGrid)
		lbl := fmt.Sprintf("%.3g", v)
		drawText(img, lbl, x-len(lbl)*charW/2, bottom+4, 1, colAxis)
	}
	drawText(img, axis, left+plotW/2-len(axis)*charW/2, bottom+4+charH, 1, colAxis)
	for i, b := range bars {
		y := plotTop + i*rowH
		drawText(img, b.Label, left-pad-len(b.Label)*charW, y+(rowH-charH)/2, 1, color.Black)
		col := colBar
		if b.Reference {
			col = colReference
		}
		end := xOf(b.Mean)
		fill(img, image.Rect(left, y+4, end, y+rowH-4), col)
		txtX := end + 4
		if b.Spread > 0 {
			lo, hi := xOf(b.Mean-b.Spread), xOf(b.Mean+b.Spread)
			mid := y + rowH/2
			fill(img, image.Rect(lo, mid, hi+1, mid+1), colWhisker)
			fill(img, image.Rect(lo, mid-3, lo+1, mid+4), colWhisker)
			fill(img, image.Rect(hi, mid-3, hi+1, mid+4), colWhisker)
			txtX = hi + 4
		}
		drawText(img, fmt.Sprintf("%.3g", b.Mean), txtX, y+(rowH-charH)/2, 1, color.Black)
	}
	if limit > 0 {
		x := xOf(limit)
		for yy := plotTop; yy < bottom; yy += 6 {
			fill(img, image.Rect(x, yy, x+2, min(yy+4, bottom)), colLimit)
		}
		drawText(img, limitName, x-len(limitName)*charW/2, plotTop-charH-2, 1, colLimit)
	}
	fill(img, image.Rect(left, plotTop, left+1, bottom), colAxis)
	fill(img, image.Rect(left, bottom, left+plotW+1, bottom+1), colAxis)
	return img
}

// niceTop is the smallest of 1, 2, 2.5 or 5 times a power of ten at or
// above every bar's mean + spread and the limit.
func niceTop(bars []ScoreBar, limit float64) float64 {
	hi := limit
	for _, b := range bars {
		hi = max(hi, b.Mean+b.Spread)
	}
	if hi <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(hi)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= hi {
			return m * p
		}
	}
	return 10 * p
}

// SideBySide places images left to right on white, top-aligned.
func SideBySide(imgs ...image.Image) *image.RGBA {
	W, H := 0, 0
	for _, im := range imgs {
		W += im.Bounds().Dx()
		H = max(H, im.Bounds().Dy())
	}
	out := image.NewRGBA(image.Rect(0, 0, W, H))
	fill(out, out.Bounds(), color.White)
	x := 0
	for _, im := range imgs {
		b := im.Bounds()
		draw.Draw(out, image.Rect(x, 0, x+b.Dx(), b.Dy()), im, b.Min, draw.Src)
		x += b.Dx()
	}
	return out
}
