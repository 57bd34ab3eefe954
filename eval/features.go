package eval

import (
	"context"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for LoadImage
	_ "image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"catsynth/backbone"
	"catsynth/dataset"
	"catsynth/nn"
)

// ImageFiles lists the PNG and JPEG files directly inside dir, sorted.
func ImageFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	var out []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			if !e.IsDir() {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("eval: no .png or .jpg images in %s", dir)
	}
	return out, nil
}

// LoadImage decodes an image file and resizes it to h x w (bilinear,
// half-pixel centres, aspect ratio not kept) as planar RGB (3, h, w) in [0, 1].
func LoadImage(path string, h, w int) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("eval: %s: %w", path, err)
	}
	return ResizeRGB(img, h, w), nil
}

// ResizeRGB converts img to planar RGB (3, h, w) in [0, 1] with bilinear
// resampling (half-pixel centres, like PyTorch's align_corners=False).
func ResizeRGB(img image.Image, h, w int) []float32 {
	b := img.Bounds()
	sh, sw := b.Dy(), b.Dx()
	src := make([]float32, 3*sh*sw)
	for y := range sh {
		for x := range sw {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			src[(0*sh+y)*sw+x] = float32(r) / 65535
			src[(1*sh+y)*sw+x] = float32(g) / 65535
			src[(2*sh+y)*sw+x] = float32(bl) / 65535
		}
	}
	return dataset.ResizePlanar(src, 3, sh, sw, h, w)
}

// ExtractOptions control feature extraction.
type ExtractOptions struct {
	Batch    int                   // images per forward pass (0: 8)
	Progress func(done, total int) // called after each batch (may be nil)
}

// ExtractFeatures runs the images at paths through net and returns the
// pooled features (the Spec's Features node), one row per image.
func ExtractFeatures(ctx context.Context, net *backbone.Net, paths []string, o ExtractOptions) (Features, error) {
	s := net.Spec
	batch := o.Batch
	if batch <= 0 {
		batch = 8
	}
	var out Features
	for lo := 0; lo < len(paths); lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+batch, len(paths))
		data := make([]float32, 0, (hi-lo)*3*s.InputH*s.InputW)
		for _, p := range paths[lo:hi] {
			px, err := LoadImage(p, s.InputH, s.InputW)
			if err != nil {
				return nil, err
			}
			data = append(data, px...)
		}
		rows, err := Embed(net, data, hi-lo)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if o.Progress != nil {
			o.Progress(hi, len(paths))
		}
	}
	return out, nil
}

// Embed runs n images (n, 3, InputH, InputW) in [0, 1] through net and
// returns their pooled features in float64.
func Embed(net *backbone.Net, images []float32, n int) (Features, error) {
	s := net.Spec
	dev := net.Device()
	if len(images) != n*s.InputC*s.InputH*s.InputW {
		return nil, fmt.Errorf("eval: %d values for %d images of %dx%dx%d", len(images), n, s.InputC, s.InputH, s.InputW)
	}
	var x *nn.Tensor
	if err := nn.Catch(func() { x = dev.FromData(images, n, s.InputC, s.InputH, s.InputW) }); err != nil {
		return nil, err
	}
	defer x.Release()
	ys, err := net.Forward(x, s.Features)
	if err != nil {
		return nil, err
	}
	defer ys[0].Release()
	d, err := ys[0].Data()
	if err != nil {
		return nil, err
	}
	dim := len(d) / n
	rows := make(Features, n)
	for i := range rows {
		rows[i] = make([]float64, dim)
		for j := range dim {
			rows[i][j] = float64(d[i*dim+j])
		}
	}
	return rows, nil
}
