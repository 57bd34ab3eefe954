package seg

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"catsynth/dataset"
)

// Pair is a generated image and the label map it was generated from.
type Pair struct {
	Name      string // file name without extension
	Generated string // path of the generated image
	Label     string // path of the label map
}

// LabelDir resolves --labels: a folder of NAME.png label maps, or a dataset
// folder holding labels/ (and classes.txt). It returns the label folder
// and the classes.txt path ("" when there is none).
func LabelDir(dir string) (labels, classesFile string) {
	if st, err := os.Stat(filepath.Join(dir, "labels")); err == nil && st.IsDir() {
		labels = filepath.Join(dir, "labels")
	} else {
		labels = dir
	}
	for _, d := range []string{dir, labels} {
		if _, err := os.Stat(filepath.Join(d, "classes.txt")); err == nil {
			return labels, filepath.Join(d, "classes.txt")
		}
	}
	return labels, ""
}

// MatchPairs pairs each generated image NAME.(png|jpg) with labelDir/NAME.png.
// A generated image without a label map is an error that names it.
func MatchPairs(generated []string, labelDir string) ([]Pair, error) {
	var out []Pair
	for _, g := range generated {
		name := strings.TrimSuffix(filepath.Base(g), filepath.Ext(g))
		l := filepath.Join(labelDir, name+".png")
		if _, err := os.Stat(l); err != nil {
			return nil, fmt.Errorf("seg: %s has no label map %s", g, l)
		}
		out = append(out, Pair{Name: name, Generated: g, Label: l})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("seg: no generated images")
	}
	return out, nil
}

// Tiles splits a generated image into the k images of one label map that
// `catsynth generate --n k` writes side by side: img must be k label widths
// wide (k >= 1) and as high as the label map, or the same aspect ratio as
// the label map (one image of another resolution).
func Tiles(img *image.RGBA, lw, lh int) ([]*image.RGBA, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if h == lh && w%lw == 0 {
		k := w / lw
		out := make([]*image.RGBA, k)
		for i := range out {
			out[i] = img.SubImage(image.Rect(img.Rect.Min.X+i*lw, img.Rect.Min.Y, img.Rect.Min.X+(i+1)*lw, img.Rect.Max.Y)).(*image.RGBA)
		}
		return out, nil
	}
	if w*lh == h*lw {
		return []*image.RGBA{img}, nil
	}
	return nil, fmt.Errorf("image %dx%d for a %dx%d label map: want the same aspect ratio or k maps side by side", w, h, lw, lh)
}

// resizeLabel resizes m to w x h by nearest neighbour (pixel centres).
func resizeLabel(m *dataset.LabelMap, w, h int) *dataset.LabelMap {
	if m.W == w && m.H == h {
		return m
	}
	out := dataset.NewLabelMap(w, h)
	for y := 0; y < h; y++ {
		sy := min(m.H-1, int((float64(y)+0.5)*float64(m.H)/float64(h)))
		for x := 0; x < w; x++ {
			sx := min(m.W-1, int((float64(x)+0.5)*float64(m.W)/float64(w)))
			out.Pix[y*w+x] = m.Pix[sy*m.W+sx]
		}
	}
	return out
}

// ScoreOptions configures ScorePairs.
type ScoreOptions struct {
	Format   dataset.LabelFormat // how label files decode (NumClasses is set from the net when 0)
	Batch    int                 // images per forward pass (default 8)
	Progress func(done, total int)
}

// ScorePairs labels every generated image (each tile, see Tiles) with n,
// after the centre crop and resize to n.Config.Size that Evaluate uses, and
// accumulates the confusion against its label map placed the same way, so
// the score is comparable with the held-out ceiling stored in the segmenter.
func (n *Net) ScorePairs(ctx context.Context, pairs []Pair, o ScoreOptions) (*Confusion, error) {
	if o.Format.NumClasses == 0 {
		o.Format.NumClasses = n.Config.Classes
	}
	if o.Batch <= 0 {
		o.Batch = 8
	}
	S := n.Config.Size
	cm := NewConfusion(n.Config.Classes)
	var imgs []float32
	var labs []int32
	for i, p := range pairs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lab, err := dataset.DecodeLabelFile(p.Label, o.Format)
		if err != nil {
			return nil, err
		}
		img, err := dataset.DecodeImageFile(p.Generated)
		if err != nil {
			return nil, err
		}
		tiles, err := Tiles(img, lab.W, lab.H)
		if err != nil {
			return nil, fmt.Errorf("seg: %s: %w", p.Generated, err)
		}
		for _, t := range tiles {
			l := resizeLabel(lab, t.Rect.Dx(), t.Rect.Dy())
			// Place reads pixels from the image origin
			t = toOrigin(t)
			im, lb := PlaceSample(&dataset.Sample{Image: t, Label: l}, S)
			imgs = append(imgs, im...)
			labs = append(labs, lb...)
			if len(labs) >= o.Batch*S*S {
				if err := flushBatch(n, cm, &imgs, &labs, S); err != nil {
					return nil, err
				}
			}
		}
		if o.Progress != nil {
			o.Progress(i+1, len(pairs))
		}
	}
	if err := flushBatch(n, cm, &imgs, &labs, S); err != nil {
		return nil, err
	}
	return cm, nil
}

func flushBatch(n *Net, cm *Confusion, imgs *[]float32, labs *[]int32, S int) error {
	if len(*labs) == 0 {
		return nil
	}
	pred, err := n.Predict(*imgs, len(*labs)/(S*S), S, S)
	if err != nil {
		return err
	}
	err = cm.Add(pred, *labs)
	*imgs, *labs = (*imgs)[:0], (*labs)[:0]
	return err
}

// toOrigin copies a sub-image so that its bounds start at (0, 0).
func toOrigin(t *image.RGBA) *image.RGBA {
	if t.Rect.Min == (image.Point{}) {
		return t
	}
	out := image.NewRGBA(image.Rect(0, 0, t.Rect.Dx(), t.Rect.Dy()))
	for y := 0; y < t.Rect.Dy(); y++ {
		copy(out.Pix[y*out.Stride:], t.Pix[y*t.Stride:y*t.Stride+4*t.Rect.Dx()])
	}
	return out
}
