package report

import (
	"image"
	"image/color"

	"catsynth/dataset"
)

// SampleRow is one row of a sample grid: a label map, the real image it
// belongs to (nil if unknown) and the images generated from it (one per
// seed).
type SampleRow struct {
	Name      string
	Label     *dataset.LabelMap
	Real      image.Image
	Generated []image.Image
}

// SampleGrid draws rows of cell x cell pictures: the label map in class
// colours, the real image, then each generated image, with column headings
// ("label map", "real", "seed 1", ...), the sample name under each row, and
// a legend of the class colours that occur in the label maps at the bottom.
// Pictures are scaled by nearest neighbour to fill their cell (aspect not
// kept: label maps and images share theirs). Missing pictures stay grey.
func SampleGrid(rows []SampleRow, classes []dataset.Class, seedNames []string, cell int) *image.RGBA {
	cols := 2
	for _, r := range rows {
		cols = max(cols, 2+len(r.Generated))
	}
	heads := []string{"label map", "real"}
	for i := 0; i < cols-2; i++ {
		name := "generated"
		if i < len(seedNames) {
			name = seedNames[i]
		}
		heads = append(heads, name)
	}
	const pad, gap = 10, 6
	rowH := cell + charH + 4
	W := pad + cols*(cell+gap) - gap + pad
	legend := legendItems(rows, classes, W-2*pad)
	H := pad + charH + 4 + len(rows)*(rowH+gap) + pad + len(legend)*(charH+6)
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fill(img, img.Bounds(), color.White)
	for c, h := range heads {
		if len(h)*charW > cell {
			h = h[:max(1, cell/charW-1)] + "."
		}
		x := pad + c*(cell+gap)
		drawText(img, h, x+(cell-len(h)*charW)/2, pad, 1, color.Black)
	}
	for r, row := range rows {
		y := pad + charH + 4 + r*(rowH+gap)
		pics := []image.Image{nil, row.Real}
		if row.Label != nil {
			pics[0] = dataset.Colorize(row.Label, classes)
		}
		pics = append(pics, row.Generated...)
		for c := 0; c < cols; c++ {
			x := pad + c*(cell+gap)
			dst := image.Rect(x, y, x+cell, y+cell)
			if c >= len(pics) || pics[c] == nil {
				fill(img, dst, color.RGBA{220, 220, 220, 255})
				continue
			}
			scaleInto(img, dst, pics[c])
		}
		name := row.Name
		if len(name)*charW > W-2*pad {
			name = name[:(W-2*pad)/charW]
		}
		drawText(img, name, pad, y+cell+2, 1, colAxis)
	}
	y := pad + charH + 4 + len(rows)*(rowH+gap)
	for _, line := range legend {
		x := pad
		for _, c := range line {
			fill(img, image.Rect(x, y+1, x+11, y+12), classes[c].Color)
			drawText(img, classes[c].Name, x+15, y, 1, color.Black)
			x += legendW(classes[c].Name)
		}
		y += charH + 6
	}
	return img
}

// legendW is the width of one legend entry: swatch, name and spacing.
func legendW(name string) int { return 15 + len(name)*charW + 14 }

// legendItems lists the classes that occur in the rows' label maps, in
// class order, wrapped into lines of at most width pixels.
func legendItems(rows []SampleRow, classes []dataset.Class, width int) [][]int {
	seen := make([]bool, len(classes))
	for _, r := range rows {
		if r.Label == nil {
			continue
		}
		for _, v := range r.Label.Pix {
			if v >= 0 && int(v) < len(classes) {
				seen[v] = true
			}
		}
	}
	var lines [][]int
	var line []int
	x := 0
	for c, ok := range seen {
		if !ok {
			continue
		}
		w := legendW(classes[c].Name)
		if x+w > width && len(line) > 0 {
			lines, line, x = append(lines, line), nil, 0
		}
		line, x = append(line, c), x+w
	}
	if len(line) > 0 {
		lines = append(lines, line)
	}
	return lines
}

// scaleInto draws src scaled (nearest neighbour) into dst's rectangle r.
func scaleInto(dst *image.RGBA, r image.Rectangle, src image.Image) {
	b := src.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		sy := b.Min.Y + (y-r.Min.Y)*b.Dy()/r.Dy()
		for x := r.Min.X; x < r.Max.X; x++ {
			sx := b.Min.X + (x-r.Min.X)*b.Dx()/r.Dx()
			dst.Set(x, y, src.At(sx, sy))
		}
	}
}
