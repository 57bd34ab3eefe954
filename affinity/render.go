package affinity

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// WriteTable prints, for every target class, its k heaviest source classes
// with their weights (k <= 0: all non-zero), one target per line, and the
// matrix's provenance first.
func (m *Matrix) WriteTable(w io.Writer, k int) error {
	bw := bufio.NewWriter(w)
	if len(m.Meta) > 0 {
		keys := make([]string, 0, len(m.Meta))
		for key := range m.Meta {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		var parts []string
		for _, key := range keys {
			parts = append(parts, key+"="+m.Meta[key])
		}
		fmt.Fprintf(bw, "# %s\n", strings.Join(parts, " "))
	}
	width := len("target")
	for _, n := range m.Target {
		width = max(width, len(n))
	}
	fmt.Fprintf(bw, "%-*s  top source classes (weight)\n", width, "target")
	for t, n := range m.Target {
		var parts []string
		for _, e := range m.TopK(t, k) {
			parts = append(parts, fmt.Sprintf("%s %.3f", e.Source, e.Weight))
		}
		fmt.Fprintf(bw, "%-*s  %s\n", width, n, strings.Join(parts, "  "))
	}
	return bw.Flush()
}

// Heatmap draws the matrix as an image: one cell per (target row, source
// column), white (0) to dark blue (1) on a square-root scale so that small
// weights stay visible; target names on the left, source names (vertical)
// on top, and the weights written in cells of 0.05 and more when the matrix
// is small enough (at most 40 classes per side) for large cells.
func (m *Matrix) Heatmap(title string) *image.RGBA {
	T, S := m.T(), m.S()
	cell, scale := 14, 1
	if max(T, S) <= 40 {
		cell, scale = 30, 2
	}
	face := basicfont.Face7x13
	charW, charH := 7*scale, 13*scale
	maxLen := func(names []string) int {
		n := 0
		for _, s := range names {
			n = max(n, len(s))
		}
		return n
	}
	pad := 8
	left := maxLen(m.Target)*charW + 2*pad
	titleH := 13*2 + pad
	top := titleH + maxLen(m.Source)*charW + 2*pad
	W, H := left+S*cell+pad, top+T*cell+pad
	W = max(W, len(title)*14+2*pad)
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	drawText(img, face, title, pad, pad, 2, false, color.Black)
	for t := 0; t < T; t++ {
		y := top + t*cell
		drawText(img, face, m.Target[t], left-pad-len(m.Target[t])*charW, y+(cell-charH)/2, scale, false, color.Black)
		for s := 0; s < S; s++ {
			x := left + s*cell
			v := math.Max(0, math.Min(1, m.W[t][s]))
			c := heatColor(math.Sqrt(v))
			draw.Draw(img, image.Rect(x, y, x+cell-1, y+cell-1), image.NewUniform(c), image.Point{}, draw.Src)
			if cell >= 30 && v >= 0.05 {
				txt := fmt.Sprintf("%.2f", v)[1:] // ".81"
				if v >= 0.995 {
					txt = "1"
				}
				tc := color.Color(color.Black)
				if math.Sqrt(v) > 0.5 {
					tc = color.White
				}
				drawText(img, face, txt, x+(cell-1-len(txt)*7)/2, y+(cell-1-13)/2, 1, false, tc)
			}
		}
	}
	for s := 0; s < S; s++ {
		x := left + s*cell + (cell-charH)/2
		drawText(img, face, m.Source[s], x, top-pad, scale, true, color.Black)
	}
	// grid lines between cells are the 1-pixel gaps left white above.
	return img
}

// heatColor maps v in [0, 1] from white through light blue to dark navy.
func heatColor(v float64) color.RGBA {
	stops := [][3]float64{{255, 255, 255}, {158, 202, 225}, {49, 130, 189}, {8, 48, 107}}
	f := v * float64(len(stops)-1)
	i := min(int(f), len(stops)-2)
	r := f - float64(i)
	a, b := stops[i], stops[i+1]
	mix := func(k int) uint8 { return uint8(a[k] + r*(b[k]-a[k]) + 0.5) }
	return color.RGBA{mix(0), mix(1), mix(2), 255}
}

// drawText draws s with its top-left corner at (x, y), magnified by scale
// (nearest). Vertical text reads bottom to top and (x, y) is then its
// bottom-left corner.
func drawText(dst *image.RGBA, face font.Face, s string, x, y, scale int, vertical bool, c color.Color) {
	if s == "" {
		return
	}
	w, h := len(s)*7, 13
	tmp := image.NewAlpha(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: tmp, Src: image.Opaque, Face: face, Dot: fixed.P(0, 11)}
	d.DrawString(s)
	r, g, b, _ := c.RGBA()
	col := color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
	bounds := dst.Bounds()
	for ty := 0; ty < h; ty++ {
		for tx := 0; tx < w; tx++ {
			if tmp.AlphaAt(tx, ty).A < 128 {
				continue
			}
			for sy := 0; sy < scale; sy++ {
				for sx := 0; sx < scale; sx++ {
					px, py := x+tx*scale+sx, y+ty*scale+sy
					if vertical { // rotate 90 degrees counter-clockwise about (x, y)
						px, py = x+ty*scale+sy, y-(tx*scale+sx)
					}
					if image.Pt(px, py).In(bounds) {
						dst.SetRGBA(px, py, col)
					}
				}
			}
		}
	}
}

// WriteHeatmapPNG writes Heatmap(title) as a PNG file.
func (m *Matrix) WriteHeatmapPNG(path, title string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, m.Heatmap(title)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
