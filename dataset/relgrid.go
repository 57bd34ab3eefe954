package dataset

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"sort"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"catsynth/dataset/synth"
)

// RelationGrid draws, for each class of a synthetic target domain, a
// close-up of the class beside close-ups of its strongest source relatives
// (by ground-truth weight), so one can see that target classes are drawn
// with their relatives' looks. Pixels of other classes are dimmed. tile is
// the size of a close-up in pixels; each close-up is taken from the one of
// tries scenes (rendered from seed) where the class covers most pixels.
func RelationGrid(domain string, seed uint64, tries, tile int) (*image.RGBA, error) {
	d, err := synth.Lookup(domain)
	if err != nil {
		return nil, err
	}
	src, err := synth.Lookup("source")
	if err != nil {
		return nil, err
	}
	if tries <= 0 || tile < 16 {
		return nil, fmt.Errorf("dataset: relation grid needs tries > 0 and tile >= 16")
	}
	rel := d.Relation()
	const maxRel, labelW, gap = 3, 120, 4
	rowH := tile + 14
	g := image.NewRGBA(image.Rect(0, 0, labelW+(maxRel+1)*(tile+gap)+gap, len(d.Classes)*(rowH+gap)+gap))
	draw.Draw(g, g.Bounds(), image.NewUniform(color.RGBA{255, 255, 255, 255}), image.Point{}, draw.Src)
	srcIndex := map[string]int{}
	for i, c := range src.Classes {
		srcIndex[c.Name] = i
	}
	const size = 192
	tgtScenes := renderMany(d, seed, tries, size)
	srcScenes := renderMany(src, seed, tries, size)
	for ti, c := range d.Classes {
		y := gap + ti*(rowH+gap)
		drawText(g, 4, y+tile/2+4, c.Name)
		put := func(col int, t *image.RGBA, caption string) {
			x := labelW + col*(tile+gap)
			if t != nil {
				draw.Draw(g, image.Rect(x, y, x+tile, y+tile), t, image.Point{}, draw.Src)
			}
			drawText(g, x, y+tile+11, caption)
		}
		put(0, classTile(tgtScenes, uint8(ti), size, tile), "target")
		type rw struct {
			name string
			w    float64
		}
		var rs []rw
		for n, w := range rel.Weights[c.Name] {
			rs = append(rs, rw{n, w})
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].w > rs[j].w || rs[i].w == rs[j].w && rs[i].name < rs[j].name })
		if len(rs) == 0 {
			put(1, nil, "no source relative")
		}
		for k, r := range rs {
			if k == maxRel {
				break
			}
			put(k+1, classTile(srcScenes, uint8(srcIndex[r.name]), size, tile), fmt.Sprintf("%s %.2f", r.name, r.w))
		}
	}
	return g, nil
}

type rendered struct {
	img *image.RGBA
	lab []uint8
}

func renderMany(d *synth.Domain, seed uint64, n, size int) []rendered {
	out := make([]rendered, n)
	for i := range out {
		img, lab := d.Render(seed, i, size, size)
		out[i] = rendered{img, lab}
	}
	return out
}

// classTile takes the scene where class cls covers most pixels, crops the
// window of a third of its side that holds most of the class, dims other
// classes and resizes the crop to tile x tile (nearest).
func classTile(scenes []rendered, cls uint8, size, tile int) *image.RGBA {
	best, bestN := -1, 0
	for i, s := range scenes {
		n := 0
		for _, v := range s.lab {
			if v == cls {
				n++
			}
		}
		if n > bestN {
			best, bestN = i, n
		}
	}
	if best < 0 {
		return nil
	}
	s := scenes[best]
	// the window of a third of the scene holding most pixels of the class
	side := size / 3
	integ := make([]int, (size+1)*(size+1))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			v := 0
			if s.lab[y*size+x] == cls {
				v = 1
			}
			integ[(y+1)*(size+1)+x+1] = v + integ[y*(size+1)+x+1] + integ[(y+1)*(size+1)+x] - integ[y*(size+1)+x]
		}
	}
	ox, oy, most := 0, 0, -1
	for y := 0; y+side <= size; y += 2 {
		for x := 0; x+side <= size; x += 2 {
			n := integ[(y+side)*(size+1)+x+side] - integ[y*(size+1)+x+side] - integ[(y+side)*(size+1)+x] + integ[y*(size+1)+x]
			if n > most {
				ox, oy, most = x, y, n
			}
		}
	}
	t := image.NewRGBA(image.Rect(0, 0, tile, tile))
	for y := 0; y < tile; y++ {
		sy := oy + y*side/tile
		for x := 0; x < tile; x++ {
			sx := ox + x*side/tile
			o := s.img.PixOffset(sx, sy)
			in := s.lab[sy*size+sx] == cls
			for k := 0; k < 3; k++ {
				v := s.img.Pix[o+k]
				if !in {
					v = uint8(150 + int(v)/5)
				}
				t.Pix[4*(y*tile+x)+k] = v
			}
			t.Pix[4*(y*tile+x)+3] = 255
		}
	}
	return t
}

func drawText(dst *image.RGBA, x, y int, s string) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(color.RGBA{20, 20, 20, 255}), Face: basicfont.Face7x13,
		Dot: fixed.P(x, y)}
	d.DrawString(s)
}
