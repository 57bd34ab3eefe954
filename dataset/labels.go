package dataset

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"strings"
)

// LabelFormat says how the values of a label file become class indices.
type LabelFormat struct {
	// NumClasses is the size of the vocabulary; decoded indices must be below it.
	NumClasses int
	// LUT, when set, maps each 8-bit file value to a class index, Ignore, or
	// lutInvalid (an error). Used by the public datasets (ADE20K: 0 -> Ignore,
	// v -> v-1).
	LUT *[256]int32
	// Colors, when set, maps RGB label files through a palette: pixel colour
	// -> class index. A colour not in the palette is an error unless it is
	// IgnoreColor (when HasIgnoreColor).
	Colors         map[color.RGBA]int32
	IgnoreColor    color.RGBA
	HasIgnoreColor bool
}

const lutInvalid int32 = -2

// MaxPixels bounds the size of an image or label map a loader will decode
// (8192 x 8192): a corrupt or hostile header cannot make it allocate more.
var MaxPixels = 1 << 26

// DecodeLabelFile reads a label PNG (see DecodeLabel).
func DecodeLabelFile(path string, f LabelFormat) (*LabelMap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeLabel(b, path, f)
}

// DecodeLabel decodes a PNG label file (data) into class indices. Errors name
// path. The rules:
//   - 8-bit gray: value v is class v, or through f.LUT; 255 is Ignore when the
//     vocabulary has fewer than 255 classes.
//   - 16-bit gray: value v is class v; 65535 is Ignore.
//   - paletted: with f.Colors the palette colour of each pixel is looked up;
//     otherwise the palette index is the class (Pascal VOC style, 255 Ignore).
//   - RGB(A): colours are looked up in f.Colors (an error without one).
//
// Any other value at or beyond NumClasses is an error that names the pixel.
func DecodeLabel(data []byte, path string, f LabelFormat) (*LabelMap, error) {
	if f.NumClasses <= 0 {
		panic("dataset: DecodeLabel with NumClasses <= 0")
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(data)); err == nil && cfg.Width*cfg.Height > MaxPixels {
		return nil, fileErr(path, "label map is %dx%d, over the limit of %d pixels", cfg.Width, cfg.Height, MaxPixels)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fileErr(path, "label map is not a readable PNG: %v", err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w == 0 || h == 0 {
		return nil, fileErr(path, "label map is empty (%dx%d)", w, h)
	}
	m := &LabelMap{W: w, H: h, Pix: make([]int32, w*h)}
	bad := func(x, y int, v string) error {
		return fileErr(path, "pixel (%d,%d): label %s is not a class (the dataset has %d classes)", x, y, v, f.NumClasses)
	}
	switch im := img.(type) {
	case *image.Gray:
		lut := f.LUT
		if lut == nil {
			lut = identityLUT(f.NumClasses)
		}
		// image/png scales 1-, 2- and 4-bit gray to 0..255; undo it so that
		// such files hold class indices like 8-bit ones
		div := uint8(1)
		if d := pngGrayDepth(data); d > 0 && d < 8 {
			div = uint8(255 / (1<<d - 1))
		}
		for y := 0; y < h; y++ {
			row := im.Pix[y*im.Stride : y*im.Stride+w]
			for x, v := range row {
				v /= div
				c := lut[v]
				if c == lutInvalid {
					return nil, bad(x, y, fmt.Sprint(v))
				}
				m.Pix[y*w+x] = c
			}
		}
	case *image.Gray16:
		if f.LUT != nil {
			return nil, fileErr(path, "label map is 16-bit but this dataset stores 8-bit labels")
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				o := y*im.Stride + 2*x
				v := int32(im.Pix[o])<<8 | int32(im.Pix[o+1])
				switch {
				case v == 65535:
					v = Ignore
				case v >= int32(f.NumClasses):
					return nil, bad(x, y, fmt.Sprint(v))
				}
				m.Pix[y*w+x] = v
			}
		}
	case *image.Paletted:
		if f.Colors != nil {
			lut := [256]int32{}
			for i := range lut {
				lut[i] = lutInvalid
			}
			for i, pc := range im.Palette {
				if c, ok := f.lookupColor(toRGBA(pc)); ok {
					lut[i] = c
				}
			}
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					v := im.Pix[y*im.Stride+x]
					if lut[v] == lutInvalid {
						return nil, fileErr(path, "pixel (%d,%d): colour %s is not in the class palette", x, y, hexColor(toRGBA(im.Palette[v])))
					}
					m.Pix[y*w+x] = lut[v]
				}
			}
			break
		}
		lut := f.LUT
		if lut == nil {
			lut = identityLUT(f.NumClasses)
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := im.Pix[y*im.Stride+x]
				if lut[v] == lutInvalid {
					return nil, bad(x, y, fmt.Sprint(v))
				}
				m.Pix[y*w+x] = lut[v]
			}
		}
	default:
		if f.Colors == nil {
			return nil, fileErr(path, "label map is a colour image (%T) but the classes file gives no colours to map it", img)
		}
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
		var last color.RGBA
		var lastC int32 = lutInvalid
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				o := y*rgba.Stride + 4*x
				c := color.RGBA{rgba.Pix[o], rgba.Pix[o+1], rgba.Pix[o+2], 255}
				if c != last || lastC == lutInvalid {
					var ok bool
					lastC, ok = f.lookupColor(c)
					if !ok {
						return nil, fileErr(path, "pixel (%d,%d): colour %s is not in the class palette", x, y, hexColor(c))
					}
					last = c
				}
				m.Pix[y*w+x] = lastC
			}
		}
	}
	return m, nil
}

// pngGrayDepth returns the bit depth of a grayscale PNG from its header, or
// 0 for any other colour type.
func pngGrayDepth(data []byte) int {
	// signature (8) + IHDR length and type (8) + width, height (8), then
	// bit depth and colour type
	if len(data) < 26 || string(data[12:16]) != "IHDR" || data[25] != 0 {
		return 0
	}
	return int(data[24])
}

func (f LabelFormat) lookupColor(c color.RGBA) (int32, bool) {
	c.A = 255
	if v, ok := f.Colors[c]; ok {
		return v, true
	}
	if f.HasIgnoreColor && c == f.IgnoreColor {
		return Ignore, true
	}
	return 0, false
}

func toRGBA(c color.Color) color.RGBA {
	r, g, b, _ := c.RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
}

// identityLUT maps v -> v for v < n, 255 -> Ignore (when n < 255) and
// everything else to invalid.
func identityLUT(n int) *[256]int32 {
	var l [256]int32
	for v := range l {
		switch {
		case v < n:
			l[v] = int32(v)
		case v == 255:
			l[v] = Ignore
		default:
			l[v] = lutInvalid
		}
	}
	return &l
}

// ColorFormat is the LabelFormat of a classes list: gray label maps decode
// by value, RGB ones by the classes' colours (black is Ignore unless a
// class uses it).
func ColorFormat(classes []Class) LabelFormat {
	f := LabelFormat{NumClasses: len(classes), Colors: map[color.RGBA]int32{}}
	for i, c := range classes {
		c.Color.A = 255
		f.Colors[c.Color] = int32(i)
	}
	black := color.RGBA{0, 0, 0, 255}
	if _, used := f.Colors[black]; !used {
		f.IgnoreColor, f.HasIgnoreColor = black, true
	}
	return f
}

// DecodeImageFile reads a JPEG or PNG image as RGBA. Errors name path.
func DecodeImageFile(path string) (*image.RGBA, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeImage(b, path)
}

// DecodeImage decodes JPEG or PNG data as RGBA (alpha dropped to opaque).
func DecodeImage(data []byte, path string) (*image.RGBA, error) {
	var img image.Image
	var err error
	decode, config := jpeg.Decode, jpeg.DecodeConfig
	if strings.HasSuffix(strings.ToLower(path), ".png") {
		decode, config = png.Decode, png.DecodeConfig
	}
	if cfg, err := config(bytes.NewReader(data)); err == nil && cfg.Width*cfg.Height > MaxPixels {
		return nil, fileErr(path, "image is %dx%d, over the limit of %d pixels", cfg.Width, cfg.Height, MaxPixels)
	}
	img, err = decode(bytes.NewReader(data))
	if err != nil {
		return nil, fileErr(path, "image is not readable: %v", err)
	}
	b := img.Bounds()
	if b.Dx() == 0 || b.Dy() == 0 {
		return nil, fileErr(path, "image is empty (%dx%d)", b.Dx(), b.Dy())
	}
	if r, ok := img.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) {
		return r, nil
	}
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	for i := 3; i < len(rgba.Pix); i += 4 {
		rgba.Pix[i] = 255
	}
	return rgba, nil
}

// EncodeLabel encodes m as an 8-bit gray PNG (Ignore -> 255) when every index
// fits below 255, else as 16-bit gray (Ignore -> 65535): the folder format.
func EncodeLabel(m *LabelMap, numClasses int) ([]byte, error) {
	var img image.Image
	if numClasses < 255 {
		g := image.NewGray(image.Rect(0, 0, m.W, m.H))
		for i, v := range m.Pix {
			if v == Ignore {
				g.Pix[i] = 255
			} else {
				g.Pix[i] = uint8(v)
			}
		}
		img = g
	} else {
		g := image.NewGray16(image.Rect(0, 0, m.W, m.H))
		for i, v := range m.Pix {
			u := uint16(v)
			if v == Ignore {
				u = 65535
			}
			g.Pix[2*i], g.Pix[2*i+1] = uint8(u>>8), uint8(u)
		}
		img = g
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Colorize draws m with the class colours (Ignore black).
func Colorize(m *LabelMap, classes []Class) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
	for i, v := range m.Pix {
		c := color.RGBA{0, 0, 0, 255}
		if v >= 0 && int(v) < len(classes) {
			c = classes[v].Color
		}
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = c.R, c.G, c.B, 255
	}
	return img
}
